"""Nagarajan & Kolter (2019): uniform convergence may be unable to explain generalization.

Two experiments of V. Nagarajan and J. Z. Kolter, "Uniform convergence may be unable to
explain generalization in deep learning", NeurIPS 2019:

* :func:`bounds_vs_sample_size` (their Fig. 1): a bias-free deep fully connected network
  trained until a fraction ``q`` of the training points has margin ``>= gamma``, on
  training sets of growing size ``m``. The test error falls with ``m``, but the distance
  from initialization and the norm-based bounds (Bartlett et al. 2017; Neyshabur et al.
  2018) *grow* with ``m`` -- the opposite of what a useful bound does.
* :func:`hypersphere_projection` (their Section 3): a wide two-layer ReLU network trained
  to separate two concentric hyperspheres. At large ``m`` it classifies fresh points well,
  yet misclassifies almost all of ``S'``, the training set moved onto the other sphere
  with flipped labels -- the example on which every two-sided uniform convergence bound
  over the algorithm's outputs is vacuous.

:func:`loglog_slopes` summarizes a frame by the slope of each column against ``m`` on
log-log axes.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import PredefinedSplit

from sklearn_gen._validation import check_int, draw_seed
from sklearn_gen.datasets._hyperspheres import (
    _check_radii,
    make_hyperspheres,
    project_to_other_sphere,
)
from sklearn_gen.metrics import make_measure_scorer
from sklearn_gen.networks._classifier import NetworkClassifier
from sklearn_gen.studies._claims import Claim, Interval, Statistic
from sklearn_gen.studies._study import Study, StudyData, run_study
from sklearn_gen.studies._validation import check_sizes, check_test_size, split_indices
from sklearn_gen.studies._verdicts import format_interval, mean_interval, slope_interval

__all__ = [
    "BOUNDS_CLAIMS",
    "HYPERSPHERE_CLAIMS",
    "bounds_vs_sample_size",
    "hypersphere_projection",
    "slope_statistic",
    "weakest_group",
]

Measure = Callable[..., float]


def _default_measures() -> dict[str, Measure]:
    from sklearn_gen.measures import distance_from_init, pac_bayes_bound, spectral_bound

    return {
        "distance_from_init": distance_from_init,
        "spectral_bound": spectral_bound,
        "pac_bayes_bound": pac_bayes_bound,
    }


# --------------------------------------------------------------------------- hyperspheres
def hypersphere_data(
    m: int,
    dim: int,
    radii: tuple[float, float],
    test_size: int,
    random_state: int | None = None,
) -> StudyData:
    """``m`` training points on two concentric hyperspheres, fresh test points, and ``S'``.

    ``S'`` (evaluation set ``"projected"``) is the training set moved onto the other
    sphere with its labels flipped (:func:`~sklearn_gen.datasets.project_to_other_sphere`).

    Examples
    --------
    >>> data = hypersphere_data(10, 3, (1.0, 1.2), 4, random_state=0)
    >>> data.X.shape, sorted(data.evaluations)
    ((24, 3), ['projected', 'test'])
    """
    rng = np.random.RandomState(random_state)
    X, y = make_hyperspheres(m, dim, radii, random_state=rng)
    X_test, y_test = make_hyperspheres(test_size, dim, radii, random_state=rng)
    X_proj, y_proj = project_to_other_sphere(X, y, radii)
    rows = np.arange(2 * m + test_size)
    return StudyData(
        np.concatenate([X, X_test, X_proj]),
        np.concatenate([y, y_test, y_proj]),
        rows[:m],
        {"test": rows[m : m + test_size], "projected": rows[m + test_size :]},
    )


def _training_summary(model: Any) -> dict[str, Any]:
    return {"epochs": int(model.n_epochs_), "converged": bool(model.converged_)}


def _errors(frame: pd.DataFrame, sets: Sequence[str]) -> pd.DataFrame:
    for part in sets:
        frame[f"{part}_error"] = 1.0 - frame.pop(f"{part}_accuracy")
    return frame


def hypersphere_projection(
    sample_sizes: Sequence[int] = (512, 2048, 8192),
    dim: int = 500,
    radii: Sequence[float] = (1.0, 1.2),
    *,
    width: int = 1000,
    test_size: int = 2000,
    n_repeats: int = 1,
    lr: float = 0.1,
    momentum: float = 0.9,
    batch_size: int = 64,
    margin: float | None = 5.0,
    margin_fraction: float = 1.0,
    criterion: str = "ce",
    init: str = "default",
    max_epochs: int = 300,
    device: str = "auto",
    n_jobs: int | None = None,
    random_state: int | np.random.RandomState | None = 0,
    progress: bool = False,
    cache_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Test error versus error on the projected set ``S'`` (Nagarajan & Kolter, Sec. 3).

    For each training-set size ``m`` and repeat: draw ``S`` of ``m`` points from
    :func:`~sklearn_gen.datasets._hyperspheres.make_hyperspheres` (class = sphere), train
    a two-layer ReLU network ``NetworkClassifier("mlp", module__hidden=(width,))`` by SGD
    with momentum until it fits ``S`` -- zero training error, and with ``margin`` set also
    every training margin ``f_y(x) - f_{1-y}(x) >= margin`` -- then measure its error on
    ``test_size`` fresh points and on ``S' = {(x r_{1-y} / ||x||, 1 - y)}``
    (:func:`~sklearn_gen.datasets._hyperspheres.project_to_other_sphere`), which the true
    rule labels correctly. Nagarajan & Kolter (dimension 1000, radii 1 and 1.1, 100k hidden
    units, ``m`` up to 65536) report a test error near 0 and an error near 1 on ``S'``:
    the network is "wrong on the training points, moved", so no two-sided uniform
    convergence bound over its outputs can be small.

    Small-scale defaults (CPU, about a minute): dimension 500 and radii 1 and 1.2 (the
    gap 0.1 needs far more samples than a CPU run affords before the test error falls),
    width 1000, SGD lr 0.1, momentum 0.9, batch 64, trained to margin 5 (stopping at
    zero training error alone leaves the network less confident on ``S`` and its ``S'``
    error falls together with its test error; training on to a margin, as N&K's Fig. 1
    rule does, keeps the ``S'`` error near 1).

    Parameters
    ----------
    sample_sizes : sequence of int, default=(512, 2048, 8192)
        Training-set sizes ``m`` (each >= 2).
    dim : int, default=500
    radii : pair of float, default=(1.0, 1.2)
    width : int, default=1000
        Hidden units of the two-layer network.
    test_size : int, default=2000
        Fresh points for the test error (drawn anew per configuration).
    n_repeats : int, default=1
    lr, momentum, batch_size
        SGD settings of :class:`~sklearn_gen.NetworkClassifier`.
    margin : float or None, default=5.0
        Stop once a fraction ``margin_fraction`` of the training margins reach this value
        (``stop_margin``); ``None`` stops at zero training error.
    margin_fraction : float, default=1.0
        With 1, the fit must also reach zero training error; below 1 (N&K's notebook:
        0.99) the margin rule alone stops it.
    criterion : {"ce", "bce"}, default="ce"
        The network's loss: softmax, or N&K's sigmoid one-vs-all cross-entropy.
    init : {"default", "xavier", "xavier_normal"}, default="default"
        The network's initialization.
    max_epochs : int, default=500
        The epoch budget of each fit.
    device : str, default="auto"
    n_jobs, random_state, progress, cache_dir
        Shared by every study function: joblib's workers, the seed every configuration's
        seeds come from, a progress bar, a :class:`joblib.Memory` folder to resume from
        (see :func:`~sklearn_gen.studies.run_study`).

    Returns
    -------
    pandas.DataFrame
        One row per ``(m, repeat)``: ``m, dim, width, repeat, train_error, test_error,
        projected_error, epochs, converged``.

    Examples
    --------
    >>> frame = hypersphere_projection((64,), dim=20, width=64, test_size=100, max_epochs=20)
    >>> list(frame.columns[:7])
    ['m', 'dim', 'width', 'repeat', 'train_error', 'test_error', 'projected_error']
    """
    sizes = check_sizes(sample_sizes)
    dim = check_int(dim, "dim", 2)
    r = _check_radii(radii)
    width = check_int(width, "width")
    test_size = check_int(test_size, "test_size", 2)
    n_repeats = check_int(n_repeats, "n_repeats")
    if margin is not None and not (isinstance(margin, numbers.Real) and margin > 0):
        raise ValueError(f"margin must be a positive number or None, got {margin!r}.")
    net_params = {
        "lr": lr,
        "momentum": momentum,
        "batch_size": batch_size,
        "max_epochs": max_epochs,
        # N&K's notebook stops on the margin rule alone when it asks for a fraction of the
        # points; at fraction 1 (or without a margin) the fit must also interpolate
        "stop_on_interpolation": margin is None or margin_fraction >= 1.0,
        "stop_margin": None if margin is None else float(margin),
        "stop_margin_fraction": float(margin_fraction),
        "criterion": criterion,
        "init": init,
        "device": device,
    }
    NetworkClassifier(**net_params)._check_params()  # bad settings fail before any work
    draw_seed(random_state)  # a bad random_state fails before any work
    study = Study(
        "hypersphere projection",
        NetworkClassifier("mlp", module__hidden=(width,), **net_params),
        {
            "data__m": sizes,
            "data__dim": [dim],
            "data__radii": [r],
            "data__test_size": [test_size],
        },
        scoring={"accuracy": "accuracy"},
        n_repeats=n_repeats,
        data=hypersphere_data,
        summary=_training_summary,
    )
    frame = run_study(
        study, n_jobs=n_jobs, random_state=random_state, progress=progress, cache_dir=cache_dir
    )
    frame = _errors(frame.rename(columns={"m": "m"}), ("train", "test", "projected"))
    frame["width"] = width
    columns = ["m", "dim", "width", "repeat", "train_error", "test_error", "projected_error"]
    return frame[[*columns, "epochs", "converged"]]


