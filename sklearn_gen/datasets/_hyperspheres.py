"""Two concentric hyperspheres (Nagarajan & Kolter 2019, Section 3).

The data of Nagarajan & Kolter's counter-example to uniform convergence: a point's class is
the sphere it lies on, ``||x||_2 = r_0`` (class 0) or ``||x||_2 = r_1`` (class 1), and points
are uniform on each sphere. The companion set ``S'`` moves every training point radially
onto the other sphere and flips its label: it is labelled correctly by the true rule, yet a
network trained on ``S`` misclassifies almost all of it.

Reference: V. Nagarajan and J. Z. Kolter, "Uniform convergence may be unable to explain
generalization in deep learning", NeurIPS 2019.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from sklearn_gen._validation import check_int

__all__ = ["make_hyperspheres", "project_to_other_sphere"]


def _check_radii(radii: Any) -> tuple[float, float]:
    try:
        values = tuple(float(r) for r in radii)
    except (TypeError, ValueError):
        raise ValueError(f"radii must be two positive numbers, got {radii!r}.") from None
    if len(values) != 2 or not all(np.isfinite(r) and r > 0 for r in values):
        raise ValueError(f"radii must be two positive finite numbers, got {radii!r}.")
    if values[0] == values[1]:
        raise ValueError(f"the two radii must differ, got {radii!r}.")
    return values  # type: ignore[return-value]


def make_hyperspheres(
    n_samples: int,
    dim: int,
    radii: Sequence[float] = (1.0, 1.1),
    *,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform on two concentric hyperspheres; the label is the sphere.

    Class ``k`` lies on the sphere ``{x in R^dim : ||x||_2 = radii[k]}``. A uniform point on
    a sphere is a standard Gaussian vector divided by its norm, times the radius. The classes
    are balanced (``n_samples // 2`` of class 0, the rest of class 1) and the rows shuffled.

    Parameters
    ----------
    n_samples : int
        Number of points, at least 2.
    dim : int
        Dimension of the ambient space, at least 2.
    radii : pair of float, default=(1.0, 1.1)
        Radii of the class-0 and class-1 spheres (Nagarajan & Kolter use 1 and 1.1).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, dim), float64
    y : ndarray of shape (n_samples,), int64
        0 for the sphere of radius ``radii[0]``, 1 for ``radii[1]``.

    Examples
    --------
    >>> X, y = make_hyperspheres(6, 3, random_state=0)
    >>> X.shape, np.bincount(y).tolist()
    ((6, 3), [3, 3])
    >>> np.allclose(np.linalg.norm(X, axis=1), np.where(y == 0, 1.0, 1.1))
    True
    """
    n_samples = check_int(n_samples, "n_samples", 2)
    dim = check_int(dim, "dim", 2)
    r = np.asarray(_check_radii(radii))
    rng = check_random_state(random_state)
    directions = rng.standard_normal((n_samples, dim))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_samples // 2, n_samples - n_samples // 2])
    y = y[rng.permutation(n_samples)]
    return directions * r[y][:, None], y


def project_to_other_sphere(
    X: Any, y: Any, radii: Sequence[float] = (1.0, 1.1)
) -> tuple[np.ndarray, np.ndarray]:
    """The set ``S'`` of Nagarajan & Kolter: every point moved onto the other sphere.

    A point ``x`` of class ``k`` becomes ``x' = x * radii[1 - k] / ||x||_2`` with label
    ``1 - k``: the same direction, the other sphere, the label that the true rule gives it.

    Parameters
    ----------
    X : array-like of shape (n_samples, dim)
        Non-zero points (typically from :func:`make_hyperspheres`).
    y : array-like of shape (n_samples,)
        Labels in {0, 1}.
    radii : pair of float, default=(1.0, 1.1)

    Returns
    -------
    X_projected : ndarray of shape (n_samples, dim), float64
    y_projected : ndarray of shape (n_samples,), int64
        ``1 - y``.

    Examples
    --------
    >>> X, y = make_hyperspheres(4, 5, random_state=0)
    >>> Xp, yp = project_to_other_sphere(X, y)
    >>> np.allclose(np.linalg.norm(Xp, axis=1), np.where(y == 0, 1.1, 1.0)), (yp == 1 - y).all()
    (True, np.True_)
    """
    r = np.asarray(_check_radii(radii))
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, dim), got shape {X.shape}.")
    if y.shape != (len(X),):
        raise ValueError(f"y must have shape ({len(X)},), got {y.shape}.")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold labels 0 and 1 only.")
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("X contains a zero vector, which lies on no sphere.")
    flipped = (1 - y).astype(np.int64)
    return X / norms * r[flipped][:, None], flipped
