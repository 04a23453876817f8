"""Norm- and margin-based generalization bounds of chain networks.

Both bounds are the complexity term of a margin bound: with probability ``1 - delta`` the
test error is at most the fraction of training points with margin below ``gamma`` plus a
term that grows with the product of the layers' spectral norms and shrinks with the margin
``gamma`` and the sample size ``m``. Here

* ``B = max_i ||x_i||_2`` over the sample, with ``x_i`` the network's inputs (after a
  Pipeline's transforms, flattened);
* ``m`` the number of samples;
* ``gamma`` the ``q``-quantile of the multiclass margins on the sample
  (:func:`~sklearn_gen.measures.margin_quantile`, default ``q = 0.1`` as in Jiang et al.
  2019), so about a fraction ``q`` of the points count as margin errors;
* ``W_i`` the linear map of layer ``i`` (batch norm folded), ``W_i^0`` its reference: the
  initial map (``reference="init"``) or zero (``reference="zero"``), and ``sigma_i`` the
  spectral norm of ``W_i``.

Both papers bound networks of *linear maps*. A Conv2d layer is one: the matrix ``A_i`` that
maps the layer's input image (``C * H * W`` values) to its output image. With
``conv="operator"`` (the default) every quantity is that operator's, at the input shape
the layer sees: ``sigma_i`` its spectral norm, ``||A_i - A_i^0||_{2,1}`` the sum over its
``C' * H' * W'`` rows (output units) of each row's L2 norm, ``||A_i - A_i^0||_F`` its
Frobenius norm, and the unit counts are ``C' * H' * W'``. A row holds the kernel entries
that reach one output pixel, clipped at the borders by padding and stride, so the row
norms come without the dense matrix (:func:`~._operator_norm.operator_row_norms`); a
unit's squared row norm is at most the squared norm of its kernel slice, so for a layer
whose kernel fits inside the image ``||A||_F^2 ~ H' W' ||K||_F^2``. With ``conv="kernel"``
a heuristic that no theorem states: the (2,1) and Frobenius norms are those of the
kernel reshaped to ``(out_channels, in_channels * kh * kw)`` and the unit count is the
number of channels, while ``sigma_i`` stays the operator's (``method="exact"``) or
becomes the reshaped kernel's (``method="reshape"``). For Linear layers both settings are
the same. The formulas of each setting are listed in the documentation's *Measures* page.

Biases are ignored (the papers' networks have none), and every layer between two weight
layers (ReLU, pooling, dropout in eval mode, ...) is taken to be 1-Lipschitz, as ReLU is.
The bounds need a chain network (every op reads the one before it, in the traced graph:
a VGG or NiN with a flatten or a global average pool in ``forward`` is one), since the
theorems multiply the layers' Lipschitz constants along the one path through them; a
residual or concatenating network (ResNet, SmallInception) raises
:class:`~sklearn_gen.measures.UndefinedMeasureError` naming that assumption. A batch norm
that could not be folded into the layer before it is a layer of the chain (a diagonal
map, :class:`~sklearn_gen.measures.ChannelAffine`).
By default the bounds leave out the constants and logarithmic factors of the papers'
statements (as Neyshabur et al. 2017 and Jiang et al. 2019 do when comparing measures);
``with_constants=True`` puts them back, see each function.

References
----------
.. [1] P. L. Bartlett, D. J. Foster and M. Telgarsky, "Spectrally-normalized margin bounds
   for neural networks", NeurIPS 2017 (arXiv:1706.08498).
.. [2] B. Neyshabur, S. Bhojanapalli and N. Srebro, "A PAC-Bayesian approach to
   spectrally-normalized margin bounds for neural networks", ICLR 2018 (arXiv:1707.09564).
.. [3] Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic
   generalization measures and where to find them", ICLR 2020.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sklearn_gen.measures._cache import single_threaded
from sklearn_gen.measures._graph import Op
from sklearn_gen.measures._layers import Layer, LayersView, resolve_view
from sklearn_gen.measures._margin_utils import (
    UndefinedMeasureError,
    _check_q,
    _check_quantile_method,
    _check_xy,
    _quantile,
)
from sklearn_gen.measures._margins import _view_margins
from sklearn_gen.measures._operator_norm import (
    check_method,
    layer_spectral_norm,
    operator_row_norms,
)

__all__ = ["pac_bayes_bound", "spectral_bound"]

#: Leading constant of Bartlett et al.'s explicit bound (see :func:`spectral_bound`).
_BARTLETT_CONSTANT = 72.0


@dataclass
class _Setup:
    view: LayersView
    gamma: float
    radius: float  # B
    m: int
    sigmas: list[float]
    rows: list[torch.Tensor]  # L2 norms of the rows of (W_i - W_i^0), float64
    units: list[int]  # output units of each layer (rows of its matrix)
    rho: float = 1.0  # product of the Lipschitz constants of the ops between the layers


def _setup(
    estimator: Any,
    X: Any,
    y: Any,
    params: dict[str, Any],
    measure: str,
) -> _Setup:
    _check_xy(X, y, measure)
    q = _check_q(params["q"])
    quantile_method = _check_quantile_method(params["quantile_method"], "quantile_method")
    reference, conv = params["reference"], params["conv"]
    if reference not in ("init", "zero"):
        raise ValueError(f"reference must be 'init' or 'zero', got {reference!r}.")
    if conv not in ("operator", "kernel"):
        raise ValueError(f"conv must be 'operator' or 'kernel', got {conv!r}.")
    method = check_method(params["method"])
    if conv == "operator" and method != "exact":
        raise ValueError(
            "method='reshape' (the reshaped kernel's spectral norm) belongs to the kernel "
            "heuristic: pass conv='kernel' with it; conv='operator' uses the operator's "
            "norm."
        )
    view = resolve_view(estimator, X, params["input_shape"], params["initial"])
    view.require_chain(
        measure,
        "the theorem bounds a composition of layers, multiplying their Lipschitz constants "
        "along the one path from input to output",
    )
    view.require_owned(measure)
    homogeneous = measure == "pac_bayes_bound"
    view.require_ops(measure, lambda op: _chain_op(op, homogeneous), _ASSUMPTION[measure])
    if reference == "init":
        view.require_initial(measure, zero_reference=True)
    if not view.layers:
        raise ValueError(f"{measure} needs a network with at least one Linear/Conv2d layer.")
    gamma = _quantile(_view_margins(view, X, y), q, quantile_method)
    if not gamma > 0:
        raise UndefinedMeasureError(
            f"{measure}: the margin quantile at q={q:g} is {gamma:.4g} <= 0: more than a "
            "fraction q of the samples are misclassified, so the bound is not defined; "
            "use a larger q (a higher margin quantile) or a network trained to fit the "
            "sample."
        )
    inputs = view.inputs(X).double()
    inputs = inputs.reshape(inputs.shape[0], -1)
    radius = float(torch.linalg.vector_norm(inputs, dim=1).max())
    sigmas, rows, units = [], [], []
    with single_threaded():  # one-image convolutions: see _cache.single_threaded
        for layer in view.layers:
            _layer_terms(layer, method, reference, conv, measure, (sigmas, rows, units))
    return _Setup(
        view, gamma, radius, inputs.shape[0], sigmas, rows, units, view.lipschitz_factor()
    )


#: Ops a chain bound reads through: layers, ReLU, pooling, reshapes, dropout (eval).
_LAYER_OPS = frozenset({"weight", "diagonal", "relu", "avgpool", "maxpool", "reshape", "identity"})

_ASSUMPTION = {
    "spectral_bound": "the theorem needs every op between the layers Lipschitz and mapping "
    "0 to 0 (its constant rho then multiplies the bound), and no normalization",
    "pac_bayes_bound": "the proof rebalances the layers' norms, which needs every op between "
    "them positively homogeneous (ReLU, LeakyReLU, a constant scaling) and no normalization",
}


def _chain_op(op: Op, homogeneous: bool) -> bool:
    """Whether a chain bound is defined through ``op`` (see :data:`_ASSUMPTION`)."""
    if op.kind in _LAYER_OPS:
        return True
    if op.kind not in ("activation", "scale") or not op.zero_at_zero:
        return False
    return op.homogeneous or not homogeneous


def _layer_terms(
    layer: Layer,
    method: str,
    reference: str,
    conv: str,
    measure: str,
    out: tuple[list[float], list[torch.Tensor], list[int]],
) -> None:
    """Append the layer's spectral norm, the row norms of ``W - W0`` and its unit count."""
    sigmas, rows, units = out
    sigma = layer_spectral_norm(layer, method)
    if not sigma > 0:
        raise ValueError(f"{measure}: layer {layer.name!r} has all-zero weights (spectral norm 0).")
    delta = layer.weight.double()
    if reference == "init":
        delta = delta - layer.initial_weight.double()
    if conv == "operator":
        rows.append(operator_row_norms(layer, delta))
        units.append(int(np.prod(layer.output_shape)))
    else:
        rows.append(torch.linalg.vector_norm(delta.reshape(delta.shape[0], -1), dim=1))
        units.append(layer.width)
    sigmas.append(sigma)


