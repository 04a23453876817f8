"""Which measure predicts generalization? The ranking criteria of Jiang et al. and Dziugaite et al.

Given a zoo of models (one row each: hyperparameters, measures, generalization gap), every
measure ``mu`` is scored by how well it orders the models by their gap ``g``:

* Kendall's ``tau`` over all models and the granulated coefficient ``Psi`` with each axis's
  ``psi_i`` (Jiang et al. 2020, Sec. 3; :func:`~sklearn_gen.studies.measure_correlation`);
* the **conditional mutual information** of Jiang et al. (2020, Sec. 4). Over the ordered
  pairs of models ``(theta, theta')`` (each pair in both orders),
  ``V_g = sign(g(theta) - g(theta'))`` and ``V_mu = sign(mu(theta) - mu(theta'))``; for a
  set ``S`` of hyperparameters, ``U_S`` is the pair of values ``(theta_S, theta'_S)``. The
  normalized conditional mutual information ``I(V_mu; V_g | U_S) / H(V_g | U_S)`` is 1
  when ``mu`` orders every pair as ``g`` does (or always against it: the information
  ignores the direction) within each ``U_S``, and 0 when its order says nothing once
  ``U_S`` is known. A measure
  that only tracks one hyperparameter scores 0 once that hyperparameter is conditioned
  on, so the score is the **minimum over all ``S`` with at most ``max_conditioning``
  hyperparameters** (Jiang et al. take ``|S| <= 2``); the minima over ``|S| = 0, 1, 2`` are
  reported too. Pairs of equal gaps are left out; a measure's tie is a value of its own
  (``V_mu = 0``), so a measure that only tracks one hyperparameter, tied between the models
  that share it, carries no information once that hyperparameter is known;
* the **robust sign-error** of Dziugaite et al. (2020): an *environment* is one
  hyperparameter axis ``i`` and a setting of all the others; its pairs are the models of
  that setting that differ in axis ``i`` only. The sign-error of ``mu`` in an environment
  is the share of its pairs that ``mu`` orders against the gap (a tie counts one half);
  the robust sign-error is the **worst environment's** (the maximum), reported beside
  the mean over environments. 0 is perfect, 0.5 is chance, 1 is always wrong.

Every criterion comes with a bootstrap interval over models: the models are resampled with
replacement ``n_bootstrap`` times and the criterion recomputed (the percentile interval;
a resample that duplicates a model adds pairs of equal models, which are ties and left
out).

References
----------
.. [1] Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic
   generalization measures and where to find them", ICLR 2020, Sec. 3-4.
.. [2] G. K. Dziugaite, A. Drouin, B. Neal, N. Rajkumar, E. Caballero, L. Wang,
   I. Mitliagkas and D. M. Roy, "In search of robust measures of generalization",
   NeurIPS 2020.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from sklearn_gen._validation import check_int, check_real
from sklearn_gen.studies._correlation import _as_frame, _column, _gap, _hashable_keys

__all__ = [
    "compare_measures",
    "conditional_mutual_information",
    "rank_measures",
    "robust_sign_error",
]


# ------------------------------------------------------------------------------ pairs
def _pairs(n: int, ordered: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of models: ``i < j``, or every ordered pair ``i != j``."""
    first, second = np.triu_indices(n, k=1)
    if ordered:  # both orientations: V_g is +1 and -1 equally often
        return np.concatenate([first, second]), np.concatenate([second, first])
    return first, second


def _entropy(counts: np.ndarray) -> float:
    total = counts.sum()
    if total == 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * np.log(p)).sum())


