"""Parameter and feature-name checks shared by the randomization estimators."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def check_probability(p: Any, name: str = "p") -> float:
    """Return ``p`` as a float after checking that it is a real number in ``[0, 1]``."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"{name} must be a real number in [0, 1], got {p!r}.")
    if not 0.0 <= float(p) <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {p!r}.")
    return float(p)


def _shape_entry(value: Any) -> bool:
    return (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and (int(value) >= 1 or int(value) == -1)
    )


def check_image_shape(image_shape: Any, n_features: int | None = None) -> tuple[int, int, int]:
    """Check a channels-first ``(C, H, W)`` shape, and ``C * H * W == n_features`` if given.

    One entry may be -1: it is inferred from ``n_features`` as in ``numpy.reshape`` (and
    stays -1 when ``n_features`` is None).
    """
    if (
        not isinstance(image_shape, tuple | list)
        or len(image_shape) != 3
        or not all(_shape_entry(v) for v in image_shape)
        or sum(int(v) == -1 for v in image_shape) > 1
    ):
        raise ValueError(
            "image_shape must be a tuple of 3 positive integers (C, H, W) (channels first), "
            f"one of which may be -1 (inferred from n_features), got {image_shape!r}."
        )
    shape = [int(v) for v in image_shape]
    if n_features is None:
        return tuple(shape)  # type: ignore[return-value]
    known = int(np.prod([v for v in shape if v != -1]))
    if -1 in shape and n_features % known == 0 and n_features > 0:
        shape[shape.index(-1)] = n_features // known
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"image_shape={tuple(image_shape)} does not describe the {n_features} features of "
            "X: C*H*W must equal n_features (images travel flat, channels first)."
        )
    return tuple(shape)  # type: ignore[return-value]


def feature_names_in(estimator: Any, input_features: Any = None) -> np.ndarray:
    """The input feature names of a fitted transformer, as sklearn's transformers check them.

    ``input_features=None`` gives ``feature_names_in_`` when the transformer was fitted on
    a DataFrame, else ``x0, ..., x{n_features_in_ - 1}``; given names must match both.
    """
    names = getattr(estimator, "feature_names_in_", None)
    n_features = getattr(estimator, "n_features_in_", None)
    if input_features is not None:
        input_features = np.asarray(input_features, dtype=object)
        if names is not None and not np.array_equal(names, input_features):
            raise ValueError("input_features is not equal to feature_names_in_")
        if n_features is not None and len(input_features) != n_features:
            raise ValueError(
                "input_features should have length equal to number of features "
                f"({n_features}), got {len(input_features)}"
            )
        return input_features
    if names is not None:
        return np.asarray(names, dtype=object)
    if n_features is None:
        raise ValueError("Unable to generate feature names without n_features_in_")
    return np.asarray([f"x{i}" for i in range(n_features)], dtype=object)
