"""Figures of the kernel-interpolation, normalized-loss and measure-correlation experiments.

Each function takes the frame returned by the experiment and returns a
:class:`matplotlib.figure.Figure` (built with the object-oriented API, never shown, so it
works without a display); save it with ``fig.savefig(path)``.

References
----------
.. [1] C. Zhang, S. Bengio, M. Hardt, B. Recht and O. Vinyals, "Understanding deep learning
   requires rethinking generalization", ICLR 2017, Sec. 5.
.. [2] Q. Liao, B. Miranda, J. Hidary and T. Poggio, "Classical generalization bounds are
   surprisingly tight for deep networks", arXiv:1807.09659, 2018.
.. [3] Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic
   generalization measures and where to find them", ICLR 2020.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sklearn_gen.studies._fits import linear_fit

__all__ = ["plot_kernel_interpolation", "plot_measure_correlation", "plot_normalized_loss_study"]


def _check_frame(frame: object, columns: Sequence[str], name: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{name} needs a pandas DataFrame, got {type(frame).__name__}.")
    if len(frame) == 0:
        raise ValueError(f"{name} needs a non-empty frame.")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: the frame lacks the columns {missing}.")
    return frame


def plot_kernel_interpolation(frame: pd.DataFrame) -> Figure:
    """Test error of the kernel interpolant and the network, per preprocessing and ``p``.

    One panel per preprocessing; bars grouped by corruption level ``p``, one bar per model
    (mean over repeats, with the standard deviation as an error bar when there are
    several).

    Parameters
    ----------
    frame : pandas.DataFrame
        The result of :func:`~sklearn_gen.studies._kernel.kernel_interpolation`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "model": ["kernel", "network"] * 2, "preprocessing": ["none"] * 4,
    ...     "p": [0.0, 0.0, 0.5, 0.5], "repeat": [0] * 4,
    ...     "test_error": [0.02, 0.03, 0.4, 0.3],
    ... })
    >>> fig = plot_kernel_interpolation(frame)
    >>> fig.axes[0].get_ylabel()
    'test error'
    """
    frame = _check_frame(
        frame, ["model", "preprocessing", "p", "test_error"], "plot_kernel_interpolation"
    )
    if "ridge" in frame.columns:  # one bar per ridge term of the kernel ridge models
        ridge = frame["model"] == "kernel ridge"
        frame = frame.assign(
            model=frame["model"].where(~ridge, "kernel ridge " + frame["ridge"].map("{:g}".format))
        )
    preprocessings = list(dict.fromkeys(frame["preprocessing"]))
    models = list(dict.fromkeys(frame["model"]))
    levels = sorted(frame["p"].unique())
    fig = Figure(figsize=(4.5 * len(preprocessings), 3.8), layout="constrained")
    axes = fig.subplots(1, len(preprocessings), sharey=True, squeeze=False)[0]
    width = 0.8 / len(models)
    positions = np.arange(len(levels))
    for ax, preprocessing in zip(axes, preprocessings, strict=True):
        part = frame[frame["preprocessing"] == preprocessing]
        for k, model in enumerate(models):
            stats = (
                part[part["model"] == model]
                .groupby("p")["test_error"]
                .agg(["mean", "std"])
                .reindex(levels)
            )
            ax.bar(
                positions + (k - (len(models) - 1) / 2) * width,
                stats["mean"].to_numpy(),
                width,
                yerr=stats["std"].fillna(0.0).to_numpy(),
                capsize=3,
                label=str(model),
            )
        ax.set_xticks(positions, [f"{p:g}" for p in levels])
        ax.set_xlabel("label corruption p")
        ax.set_title(f"preprocessing: {preprocessing}")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(title="model")
    axes[0].set_ylabel("test error")
    fig.suptitle("Minimum-norm kernel interpolation vs. network (Zhang et al. 2017)")
    return fig


def plot_normalized_loss_study(frame: pd.DataFrame) -> Figure:
    """Liao et al.'s figure: raw losses (left) and normalized losses with their line (right).

    Left: test cross-entropy against training cross-entropy - the networks share (about)
    the same training loss, a vertical band, yet their test losses differ. Right: the
    normalized test loss against the normalized training loss, colored by level, with the
    least-squares line (:func:`~sklearn_gen.studies.linear_fit`) and
    its R^2 in the legend.

    Parameters
    ----------
    frame : pandas.DataFrame
        The result of
        :func:`~sklearn_gen.studies._normalized_loss.normalized_loss_study`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "factor": ["pretraining"] * 3, "level": [0.0, 0.5, 1.0],
    ...     "train_loss": [0.01, 0.01, 0.01], "test_loss": [0.1, 0.2, 0.3],
    ...     "normalized_train_loss": [2.20, 2.21, 2.22],
    ...     "normalized_test_loss": [2.21, 2.22, 2.23],
    ... })
    >>> fig = plot_normalized_loss_study(frame)
    >>> [ax.get_xlabel() for ax in fig.axes]
    ['training loss', 'normalized training loss']
    """
    columns = ["level", "train_loss", "test_loss", "normalized_train_loss", "normalized_test_loss"]
    frame = _check_frame(frame, columns, "plot_normalized_loss_study")
    factors = frame["factor"] if "factor" in frame.columns else pd.Series("level", frame.index)
    groups = sorted({(str(f), float(v)) for f, v in zip(factors, frame["level"], strict=True)})
    markers = dict(zip(dict.fromkeys(f for f, _ in groups), "os^Dv", strict=False))
    colors = _colors(len(groups))
    fig = Figure(figsize=(10, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    for (factor, level), color in zip(groups, colors, strict=True):
        part = frame[(factors == factor).to_numpy() & (frame["level"] == level).to_numpy()]
        label = f"{factor} = {level:g}"
        style = {"color": color, "label": label, "marker": markers[factor]}
        left.scatter(part["train_loss"], part["test_loss"], **style)
        right.scatter(part["normalized_train_loss"], part["normalized_test_loss"], **style)
    left.set_xlabel("training loss")
    left.set_ylabel("test loss")
    left.set_title("Raw cross-entropy (equal training loss)")
    right.set_xlabel("normalized training loss")
    right.set_ylabel("normalized test loss")
    right.set_title("Normalized cross-entropy")
    xs = frame["normalized_train_loss"].astype(float)
    if xs.nunique() >= 2:
        fit = linear_fit(frame)
        grid = np.linspace(xs.min(), xs.max(), 50)
        right.plot(
            grid,
            fit["slope"] * grid + fit["intercept"],
            color="black",
            linestyle="--",
            label=f"fit: slope {fit['slope']:.3g}, R$^2$ = {fit['r2']:.4f}",
        )
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle("Networks trained to the same loss (Liao et al. 2018)")
    return fig


def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(x) for x in (np.linspace(0.0, 0.9, n) if n > 1 else [0.0])]


def plot_measure_correlation(table: pd.DataFrame) -> Figure:
    """Kendall's tau and the granulated Psi of each measure, as horizontal bars.

    Parameters
    ----------
    table : pandas.DataFrame
        The result of :func:`~sklearn_gen.studies._correlation.measure_correlation`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"measure": ["a", "b"], "kendall_tau": [0.5, -0.2],
    ...                       "psi": [0.4, float("nan")]})
    >>> fig = plot_measure_correlation(table)
    >>> fig.axes[0].get_xlabel()
    'rank correlation with the generalization gap'
    """
    table = _check_frame(table, ["measure", "kendall_tau", "psi"], "plot_measure_correlation")
    names = [str(m) for m in table["measure"]]
    positions = np.arange(len(names))
    fig = Figure(figsize=(6.5, 1.2 + 0.5 * len(names)), layout="constrained")
    ax = fig.subplots()
    height = 0.38
    ax.barh(
        positions - height / 2, table["kendall_tau"].astype(float), height, label=r"Kendall $\tau$"
    )
    ax.barh(positions + height / 2, table["psi"].astype(float), height, label=r"granulated $\Psi$")
    ax.set_yticks(positions, names)
    ax.invert_yaxis()
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_xlim(-1.05, 1.05)
    ax.set_xlabel("rank correlation with the generalization gap")
    ax.set_ylabel("measure")
    ax.set_title("Measures vs. generalization gap (Jiang et al. 2019)")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize="small")
    return fig
