"""How well does a measure rank models by their generalization gap? (Jiang et al. 2020).

Jiang, Neyshabur, Mobahi, Krishnan and Bengio train thousands of networks over a grid of
hyperparameters and ask, for each candidate generalization measure, whether it *ranks* the
models by their generalization gap: the Kendall rank correlation ``tau`` over all models,
and the *granulated* Kendall coefficient ``Psi``, which averages, over the hyperparameter
axes, the correlation obtained when only that one hyperparameter changes (so a measure
cannot score well by tracking a single dominant hyperparameter).

This module holds the pieces every ranking criterion shares: the grid's integer codes
(:class:`_Grid`), Kendall's tau of two short vectors (:func:`_tau`) and ``Psi``
(:func:`_psi`), used by :func:`measure_correlation` and by
:func:`~sklearn_gen.studies.rank_measures`.

References
----------
.. [1] Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic
   generalization measures and where to find them", ICLR 2020 (arXiv:1912.02178), Sec. 3.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sklearn_gen._validation import check_choice

__all__ = ["measure_correlation"]

#: Kendall's tau: ``"b"`` (ties in either variable leave the pair out of that variable's
#: count: scipy's default) or ``"a"`` (Jiang et al.'s Eq. 2: every pair in the denominator).
TAU_VARIANTS = ("b", "a")
#: How the models of one configuration (seeds) enter ``Psi``: ``"pool"`` (each model is one
#: member of its group) or ``"mean"`` (the measure and the gap averaged per configuration).
REPEATS = ("pool", "mean")


def _as_frame(frame: Any) -> pd.DataFrame:
    """A DataFrame from a frame or a ``cv_results_``-like mapping of equal-length columns."""
    if isinstance(frame, pd.DataFrame):
        return frame.reset_index(drop=True)
    if isinstance(frame, Mapping):
        columns = {}
        for key, value in frame.items():
            if isinstance(value, np.ma.MaskedArray):  # cv_results_' param_* columns
                value = [
                    None if masked else item
                    for item, masked in zip(value.data, np.ma.getmaskarray(value), strict=True)
                ]
            columns[key] = list(value) if not np.isscalar(value) else value
        try:
            return pd.DataFrame(columns)
        except ValueError as exc:
            raise ValueError(f"frame could not be read as a table: {exc}") from None
    raise ValueError(
        "frame must be a pandas DataFrame or a mapping of columns such as "
        f"GridSearchCV.cv_results_, got {type(frame).__name__}."
    )


def _column(frame: pd.DataFrame, name: Any, role: str) -> pd.Series:
    if not isinstance(name, str) or name not in frame.columns:
        raise ValueError(f"{role} {name!r} is not a column of the frame ({list(frame.columns)}).")
    try:
        return frame[name].astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"{role} column {name!r} is not numeric.") from None


def _gap(frame: pd.DataFrame, gap: Any) -> pd.Series:
    if isinstance(gap, str):
        return _column(frame, gap, "gap")
    if isinstance(gap, tuple) and len(gap) == 2:
        return _column(frame, gap[0], "gap") - _column(frame, gap[1], "gap")
    raise ValueError(
        f"gap must be a column name or a pair (first, second) of columns, got {gap!r}."
    )


def _hashable_keys(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Hyperparameter values as strings, so that None, tuples or lists can be grouped."""
    return pd.DataFrame({c: frame[c].map(repr) for c in columns}, index=frame.index)


def _hyperparameters(data: pd.DataFrame, hyperparameters: Any) -> list[str]:
    """The grid's columns: as given, or the ``param_*`` columns; each checked to exist."""
    if hyperparameters is None:
        hyperparameters = [c for c in data.columns if str(c).startswith("param_")]
    elif isinstance(hyperparameters, str):
        hyperparameters = [hyperparameters]
    hyperparameters = list(hyperparameters)
    missing = [h for h in hyperparameters if h not in data.columns]
    if missing:
        raise ValueError(f"hyperparameters {missing} are not columns of the frame.")
    return hyperparameters


