"""How well does a measure rank models by their generalization gap? (Jiang et al. 2019).

Jiang, Neyshabur, Mobahi, Krishnan and Bengio train thousands of networks over a grid of
hyperparameters and ask, for each candidate generalization measure, whether it *ranks* the
models by their generalization gap: the Kendall rank correlation ``tau`` over all models,
and the *granulated* Kendall coefficient ``Psi``, which averages, over the hyperparameter
axes, the correlation obtained when only that one hyperparameter changes (so a measure
cannot score well by tracking a single dominant hyperparameter).

References
----------
.. [1] Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic
   generalization measures and where to find them", ICLR 2020 (arXiv:1912.02178), Sec. 3.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

__all__ = ["measure_correlation"]


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


def _tau(measure: np.ndarray, gap: np.ndarray) -> float:
    """Kendall's tau-b; NaN with fewer than two valid pairs or a constant variable."""
    keep = np.isfinite(measure) & np.isfinite(gap)
    measure, gap = measure[keep], gap[keep]
    if len(measure) < 2 or np.ptp(measure) == 0 or np.ptp(gap) == 0:
        return float("nan")
    return float(kendalltau(measure, gap).statistic)


def _hashable_keys(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Hyperparameter values as strings, so that None, tuples or lists can be grouped."""
    return pd.DataFrame({c: frame[c].map(repr) for c in columns}, index=frame.index)


def _psi_axis(measure: np.ndarray, gap: np.ndarray, keys: pd.DataFrame, axis: str) -> float:
    """Mean, over settings of the other hyperparameters, of tau when only ``axis`` varies."""
    others = [c for c in keys.columns if c != axis]
    if others:
        groups = keys.groupby(others, sort=False, dropna=False).indices.values()
    else:
        groups = [np.arange(len(keys))]
    taus = []
    for index in groups:
        index = np.asarray(index)
        if keys[axis].iloc[index].nunique() < 2:
            continue
        tau = _tau(measure[index], gap[index])
        if np.isfinite(tau):
            taus.append(tau)
    return float(np.mean(taus)) if taus else float("nan")


def measure_correlation(
    frame: pd.DataFrame | Mapping[str, Any],
    measures: str | Sequence[str],
    gap: str | tuple[str, str] = "generalization_gap",
    hyperparameters: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Kendall's tau and the granulated Kendall coefficient Psi of measures vs. the gap.

    For a measure ``mu`` and the generalization gap ``g`` of the models (rows),

    * ``kendall_tau`` is Kendall's rank correlation (tau-b, :func:`scipy.stats.kendalltau`)
      between ``mu`` and ``g`` over all rows;
    * for each hyperparameter axis ``i``, ``psi_<i>`` is the mean, over the groups of rows
      in which all *other* hyperparameters are fixed (and axis ``i`` takes at least two
      values), of Kendall's tau within the group:
      ``psi_i = (1 / m_i) sum_{theta_{-i}} tau(mu, g | theta_{-i})``;
    * ``psi`` is the granulated Kendall coefficient ``Psi = (1 / n) sum_i psi_i`` (Jiang et
      al. 2019, Eq. 4), the mean over the ``n`` axes (axes whose ``psi_i`` is NaN left
      out).

    A positive value means that a larger measure goes with a larger gap. Groups in which
    the measure or the gap is constant (tau undefined) are left out of the means; a
    ``psi_i`` with no usable group is NaN. Repeats (rows with equal hyperparameters) simply
    fall into the same group.

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
    data = _as_frame(frame)
    if len(data) == 0:
        raise ValueError("frame has no rows.")
    if isinstance(measures, str):
        measures = [measures]
    measures = list(measures)
    if not measures:
        raise ValueError("measures must name at least one column.")
    gap_values = _gap(data, gap).to_numpy()
    if hyperparameters is None:
        hyperparameters = [c for c in data.columns if str(c).startswith("param_")]
    elif isinstance(hyperparameters, str):
        hyperparameters = [hyperparameters]
    hyperparameters = list(hyperparameters)
    missing = [h for h in hyperparameters if h not in data.columns]
    if missing:
        raise ValueError(f"hyperparameters {missing} are not columns of the frame.")
    keys = _hashable_keys(data, hyperparameters)

    rows = []
    for name in measures:
        values = _column(data, name, "measure").to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            per_axis = {h: _psi_axis(values, gap_values, keys, h) for h in hyperparameters}
            finite = [v for v in per_axis.values() if np.isfinite(v)]
            row = {
                "measure": name,
                "n_models": int(np.sum(np.isfinite(values) & np.isfinite(gap_values))),
                "kendall_tau": _tau(values, gap_values),
                "psi": float(np.mean(finite)) if finite else float("nan"),
            }
        row.update({f"psi_{h}": v for h, v in per_axis.items()})
        rows.append(row)
    return pd.DataFrame(rows)
