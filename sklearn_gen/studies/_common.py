"""What every experiment shares: configurations run through joblib, seeds, tidy frames.

An experiment is a list of independent configurations (dicts of keyword arguments). Each
one runs in :func:`run_configurations` through :class:`joblib.Parallel`, so
``n_jobs`` spreads them over local processes and ``with joblib.parallel_backend("dask"):``
over a Dask cluster. A configuration's seed comes from :func:`config_seed` (the experiment's
``random_state`` and the configuration's own values), so results do not depend on the
order or the place in which configurations run.

Every configuration runs with a bounded number of threads (torch's and the BLAS/OpenMP
pools', through :func:`torch.set_num_threads` and :func:`threadpoolctl.threadpool_limits`):
by default the cores divided among the parallel workers, so ``n_jobs`` workers do not each
start one thread per core; :func:`configuration_threads` or ``threads=`` sets the number.

With ``cache_dir``, every finished configuration's rows are stored by :class:`joblib.Memory`
(keyed by the function and the configuration's values), so an interrupted study resumes
where it stopped and a changed parameter recomputes only the configurations it touches.
"""

from __future__ import annotations

import numbers
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import joblib
import pandas as pd
import torch
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits

from sklearn_gen._validation import derive_seed as config_seed

__all__ = ["config_seed", "configuration_threads", "run_configurations"]

#: Test hook: seconds to sleep after each computed configuration (lets tests interrupt
#: a study midway). Not meant for users.
_DELAY_ENV_VAR = "_SKLEARN_GEN_CONFIG_DELAY"
#: Threads per configuration set by :func:`configuration_threads` (None: the default).
_THREADS: ContextVar[int | None] = ContextVar("sklearn_gen_threads", default=None)


def _check_threads(threads: Any) -> int | None:
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise ValueError(
            f"threads must be a positive integer (threads per configuration) or None for "
            f"the cores divided among the workers, got {threads!r}."
        )
    return int(threads)


@contextmanager
def configuration_threads(threads: int | None) -> Iterator[None]:
    """Run every configuration of :func:`run_configurations` in this block on ``threads``.

    ``threads`` is the number of torch / BLAS / OpenMP threads each configuration may use
    (in each joblib worker); None restores the default, the cores divided among the
    workers. ``sklearn-gen run --threads N`` uses it.

    Examples
    --------
    >>> def threads(a):
    ...     import torch
    ...     return {"a": a, "threads": torch.get_num_threads()}
    >>> with configuration_threads(1):
    ...     run_configurations(threads, [{"a": 1}])["threads"].tolist()
    [1]
    """
    token = _THREADS.set(_check_threads(threads))
    try:
        yield
    finally:
        _THREADS.reset(token)