def _codes(keys: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """One integer per model for its values of ``columns`` (0 for all when empty)."""
    if not columns:
        return np.zeros(len(keys), dtype=np.int64)
    joined = keys[list(columns)].astype(str).agg("\x1f".join, axis=1)
    return pd.factorize(joined)[0].astype(np.int64)


class _Grid:
    """Per-model integer codes of every set of hyperparameters the criteria group by.

    Computed once from the models' hyperparameters; a bootstrap resample indexes them.
    """

    def __init__(self, keys: pd.DataFrame, max_conditioning: int) -> None:
        self.axes = list(keys.columns)
        self.subsets = [
            subset
            for size in range(max_conditioning + 1)
            for subset in itertools.combinations(self.axes, size)
        ]
        wanted = set(self.subsets) | {(a,) for a in self.axes}
        wanted |= {tuple(c for c in self.axes if c != a) for a in self.axes}
        wanted.add(tuple(self.axes))
        self.codes = {subset: _codes(keys, subset) for subset in wanted}

    def take(self, index: np.ndarray) -> dict[tuple[str, ...], np.ndarray]:
        return {subset: codes[index] for subset, codes in self.codes.items()}

    def others(self, axis: str) -> tuple[str, ...]:
        return tuple(c for c in self.axes if c != axis)


def _tau_b(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b of two short vectors (pairwise signs); NaN when undefined."""
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 2:
        return float("nan")
    first, second = np.triu_indices(len(x), k=1)
    sx, sy = np.sign(x[first] - x[second]), np.sign(y[first] - y[second])
    denominator = math.sqrt(float(np.sum(sx != 0)) * float(np.sum(sy != 0)))
    return float(np.sum(sx * sy) / denominator) if denominator > 0 else float("nan")


def _psi(measure: np.ndarray, gap: np.ndarray, codes: dict, grid: _Grid) -> dict[str, float]:
    """Each axis's psi_i: the mean tau over the groups where only that axis varies."""
    out = {}
    for axis in grid.axes:
        others, values = codes[grid.others(axis)], codes[(axis,)]
        taus = []
        for code in np.unique(others):
            inside = others == code
            if len(np.unique(values[inside])) < 2:
                continue
            tau = _tau_b(measure[inside], gap[inside])
            if np.isfinite(tau):
                taus.append(tau)
        out[axis] = float(np.mean(taus)) if taus else float("nan")
    return out


def _normalized_cmi(v_mu: np.ndarray, v_g: np.ndarray, groups: np.ndarray) -> float:
    """``I(V_mu; V_g | U) / H(V_g | U)`` from the pairs' signs and group codes."""
    if len(v_g) == 0:
        return float("nan")
    cell = (v_mu.astype(np.int64) + 1) * 2 + (v_g > 0).astype(np.int64)  # 6 cells
    _, group_index = np.unique(groups, return_inverse=True)
    table = np.zeros((group_index.max() + 1, 6))
    np.add.at(table, (group_index, cell), 1.0)
    mi = h = 0.0
    total = len(v_g)
    for counts in table:
        weight = counts.sum() / total
        joint = _entropy(counts)
        h_mu = _entropy(counts.reshape(3, 2).sum(axis=1))
        h_g = _entropy(counts.reshape(3, 2).sum(axis=0))
        mi += weight * (h_mu + h_g - joint)
        h += weight * h_g
    return float(mi / h) if h > 1e-12 else float("nan")


def _cmi_by_size(
    measure: np.ndarray, gap: np.ndarray, codes: dict, grid: _Grid
) -> dict[int, float]:
    """The minimum normalized CMI over the sets ``S`` of each size."""
    first, second = _pairs(len(gap), ordered=True)
    d_mu, d_g = measure[first] - measure[second], gap[first] - gap[second]
    keep = np.isfinite(d_mu) & np.isfinite(d_g) & (d_g != 0)
    first, second = first[keep], second[keep]
    v_mu, v_g = np.sign(d_mu[keep]), np.sign(d_g[keep])
    values: dict[int, list[float]] = {}
    for subset in grid.subsets:
        model_codes = codes[subset]
        n_codes = int(model_codes.max()) + 1 if len(model_codes) else 1
        groups = model_codes[first] * n_codes + model_codes[second]  # U_S: both models'
        values.setdefault(len(subset), []).append(_normalized_cmi(v_mu, v_g, groups))
    return {
        size: float(min(v for v in found if np.isfinite(v)))
        if any(np.isfinite(v) for v in found)
        else float("nan")
        for size, found in values.items()
    }


def _sign_errors(
    measure: np.ndarray, gap: np.ndarray, codes: dict, grid: _Grid, min_gap: float = 0.0
) -> np.ndarray:
    """The sign-error of every environment with at least one usable pair (a pair whose gaps
    differ by more than ``min_gap``)."""
    first, second = _pairs(len(gap))
    full = codes[tuple(grid.axes)]
    d_mu, d_g = measure[first] - measure[second], gap[first] - gap[second]
    usable = np.isfinite(d_mu) & np.isfinite(d_g) & (np.abs(d_g) > min_gap)
    usable &= full[first] != full[second]
    wrong = np.sign(d_mu) * np.sign(d_g)
    wrong = np.where(wrong == 0, 0.5, (wrong < 0).astype(float))
    errors = []
    for axis in grid.axes:
        others, values = codes[grid.others(axis)], codes[(axis,)]
        chosen = usable & (others[first] == others[second]) & (values[first] != values[second])
        environment = others[first][chosen]
        if not len(environment):
            continue
        _, index = np.unique(environment, return_inverse=True)
        sums = np.bincount(index, weights=wrong[chosen])
        counts = np.bincount(index)
        errors.extend((sums / counts).tolist())
    return np.asarray(errors)


# ------------------------------------------------------------------------------ public
def check_resampling(
    measures: str | Sequence[str], n_bootstrap: Any, confidence: Any
) -> tuple[list[str], int, float]:
    """The measure columns as a non-empty list, ``n_bootstrap`` and ``confidence`` checked:
    the arguments every criterion with bootstrap intervals takes."""
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", 0)
    confidence = check_real(confidence, "confidence", 0.0, 1.0, closed="neither")
    measures = [measures] if isinstance(measures, str) else list(measures)
    if not measures:
        raise ValueError("measures must name at least one column.")
    return measures, n_bootstrap, confidence


def percentile_interval(draws: Sequence[float], confidence: float) -> tuple[float, float]:
    """The percentile interval of the finite bootstrap draws (NaN when none is finite)."""
    finite = np.asarray([d for d in draws if np.isfinite(d)], dtype=float)
    if not len(finite):
        return float("nan"), float("nan")
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return float(low), float(high)


def _prepare(
    frame: Any, gap: Any, hyperparameters: Sequence[str] | None
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    data = _as_frame(frame)
    if len(data) < 2:
        raise ValueError(f"frame needs at least two models (rows), got {len(data)}.")
    gap_values = _gap(data, gap).to_numpy(dtype=float)
    if hyperparameters is None:
        hyperparameters = [c for c in data.columns if str(c).startswith("param_")]
    elif isinstance(hyperparameters, str):
        hyperparameters = [hyperparameters]
    hyperparameters = list(hyperparameters)
    if not hyperparameters:
        raise ValueError(
            "hyperparameters must name the columns that define the grid (none given and no "
            "param_* columns found)."
        )
    missing = [h for h in hyperparameters if h not in data.columns]
    if missing:
        raise ValueError(f"hyperparameters {missing} are not columns of the frame.")
    return data, gap_values, _hashable_keys(data, hyperparameters)


def conditional_mutual_information(
    frame: pd.DataFrame | Mapping[str, Any],
    measure: str,
    gap: str | tuple[str, str] = "generalization_gap",
    hyperparameters: Sequence[str] | None = None,
    max_conditioning: int = 2,
) -> dict[int, float]:
    """Jiang et al.'s normalized conditional mutual information of a measure and the gap.

    See the module docstring. Returns the minimum of ``I(V_mu; V_g | U_S) / H(V_g | U_S)``
    over the hyperparameter sets ``S`` of each size ``0, 1, ..., max_conditioning``; the
    measure's score is the smallest of them.

    Parameters
    ----------
    frame : pandas.DataFrame or mapping
        One row per model (an experiment's frame or ``cv_results_``).
    measure : str
        The column holding the measure.
    gap : str or (str, str), default="generalization_gap"
        A column, or ``(first, second)`` whose difference is the gap.
    hyperparameters : sequence of str, optional
        The grid's columns (default: the ``param_*`` columns).
    max_conditioning : int, default=2
        The largest ``|S|``.

    Returns
    -------
    dict of int to float
        ``{size: minimum over the sets of that size}``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"lr": [1, 1, 2, 2], "width": [1, 2, 1, 2],
    ...                       "gap": [0.1, 0.2, 0.3, 0.4], "mu": [1.0, 2.0, 3.0, 4.0]})
    >>> cmi = conditional_mutual_information(frame, "mu", "gap", ["lr", "width"])
    >>> {size: round(value, 3) for size, value in cmi.items()}
    {0: 1.0, 1: 1.0, 2: nan}
    """
    max_conditioning = check_int(max_conditioning, "max_conditioning", 0)
    data, gap_values, keys = _prepare(frame, gap, hyperparameters)
    values = _column(data, measure, "measure").to_numpy(dtype=float)
    grid = _Grid(keys, max_conditioning)
    return _cmi_by_size(values, gap_values, grid.codes, grid)


def robust_sign_error(
    frame: pd.DataFrame | Mapping[str, Any],
    measure: str,
    gap: str | tuple[str, str] = "generalization_gap",
    hyperparameters: Sequence[str] | None = None,
    min_gap_difference: float = 0.0,
) -> tuple[float, float, int]:
    """Dziugaite et al.'s robust sign-error of a measure: its worst environment's.

    See the module docstring. ``min_gap_difference`` leaves out the pairs whose gaps differ
    by at most that much (Dziugaite et al. leave out the differences that the Monte-Carlo
    noise of the test error could make).

    Returns
    -------
    robust : float
        The largest sign-error over the environments (NaN without environments).
    mean : float
        The mean sign-error over the environments.
    n_environments : int

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"lr": [1, 1, 2, 2], "width": [1, 2, 1, 2],
    ...                       "gap": [0.1, 0.2, 0.3, 0.4], "mu": [1.0, 2.0, 3.0, 1.5]})
    >>> robust_sign_error(frame, "mu", "gap", ["lr", "width"])
    (1.0, 0.5, 4)
    """
    data, gap_values, keys = _prepare(frame, gap, hyperparameters)
    values = _column(data, measure, "measure").to_numpy(dtype=float)
    min_gap_difference = check_real(min_gap_difference, "min_gap_difference", 0.0)
    grid = _Grid(keys, 0)
    errors = _sign_errors(values, gap_values, grid.codes, grid, min_gap_difference)
    if len(errors) == 0:
        return float("nan"), float("nan"), 0
    return float(errors.max()), float(errors.mean()), len(errors)


def _criteria(
    measure: np.ndarray, gap: np.ndarray, codes: dict, grid: _Grid, min_gap: float = 0.0
) -> dict[str, float]:
    psi = _psi(measure, gap, codes, grid)
    finite_psi = [v for v in psi.values() if np.isfinite(v)]
    cmi = _cmi_by_size(measure, gap, codes, grid)
    finite = [v for v in cmi.values() if np.isfinite(v)]
    errors = _sign_errors(measure, gap, codes, grid, min_gap)
    return {
        "kendall_tau": _tau_b(measure, gap),
        "psi": float(np.mean(finite_psi)) if finite_psi else float("nan"),
        **{f"psi_{axis}": value for axis, value in psi.items()},
        "cmi": float(min(finite)) if finite else float("nan"),
        **{f"cmi_{size}": value for size, value in cmi.items()},
        "robust_sign_error": float(errors.max()) if len(errors) else float("nan"),
        "mean_sign_error": float(errors.mean()) if len(errors) else float("nan"),
    }


#: The criteria that get a bootstrap interval.
INTERVAL_CRITERIA = ("kendall_tau", "psi", "cmi", "robust_sign_error")


def rank_measures(
    frame: pd.DataFrame | Mapping[str, Any],
    measures: str | Sequence[str],
    gap: str | tuple[str, str] = "generalization_gap",
    hyperparameters: Sequence[str] | None = None,
    *,
    max_conditioning: int = 2,
    min_gap_difference: float = 0.0,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    random_state: Any = None,
) -> pd.DataFrame:
    """Every ranking criterion of every measure, with bootstrap intervals over models.

    See the module docstring for the criteria: Kendall's ``tau``, ``Psi`` and each axis's
    ``psi_i`` (Jiang et al. 2020, Sec. 3), the conditional mutual information (their
    Sec. 4: the minimum over ``|S| <= max_conditioning``, and per size), and the robust and
    mean sign-errors (Dziugaite et al. 2020). ``kendall_tau``, ``psi``, ``cmi`` and
    ``robust_sign_error`` get ``<criterion>_low`` / ``<criterion>_high``: the percentile
    interval over ``n_bootstrap`` resamples of the models.

    Parameters
    ----------
    frame : pandas.DataFrame or mapping
        One row per model: a study's frame or ``GridSearchCV(...).cv_results_``.
    measures : str or sequence of str
        The measure columns.
    gap : str or (str, str), default="generalization_gap"
        A column, or ``(first, second)`` whose difference is the gap.
    hyperparameters : sequence of str, optional
        The grid's columns (default: the ``param_*`` columns).
    max_conditioning : int, default=2
        The largest conditioning set of the mutual information.
    min_gap_difference : float, default=0.0
        The sign-errors leave out the pairs whose gaps differ by at most this (the noise
        of the test error: see :func:`robust_sign_error`).
    n_bootstrap : int, default=200
        Resamples of the models for the intervals (0: no intervals).
    confidence : float, default=0.95
        The intervals' level.
    random_state : int, RandomState instance or None, default=None
        Seeds the resampling.

    Returns
    -------
    pandas.DataFrame
        One row per measure, sorted by ``cmi`` (best first; the mutual information
        ignores the direction of the relation, which ``kendall_tau`` gives, and breaks
        ties), with ``n_models`` and the criteria.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame([{"lr": lr, "width": w} for lr in (1, 2, 4) for w in (1, 2, 4)])
    >>> frame["gap"] = frame["lr"] * 0.1 + rng.normal(0, 0.01, len(frame))
    >>> frame["good"] = frame["gap"] + rng.normal(0, 0.001, len(frame))
    >>> frame["width_only"] = frame["width"].astype(float)
    >>> table = rank_measures(frame, ["good", "width_only"], "gap", ["lr", "width"],
    ...                       n_bootstrap=20, random_state=0)
    >>> list(table["measure"])
    ['good', 'width_only']
    """
    max_conditioning = check_int(max_conditioning, "max_conditioning", 0)
    min_gap = check_real(min_gap_difference, "min_gap_difference", 0.0)
    measures, n_bootstrap, confidence = check_resampling(measures, n_bootstrap, confidence)
    data, gap_values, keys = _prepare(frame, gap, hyperparameters)
    grid = _Grid(keys, max_conditioning)
    rng = check_random_state(random_state)
    resamples = [rng.randint(0, len(data), len(data)) for _ in range(n_bootstrap)]
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name in measures:
            values = _column(data, name, "measure").to_numpy(dtype=float)
            row: dict[str, Any] = {
                "measure": name,
                "n_models": int(np.sum(np.isfinite(values) & np.isfinite(gap_values))),
            }
            row.update(_criteria(values, gap_values, grid.codes, grid, min_gap))
            draws: dict[str, list[float]] = {c: [] for c in INTERVAL_CRITERIA}
            for index in resamples:  # the same resamples for every measure
                boot = _criteria(values[index], gap_values[index], grid.take(index), grid, min_gap)
                for criterion in INTERVAL_CRITERIA:
                    draws[criterion].append(boot[criterion])
            for criterion in INTERVAL_CRITERIA:
                low, high = percentile_interval(draws[criterion], confidence)
                row[f"{criterion}_low"], row[f"{criterion}_high"] = low, high
            rows.append(row)
    table = pd.DataFrame(rows)
    return table.sort_values(
        ["cmi", "kendall_tau"], ascending=False, na_position="last", kind="stable"
    ).reset_index(drop=True)


def compare_measures(
    frame: pd.DataFrame | Mapping[str, Any],
    first: str,
    second: str,
    gap: str | tuple[str, str] = "generalization_gap",
    hyperparameters: Sequence[str] | None = None,
    *,
    criterion: str = "psi",
    max_conditioning: int = 2,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    random_state: Any = None,
) -> tuple[float, float, float]:
    """The difference of two measures' ``criterion``, with a paired bootstrap interval.

    Both measures are scored on the same resamples of the models, so the interval is that
    of the difference (``first - second``), not of two separate estimates.

    Parameters
    ----------
    frame : pandas.DataFrame or mapping
        As for :func:`rank_measures`.
    first, second : str
        The measure columns.
    gap, hyperparameters
        As for :func:`rank_measures`.
    criterion : str, default="psi"
        ``"kendall_tau"``, ``"psi"``, ``"cmi"``, ``"robust_sign_error"`` or
        ``"mean_sign_error"``.
    max_conditioning, n_bootstrap, confidence, random_state
        As for :func:`rank_measures`.

    Returns
    -------
    (difference, low, high) : tuple of float

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame([{"lr": lr, "width": w} for lr in (1, 2, 4) for w in (1, 2, 4)])
    >>> frame["gap"] = frame["lr"] * 0.1 + rng.normal(0, 0.01, len(frame))
    >>> frame["good"], frame["bad"] = frame["gap"], -frame["gap"]
    >>> diff, low, high = compare_measures(frame, "good", "bad", "gap", ["lr", "width"],
    ...                                    criterion="kendall_tau", n_bootstrap=50,
    ...                                    random_state=0)
    >>> diff, bool(low > 0)
    (2.0, True)
    """
    criteria = ("kendall_tau", "psi", "cmi", "robust_sign_error", "mean_sign_error")
    if criterion not in criteria:
        raise ValueError(f"criterion must be one of {criteria}, got {criterion!r}.")
    max_conditioning = check_int(max_conditioning, "max_conditioning", 0)
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap")
    confidence = check_real(confidence, "confidence", 0.0, 1.0, closed="neither")
    data, gap_values, keys = _prepare(frame, gap, hyperparameters)
    grid = _Grid(keys, max_conditioning)
    a = _column(data, first, "measure").to_numpy(dtype=float)
    b = _column(data, second, "measure").to_numpy(dtype=float)
    rng = check_random_state(random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        point = (
            _criteria(a, gap_values, grid.codes, grid)[criterion]
            - _criteria(b, gap_values, grid.codes, grid)[criterion]
        )
        draws = []
        for _ in range(n_bootstrap):
            index = rng.randint(0, len(data), len(data))
            codes = grid.take(index)
            draws.append(
                _criteria(a[index], gap_values[index], codes, grid)[criterion]
                - _criteria(b[index], gap_values[index], codes, grid)[criterion]
            )
    return (float(point), *percentile_interval(draws, confidence))
