"""What the image loaders share: the pixel options and the Bunch with the official split."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import Bunch

__all__ = ["check_pixel_options", "official_split_bunch"]


def check_pixel_options(scale: Any, dtype: Any) -> np.dtype:
    """Validate a loader's ``scale`` (a bool) and ``dtype`` (float32 or float64).

    Examples
    --------
    >>> check_pixel_options(True, "float32")
    dtype('float32')
    """
    if scale is not True and scale is not False and not isinstance(scale, np.bool_):
        raise ValueError(f"scale must be a bool, got {scale!r}.")
    try:
        np_dtype = None if dtype is None else np.dtype(dtype)
    except TypeError:
        np_dtype = None
    if np_dtype is None or np_dtype.name not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")
    return np_dtype


def official_split_bunch(
    X: np.ndarray,
    y: np.ndarray,
    is_test: np.ndarray,
    input_shape: tuple[int, int, int],
    target_names: Any,
    source: str,
) -> Bunch:
    """The Bunch every image loader returns, with the official split as ``is_test``.

    Examples
    --------
    >>> b = official_split_bunch(np.zeros((3, 4)), np.arange(3), np.array([0, 0, 1], bool),
    ...                          (1, 2, 2), ["a", "b", "c"], "toy")
    >>> b.DESCR
    'toy: 2 training and 1 test images of shape (1, 2, 2), 3 classes.'
    """
    n_test = int(is_test.sum())
    return Bunch(
        data=X,
        target=y,
        is_test=is_test,
        input_shape=tuple(input_shape),
        feature_names=None,
        target_names=target_names,
        DESCR=(
            f"{source}: {len(y) - n_test} training and {n_test} test images of shape "
            f"{tuple(input_shape)}, {len(target_names)} classes."
        ),
    )
