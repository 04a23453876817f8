"""Nagarajan & Kolter's (2019) overparameterized linear example, as a study.

A linear classifier trained by gradient descent from zero on ``m`` points of
:func:`~sklearn_gen.datasets.make_linear_counterexample` learns the signal direction and,
in the noise block, the sum ``sum_i y_i x2_i`` of the training points' own noise vectors.
A fresh point's noise is nearly orthogonal to that sum, so the test error is small and
falls as ``m`` grows; a training point whose noise is negated (the set ``S'`` of
:func:`~sklearn_gen.datasets.negate_noise`) meets its own noise vector with the wrong
sign, ``-||x2_i||^2``, which outweighs the signal: the error on ``S'`` is 1. ``S'`` is drawn
from the same distribution as ``S`` (the noise is symmetric), so any two-sided uniform
convergence bound over the classifiers that this algorithm outputs must be at least the
gap between the two errors: vacuous.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from sklearn_gen._validation import check_int, check_real, draw_seed
from sklearn_gen.datasets import make_linear_counterexample, negate_noise, signal_direction
from sklearn_gen.networks import GradientDescentLinearClassifier
from sklearn_gen.studies._claims import Claim, Interval, Statistic
from sklearn_gen.studies._study import Study, StudyData, run_study
from sklearn_gen.studies._uniform_convergence import slope_statistic, weakest_group
from sklearn_gen.studies._validation import check_sizes

__all__ = ["LINEAR_CLAIMS", "linear_example"]

_SCALINGS = ("fixed", "per_m")


def _population_error(
    estimator: Any, n_signal: int, n_noise: int, signal_norm: float, noise_variance: float
) -> float:
    """Exact error of ``sign(w . x)`` on the distribution (the noise is Gaussian).

    ``y w . x = signal_norm (w1 . e) + N(0, ||w2||^2 noise_variance / D)`` for either label,
    so the error is ``Phi(-signal_norm (w1 . e) / (||w2|| sqrt(noise_variance / D)))``.
    NaN for an estimator without ``coef_`` or whose positive class is not +1.
    """
    coef = getattr(estimator, "coef_", None)
    classes = getattr(estimator, "classes_", None)
    if coef is None or classes is None or list(classes) != [-1, 1]:
        return float("nan")
    w = np.ravel(coef)
    signal = signal_norm * float(w[:n_signal] @ signal_direction(n_signal))
    spread = float(np.linalg.norm(w[n_signal:])) * np.sqrt(noise_variance / n_noise)
    if spread == 0.0:
        return 0.0 if signal > 0 else 1.0
    return float(ndtr(-signal / spread))


def linear_example_data(
    m: int,
    n_signal: int,
    n_noise: int,
    signal_norm: float,
    noise_variance: float,
    n_test: int,
    random_state: int | None = None,
) -> StudyData:
    """``m`` training points of the counterexample, ``n_test`` fresh ones, and ``S'``.

    ``S'`` (evaluation set ``"s_prime"``) is the training set with its noise part negated
    (:func:`~sklearn_gen.datasets.negate_noise`).

    Examples
    --------
    >>> data = linear_example_data(4, 1, 16, 1.0, 32.0, 3, random_state=0)
    >>> data.X.shape, sorted(data.evaluations)
    ((11, 17), ['s_prime', 'test'])
    """
    rng = np.random.RandomState(random_state)
    design = dict(signal_norm=signal_norm, noise_variance=noise_variance)
    X, y = make_linear_counterexample(m, n_signal, n_noise, **design, random_state=rng)
    X_test, y_test = make_linear_counterexample(
        n_test, n_signal, n_noise, **design, random_state=rng
    )
    X_prime, y_prime = negate_noise(X, y, n_signal)
    rows = np.arange(2 * m + n_test)
    return StudyData(
        np.concatenate([X, X_test, X_prime]),
        np.concatenate([y, y_test, y_prime]),
        rows[:m],
        {"test": rows[m : m + n_test], "s_prime": rows[m + n_test :]},
    )


def max_normalized_margin(estimator: Any, X: Any, y: Any) -> float:
    """The largest ``y w . x / ||w||`` over the rows (negative: every row misclassified).

    A scorer (``scorer(estimator, X, y)``) for linear classifiers with ``coef_``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = np.array([[1.0], [-1.0]]), np.array([1, -1])
    >>> max_normalized_margin(LogisticRegression().fit(X, y), X, y)
    1.0
    """
    w = np.ravel(getattr(estimator, "coef_", np.full(np.shape(X)[1], np.nan)))
    norm = float(np.linalg.norm(w))
    return float(np.max(np.asarray(y) * (np.asarray(X) @ w)) / norm) if norm > 0 else float("nan")


def _population_record(fitted: Any, params: dict[str, Any]) -> list[dict[str, float]]:
    """The exact test error of the fitted weights on the configuration's distribution."""
    error = _population_error(
        fitted,
        params["data__n_signal"],
        params["data__n_noise"],
        params["data__signal_norm"],
        params["data__noise_variance"],
    )
    return [{"population_error": error}]


