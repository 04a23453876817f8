"""Norm-based measures: parameter count, layer norms, their product, distance from
initialization and path norms.

Every measure takes a fitted estimator (a :class:`~sklearn_gen.NetworkClassifier`, a
``Pipeline`` ending in one, a ``LabelNoise`` / ``RandomPretraining`` / ``GridSearchCV``
around one, or a ``torch.nn.Module``) and reaches its weight layers through
:func:`~sklearn_gen.measures.layers_view`, so all norms are those of the network *as it
computes*: in eval mode, every batch norm that alone reads a Linear/Conv output folded into
it and every other one a diagonal layer of its own
(:func:`~sklearn_gen.measures.fold_batch_norm`). Every measure has the signature
``measure(estimator, X=None, y=None, *, input_shape=None, ...)``; ``X`` and ``y`` are
accepted and ignored, so that each scalar measure can serve as a scikit-learn scorer. A raw
module must say what one sample is, since the layers view traces a forward pass:
``input_shape=(n_features,)`` or ``(C, H, W)``, or a ``module.input_shape`` attribute (for
a flat network, the width of ``X`` also does).

Norms of a weight layer ``W`` (``norm=``), computed on the weight only (biases left out):

- ``"fro"``: the Frobenius norm ``sqrt(sum w^2)``;
- ``"spectral"``: the largest singular value of the layer's linear map (see
  :func:`~sklearn_gen.measures.spectral_norm`: ``method="exact"`` is the operator norm of a
  convolution at its input shape, ``"reshape"`` that of the kernel reshaped to
  ``(out, in * kh * kw)``; the two agree for Linear layers);
- ``"l1"``: the entry-wise ``sum |w|``;
- a float ``p >= 1``: the entry-wise ``(sum |w|^p)^(1/p)`` (``numpy.inf``: ``max |w|``);
- ``"l21"``: ``sum_j ||W[j, :]||_2``, the L2 norms of each output unit's incoming weights
  (rows of ``W`` as an ``(out, fan_in)`` matrix) summed over the units: the
  ``||.||_{2,1}`` of Bartlett et al. (2017) applied to ``W^T``.

A diagonal layer (a batch norm that could not be folded,
:class:`~sklearn_gen.measures.ChannelAffine`) is the operator that scales each channel by
``w_c`` at every position of the feature map: its spectral norm is ``max |w_c|``, and its
entry-wise and ``"l21"`` norms count each channel's entry at every position (``"fro"`` is
``sqrt(positions * sum w_c^2)``), the norms of that operator's matrix.

References
----------
.. [1] B. Neyshabur, R. Tomioka and N. Srebro, "Norm-based capacity control in neural
   networks", COLT 2015.
.. [2] P. Bartlett, D. Foster and M. Telgarsky, "Spectrally-normalized margin bounds for
   neural networks", NeurIPS 2017.
.. [3] V. Nagarajan and J. Z. Kolter, "Generalization in deep networks: the role of
   distance from initialization", NeurIPS 2017 workshop (arXiv:1901.01672).
.. [4] Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic
   generalization measures and where to find them", ICLR 2020 (arXiv:1912.02178).
.. [5] C. Zhang, S. Bengio, M. Hardt, B. Recht and O. Vinyals, "Understanding deep learning
   requires rethinking generalization", ICLR 2017.
"""

from __future__ import annotations

import copy
import numbers
import operator
from typing import Any

import numpy as np
import torch
from torch import nn

from sklearn_gen._validation import check_real
from sklearn_gen.measures._graph import HOMOGENEOUS
from sklearn_gen.measures._layers import Layer, LayersView, resolve_view, unwrap_network
from sklearn_gen.measures._margin_utils import UndefinedMeasureError
from sklearn_gen.measures._operator_norm import check_method, layer_spectral_norm
from sklearn_gen.networks import architectures

__all__ = [
    "count_parameters",
    "distance_from_init",
    "layer_norms",
    "path_norm",
    "product_norm",
]

_NAMED_NORMS = ("fro", "spectral", "l1", "l21")


