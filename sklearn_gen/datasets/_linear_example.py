"""Nagarajan & Kolter's (2019) overparameterized linear example: a signal and a noise block.

An input is ``x = (x1, x2)``: ``x1 = y * signal_norm * e`` in a few dimensions ``K``
(``e`` a fixed unit vector, ``y`` the label +1/-1), and ``x2`` isotropic Gaussian noise in
many dimensions ``D``, ``x2 ~ N(0, (noise_variance / D) I_D)`` (so ``E ||x2||^2 =
noise_variance``). The companion set ``S'`` keeps every training point's signal and label
and negates its noise, ``(x1, -x2)``: for the true rule (the sign of the signal) it is the
same task, yet a linear classifier trained by gradient descent on ``S`` misclassifies all
of it, because it has learned each training point's own noise vector.

Scaling, in the paper's notation (its overparameterized linear classifier, as read for
this package; see ``docs/nagarajan2019.rst``): ``x1 = 2 y u`` with ``||u|| = 1 / sqrt(m)``,
i.e. ``signal_norm = 2 / sqrt(m)`` for training size ``m``, and noise variance ``32 / D``
per coordinate (``noise_variance=32``), with ``D`` of order ``m ln(m / delta)`` or more.

Reference: V. Nagarajan and J. Z. Kolter, "Uniform convergence may be unable to explain
generalization in deep learning", NeurIPS 2019.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from sklearn_gen._validation import check_int, check_real

__all__ = ["make_linear_counterexample", "negate_noise", "signal_direction"]


def signal_direction(n_signal: int) -> np.ndarray:
    """The fixed unit vector ``e = (1, ..., 1) / sqrt(K)`` of the signal block.

    The paper's ``u`` is arbitrary; this one is deterministic, so that training and test
    sets drawn with different seeds share it.

    Examples
    --------
    >>> signal_direction(4).tolist()
    [0.5, 0.5, 0.5, 0.5]
    """
    n_signal = check_int(n_signal, "n_signal")
    return np.full(n_signal, 1.0 / np.sqrt(n_signal))


def make_linear_counterexample(
    n_samples: int,
    n_signal: int = 1,
    n_noise: int = 1000,
    *,
    signal_norm: float = 1.0,
    noise_variance: float = 32.0,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``(x1, x2)`` inputs: the label times a fixed direction, then Gaussian noise.

    Labels are independent, +1 or -1 with probability 1/2 each. The first ``n_signal``
    columns are ``y * signal_norm * e`` (:func:`signal_direction`), the last ``n_noise``
    are ``N(0, noise_variance / n_noise)`` each.

    Parameters
    ----------
    n_samples : int
        Number of points, at least 1.
    n_signal : int, default=1
        Dimension ``K`` of the signal block.
    n_noise : int, default=1000
        Dimension ``D`` of the noise block (the overparameterization: ``D`` much larger
        than the training size).
    signal_norm : float, default=1.0
        ``||x1||``. Nagarajan & Kolter: ``2 / sqrt(m)`` for training size ``m``.
    noise_variance : float, default=32.0
        Expected squared norm of the noise block, ``E ||x2||^2``; each coordinate has
        variance ``noise_variance / n_noise`` (the paper's ``32 / D``).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_signal + n_noise), float64
    y : ndarray of shape (n_samples,), int64
        -1 or +1.

    Examples
    --------
    >>> X, y = make_linear_counterexample(5, n_signal=2, n_noise=100, random_state=0)
    >>> X.shape, set(y.tolist()) <= {-1, 1}
    ((5, 102), True)
    >>> np.allclose(X[:, :2], y[:, None] * signal_direction(2))
    True
    """
    n_samples = check_int(n_samples, "n_samples")
    n_signal = check_int(n_signal, "n_signal")
    n_noise = check_int(n_noise, "n_noise")
    signal_norm = check_real(signal_norm, "signal_norm", 0.0, closed="neither")
    noise_variance = check_real(noise_variance, "noise_variance", 0.0, closed="neither")
    rng = check_random_state(random_state)
    y = np.where(rng.random_sample(n_samples) < 0.5, -1, 1).astype(np.int64)
    # the noise block is most of the work: numpy's Generator draws normals ~2.5x faster
    # than RandomState; its seed comes from random_state, so the draw stays reproducible
    noise_rng = np.random.default_rng(rng.randint(0, 2**32 - 1, dtype=np.uint64))
    noise = noise_rng.standard_normal((n_samples, n_noise))
    noise *= np.sqrt(noise_variance / n_noise)
    signal = (y * signal_norm)[:, None] * signal_direction(n_signal)
    X = np.hstack([signal, noise])
    return X, y


def negate_noise(X: Any, y: Any, n_signal: int) -> tuple[np.ndarray, np.ndarray]:
    """The set ``S'`` of Nagarajan & Kolter: each point's noise block negated, label kept.

    ``(x1, x2, y)`` becomes ``(x1, -x2, y)``: the same signal, so the same true label, and
    a noise vector as likely as the original under the isotropic Gaussian.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_signal + n_noise)
        Points from :func:`make_linear_counterexample` (typically the training set).
    y : array-like of shape (n_samples,)
        Their labels, returned unchanged (as a copy).
    n_signal : int
        Number of leading signal columns, left as they are.

    Returns
    -------
    X_prime : ndarray of shape (n_samples, n_signal + n_noise), float64
    y_prime : ndarray of shape (n_samples,)

    Examples
    --------
    >>> X, y = make_linear_counterexample(3, n_signal=2, n_noise=4, random_state=0)
    >>> Xp, yp = negate_noise(X, y, n_signal=2)
    >>> np.array_equal(Xp[:, :2], X[:, :2]), np.array_equal(Xp[:, 2:], -X[:, 2:])
    (True, True)
    """
    X = np.array(X, dtype=np.float64)  # a copy
    y = np.array(y)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}.")
    if y.shape != (len(X),):
        raise ValueError(f"y must have shape ({len(X)},), got {y.shape}.")
    n_signal = check_int(n_signal, "n_signal")
    if n_signal >= X.shape[1]:
        raise ValueError(
            f"n_signal={n_signal} leaves no noise columns in X of {X.shape[1]} features."
        )
    X[:, n_signal:] *= -1.0
    return X, y
