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

With ``cache_dir``, every finished configuration's rows are stored in their own file
(:func:`configuration_key` names it), so an interrupted study resumes where it stopped
and a changed parameter recomputes only the configurations it touches.
"""

from __future__ import annotations

import functools
import hashlib
import json
import numbers
import os
import pickle
import re
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from sklearn_gen.experiments._files import atomic_write

__all__ = ["config_seed", "configuration_key", "configuration_threads", "run_configurations"]

#: Version of the cache file layout; files of another version are recomputed.
#: 2: the randomization test's per-epoch columns renamed (running_/end_of_epoch_train_*).
CACHE_FORMAT = 2
#: Test hook: seconds to sleep after each computed configuration (lets tests interrupt
#: a study midway). Not meant for users.
_DELAY_ENV_VAR = "_SKLEARN_GEN_CONFIG_DELAY"
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
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


def config_seed(random_state: int | np.random.RandomState | None, *keys: Any) -> int:
    """A seed for one configuration, stable across runs, processes and machines.

    ``random_state`` (an int, or a RandomState/None from which one int is drawn) is
    hashed together with ``keys`` (the configuration's values, e.g. ``("random", 0.5, 2)``).

    Examples
    --------
    >>> config_seed(0, "random labels", 1) == config_seed(0, "random labels", 1)
    True
    >>> config_seed(0, "a") != config_seed(0, "b")
    True
    """
    if random_state is None or isinstance(random_state, np.random.RandomState):
        base = int(check_random_state(random_state).randint(0, 2**31 - 1))
    else:
        base = int(random_state)
    text = json.dumps([base, *[str(k) for k in keys]])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def _qualified_name(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)
    return f"{module}.{name}" if module else name


def _canonical(value: Any, arrays: dict[int, Any] | None = None) -> Any:
    """A JSON-able description of ``value`` that is equal for equal configurations.

    Plain values stay as they are; arrays become their dtype, shape and a SHA-256 of their
    bytes; estimators (anything with ``get_params``) their class and
    ``get_params(deep=False)``, as :func:`sklearn.base.clone` sees them; functions and
    classes their qualified name; anything else its ``repr`` without memory addresses.
    ``arrays`` memoizes array digests by ``id`` within one call.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if np.isfinite(value) else {"float": repr(value)}
    if isinstance(value, np.ndarray) or type(value).__module__.startswith("pandas"):
        array = np.asarray(value)
        cache = arrays if arrays is not None else {}
        digest = cache.get(id(value))
        if digest is None:
            data = array.tobytes() if array.dtype != object else pickle.dumps(array.tolist())
            digest = hashlib.sha256(data).hexdigest()
            cache[id(value)] = digest
        return {"array": [str(array.dtype), list(array.shape), digest]}
    if isinstance(value, dict):
        return {"dict": sorted([str(k), _canonical(v, arrays)] for k, v in value.items())}
    if isinstance(value, (list, tuple)):
        return {type(value).__name__: [_canonical(v, arrays) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"set": sorted(json.dumps(_canonical(v, arrays)) for v in value)}
    if isinstance(value, functools.partial):
        return {
            "partial": [
                _canonical(value.func, arrays),
                _canonical(value.args, arrays),
                _canonical(value.keywords, arrays),
            ]
        }
    if hasattr(value, "get_n_splits") and hasattr(value, "split") and not isinstance(value, type):
        # an sklearn splitter (the official split's PredefinedSplit): its full state, not its
        # repr, which elides long arrays
        return {"splitter": [_qualified_name(type(value)), _canonical(vars(value), arrays)]}
    if hasattr(value, "get_params") and not isinstance(value, type):
        params = value.get_params(deep=False)
        return {"estimator": [_qualified_name(type(value)), _canonical(params, arrays)]}
    if isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__")):
        return {"callable": _qualified_name(value)}
    return {"repr": [_qualified_name(type(value)), _ADDRESS.sub("", repr(value))]}


def configuration_key(function: Callable[..., Any], configuration: dict) -> str:
    """A stable name for one configuration of ``function``: a SHA-256 hex digest.

    The digest covers the function's qualified name and the configuration's values
    (JSON with sorted keys; arrays by their bytes, estimators by their class and
    ``get_params(deep=False)``, other objects by their ``repr``), so it is the same in
    every process and run, and changes when any value changes.

    Parameters
    ----------
    function : callable
        The module-level function that computes the configuration.
    configuration : dict
        Its keyword arguments.

    Returns
    -------
    str
        64 hexadecimal characters.

    Examples
    --------
    >>> key = configuration_key(abs, {"x": 1, "y": [0.5, "a"]})
    >>> key == configuration_key(abs, {"y": [0.5, "a"], "x": 1})  # order does not matter
    True
    >>> key == configuration_key(abs, {"x": 2, "y": [0.5, "a"]})
    False
    >>> len(key)
    64
    """
    return _key(function, configuration, {})


def _key(function: Callable[..., Any], configuration: dict, arrays: dict[int, Any]) -> str:
    description = {
        "function": _qualified_name(function),
        "configuration": _canonical(dict(configuration), arrays),
    }
    text = json.dumps(description, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"{key}.pkl"


def _write_cache(path: Path, key: str, function_name: str, rows: list[dict]) -> None:
    """Store ``rows`` atomically: a JSON header line (key, checksum) and a pickle."""
    payload = pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)
    header = {
        "format": CACHE_FORMAT,
        "key": key,
        "function": function_name,
        "n_rows": len(rows),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    data = json.dumps(header, sort_keys=True).encode() + b"\n" + payload
    atomic_write(path, lambda p: p.write_bytes(data))


def _read_cache(path: Path, key: str) -> list[dict] | None:
    """The rows stored under ``key``; None when absent; warns and returns None if invalid."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        reason = f"unreadable ({exc})"
    else:
        reason = _invalid_reason(data, key)
        if reason is None:
            payload = data.partition(b"\n")[2]
            try:
                rows = pickle.loads(payload)
            except Exception as exc:
                reason = f"payload does not load ({exc})"
            else:
                if isinstance(rows, list) and all(isinstance(row, dict) for row in rows):
                    return rows
                reason = "payload is not a list of rows"
    warnings.warn(
        f"Cached results {path} are invalid ({reason}); recomputing this configuration.",
        RuntimeWarning,
        stacklevel=3,
    )
    return None


def _invalid_reason(data: bytes, key: str) -> str | None:
    line, newline, payload = data.partition(b"\n")
    if not newline:
        return "truncated header"
    try:
        header = json.loads(line)
    except ValueError:
        return "corrupt header"
    if not isinstance(header, dict):
        return "corrupt header"
    if header.get("format") != CACHE_FORMAT:
        return f"format {header.get('format')!r}, expected {CACHE_FORMAT}"
    if header.get("key") != key:
        return "its key does not match its name"
    if header.get("sha256") != hashlib.sha256(payload).hexdigest():
        return "checksum mismatch (truncated or corrupt payload)"
    return None


def _as_rows(result: dict | list[dict]) -> list[dict]:
    return list(result) if isinstance(result, list) else [result]


def _compute(
    function: Callable[..., dict | list[dict]],
    configuration: dict,
    index: int,
    cache_path: str | None,
    key: str | None,
    threads: int = 1,
) -> tuple[int, list[dict]]:
    """Run one configuration (in a joblib worker) on ``threads`` threads; store its rows.

    The limits are set, not restored: restoring from one of several threads of a process
    would race with the others; :func:`run_configurations` restores its own process's.
    """
    torch.set_num_threads(threads)
    threadpool_limits(limits=threads)
    rows = _as_rows(function(**configuration))
    if cache_path is not None and key is not None:
        try:
            _write_cache(Path(cache_path), key, _qualified_name(function), rows)
        except OSError:
            pass  # e.g. a remote worker without the folder; the caller stores the rows
    delay = float(os.environ.get(_DELAY_ENV_VAR, 0) or 0)
    if delay > 0:
        time.sleep(delay)
    return index, rows


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
        joblib's ``n_jobs`` (None: one, or the active backend's default, e.g. Dask).
    progress : bool, default=False
        Show a tqdm bar over configurations.
    description : str
        Label of the progress bar.
    cache_dir : str, path or None, default=None
        Folder of finished configurations. When given, each configuration's rows are
        written to ``cache_dir/<key>.pkl`` (:func:`configuration_key`; a JSON header
        with the key and a SHA-256 of the payload, then the pickled rows) as soon as it
        finishes, through a temporary file renamed into place. Configurations whose
        file is there and valid are read instead of computed; an invalid file
        (truncated, corrupt, another key) is recomputed with a ``RuntimeWarning``.
        The files are pickles: only point ``cache_dir`` at folders you trust.
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
    >>> import os
    >>> len(os.listdir(folder))  # one file per configuration
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
    results: list[list[dict] | None] = [None] * len(configurations)
    keys: list[str | None] = [None] * len(configurations)
    folder = None if cache_dir is None else Path(cache_dir)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        arrays: dict[int, Any] = {}
        for index, config in enumerate(configurations):
            keys[index] = key = _key(function, config, arrays)
            results[index] = _read_cache(_cache_path(folder, key), key)
    todo = [index for index, rows in enumerate(results) if rows is None]
    jobs = [
        delayed(_compute)(
            function,
            configurations[index],
            index,
            None if folder is None else str(_cache_path(folder, keys[index])),
            keys[index],
            threads,
        )
        for index in todo
    ]
    previous_threads = torch.get_num_threads()
    with threadpool_limits(limits=None):  # restores this process's BLAS/OpenMP limits
        try:
            for index, rows in _outputs(
                jobs, n_jobs, progress, description, len(todo), len(configurations)
            ):
                results[index] = rows
                key = keys[index]
                if folder is not None and key is not None:
                    path = _cache_path(folder, key)
                    if not path.exists():  # the worker could not write it (another machine)
                        _write_cache(path, key, _qualified_name(function), rows)
        finally:
            torch.set_num_threads(previous_threads)
    frame_rows: list[dict] = []
    for rows in results:
        frame_rows.extend(rows or [])
    return pd.DataFrame(frame_rows)


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

        outputs = tqdm(outputs, total=n_all, initial=n_all - n_todo, desc=description)
    return outputs
