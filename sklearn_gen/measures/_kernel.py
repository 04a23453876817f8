"""Measures of fitted kernel interpolators: RKHS norm and a kernel margin bound.

Zhang et al. (2017, Sec. 5) and Belkin, Ma and Mandal (2018) track the RKHS norm of the
minimum-norm interpolant ``f = sum_i alpha_i k(x_i, .)``: it grows with the fraction of
random labels, and norm-based bounds built on it grow with it. Both measures reach the
fitted :class:`~sklearn_gen.KernelInterpolator` (or
:class:`~sklearn_gen.KernelInterpolationRegressor`) through ``Pipeline``, ``GridSearchCV``
and meta-estimators with ``estimator_`` (:class:`~sklearn_gen.LabelNoise`, ...).

References
----------
.. [1] C. Zhang, S. Bengio, M. Hardt, B. Recht and O. Vinyals, "Understanding deep learning
   requires rethinking generalization", ICLR 2017.
.. [2] M. Belkin, S. Ma and S. Mandal, "To understand deep learning we need to understand
   kernel learning", ICML 2018.
.. [3] P. L. Bartlett and S. Mendelson, "Rademacher and Gaussian complexities: risk bounds
   and structural results", JMLR 3, 2002.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from sklearn_gen._wrappers import find_inner
from sklearn_gen.measures._margin_utils import (
    UndefinedMeasureError,
    _check_q,
    _check_quantile_method,
    _check_xy,
    _margins_from_scores,
    _quantile,
)

__all__ = ["kernel_margin_bound", "rkhs_norm"]

_DIAGONAL_CHUNK = 256


def _unwrap_kernel(estimator: Any, measure: str, *, strict: bool = True) -> tuple[Any, Any] | None:
    """The fitted kernel interpolator inside wrappers, and the transform before it.

    Returns None (or raises a TypeError naming ``measure`` when ``strict``) when no fitted
    kernel interpolator (an estimator with ``rkhs_norm_``) is found.
    """
    found, transform = find_inner(
        estimator, lambda obj: hasattr(obj, "rkhs_norm_") and hasattr(obj, "dual_coef_")
    )
    if found is not None:
        return found, transform
    if not strict:
        return None
    raise TypeError(
        f"{measure} needs a fitted KernelInterpolator (or one inside a Pipeline, "
        f"GridSearchCV, LabelNoise, ...); got {type(estimator).__name__}. Was it fitted?"
    )


def _kernel_scores(kernel_est: Any, transform: Any, X: Any) -> np.ndarray:
    """Interpolant values ``(n, n_classes)``; two classes give the columns ``(0, d)``."""
    if not hasattr(kernel_est, "classes_"):
        raise TypeError(f"margins need a classifier; {type(kernel_est).__name__} has no classes_.")
    Xt = X if transform is None else transform(X)
    values = np.asarray(kernel_est.decision_function(Xt), dtype=np.float64)
    if values.ndim == 1:  # two classes: score of classes_[1] minus that of classes_[0]
        values = np.column_stack([np.zeros_like(values), values])
    return values


def _kernel_targets(kernel_est: Any, y: Any) -> np.ndarray:
    classes = np.asarray(kernel_est.classes_)
    y = np.asarray(y)
    index = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
    if not np.all(classes[index] == y):
        raise ValueError("y contains labels the kernel interpolator was not trained on.")
    return index


def _kernel_margins(kernel_est: Any, transform: Any, X: Any, y: Any) -> np.ndarray:
    """Multiclass margins of a kernel classifier (see :func:`~._margins.margins`)."""
    return _margins_from_scores(
        _kernel_scores(kernel_est, transform, X), _kernel_targets(kernel_est, y)
    )


def _kernel_diagonal(kernel_est: Any, Xt: Any, measure: str) -> np.ndarray:
    """``k(x_i, x_i)`` for every row of the (transformed) ``Xt``, float64."""
    if kernel_est.kernel == "precomputed":
        raise ValueError(
            f"{measure} needs k(x, x) for the samples, which kernel='precomputed' does not "
            "give (X holds kernel values against the training set only)."
        )
    rows_np = np.asarray(Xt, dtype=np.float64)
    if rows_np.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {rows_np.shape}.")
    kernel = kernel_est._kernel(torch.float64, torch.device("cpu"))
    if kernel.stationary:  # rbf, laplacian: k(x, x) = 1
        return np.ones(len(rows_np))
    rows = kernel.prepare(torch.as_tensor(rows_np))
    parts = []
    for start in range(0, len(rows), _DIAGONAL_CHUNK):
        chunk = rows[start : start + _DIAGONAL_CHUNK]
        parts.append(kernel.block(chunk, chunk).diagonal().clone())
    if not parts:
        return np.zeros(0)
    return torch.cat(parts).numpy()


def rkhs_norm(estimator: Any, X: Any = None, y: Any = None, *, input_shape: Any = None) -> float:
    """RKHS norm of a fitted kernel interpolant (its ``rkhs_norm_``).

    .. math:: \\|f\\|_{\\mathcal H} = \\sqrt{\\textstyle\\sum_c \\|f_c\\|^2_{\\mathcal H}}
       = \\sqrt{\\operatorname{tr}(\\alpha^\\top K \\alpha)}

    for ``f_c = sum_i alpha_ic k(x_i, .)`` fitted on ``X_fit`` with Gram matrix ``K``
    (one function per class; Zhang et al. 2017, Sec. 5; Belkin et al. 2018).

    Parameters
    ----------
    estimator : estimator
        A fitted KernelInterpolator / KernelInterpolationRegressor, or a Pipeline,
        GridSearchCV, LabelNoise, ... around one.
    X, y : ignored
        Present for the measure signature ``measure(estimator, X, y)``.
    input_shape : ignored
        Accepted for the common signature of the measures.

    Returns
    -------
    float

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_gen import KernelInterpolator
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = KernelInterpolator(gamma=0.02, device="cpu").fit(X[:100] / 16, y[:100])
    >>> rkhs_norm(clf) == clf.rkhs_norm_
    True
    """
    kernel_est, _ = _unwrap_kernel(estimator, "rkhs_norm")
    return float(kernel_est.rkhs_norm_)


def kernel_margin_bound(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: Any = None,
    q: float = 0.1,
    quantile_method: str = "lower",
) -> float:
    """Margin bound of a kernel classifier: RKHS norm times trace over margin.

    .. math:: \\frac{\\sqrt{\\sum_c \\|f_c\\|^2_{\\mathcal H}}\\,
       \\sqrt{\\operatorname{tr} K}}{\\gamma\\, m}

    with ``K`` the Gram matrix of the ``m`` samples of ``X`` (only its diagonal
    ``k(x_i, x_i)`` is computed: ``m`` for the rbf and laplacian kernels), ``f_c`` the
    fitted interpolant of class ``c`` (:func:`rkhs_norm`) and ``gamma`` the ``q``-quantile
    of the multiclass margins ``f_y(x) - max_{k != y} f_k(x)`` of the classifier on
    ``(X, y)`` (:func:`~sklearn_gen.measures.margin_quantile`). ``sqrt(tr K) / m`` bounds
    the empirical Rademacher complexity of the unit ball of the RKHS on the sample
    (Bartlett & Mendelson 2002, Lemma 22), so this is the complexity term of the margin
    bound for kernel classes with ``sum_c ||f_c||^2 <= ||f||^2``; the constants, the
    factor depending on the number of classes and the confidence term are left out.

    Parameters
    ----------
    estimator : estimator
        A fitted KernelInterpolator (or a Pipeline, GridSearchCV, LabelNoise, ... around
        one); not ``kernel="precomputed"``, which gives no ``k(x, x)``.
    X : array-like of shape (n_samples, n_features)
        The sample (usually the training set), before the Pipeline's transforms.
    y : array-like of shape (n_samples,)
        Its labels.
    input_shape : ignored
        Accepted for the common signature of the measures.
    q : float, default=0.1
        Quantile level of the margin (see :func:`~sklearn_gen.measures.margin_quantile`).
    quantile_method : {"lower", "linear", "kth"}, default="lower"
        Which sample quantile (see :func:`~sklearn_gen.measures.margin_quantile`).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        When the margin quantile is not positive (more than a fraction ``q`` of the sample
        is misclassified).

    References
    ----------
    P. L. Bartlett and S. Mendelson, "Rademacher and Gaussian complexities: risk bounds and
    structural results", JMLR 3 (2002). M. Belkin, S. Ma and S. Mandal, "To understand
    deep learning we need to understand kernel learning", ICML 2018.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_gen import KernelInterpolator
    >>> X, y = load_digits(return_X_y=True)
    >>> X, y = X[:100] / 16, y[:100]
    >>> clf = KernelInterpolator(gamma=0.02, device="cpu").fit(X, y)
    >>> bound = kernel_margin_bound(clf, X, y)  # margins are 1 on the interpolated sample
    >>> bool(abs(bound - clf.rkhs_norm_ * 100**0.5 / 100) < 1e-3)
    True
    """
    _check_xy(X, y, "kernel_margin_bound")
    q = _check_q(q)
    quantile_method = _check_quantile_method(quantile_method, "quantile_method")
    kernel_est, transform = _unwrap_kernel(estimator, "kernel_margin_bound")
    gamma = _quantile(_kernel_margins(kernel_est, transform, X, y), q, quantile_method)
    if not gamma > 0:
        raise UndefinedMeasureError(
            f"kernel_margin_bound: the margin quantile at q={q:g} is {gamma:.4g} <= 0 "
            "(more than a fraction q of the samples are misclassified); use a larger q (a "
            "higher margin quantile) or a classifier that fits the sample."
        )
    Xt = X if transform is None else transform(X)
    trace = float(np.sum(_kernel_diagonal(kernel_est, Xt, "kernel_margin_bound")))
    m = len(Xt)
    return float(kernel_est.rkhs_norm_) * math.sqrt(max(trace, 0.0)) / (gamma * m)
