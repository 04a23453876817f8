"""Which measure predicts generalization? A zoo of networks over a grid, every measure ranked.

Jiang et al. (2020) train networks over a grid of hyperparameters, each to the same
training cross-entropy, and ask which complexity measure orders them by their
generalization gap; Dziugaite et al. (2020) ask for robustness over environments.
:func:`measure_ranking` trains such a zoo (MLPs by default, over width, depth, learning
rate, batch size, weight decay and dropout, several seeds), every network to training
cross-entropy ``<= target_train_loss`` (Jiang's stopping rule) within ``max_epochs``;
networks that miss it are kept in the frame with ``converged=False`` and left out of the
ranking. Each network's measures are read on its training sample, oriented as Jiang et al.
orient them (larger = more complex: ``1/margin^2``, ``1/sigma^2`` of the flatness
searches, ``1/alpha'^2`` of the worst-case sharpness). :func:`zoo_frame` does the same for
a user's own fitted models, and :func:`~sklearn_gen.studies.rank_measures` ranks either
frame.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import PredefinedSplit

from sklearn_gen import measures as _m
from sklearn_gen._validation import check_int, check_real, draw_seed
from sklearn_gen.metrics import make_measure_scorer
from sklearn_gen.networks import NetworkClassifier
from sklearn_gen.networks.architectures import ARCHITECTURES, get_architecture
from sklearn_gen.studies._claims import Claim, Interval, Statistic
from sklearn_gen.studies._ranking import noise_threshold, rank_measures, robust_sign_error
from sklearn_gen.studies._study import Study, run_study
from sklearn_gen.studies._validation import check_data, check_test_size
from sklearn_gen.studies._verdicts import format_interval

__all__ = [
    "JIANG2020_AXES",
    "RANKING_AXES",
    "RANKING_MEASURES",
    "measure_ranking",
    "zoo_frame",
]

#: The hyperparameter axes of the default zoo, and their values. ``momentum`` is an axis a
#: grid may vary (the fragility audit's "momentum on/off"); the default zoo keeps 0.9,
#: since plain SGD at these learning rates misses the stopping rule within 200 epochs.
RANKING_AXES: dict[str, tuple[Any, ...]] = {
    "width": (32, 128),
    "depth": (1, 2),
    "lr": (0.05, 0.1),
    "batch_size": (32, 64),
    "weight_decay": (0.0, 0.001),
    "dropout": (0.0, 0.2),
    "momentum": (0.9,),
}

#: Jiang et al.'s (2020, Sec. 5) grid, three values per axis, for a NiN on CIFAR-10
#: (``width``: channels per block, ``depth``: blocks). Their optimizer axis (SGD, SGD with
#: momentum, Adam) is ``momentum`` 0 / 0.9 here: Adam is not among the axes.
JIANG2020_AXES: dict[str, tuple[Any, ...]] = {
    "width": (8, 16, 32),
    "depth": (2, 3, 4),
    "lr": (0.1, 0.032, 0.01),
    "batch_size": (32, 64, 128),
    "weight_decay": (0.0, 0.0001, 0.0005),
    "dropout": (0.0, 0.25, 0.5),
    "momentum": (0.0, 0.9),
}

#: The width and depth of a network when the grid leaves them out, by architecture.
_SHAPE_DEFAULTS = {"mlp": (128, 1), "nin": (32, 2)}


# ------------------------------------------------------------------------------ measures
def log_spectral_product(estimator: Any, X: Any = None, y: Any = None, **kw: Any) -> float:
    """``sum_i log sigma_i``: Jiang et al.'s ``log.prod.of.spec``."""
    return float(np.log(_m.layer_norms(estimator, X, y, norm="spectral", **kw)).sum())


def log_frobenius_product(estimator: Any, X: Any = None, y: Any = None, **kw: Any) -> float:
    """``sum_i log ||W_i||_F``: Jiang et al.'s ``log.prod.of.fro``."""
    return float(np.log(_m.layer_norms(estimator, X, y, norm="fro", **kw)).sum())


def inverse_margin(estimator: Any, X: Any = None, y: Any = None, **kw: Any) -> float:
    """``1 / gamma^2``, gamma the 10th percentile of the margins: Jiang et al.'s 1/margin."""
    gamma = _m.margin_quantile(estimator, X, y, q=0.1, **kw)
    if not gamma > 0:
        raise _m.UndefinedMeasureError(f"the margin quantile is {gamma:.3g} <= 0")
    return 1.0 / gamma**2


def squared_path_norm(estimator: Any, X: Any = None, y: Any = None, **kw: Any) -> float:
    """``path_norm(p=2) ** 2``: Jiang et al.'s ``path.norm``."""
    return _m.path_norm(estimator, X, y, p=2, **kw) ** 2