def _lipschitz_over_margin(setup: _Setup) -> float:
    """``B * prod_i sigma_i / (gamma * sqrt(m))``, the product taken in log space."""
    if not setup.radius > 0:  # every input is zero
        return 0.0
    log_value = math.log(setup.radius * setup.rho) + sum(math.log(s) for s in setup.sigmas)
    return math.exp(log_value - math.log(setup.gamma) - 0.5 * math.log(setup.m))


def spectral_bound(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    q: float = 0.1,
    quantile_method: str = "lower",
    reference: str = "init",
    conv: str = "operator",
    method: str = "exact",
    with_constants: bool = False,
    initial: Any = None,
) -> float:
    """Spectrally-normalized margin bound of Bartlett, Foster and Telgarsky (2017).

    .. math:: \\frac{B \\prod_{i=1}^d \\sigma_i}{\\gamma \\sqrt m}
       \\Big( \\sum_{i=1}^d \\Big( \\frac{\\|W_i - W_i^0\\|_{2,1}}{\\sigma_i}
       \\Big)^{2/3} \\Big)^{3/2}

    ``||A||_{2,1}`` is the sum over output units of the L2 norm of each unit's incoming
    weights (the rows of ``W_i``: Bartlett et al.'s ``||A_i^T - M_i^T||_{2,1}``), ``sigma_i``
    the spectral norm of ``W_i``, and ``B``, ``gamma``, ``m`` as in the module docstring.
    For a conv layer ``W_i`` is the convolution's operator matrix at the layer's input
    shape (``conv="operator"``: its rows are the output pixels), or, with
    ``conv="kernel"``, the heuristic of the module docstring.
    This is the paper's spectral complexity ``R_A`` over ``gamma`` times
    ``||X||_2 / m <= B / sqrt(m)`` (their ``||X||_2`` is the Frobenius norm of the data
    matrix). The theorem's activations are ``rho_i``-Lipschitz with ``sigma_i(0) = 0``, and
    the bound carries their product: 1 for ReLU, GELU's 1.13, SiLU's 1.10, and ``|k|`` for
    a constant scaling ``k * x`` in ``forward`` (a fixed layer of norm ``|k|``), so the
    value is the same wherever the constant sits. A normalization (LayerNorm, GroupNorm),
    an activation with ``sigma(0) != 0`` (sigmoid) or an unknown op raises
    :class:`~sklearn_gen.measures.UndefinedMeasureError` naming it, and so does a
    parameter outside the layers (a weight computed in ``forward``).

    With ``with_constants=True`` it is multiplied by ``72 ln(2W) ln(m)``, the constant and
    logarithmic factors of the explicit form of the bound for fixed norm bounds (the
    ``O~(.)`` of their Theorem 1.1, made explicit in the paper's analysis), where ``W`` is
    the largest number of units a layer reads or writes (``max_i`` of the sizes of layer
    ``i``'s input and output, ``C * H * W`` for images). The additive terms (``8 / m`` and
    the confidence term ``sqrt(ln(1/delta) / m)``) and the price of the union bound over
    the norms are never included.

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
        A fitted chain network (NetworkClassifier, or a Pipeline / LabelNoise /
        RandomPretraining / GridSearchCV around one, a module, or a LayersView).
    X : array-like of shape (n_samples, n_features)
        The sample (usually the training set), before the Pipeline's transforms.
    y : array-like of shape (n_samples,)
    input_shape : tuple of int, optional
        One sample's shape, for a raw module that does not carry it (``(C, H, W)`` for a
        conv network; a flat network reads it from ``X``).
    q : float, default=0.1
        Quantile level of the margin ``gamma``.
    quantile_method : {"lower", "linear", "kth"}, default="lower"
        Which sample quantile ``gamma`` is (see
        :func:`~sklearn_gen.measures.margin_quantile`).
    reference : {"init", "zero"}, default="init"
        ``W_i^0``: the initial weights (recorded by NetworkClassifier), or zero (then the
        norms are of ``W_i`` itself; the only choice for a raw module).
    conv : {"operator", "kernel"}, default="operator"
        Conv layers as their operator matrices (the theorem's setting), or the
        reshaped-kernel heuristic (see the module docstring).
    method : {"exact", "reshape"}, default="exact"
        With ``conv="kernel"`` only: the conv layers' ``sigma_i`` as the operator's norm
        or the reshaped kernel's (:func:`~sklearn_gen.measures.spectral_norm`).
    with_constants : bool, default=False
        Multiply by the constant and log factors (see above).
    initial : torch.nn.Module or dict of str to torch.Tensor, optional
        The network at initialization or its ``state_dict()`` (``reference="init"``);
        by default the estimator's ``initial_params_``.

    Returns
    -------
    float

    Raises
    ------
    UndefinedMeasureError
        For a network that is not a chain (the theorem's assumption), or whose margin
        quantile is not positive.
    ValueError
        Without initial weights (``reference="init"``).

    References
    ----------
    P. L. Bartlett, D. J. Foster and M. Telgarsky, "Spectrally-normalized margin bounds for
    neural networks", NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_gen.networks.architectures import MLP
    >>> _ = torch.manual_seed(0)
    >>> net = MLP(4, 3, hidden=(8,))
    >>> X = np.random.default_rng(0).normal(size=(20, 4))
    >>> y = net(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy()  # margins > 0
    >>> bound = spectral_bound(net, X, y, reference="zero")  # a bare module has no init
    >>> bool(0 < bound < np.inf)
    True
    """
    params = dict(
        input_shape=input_shape,
        q=q,
        quantile_method=quantile_method,
        reference=reference,
        conv=conv,
        method=method,
        initial=initial,
    )
    setup = _setup(estimator, X, y, params, "spectral_bound")
    ratios = [
        float(rows.sum()) / sigma for rows, sigma in zip(setup.rows, setup.sigmas, strict=True)
    ]
    value = _lipschitz_over_margin(setup) * sum(r ** (2.0 / 3.0) for r in ratios) ** 1.5
    if with_constants:
        widths = [
            max(int(np.prod(layer.input_shape)), int(np.prod(layer.output_shape)))
            for layer in setup.view.layers
        ]
        value *= _BARTLETT_CONSTANT * math.log(2 * max(widths)) * math.log(setup.m)
    return float(value)


