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
* every later weight layer: its weight by the weight's norm; its bias (if any) by the
  rule ``biases`` names:

  - ``"cumulative"``: layer ``l``'s bias by the product ``rho_1 ... rho_l`` of the
    divisors of the layers up to and including it. A bias is then scaled exactly as the
    signal reaching it, so the normalized network of a chain of weight layers and
    positively homogeneous layers (ReLU, pooling, ...) is the network divided by
    ``rho_1 ... rho_L``: the same predictions (Liao et al.'s property, which they state for
    their batch-normalized networks too, after absorbing batch norm into weights and
    biases), and its logits are the network's, scaled -- no forward pass of its own;
  - ``"own"``: by the bias's own norm (``||b||_p``; ``||b||_2`` for ``"spectral"``); a
    zero bias stays zero. This keeps the normalized network invariant to the scale of
    every tensor, but not its predictions: its normalized error may differ from the
    error, and its logits need a forward pass of their own;
  - ``"auto"`` (the default): ``"cumulative"``.

Where it is defined: on networks that dividing every layer by its norm *rescales*, i.e.
where the signal of every path from the input to the output crosses the same layers. A
chain always does; a residual graph only where every sum adds branches that crossed the
same layers (an identity shortcut that skips a layer does not: ResNets are out); a
concatenation of branches with different layers (Inception, DenseNet) does not either.
Elsewhere the measures raise :class:`~sklearn_gen.measures.UndefinedMeasureError` naming
the join where two paths part, since the "normalized network" would then weigh its
branches by the ratio of their norms, a number of no meaning for the loss. Batch norms
that could not be folded are layers too (diagonal ones). Where every op between the
layers is positively homogeneous (ReLU, pooling, sums, reshapes) and the biases follow the
cumulative rule, the normalized logits are the network's, scaled; under ``biases="own"``
the normalized network runs its own forward pass. A constant scaling ``k * x`` in
``forward`` is a layer of norm ``|k|``, divided out like the others (so the value does not
depend on where the constant sits; with ``biases="own"`` it is refused, to be folded into
a layer). An op that is not positively homogeneous (GELU, SiLU, tanh, sigmoid, an unknown
op), a normalization (LayerNorm, GroupNorm: it undoes the division of the layers before
it) or a parameter outside the layers raises
:class:`~sklearn_gen.measures.UndefinedMeasureError` naming it: dividing the layers by
their norms does not rescale such a network.

Both rules agree on the networks of Liao et al. and of Nagarajan & Kolter (no biases after
the first layer).

References
----------
.. [1] Q. Liao, B. Miranda, A. Banburski, J. Hidary and T. Poggio, "A surprising linear
   relationship predicts test performance in deep networks", arXiv:1807.09659, 2018.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import nn

from sklearn_gen._validation import check_real
from sklearn_gen.measures._cache import single_threaded
from sklearn_gen.measures._layers import LayersView, resolve_view
from sklearn_gen.measures._margin_utils import UndefinedMeasureError, _check_xy
from sklearn_gen.measures._norms import _check_norm as check_norm
from sklearn_gen.measures._norms import _weight_norm
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
    return check_real(divide_by, "divide_by", 0.0, closed="neither")


def _entrywise(*tensors: torch.Tensor, p: float) -> float:
    flat = torch.cat([t.reshape(-1).double() for t in tensors])
    return float(torch.linalg.vector_norm(flat, ord=p))


_BIASES = ("auto", "cumulative", "own")

#: Prefix of a constant scaling's name among the layers a path crosses.
_SCALE = "<scale>:"


def _check_biases(biases: Any) -> str:
    """The bias rule (``"auto"`` resolved)."""
    if not isinstance(biases, str) or biases not in _BIASES:
        raise ValueError(f"biases must be 'auto', 'cumulative' or 'own', got {biases!r}.")
    return "cumulative" if biases == "auto" else biases