def pac_bayes_sharpness(
    estimator: Any, X: Any = None, y: Any = None, magnitude_aware: bool = False, **kw: Any
) -> float:
    """``1 / sigma^2`` of the PAC-Bayes flatness search: Jiang et al.'s ``pacbayes.flatness``
    (``pacbayes.mag.flatness`` with ``magnitude_aware``), with 32 noise draws (a third of the
    default's cost; on a fitted digits MLP sigma moved by 0.1%)."""
    sigma = _m.pac_bayes_flatness(
        estimator, X, y, magnitude_aware=magnitude_aware, n_draws=32, random_state=0, **kw
    )
    return 0.0 if math.isinf(sigma) else 1.0 / sigma**2


def _scorer(function: Callable[..., float], **params: Any) -> Any:
    return make_measure_scorer(function, greater_is_better=True, **params)


_WORST_CASE = _m.worst_case_sharpness
#: The searches of the sharpness measures run on 256 training points (a seeded subsample),
#: with 5 ascent steps from 4 random starts: the measures cost a fraction of the training
#: (measured in ``benchmarks/bench_measure_ranking.py``). One start is noisy and biased
#: toward "flatter": on one fixed sample of a width-128 digits MLP, the magnitude-aware
#: alpha' over random_state 0-4 spanned 0.0518-0.0587 (mean 0.0545) from one start,
#: 0.0518-0.0541 (mean 0.0531) from 4, 0.0518-0.0530 from 8, at about 3 and 6 times the
#: cost of one start (docs/measure_ranking.rst).
_SEARCH = {"n_steps": 5, "n_restarts": 4, "max_samples": 256, "random_state": 0}

#: The measures ranked, as scorers giving the raw value (larger = more complex).
RANKING_MEASURES: dict[str, Any] = {
    "n_params": _scorer(_m.count_parameters),
    "inverse_margin": _scorer(inverse_margin),
    "log_spectral_product": _scorer(log_spectral_product),
    "log_frobenius_product": _scorer(log_frobenius_product),
    "distance_from_init": _scorer(_m.distance_from_init),
    "path_norm": _scorer(squared_path_norm),
    "spectral_bound": _scorer(_m.spectral_bound),
    "pac_bayes_bound": _scorer(_m.pac_bayes_bound),
    "pac_bayes_sharpness": _scorer(pac_bayes_sharpness),
    "pac_bayes_magnitude_sharpness": _scorer(pac_bayes_sharpness, magnitude_aware=True),
    "worst_case_sharpness": _scorer(_WORST_CASE, **_SEARCH),
    "worst_case_magnitude_sharpness": _scorer(_WORST_CASE, magnitude_aware=True, **_SEARCH),
    "hessian_trace": _scorer(_m.hessian_trace, n_probes=10, max_samples=256, random_state=0),
    "gradient_noise": _scorer(_m.gradient_noise, batch_size=32, random_state=0),
    "mean_alpha": _scorer(_m.mean_alpha),
    "steps_to_loss": _scorer(_m.steps_to_loss, level=0.1),
}


def _check_measures(measures: Any) -> dict[str, Any]:
    if measures is None:
        return dict(RANKING_MEASURES)
    if isinstance(measures, Mapping):
        chosen = dict(measures)
    elif isinstance(measures, Sequence) and not isinstance(measures, str):
        unknown = [m for m in measures if m not in RANKING_MEASURES]
        if unknown:
            raise ValueError(
                f"measures {unknown} are not among {sorted(RANKING_MEASURES)}; pass those "
                "names, or a dict of name -> scorer."
            )
        chosen = {m: RANKING_MEASURES[m] for m in measures}
    else:
        raise TypeError(
            "measures must be None, a list of names from RANKING_MEASURES or a dict of name "
            f"-> scorer, got {type(measures).__name__}."
        )
    if not chosen:
        raise ValueError("measures must name at least one measure.")
    return chosen


def _check_axes(grid: Any) -> dict[str, tuple[Any, ...]]:
    if grid is None:
        return dict(RANKING_AXES)
    if not isinstance(grid, Mapping) or not grid:
        raise TypeError(
            "grid must be a dict of axis -> values (axes among width, depth, lr, batch_size, "
            f"weight_decay, dropout), got {grid!r}."
        )
    unknown = [axis for axis in grid if axis not in RANKING_AXES]
    if unknown:
        raise ValueError(f"grid axes {unknown} are not among {list(RANKING_AXES)}.")
    out = {}
    for axis, values in grid.items():
        values = tuple(np.atleast_1d(values).tolist())
        if not values:
            raise ValueError(f"grid[{axis!r}] has no values.")
        out[axis] = values
    return out


def _training_summary(model: Any) -> dict[str, Any]:
    return {
        "n_epochs": int(getattr(model, "n_epochs_", -1)),
        "converged": bool(getattr(model, "converged_", False)),
    }


