"""Normalized loss (Liao et al. 2018): the loss of the network with every layer normalized.

Liao, Miranda, Banburski, Hidary and Poggio (2018) divide each weight layer of a deep
network by its norm and find that the cross-entropy of the *normalized* network on the
training set is linearly related to its test cross-entropy. For a ReLU chain without
biases, dividing each layer by its norm divides the logits by the product of the norms, so
the normalized network is a scale-free version of the trained one (same predictions); it
is invariant to any positive rescaling of the layers.

What is divided by what (batch norm folded into the layer before it first; ``rho / c``
with ``c = divide_by`` replaces every norm ``rho`` below):

* the first weight layer (in forward order): weight and bias together, by the norm of
  their concatenation ``(||w||_p^p + ||b||_p^p)^(1/p)`` -- the bias is the weight of a
  constant input ``1``, as in Liao et al., whose networks have a bias in the first layer
  only; with ``norm="spectral"`` the joint norm is ``sqrt(sigma(w)^2 + ||b||_2^2)`` (for a
  Linear layer an upper bound on the spectral norm of ``[w, b]``, equal to it when ``b``
  is orthogonal to the range of ``w``);
* every later weight layer: its weight by the weight's norm, its bias (if any) by the
  bias's own norm (``||b||_p``; ``||b||_2`` for ``"spectral"``). A zero bias stays zero.

This per-tensor rule keeps the normalized network invariant to the scale of every tensor,
but it does not keep the predictions of a network whose later layers have biases: for
those the normalized error (:func:`normalized_error`) may differ from the training error.

References
----------
.. [1] Q. Liao, B. Miranda, A. Banburski, J. Hidary and T. Poggio, "A surprising linear
   relationship predicts test performance in deep networks", arXiv:1807.09659, 2018.
"""

from __future__ import annotations

import copy
import math
import numbers
from typing import Any

import torch
from torch import nn

from sklearn_gen.measures._cache import single_threaded
from sklearn_gen.measures._layers import Layer, LayersView, resolve_view
from sklearn_gen.measures._margin_utils import _check_xy
from sklearn_gen.measures._norms import _check_norm as check_norm
from sklearn_gen.measures._operator_norm import check_method, layer_spectral_norm

__all__ = ["normalized_error", "normalized_loss"]


def _check_norm(norm: Any) -> str | float:
    """The package's norm check (:func:`sklearn_gen.measures._norms._check_norm`), as a layer
    normalization takes it: ``"spectral"``, or the order ``p >= 1`` of an entry-wise norm
    (``"fro"`` is 2, ``"l1"`` is 1); the mixed ``"l21"`` norm normalizes no layer here."""
    checked = check_norm(norm)
    if checked == "l21":
        raise ValueError(
            "norm must be 'fro', 'l1', 'spectral' or a real number p >= 1 (entry-wise Lp "
            "norm) for a normalized network; 'l21' is not a layer normalization here."
        )
    return {"fro": 2.0, "l1": 1.0}.get(checked, checked) if isinstance(checked, str) else checked


def _check_divide_by(divide_by: Any) -> float:
    if (
        isinstance(divide_by, bool)
        or not isinstance(divide_by, numbers.Real)
        or not math.isfinite(divide_by)
        or divide_by <= 0
    ):
        raise ValueError(f"divide_by must be a positive finite number, got {divide_by!r}.")
    return float(divide_by)


def _entrywise(*tensors: torch.Tensor, p: float) -> float:
    flat = torch.cat([t.reshape(-1).double() for t in tensors])
    return float(torch.linalg.vector_norm(flat, ord=p))


def _layer_norms(
    layer: Layer, first: bool, norm: str | float, method: str
) -> tuple[float, float | None]:
    """The divisors of the layer's weight and of its bias (None: no bias)."""
    weight, bias = layer.weight, layer.bias
    if norm == "spectral":
        sigma = layer_spectral_norm(layer, method)
        if first:
            joint = math.hypot(sigma, 0.0 if bias is None else _entrywise(bias, p=2.0))
            return joint, None if bias is None else joint
        return sigma, None if bias is None else _entrywise(bias, p=2.0)
    if first:
        joint = _entrywise(weight, *([] if bias is None else [bias]), p=norm)
        return joint, None if bias is None else joint
    return _entrywise(weight, p=norm), None if bias is None else _entrywise(bias, p=norm)