# --------------------------------------------------------------------------- bounds vs m
def bounds_vs_sample_size(
    X: Any,
    y: Any,
    sample_sizes: Sequence[int] = (200, 400, 800, 1200),
    *,
    depth: int = 5,
    width: int = 256,
    margin: float = 10.0,
    margin_fraction: float = 0.99,
    criterion: str = "ce",
    init: str = "default",
    test_size: float | int | PredefinedSplit = 0.25,
    n_repeats: int = 1,
    measures: Mapping[str, Measure] | None = None,
    lr: float = 0.05,
    momentum: float = 0.9,
    batch_size: int = 32,
    max_epochs: int = 500,
    device: str = "auto",
    n_jobs: int | None = None,
    random_state: int | np.random.RandomState | None = 0,
    progress: bool = False,
    cache_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Generalization bounds and test error against the training-set size (N&K Fig. 1).

    A fixed test set is split off ``(X, y)``; for each size ``m`` (and repeat) a training
    subset of ``m`` points is drawn from the rest and a bias-free deep fully connected
    network ``NetworkClassifier("deep_fc", module__depth=depth, module__width=width)`` is
    trained by SGD until a fraction ``margin_fraction`` of its training points has margin
    ``f_y(x) - max_{k != y} f_k(x) >= margin`` (Nagarajan & Kolter: ``gamma = 10``,
    ``q = 0.99``). Then it records the test error, the distance from initialization
    ``||theta - theta_0||_2`` and the bounds of Bartlett et al. (2017),
    :func:`~sklearn_gen.measures.spectral_bound`, and Neyshabur et al. (2018),
    :func:`~sklearn_gen.measures.pac_bayes_bound`, with their margin ``gamma`` taken as
    the ``1 - margin_fraction`` quantile of the training margins (the margin that the
    stopping rule enforced, about ``margin``). N&K observe the test error fall with ``m``
    while the distance from initialization and the bounds grow -- see
    :func:`loglog_slopes`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        E.g. sklearn's digits scaled to [0, 1], or hyperspheres.
    y : array-like of shape (n_samples,)
    sample_sizes : sequence of int, default=(200, 400, 800, 1200)
        Training-set sizes; the largest must fit next to the test set.
    depth : int, default=5
        ``Linear`` layers of the network (N&K: 5).
    width : int, default=256
        Hidden units per layer (N&K: 1024).
    margin : float, default=10.0
    margin_fraction : float, default=0.99
        Training stops once this fraction of the training points has margin ``margin``.
    criterion : {"ce", "bce"}, default="ce"
        The network's loss: softmax, or N&K's sigmoid one-vs-all cross-entropy.
    init : {"default", "xavier", "xavier_normal"}, default="default"
        The network's initialization (N&K: Xavier).
    test_size : float, int or PredefinedSplit, default=0.25
        Fraction (in (0, 1)) or number of points held out as the common test set; or the
        data's official split, a one-fold :class:`~sklearn.model_selection.PredefinedSplit`
        (:meth:`sklearn_gen.datasets.Dataset.test_split`).
    n_repeats : int, default=1
    measures : mapping of str to callable or None, default=None
        ``{column: measure(estimator, X_train, y_train) -> float}``, added to the default
        ``distance_from_init``, ``spectral_bound`` and ``pac_bayes_bound`` (a measure of
        the same name replaces the default one).
    lr, momentum, batch_size, max_epochs
        SGD settings of :class:`~sklearn_gen.NetworkClassifier`.
    device : str, default="auto"
    n_jobs, random_state, progress, cache_dir
        Shared by every study function: joblib's workers, the seed every configuration's
        seeds come from, a progress bar, a :class:`joblib.Memory` folder to resume from
        (see :func:`~sklearn_gen.studies.run_study`).

    Returns
    -------
    pandas.DataFrame
        One row per ``(m, repeat)``: ``m, repeat, train_error, test_error, epochs,
        converged, distance_from_init, spectral_bound, pac_bayes_bound`` and one column
        per extra measure.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> frame = bounds_vs_sample_size(X / 16, y, (50, 100), depth=2, width=32, margin=1.0,
    ...                               max_epochs=50)
    >>> frame[["m", "test_error"]].shape
    (2, 2)
    """
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    if X.ndim != 2 or len(X) != len(y) or y.ndim != 1:
        raise ValueError(
            f"X must be 2-D and y 1-D of the same length, got {X.shape} and {y.shape}."
        )
    sizes = check_sizes(sample_sizes)
    depth = check_int(depth, "depth")
    width = check_int(width, "width")
    n_repeats = check_int(n_repeats, "n_repeats")
    if not (isinstance(margin, numbers.Real) and margin > 0):
        raise ValueError(f"margin must be a positive number, got {margin!r}.")
    if not (isinstance(margin_fraction, numbers.Real) and 0 < margin_fraction <= 1):
        raise ValueError(f"margin_fraction must lie in (0, 1], got {margin_fraction!r}.")
    test_size = check_test_size(test_size)
    draw_seed(random_state)  # a bad random_state fails before any work
    n_pool = len(split_indices(len(y), test_size, 0, y)[0])
    if max(sizes) > n_pool:
        raise ValueError(
            f"the largest sample size {max(sizes)} does not fit in the {n_pool} training "
            "samples left beside the test set; pass smaller sample_sizes or test_size."
        )
    all_measures = _default_measures()
    if measures is not None:
        if not isinstance(measures, Mapping) or not all(callable(f) for f in measures.values()):
            raise ValueError("measures must be a mapping of names to callables.")
        all_measures.update(measures)
    net_params = {
        "module__depth": depth,
        "module__width": width,
        "lr": lr,
        "momentum": momentum,
        "batch_size": batch_size,
        "max_epochs": max_epochs,
        "stop_margin": float(margin),
        "stop_margin_fraction": float(margin_fraction),
        "criterion": criterion,
        "init": init,
        "device": device,
    }
    NetworkClassifier(**net_params)._check_params()
    q = 1.0 - float(margin_fraction)
    scoring: dict[str, Any] = {"accuracy": "accuracy"}
    for name, measure in all_measures.items():
        params = {"q": q} if name in ("spectral_bound", "pac_bayes_bound") else {}
        scoring[name] = make_measure_scorer(measure, greater_is_better=True, **params)
    study = Study(
        "bounds vs sample size",
        NetworkClassifier("deep_fc", **net_params),
        {"data__train_size": sizes},
        scoring=scoring,
        n_repeats=n_repeats,
        summary=_training_summary,
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
    frame = _errors(frame.rename(columns={"train_size": "m"}), ("train", "test"))
    # a bound describes the fitted model on its training sample
    for name in all_measures:
        frame[name] = frame.pop(f"train_{name}")
    columns = ["m", "repeat", "train_error", "test_error", "epochs", "converged"]
    return frame[[*columns, *all_measures]]


# --------------------------------------------------------------------------- claims
def slope_statistic(frame: pd.DataFrame, column: str, *, min_sizes: int = 5) -> Statistic | None:
    """The log-log slope of ``column`` against ``m`` with its t-interval over repeats.

    The slope is fitted within each repeat (the points of one repeat share its data and
    seeds) and the interval is the t-interval of the repeats' slopes
    (:func:`~sklearn_gen.studies._verdicts.slope_interval` with ``groups``). Fewer than
    ``min_sizes`` sample sizes leave it undecided; a frame without the column (or with
    no value in it) cannot answer (None).

    Parameters
    ----------
    frame : pandas.DataFrame
        With columns ``m``, ``repeat`` and ``column``.
    column : str
    min_sizes : int, default=5
        The sizes a slope needs (declared with the claim).

    Returns
    -------
    Statistic or None

    Examples
    --------
    >>> m = [100, 200, 400, 800, 1600] * 3
    >>> frame = pd.DataFrame({"m": m, "repeat": np.repeat([0, 1, 2], 5),
    ...                       "e": 1 / np.sqrt(m) * np.repeat([1.0, 1.1, 0.9], 5)})
    >>> stat = slope_statistic(frame, "e")
    >>> round(stat.value, 2), stat.n
    (-0.5, 3)
    """
    if column not in frame or frame[column].isna().all():
        return None
    sizes, repeats = frame["m"].nunique(), frame["repeat"].nunique()
    slope, low, high = slope_interval(frame["m"], frame[column], groups=frame["repeat"])
    text = (
        f"{column}: log-log slope {format_interval(slope, low, high, 2)} ({sizes} sizes x "
        f"{repeats} repeats; a slope per repeat, t-interval over the repeats)"
    )
    undecided = f"{sizes} sample sizes (a slope needs {min_sizes})" if sizes < min_sizes else ""
    return Statistic(slope, low, high, repeats, text, undecided=undecided)


def weakest_group(
    values: Any, groups: Any, label: str, *, level: float = 0.95, digits: int = 3
) -> Statistic:
    """The smallest group mean, with an interval for the smallest true mean.

    For a claim that every group's mean lies above a threshold ("at every m"): each
    group's t-interval over its values (repeats) gives the lower end at ``level`` and
    the upper end at the Bonferroni level ``1 - (1 - level) / k`` for ``k`` groups; the
    statistic is ``[min of the lows, min of the highs]``. Its low end is above a
    threshold exactly when every group's interval is (an intersection-union test, valid
    at ``level`` without correction), its high end below it only when some group's
    simultaneous interval is.

    Parameters
    ----------
    values : array-like
        One value per repeat and group.
    groups : array-like
        The group (e.g. ``m``) of each value.
    label : str
        What the values are, for the text.
    level : float, default=0.95
    digits : int, default=3

    Returns
    -------
    Statistic
        ``n``: the fewest values of a group.

    Examples
    --------
    >>> stat = weakest_group([1.0, 1.1, 2.0, 2.2], [8, 8, 16, 16], "bound")
    >>> round(stat.value, 2), stat.n, stat.text.startswith("bound 8: 1.050, 16: 2.100")
    (1.05, 2, True)
    """
    series = pd.Series(np.asarray(values, dtype=float), index=np.asarray(groups))
    by = series.groupby(level=0)
    bonferroni = 1.0 - (1.0 - level) / by.ngroups
    means = by.mean()
    lows = by.apply(lambda v: mean_interval(v, level)[1])
    highs = by.apply(lambda v: mean_interval(v, bonferroni)[2])
    each = ", ".join(f"{g}: {v:.{digits}f}" for g, v in means.items())
    weakest = means.idxmin()
    text = (
        f"{label} {each}; the smallest ({weakest}) "
        f"{format_interval(means.min(), lows.min(), highs.min(), digits)} over "
        f"{int(by.size().min())} repeats (low end {level:.0%} per group, high end "
        f"simultaneous over {by.ngroups} groups)"
    )
    return Statistic(
        float(means.min()), float(lows.min()), float(highs.min()), int(by.size().min()), text
    )


def _bound_vacuous(frame: pd.DataFrame, column: str) -> Statistic | None:
    """``log10`` of the bound at the size ``m`` where it is smallest, with the interval of
    :func:`weakest_group` over every ``m`` (above 0: the bound exceeds 1 at every ``m``)."""
    if column not in frame or frame[column].isna().all():
        return None
    return weakest_group(np.log10(frame[column]), frame["m"], f"log10 {column} at m", digits=2)


def _projection(frame: pd.DataFrame) -> Statistic | None:
    """At the largest ``m``: how far the test error lies below chance (0.5) and the error
    on ``S'`` above it, per repeat; the smaller of the two (:func:`weakest_group` over
    the two), with the smaller sizes' mean errors beside."""
    last = frame[frame["m"] == frame["m"].max()]
    if not len(last):
        return None
    values = np.concatenate([0.5 - last["test_error"], last["projected_error"] - 0.5])
    groups = np.repeat(["0.5 - test error", "S' error - 0.5"], len(last))
    stat = weakest_group(values, groups, "distance from chance:")
    smaller = "; ".join(
        f"m={int(m)}: {g['test_error'].mean():.3f} / {g['projected_error'].mean():.3f}"
        for m, g in frame[frame["m"] < frame["m"].max()].groupby("m")
    )
    text = (
        f"m={int(last['m'].iloc[0])}: mean test error {last['test_error'].mean():.3f}, "
        f"error on S' {last['projected_error'].mean():.3f}; {stat.text}"
    )
    if smaller:
        text += f" (smaller m, mean test error / S' error: {smaller})"
    return replace(stat, text=text)