def _crossed_layers(view: LayersView, measure: str) -> list[frozenset[str]]:
    """For each op of the view's graph, the layers every path from the input to it crosses.

    Raises :class:`UndefinedMeasureError` where two paths cross different layers (or the
    graph is unknown), since dividing every layer by its norm then rescales the branches
    by different factors.
    """
    if view.graph == "untraced":
        raise UndefinedMeasureError(
            f"{measure} needs the network's graph to know whether dividing every layer by "
            f"its norm rescales it, and {view.describe_graph()}."
        )
    crossed: list[frozenset[str]] = []
    for op in view.ops:
        if op.kind == "input":
            crossed.append(frozenset())
            continue
        sets = sorted({crossed[i] for i in op.inputs}, key=len)
        if len(sets) > 1:
            only = sorted(sets[0] ^ sets[-1])
            raise UndefinedMeasureError(
                f"{measure} is defined where dividing every layer by its norm rescales the "
                "network, i.e. where every path from the input to the output crosses the "
                f"same layers; in {view.name}, at {op.describe()}, one path crosses "
                f"{len(sets[0])} layers and another {len(sets[-1])} (on one path only: "
                f"{', '.join(only[:4])}{', ...' if len(only) > 4 else ''})."
            )
        current = sets[0]
        if op.kind == "scale":  # a constant scaling: a layer of norm |k|
            current = current | {_SCALE + op.name}
        if op.kind in ("weight", "diagonal"):
            if op.module in current:
                raise UndefinedMeasureError(
                    f"{measure}: the layer {op.module!r} of {view.name} runs more than once "
                    "on a path, so dividing it by its norm does not rescale the network by "
                    "one product of norms."
                )
            current = current | {op.module}
        crossed.append(current)
    return crossed


def _divisors(
    view: LayersView, first: set[str], norm: str | float, method: str
) -> list[tuple[float, float | None]]:
    """Each layer's ``(weight divisor, own bias norm)``; a first layer's are its joint norm."""
    out = []
    for layer in view.layers:
        bias = layer.bias
        if layer.name in first:
            if norm == "spectral":
                sigma = layer_spectral_norm(layer, method)
                joint = math.hypot(sigma, 0.0 if bias is None else _entrywise(bias, p=2.0))
            else:
                joint = _weight_norm(layer, norm, method, layer.weight, bias)
            out.append((joint, None if bias is None else joint))
            continue
        weight_norm = _weight_norm(layer, norm, method, layer.weight)
        p = 2.0 if norm == "spectral" else norm
        out.append((weight_norm, None if bias is None else _entrywise(bias, p=p)))
    return out


def _factors(
    view: LayersView,
    crossed: list[frozenset[str]],
    divisors: list[tuple[float, float | None]],
    divide_by: float,
    biases: str,
) -> tuple[list[tuple[float, float | None]], dict[str, float]]:
    """What each layer's weight and bias are multiplied by (None: the bias is kept), and
    the product of the weight factors of the layers each op's paths cross, by layer name
    (``"<output>"`` for the network's output)."""
    weight_factor = {
        layer.name: divide_by / weight_norm
        for layer, (weight_norm, _) in zip(view.layers, divisors, strict=True)
    }
    weight_factor.update(
        {_SCALE + op.name: divide_by / op.lipschitz for op in view.ops if op.kind == "scale"}
    )
    at_layer: dict[str, float] = {}
    for op, layers in zip(view.ops, crossed, strict=True):
        if op.kind in ("weight", "diagonal") or op.kind == "output":
            product = math.prod(weight_factor[name] for name in layers)
            at_layer[op.module if op.kind != "output" else "<output>"] = product
    factors: list[tuple[float, float | None]] = []
    for layer, (_, bias_norm) in zip(view.layers, divisors, strict=True):
        if bias_norm is None:
            bias_factor = None
        elif biases == "cumulative":
            bias_factor = at_layer[layer.name]
        else:
            bias_factor = divide_by / bias_norm if bias_norm > 0 else None
        factors.append((weight_factor[layer.name], bias_factor))
    return factors, at_layer


def _normalized_module(view: LayersView, factors: list[tuple[float, float | None]]) -> nn.Module:
    """A copy of the view's network with every layer's weight and bias multiplied."""
    module = copy.deepcopy(view.module)
    named = dict(module.named_modules())
    for layer, (weight_factor, bias_factor) in zip(view.layers, factors, strict=True):
        target = named[layer.name]
        with torch.no_grad():
            target.weight.mul_(weight_factor)
            if target.bias is not None and bias_factor is not None:
                target.bias.mul_(bias_factor)
    return module


