"""Networks trained to the same loss, compared by their normalized loss (Liao et al. 2018).

Liao, Miranda, Hidary and Poggio make networks that reach the *same* training
cross-entropy but generalize differently - by random pretraining on labels corrupted with
probability ``p`` before training on the true labels, or by a larger initialization - and
show that the raw training loss says nothing about the test loss, while the training loss of
the *normalized* network (every layer divided by its norm) is linearly related to its test
loss across all of them (R^2 of 0.97 to 0.9998 in their figures).

References
----------
.. [1] Q. Liao, B. Miranda, J. Hidary and T. Poggio, "Classical generalization bounds are
   surprisingly tight for deep networks", CBMM Memo 91, arXiv:1807.09659, 2018.
"""

from __future__ import annotations

import functools
import numbers
import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import PredefinedSplit

from sklearn_gen._validation import check_int, draw_seed
from sklearn_gen.measures import normalized_loss, product_norm
from sklearn_gen.metrics import make_measure_scorer
from sklearn_gen.networks import NetworkClassifier
from sklearn_gen.randomization import RandomPretraining
from sklearn_gen.studies._claims import Claim, Equivalence, Interval, Statistic, interval_statistic
from sklearn_gen.studies._study import Study, run_study
from sklearn_gen.studies._validation import check_data, check_test_size

__all__ = [
    "NORMALIZED_LOSS_CLAIMS",
    "fit_line",
    "normalized_loss_study",
    "random_labels_study",
]

#: The columns of the frame returned by :func:`normalized_loss_study`, in order.
NORMALIZED_LOSS_COLUMNS = [
    "factor",
    "level",
    "repeat",
    "n_epochs",
    "converged",
    "train_loss",
    "test_loss",
    "train_error",
    "test_error",
    "normalized_train_loss",
    "normalized_test_loss",
    "normalized_train_loss_l1",
    "normalized_test_loss_l1",
    "normalized_train_loss_linf",
    "normalized_test_loss_linf",
    "product_norm",
    "fit_seconds",
]

#: The other layer norms every row is normalized by, beside ``norm`` (column suffix:
#: ``(p, divide_by)``): Liao et al.'s "L1/100" (their Fig. 4) and the max norm.
_OTHER_NORMS = {"l1": (1.0, 100.0), "linf": (np.inf, 1.0)}

_FACTORS = ("pretraining", "init_scale")
_DEFAULT_LEVELS = {"pretraining": (0.0, 0.5, 1.0), "init_scale": (1.0, 2.0, 3.0)}


def _check_factor_levels(factor: Any, levels: Any) -> list[float]:
    if factor not in _FACTORS:
        raise ValueError(f"factor must be one of {_FACTORS}, got {factor!r}.")
    if levels is None:
        levels = _DEFAULT_LEVELS[factor]
    try:
        values = [float(v) for v in np.atleast_1d(np.asarray(levels, dtype=float))]
    except (TypeError, ValueError):
        raise ValueError(f"levels must be a sequence of numbers, got {levels!r}.") from None
    if not values:
        raise ValueError("levels must not be empty.")
    if len(set(values)) != len(values):
        raise ValueError(f"levels must be distinct, got {values}.")
    if factor == "pretraining" and not all(0.0 <= v <= 1.0 for v in values):
        raise ValueError(f"Corruption levels of the pretraining must lie in [0, 1]: {values}.")
    if factor == "init_scale" and not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"Initialization scales must be positive and finite: {values}.")
    return values


def _check_target(target: Any) -> float:
    if (
        isinstance(target, bool)
        or not isinstance(target, numbers.Real)
        or not np.isfinite(target)
        or target <= 0
    ):
        raise ValueError(f"target_train_loss must be a positive number, got {target!r}.")
    return float(target)