_NK = "Nagarajan & Kolter 2019"
_NOT_HERE = "(paper text not available here)"
_BOUNDS_GROW = "in practice, these bounds can increase with the training dataset size"

#: The claims of Nagarajan & Kolter's Fig. 1 that the bounds-vs-sample-size study
#: answers, declared before the data (:class:`~sklearn_gen.studies._claims.Claim`).
#:
#: Why the two bounds' slopes come out (nearly) equal (issue 29: -0.10 [-0.59, 0.52] for
#: both in the ledger of a default run): no copy, a shared factor. Both bounds are
#: ``L = B prod_i sigma_i / (gamma sqrt(m))`` times a complexity ``C`` that is homogeneous
#: of degree 1 in the weights' distances from initialization: Bartlett et al.'s
#: ``(sum_i (||W_i - W_i^0||_{2,1} / sigma_i)^(2/3))^(3/2)``, Neyshabur et al.'s
#: ``d sqrt(h) (sum_i ||W_i - W_i^0||_F^2 / sigma_i^2)^(1/2)``. The ratio of the two ``C``
#: depends only on how the distance spreads over the layers and over each layer's rows
#: (with rows of equal norm and equal per-layer ratios it is exactly 1), not on its size,
#: so the two log-log slopes differ by the slope of that ratio alone, while ``L``, whose
#: spectral-norm product swings by up to 10x between fits, sets both. Measured on the
#: quick run (digits, depth 5, width 128, margin 5, m = 50..800, 2 repeats; per-repeat
#: slopes): spectral bound -0.10 [-2.26, 2.05], PAC-Bayes bound -0.11 [-2.20, 1.98];
#: their factors ``L`` -0.18 (of which -0.5 is ``1/sqrt(m)``, +0.26 the product of the
#: spectral norms, +0.03 the falling margin), ``C_spectral`` +0.075, ``C_PAC-Bayes``
#: +0.065, and the ratio of the two bounds (0.69-0.72 at every fit) +0.011 [-0.06, 0.08].
#: The PAC-Bayes slope is therefore no independent evidence beside the spectral one: it
#: is declared ``scope="derived"``.
BOUNDS_CLAIMS = (
    Claim(
        "nk-test-error-falls",
        _NK,
        "as we increase the dataset size, the test error decreases with the training set "
        "size, as expected",
        f"Fig. 1 {_NOT_HERE}; the words are the authors' blog notebook's, on hyperspheres",
        f"MNIST, m = 128 to 65,536 {_NOT_HERE}",
        slope_statistic,
        Interval("below", 0.0),
        params={"column": "test_error", "min_sizes": 5},
        tested="the log-log slope of the test error against m is below 0",
    ),
    Claim(
        "nk-distance-grows",
        _NK,
        "the weight norms of the network increase significantly with the dataset size",
        f"Fig. 1 {_NOT_HERE}; the words are the authors' blog notebook's",
        _NOT_HERE,
        slope_statistic,
        Interval("above", 0.0),
        params={"column": "distance_from_init", "min_sizes": 5},
        tested="the log-log slope of the distance from initialization against m is above 0",
    ),
    Claim(
        "nk-spectral-bound-grows",
        _NK,
        _BOUNDS_GROW,
        f"Abstract; Fig. 1 {_NOT_HERE}",
        _NOT_HERE,
        slope_statistic,
        Interval("above", 0.0),
        params={"column": "spectral_bound", "min_sizes": 5},
        tested="the log-log slope of Bartlett et al.'s spectral bound against m is above 0",
    ),
    Claim(
        "nk-pac-bayes-bound-grows",
        _NK,
        _BOUNDS_GROW,
        f"Abstract; Fig. 1 {_NOT_HERE}",
        _NOT_HERE,
        slope_statistic,
        Interval("above", 0.0),
        params={"column": "pac_bayes_bound", "min_sizes": 5},
        tested="the log-log slope of Neyshabur et al.'s PAC-Bayes bound against m is above 0",
        scope="derived",
        note="the spectral bound's fits, and both bounds share the factor "
        "B prod sigma_i / (gamma sqrt m) and a degree-1 homogeneous function of the "
        "distances from initialization: the two slopes agree by construction, not as "
        "independent evidence",
    ),
    Claim(
        "nk-spectral-bound-vacuous",
        _NK,
        "many of these existing bounds are numerically large",
        "Abstract",
        _NOT_HERE,
        _bound_vacuous,
        Interval("above", 0.0),
        params={"column": "spectral_bound"},
        tested="the spectral bound is vacuous (above 1) at every m: the mean log10 bound "
        "over repeats lies above 0 at every m (the smallest, with an interval for the "
        "smallest); computed without the theorem's constants and log factors, which are "
        "above 1 and would only raise it",
    ),
    Claim(
        "nk-pac-bayes-bound-vacuous",
        _NK,
        "many of these existing bounds are numerically large",
        "Abstract",
        _NOT_HERE,
        _bound_vacuous,
        Interval("above", 0.0),
        params={"column": "pac_bayes_bound"},
        tested="the PAC-Bayes bound is vacuous (above 1) at every m: the mean log10 bound "
        "over repeats lies above 0 at every m; computed without the theorem's log factor, "
        "which is above 1 and would only raise it",
    ),
)

#: The claim of Nagarajan & Kolter's hypersphere example that the hypersphere-projection
#: study answers, declared before the data.
HYPERSPHERE_CLAIMS = (
    Claim(
        "nk-hypersphere-projection",
        _NK,
        "test errors less than some small ε ... a vacuous generalization guarantee larger "
        "than 1 − ε",
        f"Abstract; Sec. 3 {_NOT_HERE}",
        f"d = 1,000, width 100,000, m up to 65,536 {_NOT_HERE}",
        _projection,
        Interval("above", 0.0, level=0.49),
        tested="at the largest m the mean test error lies below chance (0.5) and the mean "
        "error on S' (the training set projected onto the other sphere, labels flipped) "
        "above it: the smaller of the two distances from 0.5 is above 0; the level: test "
        "error at most 1% and S' error at least 99% (distance 0.49)",
    ),
)