# ------------------------------------------------------------------------------ validation
def _check_norm(norm: Any) -> str | float:
    """``norm`` as a name from ``_NAMED_NORMS`` or an entry-wise order ``p >= 1``."""
    if isinstance(norm, str):
        if norm in _NAMED_NORMS:
            return norm
    elif isinstance(norm, numbers.Real) and not isinstance(norm, bool):
        p = float(norm)
        if p >= 1.0:  # also refuses nan
            return p
    raise ValueError(
        "norm must be 'fro', 'spectral', 'l1', 'l21' or an entry-wise order p >= 1 "
        f"(a float, numpy.inf allowed), got {norm!r}."
    )


def _check_p(p: Any) -> float:
    return check_real(p, "p", 1.0)


# ------------------------------------------------------------------------------ helpers
def _entrywise_order(norm: str | float) -> float | None:
    """The order p of an entry-wise norm, or None for 'spectral' and 'l21'."""
    if norm == "fro":
        return 2.0
    if norm == "l1":
        return 1.0
    if isinstance(norm, float):
        return norm
    return None


def _weight_norm(
    layer: Layer,
    norm: str | float,
    method: str,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
) -> float:
    """Norm ``norm`` of ``weight`` (shaped like ``layer.weight``), with ``bias`` optionally
    appended as one more input column (entry-wise norms and 'l21' only)."""
    if norm == "spectral":
        return layer_spectral_norm(layer, method, weight=weight)
    matrix = weight.detach().double().reshape(weight.shape[0], -1)
    if bias is not None:
        matrix = torch.cat([matrix, bias.detach().double().reshape(-1, 1)], dim=1)
    # a diagonal layer's norms are its operator's, over the feature map: each channel's
    # entry repeats at every position; a weight layer's are its weight tensor's
    repeats = layer.positions if layer.kind == "diagonal" else 1
    if norm == "l21":
        return repeats * float(torch.linalg.vector_norm(matrix, ord=2, dim=1).sum())
    order = _entrywise_order(norm)
    value = float(torch.linalg.vector_norm(matrix.reshape(-1), ord=order))
    return value if np.isinf(order) else value * repeats ** (1.0 / order)


# ------------------------------------------------------------------------------ measures
def count_parameters(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    include_batch_norm: bool = False,
) -> int:
    """Number of parameters of the network, as Zhang et al. (2017, Table 1) count them.

    Counted on the *original* module (before batch norm is folded): the entries of every
    weight and bias tensor of the Linear/Conv2d layers (each shared tensor once), plus the
    scales and shifts of the batch norms when ``include_batch_norm``. Batch-norm running
    statistics are buffers and never count. See
    :func:`sklearn_gen.networks.architectures.count_parameters`, which this measure calls on
    the module inside the estimator (the one name for the count, on a module or on any
    estimator).

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
        A fitted network estimator, a wrapper around one, a module, or a view (whose
        folded network has no batch norms left to count).
    X, y : ignored
        Accepted so that the measure can serve as a scorer.
    input_shape : ignored
        Accepted for the common signature (counting needs no forward pass).
    include_batch_norm : bool, default=False
        Whether to count the affine parameters of batch-norm layers.

    Returns
    -------
    int

    Examples
    --------
    >>> from sklearn_gen.networks.architectures import MLP
    >>> count_parameters(MLP(4, 3, hidden=(5,)))  # (4 * 5 + 5) + (5 * 3 + 3)
    43
    >>> count_parameters(MLP(4, 3, hidden=(5,), batch_norm=True), include_batch_norm=True)
    53
    """
    if isinstance(estimator, LayersView):
        module = estimator.module
    else:
        net, _ = unwrap_network(estimator)
        module = net if isinstance(net, nn.Module) else net.module_
    return architectures.count_parameters(module, include_batch_norm=bool(include_batch_norm))


