"""Checks of the studies' own arguments (data, levels, names, splits).

Numbers, choices, image shapes and seeds are checked by the package's one mechanism,
:mod:`sklearn_gen._validation`; this module adds what only the studies take.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import PredefinedSplit, train_test_split
from sklearn.utils.validation import check_consistent_length

from sklearn_gen._validation import InvalidParameterError, check_int

__all__ = [
    "check_data",
    "check_is_estimator",
    "check_levels",
    "check_names",
    "check_sizes",
    "check_test_size",
    "split",
    "split_indices",
]


def check_levels(
    levels: Any, name: str, *, allow_empty: bool = False, distinct: bool = False
) -> list[float]:
    """A sequence of probabilities in ``[0, 1]`` (e.g. corruption levels) as floats.

    Examples
    --------
    >>> check_levels((0, 0.5, 1), "corruption_levels")
    [0.0, 0.5, 1.0]
    """
    if isinstance(levels, str):
        raise ValueError(f"{name} must be a sequence of numbers, got {levels!r}.")
    try:
        values = [float(v) for v in np.atleast_1d(np.asarray(levels, dtype=float))]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers, got {levels!r}.") from None
    if not values and not allow_empty:
        raise ValueError(f"{name} must not be empty.")
    bad = [v for v in values if not 0.0 <= v <= 1.0]
    if bad:
        raise ValueError(f"{name} must lie in [0, 1], got {bad}.")
    if distinct and len(set(values)) != len(values):
        raise ValueError(f"{name} must be distinct, got {values}.")
    return values


def check_names(names: Any, allowed: Sequence[str], what: str) -> list[str]:
    """Distinct names, each one of ``allowed`` (a single string counts as one name).

    Examples
    --------
    >>> check_names("b", ("a", "b"), "condition")
    ['b']
    """
    if isinstance(names, str):
        names = (names,)
    try:
        names = list(names)
    except TypeError:
        raise ValueError(f"{what}s must be a sequence of names, got {names!r}.") from None
    unknown = [n for n in names if not isinstance(n, str) or n not in allowed]
    if unknown:
        raise ValueError(f"Unknown {what} {unknown}; use some of {list(allowed)}.")
    if len(set(names)) != len(names):
        raise ValueError(f"{what}s must be distinct, got {names}.")
    return names


def check_sizes(sample_sizes: Any, name: str = "sample_sizes", low: int = 2) -> list[int]:
    """Distinct sample sizes, each an int ``>= low``, sorted.

    Examples
    --------
    >>> check_sizes((400, 100, 200))
    [100, 200, 400]
    """
    if isinstance(sample_sizes, (str, bytes)) or not hasattr(sample_sizes, "__iter__"):
        raise InvalidParameterError(f"{name} must be a sequence of integers, got {sample_sizes!r}.")
    sizes = [check_int(m, f"every size in {name}", low) for m in sample_sizes]
    if not sizes:
        raise InvalidParameterError(f"{name} must not be empty.")
    if len(set(sizes)) != len(sizes):
        raise InvalidParameterError(f"{name} must be distinct, got {sizes}.")
    return sorted(sizes)


def check_test_size(test_size: Any) -> float | int | PredefinedSplit:
    """A fraction in (0, 1), a number of samples >= 1, or a fixed one-split ``PredefinedSplit``.

    The first two are what ``train_test_split`` takes; a
    :class:`~sklearn.model_selection.PredefinedSplit` with one test fold is the data's
    official split (:meth:`sklearn_gen.datasets.Dataset.test_split` makes it).

    Examples
    --------
    >>> check_test_size(0.25), check_test_size(100)
    (0.25, 100)
    >>> check_test_size(PredefinedSplit([-1, -1, 0])).get_n_splits()
    1
    """
    if isinstance(test_size, PredefinedSplit):
        if test_size.get_n_splits() != 1:
            raise ValueError(
                "a PredefinedSplit test_size must hold one test fold (0 for test rows, -1 "
                f"for training rows), got {test_size.get_n_splits()} folds."
            )
        return test_size
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise ValueError(
            "test_size must be a number or a PredefinedSplit (the official split), got "
            f"{test_size!r}."
        )
    if isinstance(test_size, numbers.Integral):
        if test_size < 1:
            raise ValueError(f"test_size must be at least 1 sample, got {test_size}.")
        return int(test_size)
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"A fractional test_size must lie in (0, 1), got {test_size}.")
    return float(test_size)


def split_indices(
    n_samples: int, test_size: float | int | PredefinedSplit, seed: int, y: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` row indices: the official split, or a seeded (stratified) one.

    The random split is stratified by ``y`` when every class allows it.

    Examples
    --------
    >>> train, test = split_indices(3, PredefinedSplit([-1, 0, -1]), seed=0)
    >>> train.tolist(), test.tolist()
    ([0, 2], [1])
    >>> [len(part) for part in split_indices(8, 0.5, 0, y=np.array([0, 1] * 4))]
    [4, 4]
    """
    if isinstance(test_size, PredefinedSplit):
        if len(test_size.test_fold) != n_samples:
            raise ValueError(
                f"the official split marks {len(test_size.test_fold)} rows but the data "
                f"has {n_samples}."
            )
        return next(test_size.split())
    stratify = None
    if y is not None:
        _, counts = np.unique(y, return_counts=True)
        stratify = y if counts.min() >= 2 else None
    return train_test_split(
        np.arange(n_samples), test_size=test_size, random_state=seed, stratify=stratify
    )


def check_data(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """2-D float X and 1-D y of the same length, with at least two classes.

    Examples
    --------
    >>> X, y = check_data([[0.0], [1.0]], [0, 1])
    >>> X.shape, y.tolist()
    ((2, 1), [0, 1])
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}.")
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}.")
    check_consistent_length(X, y)
    if len(np.unique(y)) < 2:
        raise ValueError("y must hold at least two classes.")
    return X, y


def check_is_estimator(estimator: Any, name: str = "estimator") -> None:
    """Raise unless ``estimator`` looks like an sklearn estimator (``fit``, ``get_params``).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> check_is_estimator(LogisticRegression())
    """
    if not (hasattr(estimator, "fit") and hasattr(estimator, "get_params")):
        raise ValueError(f"{name} must be an sklearn classifier, got {estimator!r}.")


def split(X: np.ndarray, y: np.ndarray, test_size: float | int | PredefinedSplit, seed: int):
    """``X_train, X_test, y_train, y_test`` by :func:`split_indices`.

    Examples
    --------
    >>> X_tr, X_te, y_tr, y_te = split(np.zeros((8, 1)), np.array([0, 1] * 4), 0.5, 0)
    >>> len(y_tr), len(y_te)
    (4, 4)
    """
    train, test = split_indices(len(y), test_size, seed, y)
    return X[train], X[test], y[train], y[test]