def _logit_scale(
    view: LayersView, factors: list[tuple[float, float | None]], at_layer: dict[str, float]
) -> float | None:
    """``r`` with normalized logits ``= r *`` logits, where the network allows it, else None.

    Every path crosses the same layers (checked before). When every op between them is
    positively homogeneous and every nonzero bias is multiplied by the product of the
    weight factors of the layers up to and including its own (the cumulative rule, and a
    first layer under either rule), the normalized network is the network times that
    product at the output. Otherwise its logits need their own forward pass.
    """
    if not all(op.homogeneous for op in view.ops):
        return None
    for layer, (_, bias_factor) in zip(view.layers, factors, strict=True):
        bias = layer.bias
        if bias is None or not bool(torch.any(bias != 0)):
            continue
        if bias_factor is None or not math.isclose(bias_factor, at_layer[layer.name]):
            return None
    return at_layer["<output>"]


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
    biases = _check_biases(params["biases"])
    view = resolve_view(estimator, X, params["input_shape"])
    if not view.layers:
        raise ValueError(f"{measure} needs a network with at least one Linear/Conv layer.")
    view.require_owned(measure)
    crossed = _crossed_layers(view, measure)
    view.require_no_normalization(measure)
    view.require_ops(
        measure,
        lambda op: op.homogeneous,
        "dividing every layer by its norm rescales the network (Liao et al.'s normalized "
        "network is the network divided by the product of the norms) only through positively "
        "homogeneous ops (ReLU, LeakyReLU, pooling, reshapes, constant scalings)",
    )
    first = {
        op.module
        for op, layers in zip(view.ops, crossed, strict=True)
        if op.kind in ("weight", "diagonal")
        and {name for name in layers if not name.startswith(_SCALE)} == {op.module}
    }
    with single_threaded():  # spectral norms: one-image convolutions
        divisors = _divisors(view, first, norm, method)
    for layer, (weight_norm, _) in zip(view.layers, divisors, strict=True):
        if not weight_norm > 0:
            raise ValueError(
                f"{measure}: layer {layer.name!r} has all-zero weights, so it cannot be "
                "divided by its norm."
            )
    factors, at_layer = _factors(view, crossed, divisors, divide_by, biases)
    scale = _logit_scale(view, factors, at_layer)
    if scale is not None:
        return view.logits(X) * scale, view.targets(y)
    scalings = [op for op in view.ops if op.kind == "scale"]
    if scalings:
        raise UndefinedMeasureError(
            f"{measure}: {view.name} has {scalings[0].describe()}, a constant that the "
            "normalized network divides out (a layer of norm |k|) only where it is the "
            "network times a constant; here it needs a network of its own (a bias under "
            "biases='own', an op that is not positively homogeneous): fold the constant "
            "into the layer next to it."
        )
    module = _normalized_module(view, factors)
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
    biases: str = "auto",
) -> float:
    """Cross-entropy of the network with every weight layer divided by its norm.

    .. math:: \\tilde L = \\frac1m \\sum_{i=1}^m \\Big( \\log \\sum_k
       e^{\\tilde f_k(x_i)} - \\tilde f_{y_i}(x_i) \\Big),
       \\qquad \\tilde W_l = \\frac{W_l}{\\rho_l / c}

    (natural logarithm), where ``f~`` is the network with each layer ``W_l`` divided by
    ``rho_l / c``: ``rho_l`` its norm (``norm``; the first layer's weight and bias jointly,
    later biases as ``biases`` says -- see the module docstring) and ``c = divide_by``.
    So every normalized weight has norm ``c``; Liao et al.'s "L1 norm divided by 100" is
    ``norm=1, divide_by=100`` (layers of L1 norm 100). Batch norm is folded (eval
    statistics) before normalizing. Defined where every path from the input to the output
    crosses the same layers (see the module docstring); elsewhere
    :class:`~sklearn_gen.measures.UndefinedMeasureError`.

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
    biases : {"auto", "cumulative", "own"}, default="auto"
        What divides the biases of the layers after the first: the product of the norms
        of the layers up to it (``"cumulative"``: a chain's normalized network is the
        network divided by the product of all norms, same predictions), the bias's own
        norm (``"own"``), or ``"cumulative"`` (``"auto"``). See the module docstring.

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
    params = dict(
        input_shape=input_shape, norm=norm, divide_by=divide_by, method=method, biases=biases
    )
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
    biases: str = "auto",
) -> float:
    """Classification error of the normalized network of :func:`normalized_loss`.

    .. math:: \\tilde E = \\frac1m \\sum_{i=1}^m
       \\mathbb 1\\big[\\arg\\max_k \\tilde f_k(x_i) \\neq y_i\\big]

    For a chain of ReLU (or other positively homogeneous) layers the normalized network
    is a positive multiple of the original (with ``biases="auto"`` or ``"cumulative"``),
    so this is the ordinary error; with ``biases="own"`` and biases after the first layer
    it may differ.

    Parameters
    ----------
    estimator, X, y, input_shape, norm, divide_by, method, biases
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
    params = dict(
        input_shape=input_shape, norm=norm, divide_by=divide_by, method=method, biases=biases
    )
    logits, target = _normalized_logits(estimator, X, y, params, "normalized_error")
    return float((logits.argmax(dim=1) != target).double().mean())
