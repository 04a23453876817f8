"""Fits on the studies' frames: a straight line with its R^2, and log-log slopes.

A leaf module (numpy and pandas only), shared by the verdicts and the plots.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["linear_fit", "loglog_slopes"]


def linear_fit(
    frame: pd.DataFrame,
    x: str = "normalized_train_loss",
    y: str = "normalized_test_loss",
) -> dict[str, float]:
    """Least-squares line ``y = slope * x + intercept`` through two columns, with its R^2.

    Liao et al. (2018) report that the normalized test loss is a linear function of the
    normalized training loss across networks trained to the same raw loss, with
    R^2 between 0.97 and 0.9998.

    Parameters
    ----------
    frame : pandas.DataFrame
        E.g. the result of :func:`normalized_loss_study`.
    x, y : str
        The column names of the abscissa and the ordinate.

    Returns
    -------
    dict
        ``slope``, ``intercept`` and ``r2`` (the coefficient of determination
        ``1 - SS_res / SS_tot``, in [0, 1] for a least-squares line; 1 when ``y`` is
        constant and fitted exactly).

    Examples
    --------
    >>> import pandas as pd
    >>> fit = linear_fit(pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 3.0, 5.0]}), "a", "b")
    >>> {k: round(v, 6) for k, v in fit.items()}
    {'slope': 2.0, 'intercept': 1.0, 'r2': 1.0}
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, got {type(frame).__name__}.")
    missing = [c for c in (x, y) if c not in frame.columns]
    if missing:
        raise ValueError(f"Columns {missing} are not in the frame ({list(frame.columns)}).")
    data = frame[[x, y]].astype(float).dropna()
    xs, ys = data[x].to_numpy(), data[y].to_numpy()
    if len(xs) < 2 or np.ptp(xs) == 0:
        raise ValueError(
            f"A line needs at least two rows with distinct values of {x!r}; got {len(xs)} row(s)."
        )
    slope, intercept = np.polyfit(xs, ys, 1)
    residual = float(np.sum((ys - (slope * xs + intercept)) ** 2))
    total = float(np.sum((ys - ys.mean()) ** 2))
    if total == 0:
        r2 = 1.0 if residual == 0 else 0.0
    else:
        r2 = float(np.clip(1.0 - residual / total, 0.0, 1.0))
    return {"slope": float(slope), "intercept": float(intercept), "r2": r2}


def loglog_slopes(
    frame: pd.DataFrame,
    x: str = "m",
    columns: Sequence[str] = (
        "test_error",
        "distance_from_init",
        "spectral_bound",
        "pac_bayes_bound",
    ),
) -> pd.Series:
    """Slope of each column against ``x`` on log-log axes.

    Fits ``log(value) = slope * log(x) + c`` by least squares (``np.polyfit`` of degree 1)
    to the rows' means per value of ``x``; a column that grows like ``m^a`` has slope
    ``a``. Nagarajan & Kolter's point is a positive slope for the bounds while the test
    error's is negative. Columns missing from ``frame`` are skipped; non-positive values
    are dropped before the logarithm (``NaN`` if fewer than two ``x`` values remain).

    Parameters
    ----------
    frame : pandas.DataFrame
    x : str, default="m"
    columns : sequence of str

    Returns
    -------
    pandas.Series
        Slopes indexed by column name.

    Examples
    --------
    >>> frame = pd.DataFrame({"m": [10, 100, 1000], "b": [1.0, 10.0, 100.0]})
    >>> float(loglog_slopes(frame, columns=["b"])["b"])
    1.0
    """
    if x not in frame.columns:
        raise ValueError(f"frame has no column {x!r}.")
    slopes = {}
    for column in columns:
        if column not in frame.columns:
            continue
        means = frame.groupby(x)[column].mean()
        means = means[(means > 0) & (means.index.to_numpy() > 0)]
        if len(means) < 2:
            slopes[column] = np.nan
            continue
        logx = np.log(means.index.to_numpy(dtype=float))
        slopes[column] = float(np.polyfit(logx, np.log(means.to_numpy(dtype=float)), 1)[0])
    return pd.Series(slopes, name="loglog_slope", dtype=float)
