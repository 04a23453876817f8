"""Figures of the randomization tests of Zhang et al. (2017).

One function per experiment of :mod:`sklearn_gen.studies._randomization`; each takes
the experiment's tidy frame and returns a :class:`matplotlib.figure.Figure` built without
pyplot (no global state, no display needed: safe under the ``Agg`` backend and in worker
processes). Save it with ``fig.savefig("name.png")``.

References
----------
.. [1] C. Zhang, S. Bengio, M. Hardt, B. Recht and O. Vinyals, "Understanding deep learning
   requires rethinking generalization", ICLR 2017, Fig. 1 and Table 1, Theorem 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["plot_expressivity", "plot_randomization_test", "plot_regularization_ablation"]

#: Zhang et al.'s order of the Fig. 1a conditions, for a stable colour per condition.
_CONDITION_ORDER = (
    "true labels",
    "random labels",
    "shuffled pixels",
    "random pixels",
    "gaussian",
)


def _check_frame(frame: pd.DataFrame, experiment: str, required: Sequence[str]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, got {type(frame).__name__}.")
    if frame.empty:
        raise ValueError("frame is empty: nothing to plot.")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks the column(s) {missing}; is it from {experiment}()?")
    if "experiment" in frame.columns:
        others = set(frame["experiment"].dropna().unique()) - {experiment}
        if others:
            raise ValueError(f"frame holds rows of {sorted(others)}, not of {experiment}().")
    return frame


def _empty_panel(ax: Axes, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, wrap=True)
    ax.set_xticks([])
    ax.set_yticks([])


def _mean_std(frame: pd.DataFrame, by: str, column: str) -> pd.DataFrame:
    stats = frame.groupby(by)[column].agg(["mean", "std", "count"]).sort_index()
    stats["std"] = stats["std"].fillna(0.0)
    return stats


def plot_randomization_test(
    frame: pd.DataFrame,
    *,
    normalize_epochs: bool = False,
    figsize: tuple[float, float] = (15.0, 4.2),
) -> Figure:
    """Zhang et al. (2017), Fig. 1, from :func:`randomization_test`'s frame.

    (a) training loss against thousands of optimizer steps, one line per condition and
    repeat (log scale when the loss spans more than a decade); (b) epochs to fit against
    the label corruption level (mean ± standard deviation over repeats; with
    ``normalize_epochs`` divided by the mean at ``p = 0``, Zhang's "time to overfit"
    slowdown factor); hollow markers flag levels where some fit did not converge;
    (c) test error on the clean held-out labels against the corruption level, with the
    training error on the labels fitted for reference. Panels without data (no curves
    for an estimator not trained in epochs, say) say so.

    Parameters
    ----------
    frame : pandas.DataFrame
        The frame of :func:`~sklearn_gen.studies._randomization.randomization_test`.
    normalize_epochs : bool, default=False
        Plot epochs to fit relative to the mean at ``p = 0`` (needs that level).
    figsize : tuple of float, default=(15.0, 4.2)

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When the frame is not a randomization-test frame.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "experiment": "randomization_test", "panel": ["curves"] * 2 + ["corruption"] * 2,
    ...     "condition": ["true labels"] * 2 + ["corrupted labels"] * 2,
    ...     "p": [0.0, 0.0, 0.0, 1.0], "repeat": 0, "epoch": [1, 2, None, None],
    ...     "step": [10, 20, None, None], "running_train_loss": [2.0, 0.1, None, None],
    ...     "epochs_to_fit": [2, 2, 20, 150], "converged": True,
    ...     "train_accuracy": 1.0, "test_error": [0.05, 0.05, 0.05, 0.9]})
    >>> fig = plot_randomization_test(frame)
    >>> [ax.get_xlabel() for ax in fig.axes]
    ['thousand steps', 'label corruption level p', 'label corruption level p']
    """
    frame = _check_frame(
        frame,
        "randomization_test",
        ["panel", "condition", "p", "repeat", "epochs_to_fit", "test_error"],
    )
    fig = Figure(figsize=figsize, layout="constrained")
    ax_a, ax_b, ax_c = fig.subplots(1, 3)

    # (a) learning curves
    curves = frame[frame["panel"] == "curves"].dropna(subset=["step", "running_train_loss"])
    ax_a.set_title("(a) training loss")
    ax_a.set_xlabel("thousand steps")
    ax_a.set_ylabel("average training loss")
    if curves.empty:
        _empty_panel(ax_a, "no learning curves\n(estimator not trained in epochs)")
    else:
        present = list(curves["condition"].unique())
        ordered = [c for c in _CONDITION_ORDER if c in present]
        ordered += [c for c in present if c not in ordered]
        colors = {c: f"C{i}" for i, c in enumerate(ordered)}
        for condition in ordered:
            part = curves[curves["condition"] == condition]
            for i, (_, run) in enumerate(part.groupby("repeat")):
                run = run.sort_values("step")
                ax_a.plot(
                    run["step"].to_numpy(float) / 1000.0,
                    run["running_train_loss"].to_numpy(float),
                    color=colors[condition],
                    alpha=1.0 if i == 0 else 0.5,
                    label=condition if i == 0 else None,
                )
        losses = curves["running_train_loss"].to_numpy(float)
        positive = losses[losses > 0]
        if positive.size and positive.max() / positive.min() > 10.0:
            ax_a.set_yscale("log")
            ax_a.set_ylabel("average training loss (log scale)")
        ax_a.legend(title="condition")

    # (b) epochs to fit and (c) test error against p
    corruption = frame[frame["panel"] == "corruption"]
    ax_b.set_title("(b) convergence slowdown")
    ax_b.set_xlabel("label corruption level p")
    ax_c.set_title("(c) generalization error growth")
    ax_c.set_xlabel("label corruption level p")
    ax_c.set_ylabel("error")
    epochs = corruption.dropna(subset=["epochs_to_fit"])
    if epochs.empty:
        ax_b.set_ylabel("epochs to fit")
        _empty_panel(ax_b, "no epochs\n(estimator not trained in epochs)")
    else:
        stats = _mean_std(epochs, "p", "epochs_to_fit")
        ylabel = "epochs to fit (training accuracy 1)"
        if normalize_epochs:
            if 0.0 not in stats.index:
                raise ValueError("normalize_epochs needs the level p = 0 in the frame.")
            reference = stats.loc[0.0, "mean"]
            stats[["mean", "std"]] = stats[["mean", "std"]] / reference
            ylabel = "epochs to fit / epochs to fit at p = 0"
        ax_b.errorbar(
            stats.index,
            stats["mean"],
            yerr=stats["std"],
            marker="o",
            capsize=3,
            label="mean over repeats",
        )
        if "converged" in epochs.columns:
            failed = epochs.groupby("p")["converged"].agg(lambda c: not bool(np.all(c)))
            failed_levels = [p for p in stats.index if failed.get(p, False)]
            if failed_levels:
                ax_b.plot(
                    failed_levels,
                    stats.loc[failed_levels, "mean"],
                    "o",
                    mfc="white",
                    color="C3",
                    label="some fits did not converge",
                )
        ax_b.set_ylabel(ylabel)
        ax_b.legend()
    errors = corruption.dropna(subset=["test_error"])
    if errors.empty:
        _empty_panel(ax_c, "no corruption levels")
    else:
        stats = _mean_std(errors, "p", "test_error")
        ax_c.errorbar(
            stats.index,
            stats["mean"],
            yerr=stats["std"],
            marker="o",
            capsize=3,
            label="test error (clean labels)",
        )
        if "train_accuracy" in errors.columns:
            train = _mean_std(errors, "p", "train_accuracy")
            ax_c.plot(
                train.index,
                1.0 - train["mean"],
                "s--",
                color="C2",
                label="training error (labels fitted)",
            )
        ax_c.set_ylim(-0.02, 1.02)
        ax_c.legend()
    fig.suptitle("Randomization test (Zhang et al. 2017, Fig. 1)")
    return fig


def plot_regularization_ablation(
    frame: pd.DataFrame, *, figsize: tuple[float, float] | None = None
) -> Figure:
    """Zhang et al. (2017), Table 1, from :func:`regularization_ablation`'s frame.

    Grouped bars of training and test accuracy per setting (baseline, each regularizer
    on alone, all on), means over repeats with standard deviations; one panel per label
    corruption level ``p``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The frame of :func:`~sklearn_gen.studies._randomization.regularization_ablation`.
    figsize : tuple of float or None, default=None
        None: 6 inches wide per panel.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "experiment": "regularization_ablation", "setting": ["baseline", "+dropout"],
    ...     "dropout": [False, True], "p": 0.0, "repeat": 0,
    ...     "train_accuracy": [1.0, 0.99], "test_accuracy": [0.95, 0.96]})
    >>> fig = plot_regularization_ablation(frame)
    >>> fig.axes[0].get_ylabel()
    'accuracy'
    """
    frame = _check_frame(
        frame,
        "regularization_ablation",
        ["setting", "p", "train_accuracy", "test_accuracy"],
    )
    levels = sorted(frame["p"].unique())
    if figsize is None:
        figsize = (6.0 * len(levels), 4.5)
    fig = Figure(figsize=figsize, layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(levels), squeeze=False)).ravel()
    settings = list(dict.fromkeys(frame["setting"]))
    x = np.arange(len(settings))
    width = 0.38
    for ax, p in zip(axes, levels, strict=True):
        part = frame[frame["p"] == p]
        for offset, column, label in (
            (-width / 2, "train_accuracy", "train accuracy"),
            (width / 2, "test_accuracy", "test accuracy (clean labels)"),
        ):
            stats = part.groupby("setting")[column].agg(["mean", "std"]).reindex(settings)
            ax.bar(
                x + offset,
                stats["mean"],
                width,
                yerr=stats["std"].fillna(0.0),
                capsize=3,
                label=label,
            )
        ax.set_xticks(x, settings, rotation=30, ha="right")
        ax.set_xlabel("regularization setting")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0.0, 1.22)
        ax.set_title(f"label corruption p = {p:g}")
        ax.legend(loc="upper center", ncols=2)
    fig.suptitle("Explicit regularization ablation (Zhang et al. 2017, Table 1)")
    return fig


def plot_expressivity(frame: pd.DataFrame, *, figsize: tuple[float, float] = (14.0, 4.2)) -> Figure:
    """Zhang et al. (2017), Theorem 1, from :func:`expressivity`'s frame.

    (a) training accuracy on random labels against ``n`` (always 1); (b) the number of
    weights against ``n`` with the line ``2n + d``; (c) the condition number of the
    network's triangular system against ``n`` (log-log), the float64 limit of the
    construction.

    Parameters
    ----------
    frame : pandas.DataFrame
        The frame of :func:`~sklearn_gen.studies._randomization.expressivity`.
    figsize : tuple of float, default=(14.0, 4.2)

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"experiment": "expressivity", "n": [10, 100], "d": 5,
    ...                       "n_params": [25, 205], "train_accuracy": 1.0,
    ...                       "condition_number": [1e2, 1e5]})
    >>> fig = plot_expressivity(frame)
    >>> fig.axes[2].get_yscale()
    'log'
    """
    frame = _check_frame(
        frame, "expressivity", ["n", "d", "n_params", "train_accuracy", "condition_number"]
    )
    fig = Figure(figsize=figsize, layout="constrained")
    ax_a, ax_b, ax_c = fig.subplots(1, 3)
    for d, part in frame.groupby("d"):
        acc = _mean_std(part, "n", "train_accuracy")
        ax_a.plot(acc.index, acc["mean"], "o-", label=f"d = {d}")
        params = part.groupby("n")["n_params"].mean()
        ax_b.plot(params.index, params.to_numpy(), "o", label=f"measured, d = {d}")
        grid = np.array(sorted(part["n"].unique()), dtype=float)
        ax_b.plot(grid, 2 * grid + d, "--", label=f"2n + d, d = {d}")
        cond = _mean_std(part, "n", "condition_number")
        ax_c.plot(cond.index, cond["mean"], "o-", label=f"d = {d}")
    ax_a.set_title("(a) fit of random labels")
    ax_a.set_xlabel("number of points n")
    ax_a.set_ylabel("training accuracy")
    ax_a.set_ylim(-0.02, 1.05)
    ax_b.set_title("(b) network size")
    ax_b.set_xlabel("number of points n")
    ax_b.set_ylabel("number of weights")
    ax_c.set_title("(c) conditioning of the construction")
    ax_c.set_xlabel("number of points n")
    ax_c.set_ylabel("condition number (1-norm estimate)")
    ax_c.set_xscale("log")
    ax_c.set_yscale("log")
    ax_c.axhline(1.0 / np.finfo(float).eps, color="gray", ls=":", label="1 / eps (float64)")
    for ax in (ax_a, ax_b, ax_c):
        ax.legend()
    fig.suptitle("Finite-sample expressivity of a depth-2 ReLU network (Zhang et al. 2017, Thm. 1)")
    return fig