def _default_threads(n_jobs: int | None) -> int:
    """The cores (as joblib counts them: affinity, cgroups) divided among the workers."""
    cores = joblib.cpu_count()
    workers = joblib.effective_n_jobs(n_jobs)
    workers = cores if workers < 1 else min(workers, cores)
    return max(1, cores // max(1, workers))


def _compute(
    function: Callable[..., dict | list[dict]],
    configuration: dict,
    index: int,
    threads: int = 1,
) -> tuple[int, list[dict]]:
    """Run one configuration (in a joblib worker) on ``threads`` threads.

    ``function`` is the plain function or its :class:`joblib.Memory` wrapper, which reads
    a stored result instead of computing it. The limits are set, not restored: restoring
    from one of several threads of a process would race with the others;
    :func:`run_configurations` restores its own process's.
    """
    torch.set_num_threads(threads)
    threadpool_limits(limits=threads)
    result = function(**configuration)
    delay = float(os.environ.get(_DELAY_ENV_VAR, 0) or 0)
    if delay > 0:
        time.sleep(delay)
    return index, list(result) if isinstance(result, list) else [result]


def run_configurations(
    function: Callable[..., dict | list[dict]],
    configurations: Iterable[dict],
    *,
    n_jobs: int | None = None,
    progress: bool = False,
    description: str = "configurations",
    cache_dir: str | os.PathLike | None = None,
    threads: int | None = None,
) -> pd.DataFrame:
    """Run ``function(**configuration)`` for each configuration; one frame of all rows.

    Parameters
    ----------
    function : callable
        Returns one row (a dict) or several (a list of dicts). Must be a module-level
        function so that joblib can send it to other processes.
    configurations : iterable of dict
    n_jobs : int or None, default=None
        The ``n_jobs`` of joblib (None: one, or the active backend's default, e.g. Dask).
    progress : bool, default=False
        Show a tqdm bar over configurations.
    description : str
        Label of the progress bar.
    cache_dir : str, path or None, default=None
        Folder of finished configurations, a :class:`joblib.Memory` location. When given,
        ``function`` runs through ``Memory(cache_dir).cache``: each configuration's rows
        are stored as soon as it finishes (joblib writes a temporary file and renames it
        into place, so a killed run leaves no half-written result), configurations
        already stored are read instead of computed, a changed value (or a changed
        ``function``) recomputes what it touches, and a stored result that no longer
        loads is recomputed with a warning. The files are pickles: only point
        ``cache_dir`` at folders you trust.
    threads : int or None, default=None
        Threads each configuration may use (torch's intra-op pool and the BLAS/OpenMP
        pools, set in the worker around the call). None: the value of an enclosing
        :func:`configuration_threads`, else the CPU cores divided among the
        ``n_jobs`` workers (at least 1), so that workers share the cores instead of
        each starting one thread per core.

    Returns
    -------
    pandas.DataFrame
        The rows in the order of ``configurations``, the same with or without a cache.

    Examples
    --------
    >>> run_configurations(lambda a: {"a": a, "b": 2 * a}, [{"a": 1}, {"a": 2}])
       a  b
    0  1  2
    1  2  4

    With a cache, a second run reads the stored rows instead of computing them:

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> double = lambda a: {"a": a, "b": 2 * a}
    >>> first = run_configurations(double, [{"a": 1}, {"a": 2}], cache_dir=folder)
    >>> from pathlib import Path
    >>> len(list(Path(folder).rglob("output.pkl")))  # one stored result per configuration
    2
    >>> run_configurations(double, [{"a": 1}, {"a": 2}], cache_dir=folder).equals(first)
    True
    """
    configurations = list(configurations)
    threads = _check_threads(threads)
    if threads is None:
        threads = _THREADS.get()
    if threads is None:
        threads = _default_threads(n_jobs)
    target: Callable[..., dict | list[dict]] = function
    todo = list(range(len(configurations)))
    if cache_dir is not None:
        target = joblib.Memory(os.fspath(cache_dir), verbose=0).cache(function)
        todo = [i for i in todo if not target.check_call_in_cache(**configurations[i])]
    jobs = [delayed(_compute)(target, c, i, threads) for i, c in enumerate(configurations)]
    results: list[list[dict]] = [[] for _ in configurations]
    previous_threads = torch.get_num_threads()
    with threadpool_limits(limits=None):  # restores this process's BLAS/OpenMP limits
        try:
            for index, rows in _outputs(
                jobs, n_jobs, progress, description, len(todo), len(configurations)
            ):
                results[index] = rows
        finally:
            torch.set_num_threads(previous_threads)
    return pd.DataFrame([row for rows in results for row in rows])


def _outputs(
    jobs: list, n_jobs: int | None, progress: bool, description: str, n_todo: int, n_all: int
) -> Iterable:
    """``(index, rows)`` of each configuration run through joblib, as they finish."""
    try:
        outputs: Iterable = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs)
    except ValueError:  # a backend without generators
        outputs = Parallel(n_jobs=n_jobs)(jobs)
    if progress:
        from tqdm.auto import tqdm

        stored = n_all - n_todo
        label = f"{description} ({stored} stored)" if stored else description
        outputs = tqdm(outputs, total=n_all, desc=label)
    return outputs