def pac_bayes_bound(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    q: float = 0.1,
    quantile_method: str = "lower",
    reference: str = "init",
    conv: str = "operator",
    method: str = "exact",
    with_constants: bool = False,
    initial: Any = None,
) -> float:
    """PAC-Bayesian spectral-Frobenius margin bound of Neyshabur et al. (2018).

    .. math:: \\frac{B\\, d \\sqrt h \\prod_{i=1}^d \\sigma_i}{\\gamma \\sqrt m}
       \\sqrt{\\sum_{i=1}^d \\frac{\\|W_i - W_i^0\\|_F^2}{\\sigma_i^2}}

    with ``d`` the number of weight layers, ``h`` the largest number of output units of a
    layer (``max_i`` of the output features of a Linear layer, ``C' * H' * W'`` output
    pixels of a Conv2d layer as an operator, its output channels under ``conv="kernel"``;
    the input dimension does not count), ``sigma_i`` the spectral norm of
    ``W_i`` and ``B``, ``gamma``, ``m`` as in the module docstring. Their Theorem 1 states
    the bound with ``||W_i||_F`` (``reference="zero"``); with a prior centred at the
    initialization the same proof gives the distance ``||W_i - W_i^0||_F``
    (``reference="init"``, the default, which Neyshabur et al.'s and Jiang et al.'s
    experiments use). The authors' code uses a per-layer ``h_i`` inside the sum instead
    of the global ``h``, a slightly smaller quantity. The proof needs positively
    homogeneous activations (ReLU); a LeakyReLU of slope ``a`` or a constant scaling
    ``k * x`` enters as a fixed factor ``max(1, |a|)`` or ``|k|`` of the product. Any other
    activation (GELU, tanh), a normalization, an unknown op or a parameter outside the
    layers raises :class:`~sklearn_gen.measures.UndefinedMeasureError` naming it.

    With ``with_constants=True`` it is multiplied by ``sqrt(ln(d h))``, the logarithmic
    factor of their Theorem 1, whose statement is an ``O(.)`` without a numeric
    constant; the confidence term ``ln(d m / delta)`` is never included.

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
        A fitted chain network (see :func:`spectral_bound`).
    X : array-like of shape (n_samples, n_features)
        The sample (usually the training set), before the Pipeline's transforms.
    y : array-like of shape (n_samples,)
    input_shape : tuple of int, optional
        As for :func:`spectral_bound`.
    q : float, default=0.1
        Quantile level of the margin ``gamma``.
    quantile_method : {"lower", "linear", "kth"}, default="lower"
        As for :func:`spectral_bound`.
    reference : {"init", "zero"}, default="init"
        ``W_i^0``: the initial weights, or zero (the norms ``||W_i||_F`` of Theorem 1).
    conv : {"operator", "kernel"}, default="operator"
        As for :func:`spectral_bound`.
    method : {"exact", "reshape"}, default="exact"
        As for :func:`spectral_bound` (``conv="kernel"`` only).
    with_constants : bool, default=False
        Multiply by the log factor (see above).
    initial : torch.nn.Module or dict of str to torch.Tensor, optional
        As for :func:`spectral_bound`.

    Returns
    -------
    float

    Raises
    ------
    UndefinedMeasureError
        For a network that is not a chain (the theorem's assumption), or whose margin
        quantile is not positive.
    ValueError
        Without initial weights (``reference="init"``).

    References
    ----------
    B. Neyshabur, S. Bhojanapalli and N. Srebro, "A PAC-Bayesian approach to
    spectrally-normalized margin bounds for neural networks", ICLR 2018, Theorem 1.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_gen.networks.architectures import MLP
    >>> _ = torch.manual_seed(0)
    >>> net = MLP(4, 3, hidden=(8,))
    >>> X = np.random.default_rng(0).normal(size=(20, 4))
    >>> y = net(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy()
    >>> bound = pac_bayes_bound(net, X, y, reference="zero")
    >>> bool(0 < bound < np.inf)
    True
    """
    params = dict(
        input_shape=input_shape,
        q=q,
        quantile_method=quantile_method,
        reference=reference,
        conv=conv,
        method=method,
        initial=initial,
    )
    setup = _setup(estimator, X, y, params, "pac_bayes_bound")
    depth = len(setup.view.layers)
    width = max(setup.units)
    ratio_sum = sum(
        float(torch.sum(rows * rows)) / sigma**2
        for rows, sigma in zip(setup.rows, setup.sigmas, strict=True)
    )
    value = _lipschitz_over_margin(setup) * depth * math.sqrt(width) * math.sqrt(ratio_sum)
    if with_constants:
        value *= math.sqrt(math.log(depth * width))
    return float(value)