def _normalized_module(
    view: LayersView, divisors: list[tuple[float, float | None]], divide_by: float
) -> nn.Module:
    """A copy of the view's network with every layer divided by ``its norm / divide_by``."""
    module = copy.deepcopy(view.module)
    named = dict(module.named_modules())
    for layer, (weight_norm, bias_norm) in zip(view.layers, divisors, strict=True):
        target = named[layer.name]
        with torch.no_grad():
            target.weight.mul_(divide_by / weight_norm)
            if target.bias is not None and bias_norm is not None and bias_norm > 0:
                target.bias.mul_(divide_by / bias_norm)
    return module


#: Layers ``g`` with ``g(c x) = c g(x)`` for every ``c > 0`` (dropout: in eval mode).
_POSITIVELY_HOMOGENEOUS = (
    nn.ReLU,
    nn.LeakyReLU,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.AvgPool1d,
    nn.AvgPool2d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveAvgPool2d,
    nn.Flatten,
    nn.Identity,
    nn.Dropout,
    nn.Dropout2d,
)


def _logit_scale(
    view: LayersView, divisors: list[tuple[float, float | None]], divide_by: float
) -> float | None:
    """``r`` with normalized logits ``= r *`` logits, where the network allows it, else None.

    In a chain of weight layers and positively homogeneous layers (ReLU, pooling, ...),
    an input scaled by ``r > 0`` leaves every homogeneous layer scaled by ``r``, and a
    weight layer whose weight is multiplied by ``w`` outputs ``r w`` times its output when
    its bias is zero or is multiplied by the same ``r w``. The first layer's weight and
    bias are divided by their joint norm, so it always qualifies; a later layer with a
    nonzero bias (divided by its own norm) does not, and neither does a branching network
    or any other layer: their normalized logits need their own forward pass.
    """
    if not view.is_chain:
        return None
    factors = {
        id(layer.module): (divide_by / weight_norm, bias_norm)
        for layer, (weight_norm, bias_norm) in zip(view.layers, divisors, strict=True)
    }
    scale = 1.0
    for child in view.module.children():
        if id(child) in factors:
            weight_factor, bias_norm = factors[id(child)]
            scale *= weight_factor
            bias = child.bias
            if bias is not None and bool(torch.any(bias != 0)):
                # the normalized network multiplies a nonzero bias by divide_by / bias_norm
                if bias_norm is None or not divide_by / bias_norm == scale:
                    return None
        elif not isinstance(child, _POSITIVELY_HOMOGENEOUS):
            return None
    return scale


