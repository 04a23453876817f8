"""Parameter and feature-name checks shared by the randomization estimators."""

from __future__ import annotations

from typing import Any

import numpy as np

from sklearn_gen._validation import check_image_shape as _check_image_shape
from sklearn_gen._validation import check_real


def check_probability(p: Any, name: str = "p") -> float:
    """Return ``p`` as a float after checking that it is a real number in ``[0, 1]``."""
    return check_real(p, name, 0.0, 1.0)


def check_image_shape(input_shape: Any, n_features: int | None = None) -> tuple[int, int, int]:
    """The package's (C, H, W) check (:func:`sklearn_gen._validation.check_image_shape`)."""
    return _check_image_shape(input_shape, "input_shape", n_features)


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
