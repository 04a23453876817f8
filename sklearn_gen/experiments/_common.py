"""What every experiment shares: configurations run through joblib, seeds, tidy frames.

An experiment is a list of independent configurations (dicts of keyword arguments). Each
one runs in :func:`run_configurations` through :class:`joblib.Parallel`, so
``n_jobs`` spreads them over local processes and ``with joblib.parallel_backend("dask"):``
over a Dask cluster. A configuration's seed comes from :func:`config_seed` (the experiment's
``random_state`` and the configuration's own values), so results do not depend on the
order or the place in which configurations run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.utils import check_random_state

__all__ = ["config_seed", "run_configurations"]


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


def run_configurations(
    function: Callable[..., dict | list[dict]],
    configurations: Iterable[dict],
    *,
    n_jobs: int | None = None,
    progress: bool = False,
    description: str = "configurations",
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

    Returns
    -------
    pandas.DataFrame
        The rows in the order of ``configurations``.

    Examples
    --------
    >>> run_configurations(lambda a: {"a": a, "b": 2 * a}, [{"a": 1}, {"a": 2}])
       a  b
    0  1  2
    1  2  4
    """
    configurations = list(configurations)
    jobs = (delayed(function)(**config) for config in configurations)
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    if progress:
        from tqdm.auto import tqdm

        results = tqdm(results, total=len(configurations), desc=description)
    rows: list[dict] = []
    for result in results:
        rows.extend(result if isinstance(result, list) else [result])
    return pd.DataFrame(rows)