def layer_norms(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    norm: str | float = "fro",
    method: str = "exact",
) -> np.ndarray:
    """Norm of each weight layer's weight, in forward order (a helper, not a scorer).

    For layer ``i`` with (batch-norm folded) weight ``W_i`` this is ``||W_i||`` in the norm
    ``norm`` (see the module docstring): ``"fro"``, ``"spectral"``, ``"l1"``, ``"l21"`` or an
    entry-wise order ``p >= 1``. Biases are not included.

    Parameters
    ----------
    estimator : estimator or torch.nn.Module
        A fitted network estimator, a wrapper around one, or a module.
    X, y : ignored
    input_shape : tuple of int, optional
        One sample's shape, for a raw module that does not carry it.
    norm : {"fro", "spectral", "l1", "l21"} or float, default="fro"
        The norm of each weight.
    method : {"exact", "reshape"}, default="exact"
        For ``norm="spectral"`` on convolutions: the operator norm at the layer's input
        shape, or the norm of the reshaped kernel (equal for Linear layers). Ignored by the
        other norms.

    Returns
    -------
    ndarray of shape (n_weight_layers,)
        The float64 norms.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False))
    >>> net.input_shape = (2,)  # a raw module must say what it takes
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[3.0, 0.0], [0.0, -4.0]]))
    >>> [float(layer_norms(net, norm=norm)[0]) for norm in ("fro", "spectral", "l1", "l21")]
    [5.0, 4.0, 7.0, 7.0]
    >>> float(layer_norms(net, norm=3)[0])  # (3^3 + 4^3)^(1/3)
    4.497...
    """
    norm = _check_norm(norm)
    method = check_method(method)
    view = resolve_view(estimator, X, input_shape)
    return _layer_norms(view, norm, method, "layer_norms")


def _layer_norms(view: LayersView, norm: str | float, method: str, measure: str) -> np.ndarray:
    view.require_owned(measure)
    return np.array(
        [_weight_norm(layer, norm, method, layer.weight) for layer in view.layers],
        dtype=np.float64,
    )


def product_norm(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    norm: str | float = "fro",
    method: str = "exact",
) -> float:
    """Product of the layer norms, ``prod_i ||W_i||``.

    With ``norm="fro"`` this is the product of Frobenius norms (Neyshabur et al. 2015),
    with ``norm="spectral"`` the product of spectral norms that bounds the Lipschitz
    constant of a ReLU chain and enters the bound of Bartlett et al. (2017). Biases are not
    included; batch norm is folded into the weights first; a constant scaling ``k * x`` in
    ``forward`` is a layer of norm ``|k|`` (so the product does not depend on where the
    constant sits). A normalization (LayerNorm, GroupNorm, ...) lets the layers before it
    be rescaled without changing the function, so the product means nothing there: it
    raises :class:`~sklearn_gen.measures.UndefinedMeasureError`, as does a parameter
    outside the layers.

    Parameters
    ----------
    estimator : estimator or torch.nn.Module
        A fitted network estimator, a wrapper around one, or a module.
    X, y : ignored
    input_shape : tuple of int, optional
        One sample's shape, for a raw module that does not carry it.
    norm : {"fro", "spectral", "l1", "l21"} or float, default="fro"
        See :func:`layer_norms`.
    method : {"exact", "reshape"}, default="exact"
        See :func:`layer_norms`.

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(
    ...     torch.nn.Linear(2, 2, bias=False), torch.nn.ReLU(), torch.nn.Linear(2, 1, bias=False)
    ... )
    >>> net.input_shape = (2,)
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 4.0]]))
    ...     _ = net[2].weight.copy_(torch.tensor([[1.0, 1.0]]))
    >>> product_norm(net, norm="spectral")  # 4 * sqrt(2)
    5.656...
    """
    norm = _check_norm(norm)
    method = check_method(method)
    view = resolve_view(estimator, X, input_shape)
    view.require_no_normalization("product_norm")
    norms = _layer_norms(view, norm, method, "product_norm")
    constants = [op.lipschitz for op in view.ops if op.kind == "scale"]
    return float(np.prod(norms) * np.prod(constants))