def linear_example(
    sample_sizes: Sequence[int] = (16, 32, 64, 128, 256),
    n_repeats: int = 5,
    *,
    scaling: str = "fixed",
    noise_ratio: float = 256.0,
    n_signal: int = 1,
    noise_variance: float = 32.0,
    n_test: int = 500,
    estimator: Any = None,
    n_jobs: int | None = None,
    random_state: int | np.random.RandomState | None = 0,
    progress: bool = False,
    cache_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Test error and error on ``S'`` of gradient descent's linear classifier, against m.

    Nagarajan & Kolter (2019)'s overparameterized linear example, as this package reads
    it: inputs ``x = (x1, x2)`` with ``x1 = 2 y u`` (``||u|| = 1 / sqrt(m)``, so
    ``||x1|| = 2 / sqrt(m)``), ``x2 ~ N(0, (32 / D) I_D)``; the learner takes one gradient
    step of learning rate 1 from zero on the hinge loss, which gives ``w = sum_i y_i x_i``
    (:class:`~sklearn_gen.networks._linear_gd.GradientDescentLinearClassifier`); ``D``
    must be of order ``m ln(m / delta)`` (and ``m ln(1 / epsilon)`` for test error
    ``epsilon``). For such ``w`` the margin of a test point is about ``4`` plus Gaussian
    noise of standard deviation ``32 sqrt(m / D)``, and that of a point of ``S'`` about
    ``4 - 32``: every point of ``S'`` is misclassified.

    Two scalings of the distribution with ``m``:

    * ``"fixed"`` (default) -- one distribution for the whole learning curve, the paper's
      at the largest size ``M = max(sample_sizes)``: ``||x1|| = 2 / sqrt(M)``,
      ``D = noise_ratio * M``. Each repeat draws ``M`` training points and uses the first
      ``m`` for every size (nested training sets); the test margin grows like ``m`` and its
      noise like ``sqrt(m)``, so the test error falls with ``m`` while ``S'`` stays
      misclassified (the signal ``4 m / M`` never reaches the ``32`` of a point's own
      noise).
    * ``"per_m"`` -- the theorem's construction for each size: ``||x1|| = 2 / sqrt(m)``,
      ``D = noise_ratio * m``; the test error is then about ``Phi(-sqrt(noise_ratio) / 8)``
      at every ``m`` and the error on ``S'`` is 1.

    Parameters
    ----------
    sample_sizes : sequence of int, default=(16, 32, 64, 128, 256)
        Training sizes ``m`` (distinct, >= 2).
    n_repeats : int, default=5
        Independent training (and test) draws per size.
    scaling : {"fixed", "per_m"}, default="fixed"
    noise_ratio : float, default=256.0
        ``D / M`` (``"fixed"``) or ``D / m`` (``"per_m"``); ``D`` is rounded up.
    n_signal : int, default=1
        Dimension ``K`` of the signal block (any ``K`` gives the same errors).
    noise_variance : float, default=32.0
        ``E ||x2||^2`` (the paper's 32).
    n_test : int, default=500
        Fresh test points per (size, repeat).
    estimator : classifier or None, default=None
        The learner, cloned for every fit; ``None`` is
        ``GradientDescentLinearClassifier()`` (one hinge step of rate 1 from zero).
    n_jobs, random_state, progress, cache_dir
        Shared by every study function: joblib's workers, the seed every configuration's
        seeds come from, a progress bar, a :class:`joblib.Memory` folder to resume from
        (see :func:`~sklearn_gen.studies.run_study`).

    Returns
    -------
    pandas.DataFrame
        One row per size and repeat: ``m``, ``repeat``, ``n_noise`` (``D``),
        ``signal_norm``, ``train_error``, ``test_error`` (on ``n_test`` fresh points),
        ``population_error`` (exact, from the weights: ``NaN`` for an estimator without a
        linear ``coef_``), ``s_prime_error`` (on the training set with negated noise) and
        ``s_prime_margin_max`` (the largest ``y w . x'`` over ``S'``, normalized by
        ``||w||``; negative when every point of ``S'`` is misclassified).

    Examples
    --------
    >>> frame = linear_example((16, 64), n_repeats=2, noise_ratio=64, n_test=200)
    >>> frame.groupby("m")["s_prime_error"].mean().tolist()
    [1.0, 1.0]
    >>> bool((frame.groupby("m")["population_error"].mean().diff().dropna() < 0).all())
    True
    """
    sizes = check_sizes(sample_sizes)
    n_repeats = check_int(n_repeats, "n_repeats")
    if scaling not in _SCALINGS:
        raise ValueError(f"scaling must be one of {_SCALINGS}, got {scaling!r}.")
    noise_ratio = check_real(noise_ratio, "noise_ratio", 0.0, closed="neither")
    n_signal = check_int(n_signal, "n_signal")
    noise_variance = check_real(noise_variance, "noise_variance", 0.0, closed="neither")
    n_test = check_int(n_test, "n_test")
    if estimator is None:
        estimator = GradientDescentLinearClassifier()
    elif not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
        raise TypeError(f"estimator must be a classifier with fit and predict, got {estimator!r}.")
    draw_seed(random_state)  # a bad random_state fails before any work

    def design(size: int) -> dict[str, list[Any]]:
        return {
            "data__n_signal": [n_signal],
            "data__n_noise": [int(np.ceil(noise_ratio * size))],
            "data__signal_norm": [2.0 / np.sqrt(size)],
            "data__noise_variance": [noise_variance],
            "data__n_test": [n_test],
        }

    if scaling == "fixed":  # one distribution, designed at the largest m, for every size
        grid: Any = {"data__m": sizes, **design(sizes[-1])}
    else:  # the theorem's construction rebuilt at each size
        grid = [{"data__m": [m], **design(m)} for m in sizes]
    study = Study(
        "linear counterexample",
        estimator,
        grid,
        scoring={"accuracy": "accuracy", "margin": max_normalized_margin},
        n_repeats=n_repeats,
        data=linear_example_data,
        records=_population_record,
    )
    frame = run_study(
        study, n_jobs=n_jobs, random_state=random_state, progress=progress, cache_dir=cache_dir
    )
    for part in ("train", "test", "s_prime"):
        frame[f"{part}_error"] = 1.0 - frame[f"{part}_accuracy"]
    frame = frame.rename(columns={"s_prime_margin": "s_prime_margin_max"})
    columns = [
        "m", "repeat", "n_noise", "signal_norm", "train_error", "test_error",
        "population_error", "s_prime_error", "s_prime_margin_max",
    ]  # fmt: skip
    return frame.sort_values(["repeat", "m"], kind="stable")[columns].reset_index(drop=True)


# --------------------------------------------------------------------------- claims
def _s_prime_error(frame: pd.DataFrame) -> Statistic | None:
    """The error on ``S'`` at the size ``m`` where it is smallest, with the interval of
    :func:`~sklearn_gen.studies._uniform_convergence.weakest_group` over every ``m``."""
    if not len(frame):
        return None
    return weakest_group(frame["s_prime_error"], frame["m"], "error on S' at m")


_NK = "Nagarajan & Kolter 2019"

#: The claims of Nagarajan & Kolter's linear example that the linear-example study
#: answers, declared before the data (:class:`~sklearn_gen.studies._claims.Claim`).
LINEAR_CLAIMS = (
    Claim(
        "nk-linear-generalizes",
        _NK,
        "the set of classifiers output by GD, which have test errors less than some small ε",
        "Abstract; Sec. 4 (paper text not available here)",
        "",
        slope_statistic,
        Interval("below", 0.0),
        params={"column": "test_error", "min_sizes": 5},
        tested="gradient descent's linear classifier generalizes better as m grows: the "
        "log-log slope of its test error against m is below 0",
    ),
    Claim(
        "nk-linear-s-prime",
        _NK,
        "examples of overparameterized linear classifiers ... where uniform convergence "
        "provably cannot “explain generalization”",
        "Abstract; Sec. 4 (paper text not available here)",
        "error 1 on S' at every m (the construction)",
        _s_prime_error,
        Interval("above", 0.5, level=0.99),
        tested="the classifier misclassifies S' (its training set with the noise negated) "
        "at every m: the mean S' error over repeats lies above chance, 0.5, at every m "
        "(the smallest, with an interval for the smallest), so every two-sided uniform "
        "convergence bound is vacuous; the level: S' error at least 0.99",
    ),
)
