"""Figure of Nagarajan & Kolter's (2019) overparameterized linear example."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter, ScalarFormatter

__all__ = ["plot_linear_example"]

_CURVES = (
    ("test_error", "test error", "o-"),
    ("population_error", "test error (exact, from w)", "--"),
    ("s_prime_error", "error on S' (noise negated)", "s-"),
    ("train_error", "training error", "^:"),
)


def plot_linear_example(frame: pd.DataFrame) -> Figure:
    """Errors against the training size m: test error falls, the error on S' stays at 1.

    One line per error column present in ``frame`` (the mean over repeats, with a band of
    one standard deviation), on a log-scale m axis.

    Parameters
    ----------
    frame : pandas.DataFrame
        Output of
        :func:`~sklearn_gen.studies.linear_example`: an
        ``m`` column and some of ``test_error``, ``population_error``, ``s_prime_error``,
        ``train_error``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> frame = pd.DataFrame({"m": [16, 16, 64, 64], "test_error": [0.3, 0.32, 0.1, 0.12],
    ...                       "s_prime_error": [1.0, 1.0, 1.0, 1.0]})
    >>> fig = plot_linear_example(frame)
    >>> len(fig.axes[0].get_lines())
    2
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, got {type(frame).__name__}.")
    if "m" not in frame.columns or frame.empty:
        raise ValueError("frame must be a non-empty DataFrame with an 'm' column.")
    present = [curve for curve in _CURVES if curve[0] in frame.columns]
    if not present:
        raise ValueError(f"frame has none of the columns {[c for c, _, _ in _CURVES]}.")
    grouped = frame.groupby("m")
    sizes = np.asarray(sorted(frame["m"].unique()), dtype=float)
    fig = Figure(figsize=(5.5, 3.8), layout="constrained")
    ax = fig.subplots()
    for column, label, style in present:
        mean = grouped[column].mean().to_numpy()
        std = grouped[column].std(ddof=1).fillna(0.0).to_numpy()
        (line,) = ax.plot(sizes, mean, style, label=label)
        ax.fill_between(sizes, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    ax.set_xscale("log")
    ax.set_xticks(sizes)
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel("training set size m")
    ax.set_ylabel("error")
    ax.set_title("Overparameterized linear classifier (Nagarajan & Kolter 2019)", fontsize=9)
    ax.legend(fontsize=8, loc="center right")
    return fig