def distance_from_init(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    norm: str | float = "fro",
    method: str = "exact",
    per_layer: bool = False,
    include_bias: bool = False,
    initial: Any = None,
) -> float | np.ndarray:
    """Distance of the trained weights from their initialization (Nagarajan & Kolter).

    Layer by layer, ``d_i = ||W_i - W_i^0||`` in the norm ``norm`` (see the module
    docstring), on the batch-norm-folded weights of the trained network and of the network
    at initialization (the estimator's ``initial_params_``, folded the same way). One
    rule combines the layers, whatever the norm: the Euclidean norm of the per-layer
    distances,

    .. math:: d = \\Big( \\sum_i \\|W_i - W_i^0\\|^2 \\Big)^{1/2}.

    A normalization's scale (LayerNorm's, GroupNorm's weight; its bias too with
    ``include_bias``) counts as one more term, the norm of its change as a vector, after
    the layers' terms; so with ``"fro"`` every parameter of the network counts.

    With ``"fro"`` (the default) this is the distance of the whole weight vector,
    ``||theta - theta^0||_2``, Nagarajan & Kolter's distance from initialization; with
    ``"fro"`` and ``"spectral"`` its square is Jiang et al.'s (2019) ``dist.fro.init`` /
    ``dist.spec.init``. ``per_layer=True`` returns the ``d_i`` for any other combination.

    Parameters
    ----------
    estimator : estimator
        A fitted :class:`~sklearn_gen.NetworkClassifier` (which records its initial
        weights), or a wrapper around one.
    X, y : ignored
    input_shape : tuple of int, optional
        One sample's shape, for a raw module that does not carry it.
    norm : {"fro", "spectral", "l1", "l21"} or float, default="fro"
    method : {"exact", "reshape"}, default="exact"
        For ``norm="spectral"`` on convolutions (see :func:`layer_norms`).
    per_layer : bool, default=False
        Return the array of the ``d_i`` instead of their combination.
    include_bias : bool, default=False
        Also count the biases' change: the bias difference is appended to the weight
        difference as one more input column (entry-wise norms and ``"l21"``). By default
        only the weights count, as in Nagarajan & Kolter's distance. Not available for
        ``norm="spectral"``.
    initial : torch.nn.Module or dict of str to torch.Tensor, optional
        The network at initialization or its ``state_dict()``, for a model that did not
        record them (a raw module, a skorch net without
        :class:`~sklearn_gen.networks.RecordInitialParams`); by default the estimator's
        ``initial_params_``.

    Returns
    -------
    float, or ndarray of shape (n_weight_layers,) when ``per_layer``

    Raises
    ------
    ValueError
        When the initial weights are unknown (a raw module without ``initial=``), or for
        ``include_bias=True`` with ``norm="spectral"``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_gen import NetworkClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> net = NetworkClassifier("mlp", module__hidden=(8,), max_epochs=1, device="cpu",
    ...                         random_state=0).fit(X / 16, y)
    >>> distance_from_init(net) > 0.0
    True
    >>> distance_from_init(net, per_layer=True).shape
    (2,)
    """
    norm = _check_norm(norm)
    method = check_method(method)
    if include_bias and norm == "spectral":
        raise ValueError(
            "include_bias=True is not available with norm='spectral'; use an entry-wise "
            "norm or 'l21'."
        )
    view = resolve_view(estimator, X, input_shape, initial)
    view.require_initial("distance_from_init")
    view.require_owned("distance_from_init")
    distances = []
    for layer in view.layers:
        delta_w = layer.weight.double() - layer.initial_weight.double()
        delta_b = None
        if include_bias and (layer.bias is not None or layer.initial_bias is not None):
            bias = layer.bias if layer.bias is not None else torch.zeros(layer.width)
            start = layer.initial_bias
            start = start if start is not None else torch.zeros(layer.width)
            delta_b = bias.double() - start.double()
        distances.append(_weight_norm(layer, norm, method, delta_w, delta_b))
    for op in view.ops:  # a normalization's scale (and shift): a vector of its own
        if op.kind == "norm" and op.params:
            distances.append(_vector_distance(view, op.params, norm, include_bias))
    per = np.array(distances, dtype=np.float64)
    if per_layer:
        return per
    return float(np.sqrt(np.sum(per**2)))


def _vector_distance(
    view: LayersView, paths: list[str], norm: str | float, include_bias: bool
) -> float:
    """``||v - v^0||`` of a normalization's weight (and bias), as vectors: entry-wise
    norms as they are, ``"spectral"`` the largest entry (a diagonal map's norm),
    ``"l21"`` the sum of absolute entries (the rows of a diagonal map)."""
    params = dict(view.module.named_parameters())
    kept = [p for p in paths if include_bias or not p.endswith("bias")]
    delta = torch.cat(
        [(params[p].detach().double() - view.initial_params[p].double()).reshape(-1) for p in kept]
    )
    if norm == "spectral":
        return float(delta.abs().max()) if len(delta) else 0.0
    order = 1.0 if norm == "l21" else _entrywise_order(norm)
    return float(torch.linalg.vector_norm(delta, ord=order))


#: Ops through which one forward pass of ``|w|^p`` on a ones input sums the paths.
_PATH_OPS = HOMOGENEOUS | {"input", "output"}