def _normalized_logits(
    estimator: Any,
    X: Any,
    y: Any,
    params: dict[str, Any],
    measure: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The normalized network's logits (float64) and the targets.

    Where the normalized network is the network times a positive constant
    (:func:`_logit_scale`), its logits are the network's, scaled: the forward pass is the
    one the other measures of this model and data share. Elsewhere the normalized
    network runs its own pass, memoized for :func:`normalized_error` and
    :func:`normalized_loss` alike.
    """
    _check_xy(X, y, measure)
    norm = _check_norm(params["norm"])
    divide_by = _check_divide_by(params["divide_by"])
    method = check_method(params["method"])
    view = resolve_view(estimator, X, params["input_shape"])
    if not view.layers:
        raise ValueError(f"{measure} needs a network with at least one Linear/Conv2d layer.")
    with single_threaded():  # spectral norms: one-image convolutions
        divisors = [
            _layer_norms(layer, i == 0, norm, method) for i, layer in enumerate(view.layers)
        ]
    for layer, (weight_norm, _) in zip(view.layers, divisors, strict=True):
        if not weight_norm > 0:
            raise ValueError(
                f"{measure}: layer {layer.name!r} has all-zero weights, so it cannot be "
                "divided by its norm."
            )
    scale = _logit_scale(view, divisors, divide_by)
    if scale is not None:
        return view.logits(X) * scale, view.targets(y)
    module = _normalized_module(view, divisors, divide_by)
    return view.logits(X, module=module), view.targets(y)


def normalized_loss(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    norm: str | float = "fro",
    divide_by: float = 1.0,
    method: str = "exact",
) -> float:
    """Cross-entropy of the network with every weight layer divided by its norm.

    .. math:: \\tilde L = \\frac1m \\sum_{i=1}^m \\Big( \\log \\sum_k
       e^{\\tilde f_k(x_i)} - \\tilde f_{y_i}(x_i) \\Big),
       \\qquad \\tilde W_l = \\frac{W_l}{\\rho_l / c}

    (natural logarithm), where ``f~`` is the network with each layer ``W_l`` divided by
    ``rho_l / c``: ``rho_l`` its norm (``norm``; the first layer's weight and bias jointly,
    later biases by their own norm -- see the module docstring) and ``c = divide_by``. So
    every normalized layer has norm ``c``; Liao et al.'s "L1 norm divided by 100" is
    ``norm=1, divide_by=100`` (layers of L1 norm 100). Batch norm is folded (eval
    statistics) before normalizing. Works for any network, chain or not.

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
        A fitted network (NetworkClassifier, or a Pipeline / LabelNoise /
        RandomPretraining / GridSearchCV around one, a module, or a LayersView).
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    input_shape : tuple of int, optional
        One sample's shape, for a raw module that does not carry it.
    norm : {"fro", "l1", "spectral"} or float, default="fro"
        ``"fro"``: Frobenius (entry-wise L2); a number ``p >= 1`` (``numpy.inf``
        included): the entry-wise Lp norm ``(sum |w|^p)^(1/p)`` (``"l1"`` is ``p = 1``);
        ``"spectral"``: the largest singular value (of the conv operator at its input
        shape, or of the reshaped kernel, see ``method``).
    divide_by : float, default=1.0
        Positive constant ``c``: each layer is divided by ``norm / c``.
    method : {"exact", "reshape"}, default="exact"
        How conv layers' spectral norms are computed (:func:`spectral_norm`).

    Returns
    -------
    float

    References
    ----------
    Q. Liao, B. Miranda, A. Banburski, J. Hidary and T. Poggio, "A surprising linear
    relationship predicts test performance in deep networks", arXiv:1807.09659, 2018.

    Examples
    --------
    >>> import math, torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False))
    >>> net.input_shape = (2,)
    >>> with torch.no_grad():
    ...     net[0].weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 4.0]]))
    Parameter containing: ...
    >>> loss = normalized_loss(net, [[1.0, 0.0]], [0])  # logits (3, 0) / 5
    >>> bool(abs(loss - math.log(1 + math.exp(-0.6))) < 1e-6)
    True
    """
    params = dict(input_shape=input_shape, norm=norm, divide_by=divide_by, method=method)
    logits, target = _normalized_logits(estimator, X, y, params, "normalized_loss")
    losses = torch.logsumexp(logits, dim=1) - logits.gather(1, target[:, None])[:, 0]
    return float(losses.mean())


def normalized_error(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    norm: str | float = "fro",
    divide_by: float = 1.0,
    method: str = "exact",
) -> float:
    """Classification error of the normalized network of :func:`normalized_loss`.

    .. math:: \\tilde E = \\frac1m \\sum_{i=1}^m
       \\mathbb 1\\big[\\arg\\max_k \\tilde f_k(x_i) \\neq y_i\\big]

    For a ReLU chain whose layers after the first have no bias (Liao et al.'s networks,
    Nagarajan & Kolter's) the normalized network is a positive multiple of the original,
    so this is the ordinary error; when later layers have biases it may differ.

    Parameters
    ----------
    estimator, X, y, input_shape, norm, divide_by, method
        As for :func:`normalized_loss`.

    Returns
    -------
    float
        Fraction of misclassified samples, in ``[0, 1]``.

    References
    ----------
    Q. Liao, B. Miranda, A. Banburski, J. Hidary and T. Poggio, "A surprising linear
    relationship predicts test performance in deep networks", arXiv:1807.09659, 2018.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False))
    >>> net.input_shape = (2,)
    >>> with torch.no_grad():
    ...     net[0].weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 4.0]]))
    Parameter containing: ...
    >>> normalized_error(net, [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0, 1, 0])
    0.333...
    """
    params = dict(input_shape=input_shape, norm=norm, divide_by=divide_by, method=method)
    logits, target = _normalized_logits(estimator, X, y, params, "normalized_error")
    return float((logits.argmax(dim=1) != target).double().mean())
