"""Figures of Nagarajan & Kolter's (2019) uniform-convergence experiments."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter, ScalarFormatter

from sklearn_gen.studies._fits import loglog_slopes

__all__ = ["plot_bounds_vs_sample_size", "plot_hypersphere_projection"]

_LABELS = {
    "test_error": "test error",
    "distance_from_init": "distance from init",
    "spectral_bound": "spectral bound (Bartlett et al. 2017)",
    "pac_bayes_bound": "PAC-Bayes bound (Neyshabur et al. 2018)",
    "projected_error": "error on S' (projected, flipped)",
    "train_error": "training error",
}


def _check_frame(frame: pd.DataFrame, needed: Sequence[str]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, got {type(frame).__name__}.")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks the columns {missing}.")
    if frame.empty:
        raise ValueError("frame is empty.")


def _label_sizes(ax, sizes) -> None:
    """Log x axis labelled at the sample sizes themselves (no crowded minor labels)."""
    ax.set_xticks([float(m) for m in sizes])
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot_bounds_vs_sample_size(
    frame: pd.DataFrame,
    columns: Sequence[str] = (
        "test_error",
        "distance_from_init",
        "spectral_bound",
        "pac_bayes_bound",
    ),
) -> Figure:
    """Log-log plot of each bound, the distance from init and the test error against m.

    One panel per column (the mean over repeats, with the repeats as dots), the fitted
    log-log slope (:func:`~sklearn_gen.studies.loglog_slopes`) in
    each legend: Nagarajan & Kolter's Fig. 1, where the bounds' slopes are positive and
    the test error's negative.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of :func:`~sklearn_gen.studies._uniform_convergence.bounds_vs_sample_size`.
    columns : sequence of str
        Columns to plot (those missing from ``frame`` are skipped).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> frame = pd.DataFrame({"m": [100, 200], "test_error": [0.2, 0.1],
    ...                       "spectral_bound": [10.0, 20.0]})
    >>> len(plot_bounds_vs_sample_size(frame).axes)
    2
    """
    _check_frame(frame, ["m"])
    present = [c for c in columns if c in frame.columns]
    if not present:
        raise ValueError(f"frame has none of the columns {list(columns)}.")
    slopes = loglog_slopes(frame, "m", present)
    fig = Figure(figsize=(4.0 * len(present), 3.6), layout="constrained")
    axes = fig.subplots(1, len(present), squeeze=False)[0]
    for ax, column in zip(axes, present, strict=True):
        means = frame.groupby("m")[column].mean()
        ax.plot(frame["m"], frame[column], "o", color="C0", alpha=0.3, markersize=3)
        ax.plot(
            means.index,
            means.to_numpy(),
            "o-",
            color="C1" if column == "test_error" else "C0",
            label=f"{_LABELS.get(column, column)}\nslope {slopes[column]:+.2f}",
        )
        ax.set_xscale("log")
        _label_sizes(ax, means.index)
        if (means > 0).all():
            ax.set_yscale("log")
        ax.set_xlabel("training set size m")
        ax.set_ylabel(_LABELS.get(column, column))
        ax.legend(fontsize="small")
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(
        "Bounds, distance from initialization and test error vs m (Nagarajan & Kolter 2019)"
    )
    return fig


def plot_hypersphere_projection(frame: pd.DataFrame) -> Figure:
    """Test error and error on ``S'`` against the training-set size (log x axis).

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of :func:`~sklearn_gen.studies._uniform_convergence.hypersphere_projection`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> frame = pd.DataFrame({"m": [100, 1000], "test_error": [0.3, 0.05],
    ...                       "projected_error": [0.9, 1.0]})
    >>> plot_hypersphere_projection(frame).axes[0].get_xscale()
    'log'
    """
    _check_frame(frame, ["m", "test_error", "projected_error"])
    fig = Figure(figsize=(5.5, 4.0), layout="constrained")
    ax = fig.subplots()
    columns = ["train_error", "test_error", "projected_error"]
    for color, column in zip(("C2", "C0", "C3"), columns, strict=True):
        if column not in frame.columns:
            continue
        grouped = frame.groupby("m")[column]
        mean, spread = grouped.mean(), grouped.std().fillna(0.0)
        ax.errorbar(
            mean.index,
            mean.to_numpy(),
            yerr=spread.to_numpy(),
            fmt="o-",
            color=color,
            capsize=3,
            label=_LABELS[column],
        )
    ax.set_xscale("log")
    _label_sizes(ax, sorted(frame["m"].unique()))
    ax.set_ylim(-0.03, 1.03)
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1, label="chance")
    ax.set_xlabel("training set size m")
    ax.set_ylabel("error")
    title = "Two hyperspheres: S' misclassified"
    if "dim" in frame.columns:
        title += f" (dim {', '.join(str(d) for d in np.unique(frame['dim']))})"
    ax.set_title(title)
    ax.legend(fontsize="small")
    ax.grid(True, which="both", alpha=0.3)
    return fig