def default_network(**params: Any) -> NetworkClassifier:
    """The study's network, declared once (``params`` override; the command line sets the
    device, the seed, the width and the epoch budget here)."""
    settings: dict[str, Any] = {
        "module__hidden": (256,),
        "module__bias": False,
        "lr": 0.05,
        "batch_size": 32,
        "max_epochs": 1000,
    }
    settings.update(params)
    return NetworkClassifier("mlp", **settings)


def _final_network(model: Any) -> Any:
    return getattr(model, "estimator_", model)


def _norm_summary(model: Any, norm: str | float) -> dict[str, Any]:
    """Epochs, stopping rule and the product of the layer norms of the fitted network."""
    final = _final_network(model)
    return {
        "n_epochs": int(getattr(final, "n_epochs_", -1)),
        "converged": bool(getattr(final, "converged_", True)),
        "product_norm": float(product_norm(model, norm=norm)),
    }


def normalized_loss_study(
    X: Any,
    y: Any,
    *,
    network: BaseEstimator | None = None,
    factor: str = "pretraining",
    levels: Sequence[float] | None = None,
    pretrain_epochs: int = 100,
    target_train_loss: float = 0.01,
    norm: str | float = "fro",
    test_size: float | int | PredefinedSplit = 0.5,
    n_repeats: int = 1,
    n_jobs: int | None = None,
    random_state: int | np.random.RandomState | None = 0,
    progress: bool = False,
    cache_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Networks at equal training loss, raw and normalized losses (Liao et al. 2018).

    For each level of ``factor`` and each repeat, a network is trained on one training
    split until its training cross-entropy is at most ``target_train_loss`` (the
    network's ``stop_train_loss`` rule), so every network ends at (about) the same
    training loss, and is evaluated on the held-out split:

    * ``factor="pretraining"``: the network is first trained for ``pretrain_epochs`` epochs
      on labels corrupted with probability ``level``
      (:class:`~sklearn_gen.RandomPretraining`), then on the true labels;
    * ``factor="init_scale"``: every weight tensor of the fresh network is multiplied by
      ``level`` (the network's ``init_scale``).

    Within a repeat all levels share the split and the network's seed, so they differ only
    by the factor. Liao et al. observe that larger ``p`` (or initialization scale) leaves
    the same training loss but a worse test loss and error, and that the normalized test
    loss is a linear function of the normalized training loss across all networks (see
    :func:`linear_fit`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    network : NetworkClassifier, default=None
        The network (its ``stop_train_loss``, ``random_state`` and, for
        ``factor="init_scale"``, ``init_scale`` are set per configuration; make
        ``max_epochs`` large enough to reach the target). None gives
        ``NetworkClassifier("mlp", module__hidden=(256,), module__bias=False, lr=0.05,
        batch_size=32, max_epochs=1000)``: a bias-free ReLU network, for which the
        normalized network is exactly the network divided by the product of its layer
        norms (same predictions).
    factor : {"pretraining", "init_scale"}, default="pretraining"
        What makes the networks differ.
    levels : sequence of float, default=None
        Corruption probabilities of the pretraining labels (in [0, 1]) or initialization
        scales (positive); None gives ``(0.0, 0.5, 1.0)`` for pretraining and
        ``(1.0, 2.0, 3.0)`` for init_scale.
    pretrain_epochs : int, default=100
        Epochs of pretraining (``factor="pretraining"`` only).
    target_train_loss : float, default=0.01
        The common training cross-entropy every network is trained down to.
    norm : {"fro", "l1", "spectral"} or float, default="fro"
        Norm of each layer in the normalized loss and in ``product_norm``.
    test_size : float, int or PredefinedSplit, default=0.5
        As in :func:`sklearn.model_selection.train_test_split` (stratified); or the data's
        official split, a one-fold :class:`~sklearn.model_selection.PredefinedSplit`
        (:meth:`sklearn_gen.datasets.Dataset.test_split`).
    n_repeats : int, default=1
    n_jobs, random_state, progress, cache_dir
        Shared by every study function: joblib's workers, the seed every configuration's
        seeds come from, a progress bar, a :class:`joblib.Memory` folder to resume from
        (see :func:`~sklearn_gen.studies.run_study`).

    Returns
    -------
    pandas.DataFrame
        One row per level x repeat, with columns ``factor``, ``level``, ``repeat``,
        ``n_epochs`` (all epochs, pretraining included), ``converged`` (whether the
        target loss was reached), ``train_loss``, ``test_loss`` (cross-entropy of
        ``predict_proba``, :func:`sklearn.metrics.log_loss`), ``train_error``,
        ``test_error``, ``normalized_train_loss``, ``normalized_test_loss``
        (:func:`~sklearn_gen.measures._normalized_loss.normalized_loss`, by ``norm``),
        ``normalized_train_loss_l1`` and ``normalized_test_loss_l1`` (every layer of L1
        norm 100, Liao et al.'s Fig. 4), ``normalized_train_loss_linf`` and
        ``normalized_test_loss_linf`` (every layer of max norm 1), ``product_norm`` and
        ``fit_seconds``.

    References
    ----------
    .. [1] Q. Liao, B. Miranda, J. Hidary and T. Poggio, "Classical generalization bounds
       are surprisingly tight for deep networks", arXiv:1807.09659, 2018.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_gen import NetworkClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> net = NetworkClassifier("mlp", module__hidden=(32,), module__bias=False, lr=0.1,
    ...                         batch_size=32, max_epochs=200, device="cpu")
    >>> frame = normalized_loss_study(X[:100] / 16, y[:100], network=net,
    ...                               pretrain_epochs=2, target_train_loss=0.1)
    >>> frame[["factor", "level"]]
            factor  level
    0  pretraining    0.0
    1  pretraining    0.5
    2  pretraining    1.0
    >>> bool((frame["train_loss"] <= 0.1).all())
    True
    >>> from sklearn_gen.studies import linear_fit
    >>> sorted(linear_fit(frame))
    ['intercept', 'r2', 'slope']
    """
    X, y = check_data(X, y)
    values = _check_factor_levels(factor, levels)
    pretrain_epochs = check_int(pretrain_epochs, "pretrain_epochs")
    target_train_loss = _check_target(target_train_loss)
    n_repeats = check_int(n_repeats, "n_repeats")
    test_size = check_test_size(test_size)
    draw_seed(random_state)  # a bad random_state fails before any work
    if network is None:
        network = default_network()
    params = network.get_params(deep=False) if hasattr(network, "get_params") else {}
    needed = {"stop_train_loss"} | ({"init_scale"} if factor == "init_scale" else set())
    if not hasattr(network, "fit") or not needed <= set(params):
        raise ValueError(
            f"network must be an estimator with the parameters {sorted(needed)} (a "
            f"NetworkClassifier); got {network!r}."
        )
    network = clone(network).set_params(stop_train_loss=target_train_loss)
    if factor == "init_scale":
        template: Any = network
        grid = {"init_scale": values}
    else:
        template = RandomPretraining(network, pretrain_epochs=pretrain_epochs)
        grid = {"p": values}
    study = Study(
        "normalized loss",
        template,
        grid,
        scoring={
            "log_loss": "neg_log_loss",
            "accuracy": "accuracy",
            "normalized_loss": make_measure_scorer(normalized_loss, norm=norm),
            **{
                f"normalized_loss_{name}": make_measure_scorer(
                    normalized_loss, norm=p, divide_by=divide_by
                )
                for name, (p, divide_by) in _OTHER_NORMS.items()
            },
        },
        n_repeats=n_repeats,
        # one initialization per repeat, shared by the levels: a paired comparison
        seed_by=(),
        summary=functools.partial(_norm_summary, norm=norm),
        train_scores=True,
    )
    frame = run_study(
        study,
        X,
        y,
        test_size=test_size,
        n_jobs=n_jobs,
        random_state=random_state,
        progress=progress,
        cache_dir=cache_dir,
    )
    frame["factor"] = factor
    frame["level"] = frame[next(iter(grid))]
    for part in ("train", "test"):
        frame[f"{part}_loss"] = -frame[f"{part}_log_loss"]
        frame[f"{part}_error"] = 1.0 - frame[f"{part}_accuracy"]
        frame[f"normalized_{part}_loss"] = -frame[f"{part}_normalized_loss"]
        for name in _OTHER_NORMS:
            frame[f"normalized_{part}_loss_{name}"] = -frame[f"{part}_normalized_loss_{name}"]
    return frame[NORMALIZED_LOSS_COLUMNS]


def random_labels_study(
    X: Any, y: Any, *, random_state: int | np.random.RandomState | None = 0, **params: Any
) -> pd.DataFrame:
    """The network trained *and evaluated* on random labels (Liao et al.'s Fig. 10).

    Every label, training and test, is replaced by a uniform random class (seeded by
    ``random_state``) and the network (``params["network"]``, default
    :func:`default_network`) is trained at its default initialization until it fits its
    training labels (zero training error) or reaches the study's target loss, whichever
    comes first (:func:`normalized_loss_study` with ``factor="init_scale"``,
    ``levels=(1.0,)`` and ``params``); the rows say ``factor="random_labels"``. Liao et
    al. put "a network trained on random labels and evaluated on random labels" beside
    their pretrained ones, networks that "converged (and had zero train error) but not
    had the same loss" (Fig. 10).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> net = default_network(module__hidden=(32,), lr=0.1, max_epochs=300, device="cpu")
    >>> frame = random_labels_study(X[:100] / 16, y[:100], network=net,
    ...                             target_train_loss=0.5)
    >>> frame[["factor", "level"]].to_dict("records")
    [{'factor': 'random_labels', 'level': 1.0}]
    """
    X, y = check_data(X, y)
    rng = np.random.default_rng(draw_seed(random_state))
    labels = rng.choice(np.unique(y), size=len(y))
    network = params.get("network")
    network = default_network() if network is None else clone(network)
    network.set_params(stop_on_interpolation=True, stop_mode="any")
    params = {**params, "network": network, "factor": "init_scale", "levels": (1.0,)}
    frame = normalized_loss_study(X, labels, random_state=random_state, **params)
    return frame.assign(factor="random_labels")


# ---------------------------------------------------------------------------------- claims
_PAPER = "Liao et al. 2018"
#: Two slopes are "the same line" when they differ by less than this: the paper's own
#: slopes span 0.81 to 0.88 across its figures (Figs. 4, 5, 6, 10), a spread of 0.07.
SLOPE_MARGIN = 0.1
#: The paper's slopes of the normalized test loss on the normalized training loss.
PAPER_SLOPES = "0.8358 (Fig. 4), 0.836 (Fig. 5), 0.8117 (Fig. 6), 0.8789 (Fig. 10)"
_RAW = ("train_loss", "test_loss")
_NORMALIZED = ("normalized_train_loss", "normalized_test_loss")


def _columns(norm: str = "") -> tuple[str, str]:
    """The (training, test) columns of the normalized losses by ``norm`` ("": ``norm``)."""
    return tuple(f"{c}_{norm}" for c in _NORMALIZED) if norm else _NORMALIZED


def _repeats(frame: pd.DataFrame, factor: str) -> list[pd.DataFrame]:
    """The rows of ``factor``, one frame per repeat (a frame without ``factor``: one
    pretraining study)."""
    factors = frame["factor"] if "factor" in frame else pd.Series("pretraining", frame.index)
    rows = frame[(factors == factor).to_numpy()]
    if "repeat" not in rows:
        return [rows] if len(rows) else []
    return [part for _, part in rows.groupby("repeat")]


def fit_line(part: pd.DataFrame, columns: tuple[str, str]) -> tuple[float, float]:
    """Slope and R^2 of the least-squares line of ``columns[1]`` on ``columns[0]``.

    A line needs at least 3 networks with distinct abscissae (through 2 points any line
    fits exactly); fewer give NaN, as does a missing column.

    Examples
    --------
    >>> part = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 3.0, 5.0]})
    >>> fit_line(part, ("a", "b"))
    (2.0, 1.0)
    >>> fit_line(part.head(2), ("a", "b"))
    (nan, nan)
    """
    if not set(columns) <= set(part) or part[columns[0]].nunique() < 3:
        return float("nan"), float("nan")
    x, y = (part[c].to_numpy(float) for c in columns)
    slope, intercept = np.polyfit(x, y, 1)
    total = float(np.sum((y - y.mean()) ** 2))
    residual = float(np.sum((y - (slope * x + intercept)) ** 2))
    return float(slope), (1.0 - residual / total) if total > 0 else float("nan")


def _per_repeat(frame: pd.DataFrame, factor: str, columns: tuple[str, str], at: int):
    """``fit_line(...)[at]`` for every repeat of ``factor`` (0: slopes, 1: R^2)."""
    return np.array([fit_line(part, columns)[at] for part in _repeats(frame, factor)])


def _too_few(values: np.ndarray) -> str:
    """The reason a per-repeat line statistic cannot be judged, or ""."""
    if not np.isfinite(values).any():
        return "a line needs at least 3 networks of distinct training losses per repeat"
    return ""


def _mean_text(values: np.ndarray) -> str:
    return f"{np.nanmean(values):.4f}" if np.isfinite(values).any() else "n/a"


def _line_contrast(frame: pd.DataFrame, factor: str = "pretraining") -> Statistic | None:
    """R^2 of the normalized line minus R^2 of the raw line, per repeat."""
    normalized = _per_repeat(frame, factor, _NORMALIZED, 1)
    raw = _per_repeat(frame, factor, _RAW, 1)
    if not len(normalized):
        return None
    stat = interval_statistic(
        normalized - raw, "R^2 normalized minus R^2 raw", undecided=_too_few(normalized - raw)
    )
    text = f"{stat.text} (R^2 normalized {_mean_text(normalized)}, raw {_mean_text(raw)})"
    return replace(stat, text=text)


def _line_slope(frame: pd.DataFrame, factor: str = "pretraining") -> Statistic | None:
    """The slope of the normalized line, per repeat."""
    slopes = _per_repeat(frame, factor, _NORMALIZED, 0)
    if not len(slopes):
        return None
    stat = interval_statistic(slopes, "slope", undecided=_too_few(slopes))
    return replace(stat, text=f"{stat.text} (the paper: {PAPER_SLOPES})")


def _raw_r2(frame: pd.DataFrame, factor: str = "pretraining") -> Statistic | None:
    """R^2 of the raw test loss on the raw training loss, per repeat (clipped to [0, 1])."""
    r2 = _per_repeat(frame, factor, _RAW, 1)
    if not len(r2):
        return None
    return interval_statistic(r2, "R^2 of the raw line", rate=True, undecided=_too_few(r2))


def _slope_difference(
    frame: pd.DataFrame,
    *,
    factor: str = "pretraining",
    norm: str = "",
    against: str = "pretraining",
) -> Statistic | None:
    """Per repeat: the slope of the normalized line of ``factor`` by ``norm`` minus the
    slope of the line of ``against`` by the study's norm (None: the frame lacks either)."""
    slopes = _per_repeat(frame, factor, _columns(norm), 0)
    base = _per_repeat(frame, against, _NORMALIZED, 0)
    if not len(slopes) or len(slopes) != len(base) or not set(_columns(norm)) <= set(frame):
        return None
    name = f"{factor}, {norm or 'the study norm'}"
    stat = interval_statistic(
        slopes - base, f"slope ({name}) minus slope ({against})", undecided=_too_few(slopes - base)
    )
    return replace(stat, text=f"{stat.text} (slopes {_mean_text(slopes)} and {_mean_text(base)})")


def _with_random_labels(frame: pd.DataFrame, factor: str = "pretraining") -> Statistic | None:
    """R^2 of the normalized line through the networks of ``factor`` and the network
    trained (and evaluated) on random labels, per repeat (clipped to [0, 1])."""
    random = {int(p["repeat"].iloc[0]): p for p in _repeats(frame, "random_labels")}
    parts = [p for p in _repeats(frame, factor) if int(p["repeat"].iloc[0]) in random]
    if not parts:
        return None
    both = [pd.concat([p, random[int(p["repeat"].iloc[0])]]) for p in parts]
    r2 = np.array([fit_line(p, _NORMALIZED)[1] for p in both])
    alone = np.array([fit_line(p, _NORMALIZED)[1] for p in parts])
    stat = interval_statistic(r2, "R^2 with the random-label network", rate=True)
    points = pd.concat(random.values())
    text = (
        f"{stat.text} (without it {_mean_text(alone)}; the random-label network at "
        f"normalized train {points[_NORMALIZED[0]].mean():.4f}, test "
        f"{points[_NORMALIZED[1]].mean():.4f}; it fitted its random labels in "
        f"{int(points['converged'].sum())} of {len(points)} repeats)"
    )
    unfitted = "" if points["converged"].all() else "a random-label network did not fit its labels"
    return replace(stat, text=text, undecided=_too_few(r2) or unfitted)


def _paired_extremes(frame: pd.DataFrame, factor: str = "pretraining") -> Statistic | None:
    """Per repeat: the test loss at the highest level minus at the lowest, with the
    equal-training-loss condition (every compared network reached the target loss)."""
    parts = [p for p in _repeats(frame, factor) if p["level"].nunique() >= 2]
    if not parts:
        return None
    ends = [p.sort_values("level").iloc[[0, -1]] for p in parts]
    test = np.array([e["test_loss"].iloc[1] - e["test_loss"].iloc[0] for e in ends])
    train = np.array([e["train_loss"].iloc[1] - e["train_loss"].iloc[0] for e in ends])
    reached = all(bool(e["converged"].all()) for e in ends)
    low, high = ends[0]["level"].iloc[0], ends[0]["level"].iloc[-1]
    stat = interval_statistic(
        test,
        f"test loss at {factor} {high:g} minus at {low:g}",
        undecided="" if reached else "some networks did not reach the common training loss",
    )
    return replace(stat, text=f"{stat.text}; training loss difference {np.mean(train):+.4f}")


_FIG_1 = (
    "As pretraining data gets increasingly “corrupted”, the generalization performance "
    "of the resultant model gets worse, even though they have similar training losses."
)
_FIG_2 = (
    "As initial weights get increasingly large norm, the generalization performance of "
    "the resultant model gets worse, even though all models have similar training losses."
)
_EQUAL_LOSS = (
    "every network trained until its training loss is below the common target (inconclusive "
    "when one of the compared networks did not reach it)"
)

#: The claims of Liao et al. (2018) this study answers, declared before the data
#: (``docs/reproduced.rst``; the quotes are the paper's words).
NORMALIZED_LOSS_CLAIMS = (
    Claim(
        "liao-linear-relation",
        _PAPER,
        "a surprising linear relationship emerges between training and test losses",
        "abstract; Figs. 4 and 5 (random pretraining)",
        "R^2 0.9998, slope 0.836, intercept 0.377 (Fig. 5; Fig. 4: 0.9998, 0.8358, 0.3783)",
        _line_contrast,
        Interval("above", 0.0),
        tested="against the paper's contrast (Fig. 7: the raw losses show no line): R^2 of "
        "the normalized line minus R^2 of the raw line over the pretraining networks, per "
        "repeat, above 0",
    ),
    Claim(
        "liao-line-slope",
        _PAPER,
        "The slope and intercept of the line of best fit are 0.836 and 0.377 respectively",
        "Fig. 5 (also Figs. 4, 6, 10)",
        PAPER_SLOPES,
        _line_slope,
        Interval("above", 0.0, level=0.81),
        tested="the slope of the normalized line per repeat is positive; the paper's level: "
        "its smallest slope, 0.81",
    ),
    Claim(
        "liao-raw-no-line",
        _PAPER,
        "There is no apparent relationship between training and test losses.",
        "Fig. 7, top left (unnormalized networks)",
        "",
        _raw_r2,
        Interval("below", 0.5),
        tested="the raw training loss explains less than half the variance of the raw test "
        "loss across the pretraining networks (R^2 of the raw line per repeat below 0.5)",
    ),
    Claim(
        "liao-lp-norm-l1",
        _PAPER,
        "the $L_p$ norm used for normalization does not matter – as expected.",
        "Sec. 4.1, Fig. 4 (L1/100)",
        "slope 0.8358 (L1/100, Fig. 4) against 0.836 (Frobenius, Fig. 5)",
        _slope_difference,
        Equivalence(SLOPE_MARGIN),
        tested=f"the slope of the line with every layer of L1 norm 100 minus the Frobenius "
        f"slope, per repeat, within ±{SLOPE_MARGIN:g}",
        params={"norm": "l1"},
    ),
    Claim(
        "liao-lp-norm-linf",
        _PAPER,
        "all $L_p$ norms are equivalent in our setup.",
        "Sec. 5 (Discussion)",
        "",
        _slope_difference,
        Equivalence(SLOPE_MARGIN),
        tested=f"the max norm (every layer of largest entry 1), which the paper does not "
        f"plot: its slope minus the Frobenius slope, per repeat, within ±{SLOPE_MARGIN:g}",
        params={"norm": "linf"},
    ),
    Claim(
        "liao-random-labels",
        _PAPER,
        "still satisfies approximately (but not exactly) the same linear relationship",
        "Sec. 4.2, Fig. 10",
        "R^2 0.9721 with the random-label network (slope 0.8789, intercept 0.2795)",
        _with_random_labels,
        Interval("above", 0.9, level=0.9721),
        tested="the default network trained (to zero training error, as in Fig. 10) and "
        "evaluated on random labels, added to the pretraining networks: R^2 of the "
        "normalized line per repeat above 0.9 (inconclusive when it did not fit its labels)",
    ),
    Claim(
        "liao-pretraining-worse",
        _PAPER,
        _FIG_1,
        "Fig. 1 (CIFAR-10; Fig. 12 CIFAR-100)",
        "",
        _paired_extremes,
        Interval("above", 0.0),
        tested="the test loss at the highest corruption minus at none, paired within each "
        f"repeat, above 0; equal training loss: {_EQUAL_LOSS}",
    ),
    Claim(
        "liao-init-worse",
        _PAPER,
        _FIG_2,
        "Fig. 2 (CIFAR-10; Fig. 13 CIFAR-100)",
        "",
        _paired_extremes,
        Interval("above", 0.0),
        tested="the test loss at the largest initialization scale minus at the default "
        f"(scale 1), paired within each repeat, above 0; equal training loss: {_EQUAL_LOSS}",
        params={"factor": "init_scale"},
    ),
    Claim(
        "liao-one-line",
        _PAPER,
        "The linear relationship is independent of whether the initialization is via "
        "pretraining on randomly labeled natural images or whether it is via larger "
        "initialization or standard initialization.",
        "Sec. 4.1, Independence from Initialization (Figs. 3 and 6)",
        "slopes 0.836 (pretraining, Fig. 5) and 0.8117 (standard initialization, Fig. 6)",
        _slope_difference,
        Equivalence(SLOPE_MARGIN),
        tested=f"the slope of the line over the initialization scales minus the slope over "
        f"the pretraining levels, per repeat, within ±{SLOPE_MARGIN:g}",
        params={"factor": "init_scale"},
    ),
)
