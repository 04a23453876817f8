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

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr
from sklearn.base import clone
from sklearn.utils import check_random_state

from sklearn_gen.datasets import make_linear_counterexample, negate_noise, signal_direction
from sklearn_gen.networks._linear_gd import GradientDescentLinearClassifier

__all__ = ["nagarajan_linear_example"]

_SCALINGS = ("fixed", "per_m")
#: Test points generated at a time (bounds the memory of the test pass).
_TEST_CHUNK = 128


def _check_sizes(sample_sizes: Any) -> list[int]:
    try:
        sizes = list(sample_sizes)
    except TypeError:
        raise TypeError(
            f"sample_sizes must be a sequence of integers, got {sample_sizes!r}."
        ) from None
    if not sizes or not all(
        isinstance(m, numbers.Integral) and not isinstance(m, bool) and m >= 2 for m in sizes
    ):
        raise ValueError(f"sample_sizes must be integers >= 2, got {sample_sizes!r}.")
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"sample_sizes must be distinct, got {sample_sizes!r}.")
    return sorted(int(m) for m in sizes)


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    return int(value)


def _positive_real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive real number, got {value!r}.")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return float(value)


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


def _test_errors(
    estimators: Sequence[Any], n_test: int, params: dict[str, Any], seed: int
) -> list[float]:
    """Errors of several classifiers on the same ``n_test`` fresh points.

    The points are drawn and scored ``_TEST_CHUNK`` at a time, so the memory stays at one
    chunk whatever ``n_test`` and the dimension.
    """
    rng = np.random.RandomState(seed)
    wrong = np.zeros(len(estimators), dtype=np.int64)
    for start in range(0, n_test, _TEST_CHUNK):
        X, y = make_linear_counterexample(
            min(_TEST_CHUNK, n_test - start), **params, random_state=rng
        )
        for k, estimator in enumerate(estimators):
            wrong[k] += int(np.sum(estimator.predict(X) != y))
    return (wrong / n_test).tolist()


def _fit_one(
    estimator: Any, X: np.ndarray, y: np.ndarray, params: dict[str, Any]
) -> tuple[Any, dict[str, float]]:
    """Fit a clone on ``(X, y)``; its training, population and ``S'`` statistics."""
    n_signal = params["n_signal"]
    fitted = clone(estimator).fit(X, y)
    X_prime, y_prime = negate_noise(X, y, n_signal)
    w = np.ravel(getattr(fitted, "coef_", np.full(X.shape[1], np.nan)))
    norm = float(np.linalg.norm(w))
    margin_max = float(np.max(y_prime * (X_prime @ w)) / norm) if norm > 0 else float("nan")
    return fitted, {
        "m": len(y),
        "n_noise": params["n_noise"],
        "signal_norm": params["signal_norm"],
        "train_error": float(np.mean(fitted.predict(X) != y)),
        "population_error": _population_error(
            fitted, n_signal, params["n_noise"], params["signal_norm"], params["noise_variance"]
        ),
        "s_prime_error": float(np.mean(fitted.predict(X_prime) != y_prime)),
        "s_prime_margin_max": margin_max,
    }


def nagarajan_linear_example(
    sample_sizes: Sequence[int] = (16, 32, 64, 128, 256),
    n_repeats: int = 5,
    *,
    scaling: str = "fixed",
    noise_ratio: float = 256.0,
    n_signal: int = 1,
    noise_variance: float = 32.0,
    n_test: int = 500,
    estimator: Any = None,
    random_state: int | np.random.RandomState | None = 0,
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
    random_state : int, RandomState instance or None, default=0

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
    >>> frame = nagarajan_linear_example((16, 64), n_repeats=2, noise_ratio=64, n_test=200)
    >>> frame.groupby("m")["s_prime_error"].mean().tolist()
    [1.0, 1.0]
    >>> bool((frame.groupby("m")["population_error"].mean().diff().dropna() < 0).all())
    True
    """
    sizes = _check_sizes(sample_sizes)
    n_repeats = _positive_int(n_repeats, "n_repeats")
    if scaling not in _SCALINGS:
        raise ValueError(f"scaling must be one of {_SCALINGS}, got {scaling!r}.")
    noise_ratio = _positive_real(noise_ratio, "noise_ratio")
    n_signal = _positive_int(n_signal, "n_signal")
    noise_variance = _positive_real(noise_variance, "noise_variance")
    n_test = _positive_int(n_test, "n_test")
    if estimator is None:
        estimator = GradientDescentLinearClassifier()
    elif not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
        raise TypeError(f"estimator must be a classifier with fit and predict, got {estimator!r}.")
    rng = check_random_state(random_state)

    def design(size: int) -> dict[str, Any]:
        return {
            "n_signal": n_signal,
            "n_noise": int(np.ceil(noise_ratio * size)),
            "signal_norm": 2.0 / np.sqrt(size),
            "noise_variance": noise_variance,
        }

    rows = []
    for repeat in range(n_repeats):
        seeds = rng.randint(0, 2**31 - 1, size=2 * len(sizes))
        if scaling == "fixed":  # nested training sets, one test set for every size
            params = design(sizes[-1])
            X, y = make_linear_counterexample(sizes[-1], **params, random_state=seeds[0])
            fits = [_fit_one(estimator, X[:m], y[:m], params) for m in sizes]
            errors = _test_errors([f for f, _ in fits], n_test, params, int(seeds[1]))
            stats = [dict(row, test_error=e) for (_, row), e in zip(fits, errors, strict=True)]
        else:  # a distribution of its own for each size
            stats = []
            for index, m in enumerate(sizes):
                params = design(m)
                X, y = make_linear_counterexample(m, **params, random_state=seeds[2 * index])
                fitted, row = _fit_one(estimator, X, y, params)
                (row["test_error"],) = _test_errors(
                    [fitted], n_test, params, int(seeds[2 * index + 1])
                )
                stats.append(row)
        rows += [{"repeat": repeat, **row} for row in stats]
    columns = [
        "m", "repeat", "n_noise", "signal_norm", "train_error", "test_error",
        "population_error", "s_prime_error", "s_prime_margin_max",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
