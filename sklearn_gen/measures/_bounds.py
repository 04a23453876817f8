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
* ``W_i`` the weight of layer ``i`` (batch norm folded; conv kernels reshaped to
  ``(out_channels, in_channels * kh * kw)`` for the ``(2,1)`` and Frobenius norms),
  ``W_i^0`` its reference: the initial weight (``reference="init"``) or zero
  (``reference="zero"``), and ``sigma_i`` the spectral norm of ``W_i`` (of the conv
  operator at the layer's input shape by default, see
  :func:`~sklearn_gen.measures.spectral_norm`).

Biases are ignored (the papers' networks have none), and every layer between two weight
layers (ReLU, pooling, dropout in eval mode, ...) is taken to be 1-Lipschitz, as ReLU is.
The bounds need a chain network (a flat ``nn.Sequential``), since they multiply over the
layers in order; a branching network such as ``SmallInception`` raises a ValueError.
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

from sklearn_gen.measures._layers import LayersView, layers_view
from sklearn_gen.measures._margins import _check_q, _check_xy, _quantile, _view_margins
from sklearn_gen.measures._operator_norm import spectral_norm

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
    deltas: list[torch.Tensor]  # (W_i - W_i^0) as (out, fan_in) float64 matrices


def _setup(
    estimator: Any,
    X: Any,
    y: Any,
    q: Any,
    reference: Any,
    method: Any,
    measure: str,
) -> _Setup:
    _check_xy(X, y, measure)
    q = _check_q(q)
    if reference not in ("init", "zero"):
        raise ValueError(f"reference must be 'init' or 'zero', got {reference!r}.")
    if method not in ("exact", "reshape"):
        raise ValueError(f"method must be 'exact' or 'reshape', got {method!r}.")
    view = layers_view(estimator)
    view.require_chain(measure)
    if reference == "init":
        view.require_initial(measure)
    if not view.layers:
        raise ValueError(f"{measure} needs a network with at least one Linear/Conv2d layer.")
    gamma = _quantile(_view_margins(view, X, y), q)
    if not gamma > 0:
        raise ValueError(
            f"{measure}: the margin quantile at q={q:g} is {gamma:.4g} <= 0: more than a "
            "fraction q of the samples are misclassified, so the bound is not defined; "
            "use a larger q (a higher margin quantile) or a network trained to fit the "
            "sample."
        )
    inputs = view.inputs(X).double()
    inputs = inputs.reshape(inputs.shape[0], -1)
    radius = float(torch.linalg.vector_norm(inputs, dim=1).max())
    sigmas, deltas = [], []
    for layer in view.layers:
        sigma = spectral_norm(layer, method)
        if not sigma > 0:
            raise ValueError(
                f"{measure}: layer {layer.name!r} has all-zero weights (spectral norm 0)."
            )
        delta = layer.matrix.double()
        if reference == "init":
            delta = delta - layer.initial_weight.double().reshape(delta.shape)
        sigmas.append(sigma)
        deltas.append(delta)
    return _Setup(view, gamma, radius, inputs.shape[0], sigmas, deltas)


def _lipschitz_over_margin(setup: _Setup) -> float:
    """``B * prod_i sigma_i / (gamma * sqrt(m))``, the product taken in log space."""
    if not setup.radius > 0:  # every input is zero
        return 0.0
    log_value = math.log(setup.radius) + sum(math.log(s) for s in setup.sigmas)
    return math.exp(log_value - math.log(setup.gamma) - 0.5 * math.log(setup.m))


def spectral_bound(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    q: float = 0.1,
    reference: str = "init",
    method: str = "exact",
    with_constants: bool = False,
) -> float:
    """Spectrally-normalized margin bound of Bartlett, Foster and Telgarsky (2017).

    .. math:: \\frac{B \\prod_{i=1}^d \\sigma_i}{\\gamma \\sqrt m}
       \\Big( \\sum_{i=1}^d \\Big( \\frac{\\|W_i - W_i^0\\|_{2,1}}{\\sigma_i}
       \\Big)^{2/3} \\Big)^{3/2}

    ``||A||_{2,1}`` is the sum over output units of the L2 norm of each unit's incoming
    weights (the rows of ``W_i``: Bartlett et al.'s ``||A_i^T - M_i^T||_{2,1}``), ``sigma_i``
    the spectral norm of ``W_i``, and ``B``, ``gamma``, ``m`` as in the module docstring.
    This is the paper's spectral complexity ``R_A`` over ``gamma`` times
    ``||X||_2 / m <= B / sqrt(m)`` (their ``||X||_2`` is the Frobenius norm of the data
    matrix), with every activation 1-Lipschitz.

    With ``with_constants=True`` it is multiplied by ``72 ln(2W) ln(m)``, the constant and
    logarithmic factors of the explicit form of the bound for fixed norm bounds (the
    ``O~(.)`` of their Theorem 1.1, made explicit in the paper's analysis), where ``W`` is
    the largest number of units a layer reads or writes (``max_i`` of the sizes of layer
    ``i``'s input and output). The additive terms (``8 / m`` and the confidence term
    ``sqrt(ln(1/delta) / m)``) and the price of the union bound over the norms are never
    included.

    Parameters
    ----------
    estimator : estimator or torch.nn.Module
        A fitted chain network (NetworkClassifier, or a Pipeline / LabelNoise /
        RandomPretraining / GridSearchCV around one, or a module with ``input_shape``).
    X : array-like of shape (n_samples, n_features)
        The sample (usually the training set), before the Pipeline's transforms.
    y : array-like of shape (n_samples,)
    q : float, default=0.1
        Quantile level of the margin ``gamma``.
    reference : {"init", "zero"}, default="init"
        ``W_i^0``: the initial weights (recorded by NetworkClassifier), or zero (then the
        norms are of ``W_i`` itself).
    method : {"exact", "reshape"}, default="exact"
        How conv layers' spectral norms ``sigma_i`` are computed (:func:`spectral_norm`).
    with_constants : bool, default=False
        Multiply by the constant and log factors (see above).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For a network that is not a chain, without initial weights (``reference="init"``),
        or whose margin quantile is not positive.

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
    setup = _setup(estimator, X, y, q, reference, method, "spectral_bound")
    ratios = [
        float(torch.linalg.vector_norm(delta, dim=1).sum()) / sigma
        for delta, sigma in zip(setup.deltas, setup.sigmas, strict=True)
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
    X: Any,
    y: Any,
    *,
    q: float = 0.1,
    reference: str = "init",
    method: str = "exact",
    with_constants: bool = False,
) -> float:
    """PAC-Bayesian spectral-Frobenius margin bound of Neyshabur et al. (2018).

    .. math:: \\frac{B\\, d \\sqrt h \\prod_{i=1}^d \\sigma_i}{\\gamma \\sqrt m}
       \\sqrt{\\sum_{i=1}^d \\frac{\\|W_i - W_i^0\\|_F^2}{\\sigma_i^2}}

    with ``d`` the number of weight layers, ``h`` the largest number of output units of a
    layer (``max_i`` of the output features of a Linear layer, the output channels of a
    Conv2d layer; the input dimension does not count), ``sigma_i`` the spectral norm of
    ``W_i`` and ``B``, ``gamma``, ``m`` as in the module docstring. Their Theorem 1 states
    the bound with ``||W_i||_F`` (``reference="zero"``); with a prior centred at the
    initialization the same proof gives the distance ``||W_i - W_i^0||_F``
    (``reference="init"``, the default, which Neyshabur et al.'s and Jiang et al.'s
    experiments use). The authors' code uses a per-layer ``h_i`` inside the sum instead
    of the global ``h``, a slightly smaller quantity.

    With ``with_constants=True`` it is multiplied by ``sqrt(ln(d h))``, the logarithmic
    factor of their Theorem 1, whose statement is an ``O(.)`` without a numeric
    constant; the confidence term ``ln(d m / delta)`` is never included.

    Parameters
    ----------
    estimator : estimator or torch.nn.Module
        A fitted chain network (see :func:`spectral_bound`).
    X : array-like of shape (n_samples, n_features)
        The sample (usually the training set), before the Pipeline's transforms.
    y : array-like of shape (n_samples,)
    q : float, default=0.1
        Quantile level of the margin ``gamma``.
    reference : {"init", "zero"}, default="init"
        ``W_i^0``: the initial weights, or zero (the norms ``||W_i||_F`` of Theorem 1).
    method : {"exact", "reshape"}, default="exact"
        How conv layers' spectral norms are computed (:func:`spectral_norm`).
    with_constants : bool, default=False
        Multiply by the log factor (see above).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For a network that is not a chain, without initial weights (``reference="init"``),
        or whose margin quantile is not positive.

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
    setup = _setup(estimator, X, y, q, reference, method, "pac_bayes_bound")
    depth = len(setup.view.layers)
    width = max(layer.width for layer in setup.view.layers)
    ratio_sum = sum(
        float(torch.sum(delta * delta)) / sigma**2
        for delta, sigma in zip(setup.deltas, setup.sigmas, strict=True)
    )
    value = _lipschitz_over_margin(setup) * depth * math.sqrt(width) * math.sqrt(ratio_sum)
    if with_constants:
        value *= math.sqrt(math.log(depth * width))
    return float(value)