def _scale_paths(module: nn.Module, view: LayersView, p: float) -> None:
    """Make every constant scaling ``k`` of the traced copy a scaling by ``|k|^p``: a
    layer whose edges (unit to the same unit) weigh ``k``."""
    nodes = {node.name: node for node in module.graph.nodes}
    for op in view.ops:
        if op.kind == "scale":
            node = nodes[op.name]
            data = node.all_input_nodes[0]
            node.op, node.target = "call_function", operator.mul
            node.args, node.kwargs = (data, op.lipschitz**p), {}
    module.recompile()


def _require_path_graph(view: LayersView) -> None:
    if view.graph == "untraced":
        raise UndefinedMeasureError(
            "path_norm needs the network's graph (which ops connect its layers), and "
            f"{view.describe_graph()}."
        )
    for op in view.ops:
        if op.kind not in _PATH_OPS:
            raise UndefinedMeasureError(
                "path_norm is defined on graphs of linear layers (Linear, Conv, batch norm), "
                "ReLU, pooling, reshapes, constant scalings, residual sums and "
                "concatenations, where a forward "
                "pass of the weights' |w|^p on an all-ones input sums over the paths; "
                f"{view.name} has {op.describe()}, which is none of these."
            )


def path_norm(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    p: float = 2,
) -> float:
    r"""Path-ℓp norm of a network (Neyshabur et al. 2015; Jiang et al. 2019).

    .. math::

        \phi_p(w) = \Big( \sum_{\text{paths } \pi}
        \prod_{e \in \pi} |w_e|^p \Big)^{1/p},

    the sum over every path from an input unit to an output unit of the product of the
    ``p``-th powers of the absolute weights along it, a bias being a path that starts at its
    unit (``|b|^p`` times the weights after it). It is computed, as in Jiang et al. (2019),
    by one forward pass of the all-ones input through a copy of the network whose weights
    and biases are all replaced by ``|w|^p``, summing the outputs and taking the ``1/p``-th
    power. Defined on any graph of linear layers (Linear, Conv, batch norms: folded, or
    diagonal layers of their own), ReLU, pooling, reshapes, residual sums and
    concatenations: ReLUs are the identity on the non-negative values that then flow, and
    sums and concatenations add and stack path sums, so the pass is exactly the sum over
    paths (zero padding contributes no path; an identity shortcut is a path of weight 1;
    a constant scaling ``k * x`` in ``forward`` is a layer of edges of weight ``k``, run
    as ``|k|^p * x``).
    Pooling is applied as it is, as in Jiang et al.'s code: average pooling's ``1/k``
    enters each path as ``1/k`` (not ``(1/k)^p``), and max pooling keeps the *largest*
    path sum of its window instead of their sum, so on a network with max pooling the
    value is Jiang et al.'s formula rather than a sum over paths (a lower value). Any
    other op (another activation, a product of branches) raises
    :class:`~sklearn_gen.measures.UndefinedMeasureError`. Dropout is off (eval mode).
    The value without the root, as in Jiang et al.'s ``path.norm`` for ``p = 2``, is
    ``path_norm(...) ** p``.

    Parameters
    ----------
    estimator : estimator or torch.nn.Module
        A fitted network (any graph of the ops above), a wrapper around one, or a module.
    X, y : ignored
    input_shape : tuple of int, optional
        One sample's shape, for a raw module that does not carry it.
    p : float, default=2
        The order, ``1 <= p < inf``.

    Returns
    -------
    float

    Raises
    ------
    UndefinedMeasureError
        For a network with another op, or one ``torch.fx`` could not trace.
    ValueError
        For ``p`` out of range.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(
    ...     torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1, bias=False)
    ... )
    >>> net.input_shape = (2,)
    >>> with torch.no_grad():
    ...     _ = net[0].weight.fill_(1.0)
    ...     _ = net[0].bias.fill_(-1.0)
    ...     _ = net[2].weight.fill_(2.0)
    >>> path_norm(net, p=1)  # 4 weight paths of value 2, 2 bias paths of value 2
    12.0
    """
    p = _check_p(p)
    view = resolve_view(estimator, X, input_shape)
    _require_path_graph(view)
    view.require_owned("path_norm")
    module = copy.deepcopy(view.module).double().eval()
    _scale_paths(module, view, p)
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(param.abs().pow(p))
        out = module(torch.ones(1, *view.input_shape, dtype=torch.float64))
    total = float(out.sum())
    return float(total ** (1.0 / p))
