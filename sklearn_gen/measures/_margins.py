"""Multiclass margins of a fitted classifier and their quantile.

The margin of a sample ``(x, y)`` under a score function ``f`` with one output per class is

.. math:: \\gamma(x, y) = f_y(x) - \\max_{k \\neq y} f_k(x),

positive exactly when ``x`` is classified correctly (Bartlett et al. 2017; Neyshabur et
al. 2018). Networks are scored through their logits (:meth:`LayersView.logits`), kernel
interpolators (:class:`~sklearn_gen.KernelInterpolator`) through their interpolant
``K(x, X_fit) alpha``. Margin-based bounds divide by a *margin quantile* rather than the
smallest margin, so that a few hard (or mislabelled) points do not make the bound
infinite; Jiang et al. (2019) use the 10th percentile, which is the default here.

Published codes read "the 10th percentile" of ``m`` margins in different ways; ``method=``
names each so that a published number can be reproduced (sorted margins
``g_(1) <= ... <= g_(m)``):

* ``"lower"`` (default): ``g_(floor(q (m - 1)) + 1)``, ``numpy.quantile(..., method="lower")``:
  a sample margin reached by at least a fraction ``1 - q`` of the points;
* ``"linear"``: ``numpy.percentile(margins, 100 q)``, interpolating between the two
  neighbouring order statistics (as in Neyshabur et al.'s code);
* ``"kth"``: the ``k``-th smallest with ``k = floor(q m)`` (at least 1), what
  ``torch.kthvalue(margins, m // 10)`` gives for ``q = 0.1`` (as the code of Dziugaite et
  al.'s robust-measures study takes it).

References
----------
.. [1] P. L. Bartlett, D. J. Foster and M. Telgarsky, "Spectrally-normalized margin bounds
   for neural networks", NeurIPS 2017.
.. [2] Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic
   generalization measures and where to find them", ICLR 2020 (arXiv:1912.02178).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sklearn_gen.measures._kernel import _kernel_margins, _unwrap_kernel
from sklearn_gen.measures._layers import LayersView, resolve_view
from sklearn_gen.measures._margin_utils import (
    _check_q,
    _check_quantile_method,
    _check_xy,
    _margins_from_scores,
    _quantile,
)

__all__ = ["margin_quantile", "margins"]


def _view_margins(view: LayersView, X: Any, y: Any) -> np.ndarray:
    """Margins of a network through its layers view."""
    logits = view.logits(X).numpy()
    return _margins_from_scores(logits, view.targets(y).numpy())


def margins(
    estimator: Any, X: Any = None, y: Any = None, *, input_shape: tuple[int, ...] | None = None
) -> np.ndarray:
    """Multiclass margins ``f_y(x) - max_{k != y} f_k(x)`` of every sample.

    .. math:: \\gamma_i = f_{y_i}(x_i) - \\max_{k \\neq y_i} f_k(x_i)

    where ``f`` are the network's logits (batch norm in eval mode) or, for a kernel
    interpolator, its interpolant values ``K(x, X_fit) alpha`` (one column per class, so
    for two classes the margin is ``+-`` the ``decision_function``). A margin is positive
    exactly when the sample is classified correctly (ties count as errors).

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
        A fitted network (NetworkClassifier, a Pipeline ending in one, LabelNoise /
        RandomPretraining / GridSearchCV around one, a module, or a LayersView), or a
        fitted KernelInterpolator (possibly wrapped the same way).
    X : array-like of shape (n_samples, n_features)
        Samples (before the Pipeline's transforms, if any).
    y : array-like of shape (n_samples,)
        Labels (values of ``classes_``; output indices for a bare module).
    input_shape : tuple of int, optional
        One sample's shape, for a raw module that does not carry it (a flat module reads
        it from ``X``; a conv module needs ``input_shape=(C, H, W)``).

    Returns
    -------
    ndarray of shape (n_samples,)
        The margins, float64.

    References
    ----------
    P. L. Bartlett, D. J. Foster and M. Telgarsky, "Spectrally-normalized margin bounds for
    neural networks", NeurIPS 2017, Sec. 1.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3, bias=False))
    >>> net.input_shape = (2,)
    >>> with torch.no_grad():
    ...     net[0].weight.copy_(torch.eye(3, 2))
    Parameter containing: ...
    >>> margins(net, [[3.0, 1.0], [0.5, 2.0]], [0, 0]).tolist()
    [2.0, -1.5]
    """
    _check_xy(X, y, "margins")
    try:
        view = resolve_view(estimator, X, input_shape)
    except TypeError:
        found = _unwrap_kernel(estimator, "margins", strict=False)
        if found is None:
            raise
        return _kernel_margins(*found, X, y)
    return _view_margins(view, X, y)


def margin_quantile(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    q: float = 0.1,
    method: str = "lower",
) -> float:
    """The ``q``-quantile of the margins: a margin reached by a fraction ``1 - q`` of points.

    .. math:: \\gamma_q = \\gamma_{(\\lfloor q (m - 1) \\rfloor + 1)}

    the ``floor(q (m - 1)) + 1``-th smallest of the ``m`` margins (:func:`margins`), i.e.
    ``numpy.quantile(margins, q, method="lower")`` (``method="lower"``; ``"linear"`` and
    ``"kth"`` are the other published conventions, see the module docstring). At least a
    fraction ``1 - q`` of the samples have margin ``>= gamma_q``; ``q = 0`` is the smallest
    margin (the hard
    margin), ``q = 0.5`` the median. The default ``q = 0.1`` is the 10th percentile that
    Jiang et al. (2019) use to normalize margin-based measures; it is the same quantile
    :class:`~sklearn_gen.NetworkClassifier`'s margin stopping rule records (with
    ``stop_margin_fraction = 1 - q``).

    Parameters
    ----------
    estimator : estimator or torch.nn.Module
        As for :func:`margins`.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    input_shape : tuple of int, optional
        As for :func:`margins`.
    q : float, default=0.1
        Quantile level in ``[0, 1]``.
    method : {"lower", "linear", "kth"}, default="lower"
        Which sample quantile: ``numpy.quantile(..., method="lower")``,
        ``numpy.percentile`` (linear interpolation), or the ``floor(q m)``-th smallest.

    Returns
    -------
    float
        The margin quantile (negative when more than a fraction ``q`` of the samples are
        misclassified).

    References
    ----------
    Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic generalization
    measures and where to find them", ICLR 2020.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(1, 2, bias=False))
    >>> net.input_shape = (1,)
    >>> with torch.no_grad():
    ...     net[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))
    Parameter containing: ...
    >>> X = [[0.5], [1.0], [2.0], [3.0]]  # margins 2 * x: 1, 2, 4, 6
    >>> margin_quantile(net, X, [0, 0, 0, 0], q=0.0), margin_quantile(net, X, [0, 0, 0, 0], q=0.5)
    (1.0, 2.0)
    >>> [margin_quantile(net, X, [0] * 4, q=0.5, method=m) for m in ("lower", "linear", "kth")]
    [2.0, 3.0, 2.0]
    """
    q = _check_q(q)
    method = _check_quantile_method(method)
    return _quantile(margins(estimator, X, y, input_shape=input_shape), q, method)