# ------------------------------------------------------------------------------ the grid
def _codes(keys: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """One integer per model for its values of ``columns`` (0 for all when empty)."""
    if not columns:
        return np.zeros(len(keys), dtype=np.int64)
    joined = keys[list(columns)].astype(str).agg("\x1f".join, axis=1)
    return pd.factorize(joined)[0].astype(np.int64)


class _Grid:
    """Per-model integer codes of every set of hyperparameters the criteria group by.

    Computed once from the models' hyperparameters; a bootstrap resample indexes them
    (:meth:`take`). ``complete[axis]`` holds the settings of the other axes whose group is
    *complete* in the frame: every value of ``axis`` that the frame holds, each with as
    many models as the most repeated configuration.
    """

    def __init__(self, keys: pd.DataFrame, max_conditioning: int = 0) -> None:
        self.axes = list(keys.columns)
        self.subsets = [
            subset
            for size in range(max_conditioning + 1)
            for subset in itertools.combinations(self.axes, size)
        ]
        wanted = set(self.subsets) | {(a,) for a in self.axes}
        wanted |= {self.others(a) for a in self.axes}
        wanted.add(tuple(self.axes))
        self.codes = {subset: _codes(keys, subset) for subset in wanted}
        configuration = self.codes[tuple(self.axes)]
        repeats = int(np.bincount(configuration).max()) if len(configuration) else 0
        self.complete: dict[str, set[int]] = {}
        for axis in self.axes:
            others, values = self.codes[self.others(axis)], self.codes[(axis,)]
            n_values = len(np.unique(values))
            self.complete[axis] = {
                int(code)
                for code in np.unique(others)
                if len(np.unique(values[others == code])) == n_values
                and int(np.sum(others == code)) == n_values * repeats
            }

    def take(self, index: np.ndarray) -> dict[tuple[str, ...], np.ndarray]:
        return {subset: codes[index] for subset, codes in self.codes.items()}

    def others(self, axis: str) -> tuple[str, ...]:
        return tuple(c for c in self.axes if c != axis)


# ------------------------------------------------------------------------------ tau and Psi
@functools.lru_cache(maxsize=256)
def _upper_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The index pairs ``i < j`` of ``n`` items (cached: the criteria ask for the same few
    sizes thousands of times; read-only arrays)."""
    first, second = np.triu_indices(n, k=1)
    first.flags.writeable = second.flags.writeable = False
    return first, second


def _tau(x: np.ndarray, y: np.ndarray, variant: str = "b") -> float:
    """Kendall's tau of two short vectors from the signs of their pairwise differences.

    Non-finite entries are left out. ``"b"``: ``sum sx sy / sqrt(n_x n_y)``, ``n_x`` the
    pairs untied in ``x`` (scipy's tau-b), NaN when either variable is constant; ``"a"``:
    ``sum sx sy / n_pairs`` (Jiang et al.'s Eq. 2), 0 when either is constant. NaN with
    fewer than two entries.
    """
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 2:
        return float("nan")
    first, second = _upper_pairs(len(x))
    sx, sy = np.sign(x[first] - x[second]), np.sign(y[first] - y[second])
    if variant == "a":
        return float(np.sum(sx * sy) / len(sx))
    denominator = math.sqrt(float(np.sum(sx != 0)) * float(np.sum(sy != 0)))
    return float(np.sum(sx * sy) / denominator) if denominator > 0 else float("nan")


def _psi(
    measure: np.ndarray,
    gap: np.ndarray,
    codes: dict[tuple[str, ...], np.ndarray],
    grid: _Grid,
    *,
    variant: str = "b",
    repeats: str = "pool",
    complete: bool = False,
) -> dict[str, float]:
    """Each axis's ``psi_i``: the mean tau over the groups where only that axis varies.

    A group is a setting of the other axes holding at least two values of the axis (among
    the models with a finite measure and gap); every such group counts, and one where the
    measure or the gap is constant counts 0 (Jiang et al.'s Eq. 4 averages over all the
    settings of the other axes). ``repeats="mean"`` first averages the measure and the gap
    over the models of each configuration; ``complete`` keeps only the groups of
    ``grid.complete``. NaN for an axis with no group.
    """
    keep = np.isfinite(measure) & np.isfinite(gap)
    rows = np.flatnonzero(keep)
    measure, gap = measure[rows], gap[rows]
    if repeats == "mean" and len(rows):
        _, first, inverse = np.unique(
            codes[tuple(grid.axes)][rows], return_index=True, return_inverse=True
        )
        counts = np.bincount(inverse)
        measure = np.bincount(inverse, weights=measure) / counts
        gap = np.bincount(inverse, weights=gap) / counts
        rows = rows[first]
    out = {}
    for axis in grid.axes:
        others, values = codes[grid.others(axis)][rows], codes[(axis,)][rows]
        order = np.argsort(others, kind="stable")
        starts = np.flatnonzero(np.diff(others[order])) + 1
        taus = []
        for inside in np.split(order, starts) if len(order) else []:
            if complete and int(others[inside[0]]) not in grid.complete[axis]:
                continue
            if values[inside].min() == values[inside].max():
                continue  # not a group where this axis varies
            tau = _tau(measure[inside], gap[inside], variant)
            taus.append(tau if np.isfinite(tau) else 0.0)  # a constant group counts 0
        out[axis] = float(np.mean(taus)) if taus else float("nan")
    return out


def _mean_psi(per_axis: Mapping[str, float]) -> float:
    """``Psi``: the mean of the axes' ``psi_i`` (an axis that never varies has none)."""
    finite = [v for v in per_axis.values() if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def measure_correlation(
    frame: pd.DataFrame | Mapping[str, Any],
    measures: str | Sequence[str],
    gap: str | tuple[str, str] = "generalization_gap",
    hyperparameters: Sequence[str] | None = None,
    *,
    tau_variant: str = "b",
    repeats: str = "pool",
) -> pd.DataFrame:
    """Kendall's tau and the granulated Kendall coefficient Psi of measures vs. the gap.

    For a measure ``mu`` and the generalization gap ``g`` of the models (rows),

    * ``kendall_tau`` is Kendall's rank correlation between ``mu`` and ``g`` over all rows
      (tau-b, as :func:`scipy.stats.kendalltau` computes it, or Jiang et al.'s tau-a:
      ``tau_variant``);
    * for each hyperparameter axis ``i``, ``psi_<i>`` is the mean, over **all** the
      settings ``theta_{-i}`` of the other hyperparameters under which axis ``i`` takes at
      least two values, of Kendall's tau within that group:
      ``psi_i = (1 / m_i) sum_{theta_{-i}} tau(mu, g | theta_{-i})`` (Jiang et al. 2020,
      Eq. 4). A group in which the measure or the gap is constant counts **0** (its tau-b
      is undefined; its tau-a is 0), so a measure that is constant along an axis gets
      ``psi_i = 0`` there;
    * ``psi`` is the granulated Kendall coefficient ``Psi = (1 / n) sum_i psi_i``, the
      mean over the ``n`` axes (an axis that never takes two values in one group has no
      ``psi_i``, NaN, and is left out).

    A positive value means that a larger measure goes with a larger gap: a measure read
    from a ``neg_`` scorer (``mean_train_neg_path_norm``, the negated path norm) has the
    opposite sign of the measure itself. Rows with a non-finite measure or gap are left
    out. Repeats (rows with equal hyperparameters, e.g. seeds) are each one member of
    their group with ``repeats="pool"``, so a pair of seed-mates, which differ only by
    noise, counts in the group's tau; ``repeats="mean"`` averages the measure and the gap
    over the repeats of each configuration first.

    Parameters
    ----------
    frame : pandas.DataFrame or mapping
        One row per model: an experiment's frame or ``GridSearchCV(...).cv_results_``
        (a dict of columns, converted to a frame; its masked ``param_*`` columns are read
        with None for masked entries).
    measures : str or sequence of str
        Columns holding the measures, e.g. ``"product_norm"`` or, for ``cv_results_`` with
        ``scoring={"neg_path_norm": ...}`` and ``return_train_score=True``,
        ``"mean_train_neg_path_norm"``.
    gap : str or (str, str), default="generalization_gap"
        A column holding the gap, or a pair ``(first, second)`` of columns whose
        difference ``first - second`` is the gap: ``("mean_train_score",
        "mean_test_score")`` (or ``("mean_train_accuracy", "mean_test_accuracy")``) for
        scores, where higher is better; ``("test_error", "train_error")`` or
        ``("test_loss", "train_loss")`` for errors and losses.
    hyperparameters : sequence of str, default=None
        The columns that define the grid. None takes the ``param_*`` columns of a
        ``cv_results_`` frame; a frame without them gives NaN for ``psi``.
    tau_variant : {"b", "a"}, default="b"
        ``"b"``: tau-b, a pair tied in one variable left out of that variable's count
        (scipy's); ``"a"``: Jiang et al.'s Eq. 2, ``sum sign(dmu) sign(dg) / n_pairs``.
        The two agree where neither variable has ties.
    repeats : {"pool", "mean"}, default="pool"
        How the models of one configuration enter ``Psi`` (see above).

    Returns
    -------
    pandas.DataFrame
        One row per measure: ``measure``, ``n_models``, ``kendall_tau``, ``psi`` and one
        ``psi_<hyperparameter>`` column per axis.

    References
    ----------
    .. [1] Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic
       generalization measures and where to find them", ICLR 2020, Sec. 3, Eq. (4).

    Examples
    --------
    An experiment frame, with the hyperparameters named:

    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "width": [1, 1, 2, 2], "depth": [1, 2, 1, 2],
    ...     "gap": [0.1, 0.2, 0.3, 0.5], "norm": [1.0, 2.0, 3.0, 4.0],
    ... })
    >>> measure_correlation(frame, "norm", gap="gap", hyperparameters=["width", "depth"])
      measure  n_models  kendall_tau  psi  psi_width  psi_depth
    0    norm         4          1.0  1.0        1.0        1.0

    A measure that only tracks the width is constant along the depth: ``psi_depth`` is 0.

    >>> frame["width_only"] = frame["width"].astype(float)
    >>> row = measure_correlation(frame, "width_only", "gap", ["width", "depth"]).iloc[0]
    >>> float(row["psi_width"]), float(row["psi_depth"]), float(row["psi"])
    (1.0, 0.0, 0.5)

    ``GridSearchCV.cv_results_`` with a measure as a scorer; the gap is the difference of
    the train and test accuracies and the hyperparameters are the ``param_*`` columns:

    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_gen import KernelInterpolator
    >>> def neg_rkhs_norm(estimator, X, y):
    ...     return -estimator.rkhs_norm_
    >>> X, y = load_digits(return_X_y=True)
    >>> search = GridSearchCV(
    ...     KernelInterpolator(device="cpu"), {"gamma": [0.01, 0.05, 0.2]}, cv=2,
    ...     scoring={"accuracy": "accuracy", "neg_rkhs_norm": neg_rkhs_norm},
    ...     refit=False, return_train_score=True,
    ... ).fit(X[:400] / 16, y[:400])
    >>> table = measure_correlation(
    ...     search.cv_results_, ["mean_train_neg_rkhs_norm"],
    ...     gap=("mean_train_accuracy", "mean_test_accuracy"),
    ... )
    >>> list(table.columns)
    ['measure', 'n_models', 'kendall_tau', 'psi', 'psi_param_gamma']
    """
    check_choice(tau_variant, "tau_variant", TAU_VARIANTS)
    check_choice(repeats, "repeats", REPEATS)
    data = _as_frame(frame)
    if len(data) == 0:
        raise ValueError("frame has no rows.")
    if isinstance(measures, str):
        measures = [measures]
    measures = list(measures)
    if not measures:
        raise ValueError("measures must name at least one column.")
    gap_values = _gap(data, gap).to_numpy(dtype=float)
    hyperparameters = _hyperparameters(data, hyperparameters)
    grid = _Grid(_hashable_keys(data, hyperparameters))

    rows = []
    for name in measures:
        values = _column(data, name, "measure").to_numpy(dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            per_axis = _psi(
                values, gap_values, grid.codes, grid, variant=tau_variant, repeats=repeats
            )
            row = {
                "measure": name,
                "n_models": int(np.sum(np.isfinite(values) & np.isfinite(gap_values))),
                "kendall_tau": _tau(values, gap_values, tau_variant),
                "psi": _mean_psi(per_axis),
            }
        row.update({f"psi_{h}": v for h, v in per_axis.items()})
        rows.append(row)
    return pd.DataFrame(rows)