def _architecture_kind(network: NetworkClassifier) -> str:
    """``"mlp"`` or ``"nin"``: the architectures whose width and depth the grid sets."""
    module = get_architecture(network.module)
    for kind in _SHAPE_DEFAULTS:
        if module is ARCHITECTURES[kind]:
            return kind
    raise ValueError(
        f"network.module must be 'mlp' or 'nin' (the grid sets their width and depth), got "
        f"{network.module!r}; rank your own architectures with zoo_frame."
    )


def _shape_params(kind: str, width: int, depth: int) -> dict[str, list[Any]]:
    if kind == "mlp":
        return {"module__hidden": [(width,) * depth]}
    return {"module__width": [width], "module__depth": [depth]}


def default_network(module: str = "mlp", **params: Any) -> NetworkClassifier:
    """The zoo's template, declared once (``params`` override; the command line sets the
    device, the seed and the epoch budget here, and the NiN of ``--preset jiang2020``)."""
    settings: dict[str, Any] = {"momentum": 0.9, "max_epochs": 200}
    settings.update(params)
    return NetworkClassifier(module, **settings)


def measure_ranking(
    X: Any,
    y: Any,
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    network: BaseEstimator | None = None,
    measures: Sequence[str] | Mapping[str, Any] | None = None,
    target_train_loss: float = 0.01,
    test_size: float | int | PredefinedSplit = 0.5,
    n_repeats: int = 2,
    n_jobs: int | None = None,
    random_state: int | np.random.RandomState | None = 0,
    progress: bool = False,
    cache_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Train a zoo of networks over a grid and read every measure of each (Jiang et al.).

    Every point of the grid (``width`` and ``depth`` of the MLP's hidden layers, ``lr``,
    ``batch_size``, ``weight_decay``, ``dropout``) and every repeat (its own split and
    seeds) is one network, trained with SGD (momentum 0.9) until its training
    cross-entropy is at most ``target_train_loss`` or ``network.max_epochs`` run out.
    Rank the converged rows with :func:`~sklearn_gen.studies.rank_measures`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    grid : dict, default=None
        ``{axis: values}`` over the axes of :data:`RANKING_AXES` (None: its values, two
        for each axis but ``momentum``: 64 networks per repeat; :data:`JIANG2020_AXES` is
        Jiang et al.'s grid). A width or depth left out is 128 or 1 for an MLP, 32 or 2
        for a NiN; another axis left out keeps the template's value.
    network : NetworkClassifier, default=None
        The template, an ``"mlp"`` (width and depth of its hidden layers) or a ``"nin"``
        (channels and blocks, :class:`~sklearn_gen.networks.architectures.NiN`); its
        ``lr``, ``batch_size``, ``weight_decay``, ``dropout``, ``momentum``,
        ``stop_train_loss`` and seeds are set per network. None:
        ``NetworkClassifier("mlp", momentum=0.9, max_epochs=200)``.
    measures : list of str or dict, default=None
        Names from :data:`RANKING_MEASURES` (None: all), or ``{name: scorer}``.
    target_train_loss : float, default=0.01
        Jiang et al.'s stopping rule: training cross-entropy at most this.
    test_size : float, int or PredefinedSplit, default=0.5
    n_repeats : int, default=2
        Seeds per grid point.
    n_jobs, random_state, progress, cache_dir
        As every study function takes them (see :func:`~sklearn_gen.studies.run_study`).

    Returns
    -------
    pandas.DataFrame
        One row per network: the axes, ``repeat``, ``n_train``, ``n_test``, ``n_epochs``,
        ``converged``,
        ``train_accuracy``, ``test_accuracy``, ``generalization_gap`` (train minus test
        accuracy), ``fit_seconds``, ``measure_seconds`` and one column per measure.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> zoo = measure_ranking(X[:300] / 16, y[:300], grid={"width": [16, 32], "lr": [0.1]},
    ...                       measures=["inverse_margin", "path_norm"], n_repeats=1,
    ...                       target_train_loss=0.1)
    >>> zoo[["width", "lr", "converged"]].values.tolist()
    [[16, 0.1, True], [32, 0.1, True]]
    >>> bool((zoo["generalization_gap"] > 0).all())
    True
    """
    X, y = check_data(X, y)
    axes = _check_axes(grid)
    chosen = _check_measures(measures)
    target_train_loss = check_real(target_train_loss, "target_train_loss", 0.0, closed="neither")
    n_repeats = check_int(n_repeats, "n_repeats")
    test_size = check_test_size(test_size)
    draw_seed(random_state)  # a bad random_state fails before any work
    if network is None:
        network = default_network()
    if not isinstance(network, NetworkClassifier):
        raise TypeError(
            f"network must be a NetworkClassifier (the template of the zoo), got {network!r}."
        )
    template = clone(network).set_params(stop_train_loss=target_train_loss)
    kind = _architecture_kind(template)
    default_width, default_depth = _SHAPE_DEFAULTS[kind]
    width = axes.pop("width", (default_width,))  # an axis left out keeps one value
    depth = axes.pop("depth", (default_depth,))
    estimator_axes = {axis: list(values) for axis, values in axes.items()}
    grid_points = [
        {**_shape_params(kind, int(w), int(d)), "width": [w], "depth": [d], **estimator_axes}
        for w, d in itertools.product(width, depth)
    ]
    study = Study(
        "measure ranking",
        template,
        grid_points,
        scoring={"accuracy": "accuracy"},
        n_repeats=n_repeats,
        labels=("width", "depth"),
        summary=_training_summary,
        train_scoring=chosen,
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
    frame["generalization_gap"] = frame["train_accuracy"] - frame["test_accuracy"]
    frame = frame.rename(columns={f"train_{name}": name for name in chosen})
    frame = frame.rename(columns={"train_scoring_seconds": "measure_seconds"})
    columns = [
        *[a for a in RANKING_AXES if a in frame.columns],
        "repeat",
        "n_train",
        "n_test",
        "n_epochs",
        "converged",
        "train_accuracy",
        "test_accuracy",
        "generalization_gap",
        "fit_seconds",
        "measure_seconds",
        *chosen,
    ]
    return frame[columns]


def _check_labels(model: Any, index: int, y: Any, name: str) -> None:
    """Refuse labels a model was not trained on (its ``classes_``, when it has them): its
    accuracy on them would be a wrong gap, not an error."""
    classes = getattr(model, "classes_", None)
    if classes is None:
        return
    unknown = np.setdiff1d(np.unique(np.asarray(y)), np.asarray(classes))
    if len(unknown):
        raise ValueError(
            f"{name} holds labels that models[{index}] was not trained on: "
            f"{unknown[:5].tolist()} (its classes_ are {np.asarray(classes)[:10].tolist()})."
        )


def zoo_frame(
    models: Sequence[Any],
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    *,
    hyperparameters: Sequence[Mapping[str, Any]] | None = None,
    measures: Sequence[str] | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The frame :func:`~sklearn_gen.studies.rank_measures` ranks, from your own fitted models.

    Parameters
    ----------
    models : sequence of fitted estimators
        Any fitted network (a NetworkClassifier, a skorch net, a Pipeline around one, ...;
        see :mod:`sklearn_gen.measures`), all trained on ``X_train, y_train``.
    X_train, y_train, X_test, y_test : array-like
        The training sample (the measures are read on it) and the held-out data.
    hyperparameters : sequence of dict, optional
        One ``{axis: value}`` per model: the grid columns of the ranking.
    measures : list of str or dict, default=None
        As for :func:`measure_ranking`. A measure undefined on a model (e.g. a bound on a
        residual network) is NaN there.

    Returns
    -------
    pandas.DataFrame
        One row per model: its hyperparameters, ``train_accuracy``, ``test_accuracy``,
        ``generalization_gap`` and one column per measure.

    Raises
    ------
    ValueError
        If ``y_train`` or ``y_test`` holds a label outside a model's ``classes_`` (checked
        for every model before any is scored).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_gen import NetworkClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16
    >>> nets = [NetworkClassifier("mlp", module__hidden=(w,), max_epochs=5, lr=0.1,
    ...                           device="cpu", random_state=0).fit(X[:200], y[:200])
    ...         for w in (8, 32)]
    >>> frame = zoo_frame(nets, X[:200], y[:200], X[200:400], y[200:400],
    ...                   hyperparameters=[{"width": 8}, {"width": 32}],
    ...                   measures=["log_spectral_product"])
    >>> list(frame.columns)
    ['width', 'train_accuracy', 'test_accuracy', 'generalization_gap', 'log_spectral_product']
    """
    chosen = _check_measures(measures)
    models = list(models)
    if not models:
        raise ValueError("models must hold at least one fitted estimator.")
    if hyperparameters is None:
        hyperparameters = [{} for _ in models]
    hyperparameters = list(hyperparameters)
    if len(hyperparameters) != len(models):
        raise ValueError(
            f"hyperparameters has {len(hyperparameters)} entries for {len(models)} models."
        )
    for index, model in enumerate(models):  # every model checked before any is scored
        _check_labels(model, index, y_train, "y_train")
        _check_labels(model, index, y_test, "y_test")
    rows = []
    for model, params in zip(models, hyperparameters, strict=True):
        train, test = model.score(X_train, y_train), model.score(X_test, y_test)
        row = {**params, "train_accuracy": train, "test_accuracy": test}
        row["generalization_gap"] = train - test
        for name, scorer in chosen.items():
            row[name] = float(scorer(model, X_train, y_train))
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ the ranking
#: Dziugaite et al.'s smallest effective sample size of an environment.
PAPER_MIN_ESS = 12.0


@dataclass
class ZooRanking:
    """The study's ranking of a zoo (:func:`rank_zoo`), with what the dropped networks did
    to the grid.

    Attributes
    ----------
    frame : pandas.DataFrame
        Every network trained.
    converged : pandas.DataFrame
        The networks that met the stopping rule (the ones ranked).
    axes : list of str
        The axes that vary among them.
    table : pandas.DataFrame
        :func:`~sklearn_gen.studies.rank_measures` of the converged networks, with
        intervals (the study's conventions: see :func:`rank_zoo`).
    complete : pandas.DataFrame
        The same criteria (no intervals) with ``Psi`` over the complete groups only.
    every : pandas.DataFrame
        The same criteria (no intervals) over every network, the ones that missed the
        stopping rule measured at their last epoch: the fallback that keeps the grid
        balanced.
    lost : pandas.DataFrame
        The configurations that lost networks: the axes, ``n_networks``, ``n_converged``.
    noise : float
        ``Delta* = sqrt(2 ln 2 / n_test)``, below which a gap difference weighs nothing.
    paper_environments : int
        The environments of the first-ranked measure left at Dziugaite et al.'s effective
        sample size (12).
    """

    frame: pd.DataFrame
    converged: pd.DataFrame
    axes: list[str]
    table: pd.DataFrame
    complete: pd.DataFrame
    every: pd.DataFrame
    lost: pd.DataFrame
    noise: float
    paper_environments: int


def lost_cells(frame: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame:
    """The configurations of a zoo that lost networks to the stopping rule.

    Parameters
    ----------
    frame : pandas.DataFrame
        A :func:`measure_ranking` frame (every network, with ``converged``).
    axes : sequence of str
        The grid's axes.

    Returns
    -------
    pandas.DataFrame
        One row per configuration with fewer converged networks than trained: the axes,
        ``n_networks`` and ``n_converged``.

    Examples
    --------
    >>> frame = pd.DataFrame({"lr": [0.1, 0.1, 0.2, 0.2], "repeat": [0, 1, 0, 1],
    ...                       "converged": [True, True, True, False]})
    >>> lost_cells(frame, ["lr"]).to_dict("records")
    [{'lr': 0.2, 'n_networks': 2, 'n_converged': 1}]
    """
    counts = (
        frame.assign(converged=frame["converged"].astype(bool))
        .groupby(list(axes), dropna=False)["converged"]
        .agg(n_networks="size", n_converged="sum")
        .reset_index()
    )
    counts["n_converged"] = counts["n_converged"].astype(int)
    return counts[counts["n_converged"] < counts["n_networks"]].reset_index(drop=True)


def rank_zoo(
    frame: pd.DataFrame,
    *,
    n_bootstrap: int = 200,
    random_state: int | np.random.RandomState | None = 0,
) -> ZooRanking:
    """Rank a :func:`measure_ranking` zoo as the study does, and say what the dropped
    networks did to the grid.

    The converged networks are ranked by :func:`~sklearn_gen.studies.rank_measures` over
    the axes that vary among them, with these conventions: ``Psi`` over the means of each
    configuration's repeats (``repeats="mean"``: seed-mates differ only by noise, and
    pooled they pull ``Psi`` toward 0), tau-b inside its groups, a constant group counting
    0; the sign-errors over Dziugaite et al.'s environments with Hoeffding weights for the
    frame's ``n_test`` test points (pairs closer than ``Delta*`` weigh nothing) and no
    effective-sample-size floor (at their 12, a zoo of 2 repeats keeps no environment:
    at most 4 pairs each). Beside it, without intervals: ``Psi`` over the complete groups
    only, and every criterion over every network (the networks that missed the stopping
    rule at their last epoch), which keeps the grid balanced.

    Parameters
    ----------
    frame : pandas.DataFrame
        A :func:`measure_ranking` frame.
    n_bootstrap : int, default=200
        Resamples for the intervals of the main ranking.
    random_state : int, RandomState instance or None, default=0
        Seeds the resampling.

    Returns
    -------
    ZooRanking

    Raises
    ------
    ValueError
        If fewer than two networks converged or they vary along no axis.

    Examples
    --------
    >>> import itertools
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame([{"width": w, "lr": lr, "repeat": r} for w, lr, r in
    ...                       itertools.product((16, 64), (0.1, 0.2), (0, 1, 2))])
    >>> frame["n_test"], frame["converged"] = 500, True
    >>> frame["generalization_gap"] = 0.1 * frame["lr"] + rng.normal(0, 0.02, 12)
    >>> frame["path_norm"] = frame["generalization_gap"] + rng.normal(0, 0.01, 12)
    >>> ranking = rank_zoo(frame, n_bootstrap=20)
    >>> ranking.axes, list(ranking.table["measure"]), len(ranking.lost)
    (['width', 'lr'], ['path_norm'], 0)
    """
    converged = frame[frame["converged"].astype(bool)].reset_index(drop=True)
    axes = [a for a in RANKING_AXES if a in frame.columns and converged[a].nunique() > 1]
    names = [m for m in RANKING_MEASURES if m in frame.columns]
    if len(converged) < 2 or not axes:
        raise ValueError(
            f"{len(converged)} of the {len(frame)} networks met the stopping rule and they "
            "vary along no axis: nothing to rank; raise the network's max_epochs or lr."
        )
    conventions: dict[str, Any] = {
        "repeats": "mean",
        "weights": "hoeffding",
        "n_test": "n_test",
    }
    gap = "generalization_gap"
    table = rank_measures(
        converged,
        names,
        gap,
        axes,
        n_bootstrap=n_bootstrap,
        random_state=random_state,
        **conventions,
    )
    complete = rank_measures(
        converged, names, gap, axes, complete_groups=True, n_bootstrap=0, **conventions
    )
    every = rank_measures(frame, names, gap, axes, n_bootstrap=0, **conventions)
    first = str(table["measure"].iloc[0])
    _, _, paper_environments = robust_sign_error(
        converged,
        first,
        gap,
        axes,
        weights="hoeffding",
        n_test="n_test",
        min_ess=PAPER_MIN_ESS,
    )
    n_test = float(converged["n_test"].min())
    return ZooRanking(
        frame=frame,
        converged=converged,
        axes=axes,
        table=table,
        complete=complete,
        every=every,
        lost=lost_cells(frame, axes),
        noise=noise_threshold(n_test),
        paper_environments=paper_environments,
    )


def direction_note(table: pd.DataFrame, measure: str) -> str:
    """``""``, or a note that ``measure`` is informative in the wrong direction (a positive
    CMI with a negative tau), for a verdict's evidence.

    Examples
    --------
    >>> table = pd.DataFrame({"measure": ["m"], "cmi": [0.01], "kendall_tau": [-0.2],
    ...                       "wrong_direction": [True]})
    >>> direction_note(table, "m")
    '; m is informative in the wrong direction (CMI 0.01 with tau -0.20)'
    """
    row = table.set_index("measure").loc[measure]
    if not bool(row["wrong_direction"]):
        return ""
    return (
        f"; {measure} is informative in the wrong direction (CMI {row['cmi']:.2f} with tau "
        f"{row['kendall_tau']:.2f})"
    )


def _cell(row: Any, criterion: str) -> str:
    """``value [low, high]``, or the value alone where there is no interval."""
    value = float(getattr(row, criterion))
    low, high = (float(getattr(row, f"{criterion}_{end}", np.nan)) for end in ("low", "high"))
    if not np.isfinite(value):
        return "n/a"
    if np.isfinite(low) and np.isfinite(high):
        return f"{value:.2f} [{low:.2f}, {high:.2f}]"
    return f"{value:.2f}"


def ranking_markdown(ranking: ZooRanking) -> str:
    """The ranking of ``summary.md``: the table, its conventions, the measures informative
    in the wrong direction, and what the dropped networks did to the grid.

    Examples
    --------
    >>> import itertools
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame([{"width": w, "lr": lr, "repeat": r} for w, lr, r in
    ...                       itertools.product((16, 64), (0.1, 0.2), (0, 1, 2))])
    >>> frame["n_test"], frame["converged"] = 500, True
    >>> frame["generalization_gap"] = 0.1 * frame["lr"] + rng.normal(0, 0.02, 12)
    >>> frame["path_norm"] = frame["generalization_gap"] + rng.normal(0, 0.01, 12)
    >>> text = ranking_markdown(rank_zoo(frame, n_bootstrap=20))
    >>> text.splitlines()[0]
    '## Ranking (12 of 12 networks met the stopping rule; axes width, lr; 95% bootstrap intervals over networks)'
    """  # noqa: E501
    table, converged, frame = ranking.table, ranking.converged, ranking.frame
    lines = [
        f"## Ranking ({len(converged)} of {len(frame)} networks met the stopping rule; axes "
        f"{', '.join(ranking.axes)}; 95% bootstrap intervals over networks)",
        "",
        "Ranked by the conditional mutual information (CMI, the minimum over conditioning "
        "sets of at most 2 axes) signed by Kendall's tau: the CMI is blind to the direction, "
        "so a measure informative the wrong way (larger measure, smaller gap) ranks below "
        "one without information. Psi averages tau-b within every group where one axis "
        "varies (a constant group counts 0), over the means of each configuration's "
        "repeats. The sign-errors run over Dziugaite et al.'s environments (two "
        "configurations that differ in one value), each pair weighted by Hoeffding's "
        f"(p - 1/2)+ for {int(converged['n_test'].min())} test points, so gap differences "
        f"below {ranking.noise:.3f} weigh nothing.",
        "",
        "| rank | measure | Kendall tau | Psi | signed CMI | robust sign-error | "
        "mean sign-error | environments |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for rank, row in enumerate(table.itertuples(), start=1):
        flag = ""
        if row.wrong_direction:  # "?": the point estimate only, tau's interval holds 0
            flag = " (wrong direction)" if row.kendall_tau_high < 0 else " (wrong direction?)"
        lines.append(
            f"| {rank} | {row.measure}{flag} | {_cell(row, 'kendall_tau')} | "
            f"{_cell(row, 'psi')} | {_cell(row, 'signed_cmi')} | "
            f"{_cell(row, 'robust_sign_error')} | {_cell(row, 'mean_sign_error')} | "
            f"{row.n_environments} |"
        )
    wrong = table[table["wrong_direction"]]
    lines.append("")
    if len(wrong):
        listed = ", ".join(
            f"{r.measure} (CMI {r.cmi:.3f}, tau {r.kendall_tau:.2f})" for r in wrong.itertuples()
        )
        clear = [r.measure for r in wrong.itertuples() if r.kendall_tau_high < 0]
        lines.append(
            f"Informative in the wrong direction (a positive CMI with a negative tau): {listed}"
            + (
                f"; tau's interval lies below 0 for {', '.join(clear)}."
                if clear
                else "; for none of them does tau's interval exclude 0."
            )
        )
    else:
        lines.append("No measure is informative in the wrong direction.")
    gaps = converged["generalization_gap"]
    if not table["n_environments"].any():
        lines += [
            "",
            f"No environment has a pair of networks whose gaps differ by more than "
            f"{ranking.noise:.3f}: the converged gaps span {gaps.min():.3f} to "
            f"{gaps.max():.3f}, so the sign-errors are undefined here (n/a), not 0 or 1.",
        ]
    lines += [
        "",
        f"At Dziugaite et al.'s effective sample size (12 pairs) {ranking.paper_environments} "
        f"environments remain (counted for {table['measure'].iloc[0]}): with "
        f"{int(converged.groupby(ranking.axes).size().max())} repeats per configuration an "
        "environment has few pairs, so the sign-errors here have no such floor.",
        "",
        *_balance_markdown(ranking),
    ]
    return "\n".join(lines)


def _balance_markdown(ranking: ZooRanking) -> list[str]:
    """The cells that lost networks, and the ranking on complete groups and on every
    network beside the main one."""
    lost, frame = ranking.lost, ranking.frame
    n_cells = int(frame.groupby(ranking.axes).ngroups)
    n_lost = int((lost["n_networks"] - lost["n_converged"]).sum()) if len(lost) else 0
    lines = ["## Dropped networks and the balance of the grid", ""]
    if not len(lost):
        return [*lines, "Every network met the stopping rule: the grid is balanced."]
    per_value = []
    for axis in ranking.axes:
        for value, part in frame.groupby(axis):
            missed = int((~part["converged"].astype(bool)).sum())
            if missed:
                per_value.append(f"{axis}={value}: {missed} of {len(part)}")
    lines += [
        f"{n_lost} networks missed the stopping rule, in {len(lost)} of the {n_cells} "
        "configurations, so Psi's groups and the CMI's pairs are no longer balanced. "
        "Networks that missed it, by axis value: " + "; ".join(per_value) + ".",
        "",
        "Beside the ranking (point values, same conventions): Psi over the complete groups "
        "only (every value of the axis with every repeat converged), and every criterion "
        "over every network, those that missed the rule read at their last epoch (the "
        "fallback that keeps the grid balanced).",
        "",
        "| measure | Psi | Psi, complete groups | Kendall tau, every network | "
        "Psi, every network | signed CMI, every network |",
        "|---|---|---|---|---|---|",
    ]
    complete = ranking.complete.set_index("measure")
    every = ranking.every.set_index("measure")
    for row in ranking.table.itertuples():
        c, e = complete.loc[row.measure], every.loc[row.measure]
        lines.append(
            f"| {row.measure} | {row.psi:.2f} | {c['psi']:.2f} | {e['kendall_tau']:.2f} | "
            f"{e['psi']:.2f} | {e['signed_cmi']:.2f} |"
        )
    return lines


# ------------------------------------------------------------------------ claims
#: The last zoo ranked: the figure, the summary's table and the claims of one run all read
#: one ranking of one frame (ranking a zoo takes seconds to minutes).
_LAST_RANKING: dict[int, ZooRanking | None] = {}


def ranked_zoo(frame: pd.DataFrame) -> ZooRanking | None:
    """:func:`rank_zoo` of a study frame, computed once per frame (None: nothing to rank,
    fewer than two converged networks or no varied axis).

    Examples
    --------
    >>> ranked_zoo(pd.DataFrame({"converged": [False], "generalization_gap": [0.1]})) is None
    True
    """
    key = int(pd.util.hash_pandas_object(frame, index=False).sum()) ^ hash(tuple(frame.columns))
    if key not in _LAST_RANKING:
        _LAST_RANKING.clear()
        try:
            _LAST_RANKING[key] = rank_zoo(frame)
        except ValueError:
            _LAST_RANKING[key] = None
    return _LAST_RANKING[key]


#: Fewer converged networks than this: the study's claims are not judged (too few models
#: for a bootstrap over networks; :data:`~sklearn_gen.studies._ranking` warns below it).
MIN_RANKED_NETWORKS = 8


def _judged(frame: pd.DataFrame, measure: str) -> ZooRanking | None:
    ranking = ranked_zoo(frame)
    if ranking is None or measure not in set(ranking.table["measure"]):
        return None
    if len(ranking.converged) < MIN_RANKED_NETWORKS:
        return None
    return ranking


def spectral_tau(frame: pd.DataFrame, measure: str = "log_spectral_product") -> Statistic | None:
    """Kendall's tau of ``measure`` with the generalization gap over the converged
    networks, with its 95% bootstrap interval over networks (the ranking's own).

    Examples
    --------
    >>> spectral_tau(pd.DataFrame({"converged": [False], "generalization_gap": [0.1]})) is None
    True
    """
    ranking = _judged(frame, measure)
    if ranking is None:
        return None
    row = ranking.table.set_index("measure").loc[measure]
    value, low, high = (float(row[f"kendall_tau{end}"]) for end in ("", "_low", "_high"))
    n = len(ranking.converged)
    text = (
        f"Kendall tau of {measure} {format_interval(value, low, high, 2)} over {n} networks "
        f"(bootstrap over networks){direction_note(ranking.table, measure)}"
    )
    return Statistic(value, low, high, n, text)


def psi_advantage(frame: pd.DataFrame, measure: str, baseline: str) -> Statistic | None:
    """Psi of ``measure`` minus Psi of ``baseline`` (seeds averaged per configuration), with
    the paired 95% bootstrap interval over networks.

    Examples
    --------
    >>> frame = pd.DataFrame({"converged": [False], "generalization_gap": [0.1]})
    >>> psi_advantage(frame, "a", "b") is None
    True
    """
    from sklearn_gen.studies._ranking import compare_measures

    ranking = _judged(frame, measure)
    if ranking is None or baseline not in set(ranking.table["measure"]):
        return None
    diff, low, high = compare_measures(
        ranking.converged,
        measure,
        baseline,
        "generalization_gap",
        ranking.axes,
        criterion="psi",
        repeats="mean",
        n_bootstrap=200,
        random_state=0,
    )
    text = (
        f"Psi({measure}) - Psi({baseline}) = {format_interval(diff, low, high, 2)} (paired "
        f"bootstrap over {len(ranking.converged)} networks)"
        f"{direction_note(ranking.table, measure)}"
    )
    return Statistic(diff, low, high, len(ranking.converged), text)


_JIANG = "Jiang et al. 2020"
_NOT_QUOTED = (
    "Sec. 6; the paper's text is not available here, so the words are this package's "
    "summary of its finding, not a quote"
)
_BY_NETWORKS = (
    "over the converged networks of the default zoo (MLPs on digits, 6 axes of 2 values, "
    "2 seeds), not the paper's 10,000 NiNs"
)

MEASURE_RANKING_CLAIMS: tuple[Claim, ...] = (
    Claim(
        "jiang-spectral-product-negative",
        _JIANG,
        "the product of spectral norms is negatively correlated with generalization",
        _NOT_QUOTED,
        "",
        spectral_tau,
        Interval("below", 0.0),
        tested=f"Kendall's tau of log_spectral_product with the gap below 0, {_BY_NETWORKS}",
    ),
    *(
        Claim(
            f"jiang-{flat.replace('_', '-')}-over-spectral",
            _JIANG,
            "magnitude-aware sharpness / PAC-Bayes flatness measures are among the best "
            "predictors of generalization",
            _NOT_QUOTED,
            "",
            psi_advantage,
            Interval("above", 0.0),
            tested=f"Psi of {flat} above Psi of the spectral product, {_BY_NETWORKS}",
            params={"measure": flat, "baseline": "log_spectral_product"},
        )
        for flat in ("pac_bayes_magnitude_sharpness", "worst_case_magnitude_sharpness")
    ),
)
