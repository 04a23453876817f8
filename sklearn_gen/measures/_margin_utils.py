"""Margins from scores, their quantiles, and the checks the margin measures share.

Shared by the network margins (:mod:`~sklearn_gen.measures._margins`), the network bounds
and the kernel margin bound; the quantile conventions are described in
:func:`~sklearn_gen.measures.margin_quantile`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import torch

from sklearn_gen._validation import check_real
from sklearn_gen.networks._callbacks import margins

__all__ = ["QUANTILE_METHODS", "UndefinedMeasureError"]

QUANTILE_METHODS = ("lower", "linear", "kth")


class UndefinedMeasureError(ValueError):
    """The measure is not defined for this model and sample.

    For example a bound whose margin quantile is not positive, as on a held-out fold the
    network does not fit.

    Calling the measure raises it; a scorer (:func:`sklearn_gen.metrics.make_measure_scorer`)
    turns it into NaN, the value sklearn's searches expect for "no score".

    Examples
    --------
    >>> issubclass(UndefinedMeasureError, ValueError)
    True
    """


def _check_quantile_method(method: Any, name: str = "method") -> str:
    if not isinstance(method, str) or method not in QUANTILE_METHODS:
        raise ValueError(f"{name} must be 'lower', 'linear' or 'kth', got {method!r}.")
    return method


def _check_q(q: Any) -> float:
    """Validate a quantile level ``q`` in ``[0, 1]``."""
    return check_real(q, "q", 0.0, 1.0)


def _margins_from_scores(scores: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``scores[i, y_i] - max_{k != y_i} scores[i, k]`` for a ``(n, n_classes)`` array."""
    scores = np.asarray(scores, dtype=np.float64)
    target = np.asarray(target, dtype=np.int64)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(
            f"margins need at least two scores per sample, got an array of shape {scores.shape}."
        )
    if len(target) != len(scores):
        raise ValueError(f"got {len(scores)} samples but {len(target)} labels.")
    if len(target) and (target.min() < 0 or target.max() >= scores.shape[1]):
        raise ValueError(
            f"labels must be output indices in [0, {scores.shape[1]}) for a network without "
            "classes_."
        )
    # the one margin rule, the stopping rules' (float64 here)
    return margins(torch.from_numpy(scores), torch.from_numpy(target)).numpy()


def _quantile(values: np.ndarray, q: float, method: str = "lower") -> float:
    """The ``q``-quantile of ``values`` by ``method`` (see the module docstring).

    With ``method="lower"``, at least a fraction ``1 - q`` of the values are ``>= gamma``
    (and at most a fraction ``q`` are strictly below it).
    """
    if len(values) == 0:
        raise ValueError("the margin quantile needs at least one sample.")
    if method == "kth":
        # floor(q m) exactly for a decimal q (0.1 * m as m // 10), at least the smallest
        k = max(1, math.floor(Fraction(repr(float(q))) * len(values)))
        return float(np.partition(np.asarray(values, dtype=np.float64), k - 1)[k - 1])
    return float(np.quantile(values, q, method=method))


def _check_xy(X: Any, y: Any, measure: str) -> None:
    if X is None or y is None:
        missing = " and ".join(name for name, v in (("X", X), ("y", y)) if v is None)
        raise ValueError(f"{measure} needs the data X and the labels y; {missing} is missing.")
    if len(X) != len(y):
        raise ValueError(f"{measure}: X has {len(X)} samples but y has {len(y)} labels.")
