"""The graph of a network, as the measures read it: traced, batch norm folded, ops classified.

:func:`trace_network` turns any ``torch.nn.Module`` into what the measures need:

1. **Trace** a CPU copy in eval mode with :func:`torch.fx.symbolic_trace`, and run one
   sample through the traced graph (:class:`torch.fx.passes.shape_prop.ShapeProp`) to
   learn the shape every op sees. A model that cannot be traced (Python control flow on
   the data, ...) is run once with forward hooks instead, which record the order in which
   its modules run; a :class:`UntracedGraphWarning` says so, and the graph is then
   ``"untraced"``: the measures that need to know how the layers connect are undefined
   on it.
2. **Batch norm anywhere.** A batch norm that is the only consumer of a Linear/Conv
   output is folded into that layer (:func:`torch.nn.utils.fusion.fuse_conv_bn_eval`,
   :func:`~torch.nn.utils.fusion.fuse_linear_bn_eval`); any other (a pre-activation batch
   norm, one after a sum) becomes a :class:`ChannelAffine`, the diagonal map that batch
   norm computes in eval mode, and counts as a layer of its own. A batch norm without
   running statistics raises.
3. **Classify** every op that carries the data (:class:`Op`): weight layers (Linear,
   Conv1d/2d/3d, grouped and depthwise convs included), diagonal layers, ReLU, average and
   max pooling, reshapes, identities (dropout in eval mode), residual sums,
   concatenations, and everything else as ``"other"``; and the graph as a whole
   (:data:`GRAPH_KINDS`): a ``"chain"`` (every op reads the one before it: a VGG with a
   flatten in ``forward`` is one), ``"residual"`` (branches joined by sums),
   ``"concatenating"`` (branches joined by concatenations, sums allowed),
   ``"general"`` (branches joined otherwise, or several outputs) or ``"untraced"``.
"""

from __future__ import annotations

import copy
import operator
import warnings
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

__all__ = [
    "GRAPH_KINDS",
    "ChannelAffine",
    "Op",
    "TracedNetwork",
    "UntracedGraphWarning",
    "fold_batch_norm",
    "trace_network",
]

#: What :attr:`TracedNetwork.kind` may be.
GRAPH_KINDS = ("chain", "residual", "concatenating", "general", "untraced")

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
WEIGHT_LAYERS = (nn.Linear, *_CONVS)

#: Op kinds whose output is ``c * f(x)`` for an input ``c * x``, ``c > 0`` (the weight and
#: diagonal layers too, when their bias is scaled with them).
HOMOGENEOUS = frozenset(
    {"weight", "diagonal", "relu", "avgpool", "maxpool", "reshape", "identity", "add", "cat"}
)

_MODULE_KINDS: tuple[tuple[tuple[type[nn.Module], ...], str], ...] = (
    ((nn.ReLU,), "relu"),
    ((nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d), "avgpool"),
    ((nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d), "avgpool"),
    ((nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d), "maxpool"),
    ((nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d), "maxpool"),
    ((nn.Flatten, nn.Unflatten), "reshape"),
    ((nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d), "identity"),
)
_FUNCTION_KINDS: dict[Any, str] = {
    operator.add: "add",
    operator.iadd: "add",
    torch.add: "add",
    torch.cat: "cat",
    torch.concat: "cat",
    torch.flatten: "reshape",
    torch.reshape: "reshape",
    torch.squeeze: "reshape",
    torch.unsqueeze: "reshape",
    torch.relu: "relu",
    nn.functional.relu: "relu",
    torch.mean: "avgpool",
    nn.functional.avg_pool1d: "avgpool",
    nn.functional.avg_pool2d: "avgpool",
    nn.functional.avg_pool3d: "avgpool",
    nn.functional.adaptive_avg_pool1d: "avgpool",
    nn.functional.adaptive_avg_pool2d: "avgpool",
    nn.functional.adaptive_avg_pool3d: "avgpool",
    nn.functional.max_pool1d: "maxpool",
    nn.functional.max_pool2d: "maxpool",
    nn.functional.max_pool3d: "maxpool",
    nn.functional.adaptive_max_pool1d: "maxpool",
    nn.functional.adaptive_max_pool2d: "maxpool",
    nn.functional.dropout: "identity",
}
_METHOD_KINDS = {
    "view": "reshape",
    "reshape": "reshape",
    "flatten": "reshape",
    "squeeze": "reshape",
    "unsqueeze": "reshape",
    "contiguous": "reshape",
    "relu": "relu",
    "relu_": "relu",
    "mean": "avgpool",
    "add": "add",
    "add_": "add",
}


class UntracedGraphWarning(UserWarning):
    """The model could not be traced by ``torch.fx``; its layers were found with hooks.

    Examples
    --------
    >>> issubclass(UntracedGraphWarning, UserWarning)
    True
    """


class ChannelAffine(nn.Module):
    """A batch norm in eval mode as the diagonal map it computes: ``y = w[c] x + b[c]``.

    ``w = gamma / sqrt(running_var + eps)`` and ``b = beta - running_mean * w`` per channel
    (dimension 1 of the input), so a network with this module in place of its batch norm
    computes the same function; its operator norm is ``max |w|``.

    Parameters
    ----------
    weight, bias : torch.Tensor of shape (n_channels,)

    Examples
    --------
    >>> import torch
    >>> bn = torch.nn.BatchNorm2d(3).eval()
    >>> _ = torch.nn.init.uniform_(bn.weight)
    >>> x = torch.randn(2, 3, 4, 4)
    >>> torch.allclose(ChannelAffine.from_batch_norm(bn)(x), bn(x), atol=1e-6)
    True
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone(), requires_grad=False)
        self.bias = nn.Parameter(bias.detach().clone(), requires_grad=False)

    @classmethod
    def from_batch_norm(cls, bn: nn.Module) -> ChannelAffine:
        """The diagonal map of ``bn`` with its running statistics."""
        _check_running_stats(bn)
        scale = torch.rsqrt(bn.running_var.detach() + bn.eps)
        if bn.weight is not None:
            scale = scale * bn.weight.detach()
        shift = -bn.running_mean.detach() * scale
        if bn.bias is not None:
            shift = shift + bn.bias.detach()
        return cls(scale, shift)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scale and shift every channel of ``x`` (channels on dimension 1)."""
        shape = (1, -1, *([1] * (x.dim() - 2)))
        return x * self.weight.reshape(shape) + self.bias.reshape(shape)


def _check_running_stats(bn: nn.Module) -> None:
    if getattr(bn, "running_mean", None) is None or getattr(bn, "running_var", None) is None:
        raise ValueError(
            f"a batch norm ({type(bn).__name__}, track_running_stats=False) normalizes "
            "every batch by its own statistics, even in eval mode, so the network is not a "
            "fixed function of one sample and its layers have no norm: build it with "
            "track_running_stats=True (the default) and train it."
        )


@dataclass
class Op:
    """One op of the network's graph that carries the data.

    Attributes
    ----------
    name : str
        The node's name in the traced graph (or the module's path, untraced).
    kind : str
        ``"input"``, ``"weight"``, ``"diagonal"``, ``"relu"``, ``"avgpool"``,
        ``"maxpool"``, ``"reshape"``, ``"identity"``, ``"add"``, ``"cat"``, ``"other"``
        or ``"output"``.
    inputs : list of int
        Indices (in the list of ops) of the ops whose data it reads.
    module : str or None
        Path of the module it calls, if any.
    what : str
        What it is, for messages (e.g. ``"nn.ReLU6"`` or ``"torch.mul"``).
    """

    name: str
    kind: str
    inputs: list[int] = field(default_factory=list)
    module: str | None = None
    what: str = ""

    def describe(self) -> str:
        """``what`` and where, for messages."""
        where = self.module or self.name
        return f"{self.what or self.kind} at {where!r}"


@dataclass
class TracedNetwork:
    """What :func:`trace_network` returns.

    Attributes
    ----------
    module : torch.nn.Module
        The CPU copy, eval mode, no gradients, batch norms folded or replaced by
        :class:`ChannelAffine` (a ``torch.fx.GraphModule`` when traced).
    ops : list of Op
        Data-carrying ops in the order they run (empty when untraced).
    kind : str
        One of :data:`GRAPH_KINDS`.
    layers : list of tuple
        ``(module path, module, input shape, output shape)`` of every weight or diagonal
        layer, in the order they first run (a shared module once).
    folded : list of str
        Paths of the batch norms folded into the layer before them.
    """

    module: nn.Module
    ops: list[Op]
    kind: str
    layers: list[tuple[str, nn.Module, tuple[int, ...], tuple[int, ...]]]
    folded: list[str]


# ----------------------------------------------------------------------------- helpers
def _set_submodule(root: nn.Module, path: str, module: nn.Module) -> None:
    parent, _, name = path.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, name, module)


def _prepare(module: nn.Module) -> nn.Module:
    module = copy.deepcopy(module).to("cpu").float().eval()
    for param in module.parameters():
        param.requires_grad_(False)
    return module


def _shape_error(module: nn.Module, input_shape: tuple[int, ...], exc: Exception) -> ValueError:
    return ValueError(
        f"input_shape={input_shape} does not fit the network {type(module).__name__} "
        f"(pass the shape of one sample, e.g. input_shape=(C, H, W) for images): {exc}"
    )


# ----------------------------------------------------------------------------- tracing
def _fold_traced(gm: fx.GraphModule) -> list[str]:
    """Fold or replace every batch norm of ``gm`` in place; the paths of those folded."""
    calls: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    folded = []
    for node in list(gm.graph.nodes):
        if node.op != "call_module":
            continue
        bn = gm.get_submodule(node.target)
        if not isinstance(bn, _BATCH_NORMS):
            continue
        _check_running_stats(bn)
        source = node.args[0] if node.args else None
        layer = None
        if isinstance(source, fx.Node) and source.op == "call_module":
            layer = gm.get_submodule(source.target)
        foldable = (
            calls[node.target] == 1
            and layer is not None
            and isinstance(layer, WEIGHT_LAYERS)
            and calls[source.target] == 1
            and len(source.users) == 1
            and layer.weight.shape[0] == bn.num_features
            and (isinstance(layer, _CONVS) or isinstance(bn, nn.BatchNorm1d))
        )
        if foldable:
            fuse = fuse_linear_bn_eval if isinstance(layer, nn.Linear) else fuse_conv_bn_eval
            _set_submodule(gm, source.target, fuse(layer, bn))
            node.replace_all_uses_with(source)
            gm.graph.erase_node(node)
            folded.append(node.target)
        elif calls[node.target] == 1:
            _set_submodule(gm, node.target, ChannelAffine.from_batch_norm(bn))
        else:
            raise ValueError(
                f"the batch norm {node.target!r} runs {calls[node.target]} times in one "
                "forward pass; measures need each batch norm applied once."
            )
    gm.graph.lint()
    gm.delete_all_unused_submodules()
    gm.recompile()
    for param in gm.parameters():
        param.requires_grad_(False)
    return folded


def _classify(gm: fx.GraphModule, node: fx.Node, n_data_inputs: int) -> tuple[str, str]:
    """``(kind, what)`` of a data-carrying node."""
    if node.op == "placeholder":
        return "input", "input"
    if node.op == "output":
        return "output", "output"
    if node.op == "call_module":
        module = gm.get_submodule(node.target)
        what = f"nn.{type(module).__name__}"
        if isinstance(module, WEIGHT_LAYERS):
            return "weight", what
        if isinstance(module, ChannelAffine):
            return "diagonal", "batch norm"
        for types, kind in _MODULE_KINDS:
            if isinstance(module, types):
                return kind, what
        return "other", what
    target = node.target
    if node.op == "call_method":
        kind = _METHOD_KINDS.get(target, "other")
        what = f"Tensor.{target}"
    else:
        kind = _FUNCTION_KINDS.get(target, "other")
        what = f"{getattr(target, '__module__', '') or ''}.{getattr(target, '__name__', target)}"
        what = what.lstrip(".").replace("_operator.", "operator.")
    if kind == "add" and n_data_inputs != 2:
        kind = "other"  # a tensor plus a constant: an affine shift, not a residual sum
    return kind, what


def _analyse(gm: fx.GraphModule) -> tuple[list[Op], str]:
    """The data-carrying ops of a shape-propagated graph, and the graph's kind."""
    index: dict[fx.Node, int] = {}
    ops: list[Op] = []
    for node in gm.graph.nodes:
        data_inputs = [n for n in node.all_input_nodes if n in index]
        if node.op == "placeholder":
            if ops:  # a second input: not a network of one sample
                raise ValueError("measures need a network with one input tensor.")
        elif not data_inputs:
            continue
        elif node.op != "output" and "tensor_meta" not in node.meta:
            continue  # x.size(0), x.shape, ...: not the data
        kind, what = _classify(gm, node, len({id(n) for n in data_inputs}))
        module = node.target if node.op == "call_module" else None
        ops.append(Op(node.name, kind, [index[n] for n in data_inputs], module, what))
        index[node] = len(ops) - 1
    users = [0] * len(ops)
    for op in ops:
        for i in set(op.inputs):
            users[i] += 1
    output = ops[-1]
    joins = [op for op in ops if len(set(op.inputs)) > 1 and op.kind != "output"]
    if len(set(output.inputs)) > 1 or any(op.kind == "other" and len(op.inputs) > 1 for op in ops):
        kind = "general"
    elif not joins and all(u <= 1 for u in users):
        kind = "chain"
    elif all(op.kind == "add" for op in joins):
        kind = "residual"
    elif all(op.kind in ("add", "cat") for op in joins):
        kind = "concatenating"
    else:
        kind = "general"
    return ops, kind


def _traced_layers(gm: fx.GraphModule) -> list[tuple[str, nn.Module, tuple, tuple]]:
    layers, seen = [], set()
    for node in gm.graph.nodes:
        if node.op != "call_module" or node.target in seen:
            continue
        module = gm.get_submodule(node.target)
        if not isinstance(module, (*WEIGHT_LAYERS, ChannelAffine)):
            continue
        seen.add(node.target)
        source = node.args[0]
        shape_in = tuple(source.meta["tensor_meta"].shape[1:])
        shape_out = tuple(node.meta["tensor_meta"].shape[1:])
        layers.append((node.target, module, shape_in, shape_out))
    return layers


def _trace(module: nn.Module, gm: fx.GraphModule, input_shape: tuple[int, ...]) -> TracedNetwork:
    folded = _fold_traced(gm)
    try:
        with torch.no_grad():
            ShapeProp(gm).propagate(torch.zeros(1, *input_shape))
    except Exception as exc:
        raise _shape_error(module, input_shape, exc) from exc
    ops, kind = _analyse(gm)
    return TracedNetwork(gm, ops, kind, _traced_layers(gm), folded)


def _replace_batch_norms(module: nn.Module) -> None:
    for name, sub in list(module.named_modules()):
        if isinstance(sub, _BATCH_NORMS):
            _set_submodule(module, name, ChannelAffine.from_batch_norm(sub))


def _hooked(module: nn.Module, input_shape: tuple[int, ...]) -> TracedNetwork:
    """The untraced fallback: batch norms as diagonal layers, layers in the order they run."""
    _replace_batch_norms(module)
    names = {id(m): n for n, m in module.named_modules()}
    records: list[tuple[str, nn.Module, tuple, tuple]] = []

    def hook(mod, args, output):
        records.append((names[id(mod)], mod, tuple(args[0].shape[1:]), tuple(output.shape[1:])))

    handles = [
        m.register_forward_hook(hook)
        for m in module.modules()
        if isinstance(m, (*WEIGHT_LAYERS, ChannelAffine))
    ]
    try:
        with torch.no_grad():
            module(torch.zeros(1, *input_shape))
    except Exception as exc:
        raise _shape_error(module, input_shape, exc) from exc
    finally:
        for handle in handles:
            handle.remove()
    seen: set[str] = set()
    layers = []
    for record in records:  # a module run twice (weight sharing) counts once
        if record[0] not in seen:
            seen.add(record[0])
            layers.append(record)
    for param in module.parameters():
        param.requires_grad_(False)
    return TracedNetwork(module, [], "untraced", layers, [])


def fold_batch_norm(module: nn.Module) -> nn.Module:
    """A traced copy of ``module`` with its batch norms folded (eval statistics).

    A batch norm that is the only consumer of a Linear/Conv output is folded into that
    layer (``torch.nn.utils.fusion``); any other becomes a
    :class:`~sklearn_gen.measures.ChannelAffine`, the diagonal map it computes in eval
    mode. The copy computes what ``module`` computes in eval mode; ``module`` is not
    changed. A model ``torch.fx`` cannot trace keeps its structure, every batch norm
    replaced by a ``ChannelAffine``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).eval()
    >>> x = torch.randn(5, 3)
    >>> folded = fold_batch_norm(net)
    >>> torch.allclose(folded(x), net(x), atol=1e-6), type(net[1]).__name__
    (True, 'BatchNorm1d')
    >>> [type(m).__name__ for m in folded.children()]
    ['Linear']
    """
    copied = _prepare(module)
    try:
        gm = fx.symbolic_trace(copied)
    except Exception:
        _replace_batch_norms(copied)
        for param in copied.parameters():
            param.requires_grad_(False)
        return copied
    _fold_traced(gm)
    return gm


def trace_network(module: nn.Module, input_shape: tuple[int, ...]) -> TracedNetwork:
    """Trace a copy of ``module`` and read its graph (see the module docstring).

    The module itself is never changed (parameters, buffers, train/eval mode).

    Parameters
    ----------
    module : torch.nn.Module
    input_shape : tuple of int
        One sample's shape.

    Returns
    -------
    TracedNetwork

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
    ...                     nn.Linear(8, 3))
    >>> traced = trace_network(net, (1, 4, 4))
    >>> traced.kind, [op.kind for op in traced.ops], traced.folded
    ('chain', ['input', 'weight', 'relu', 'reshape', 'weight', 'output'], ['1'])
    """
    copied = _prepare(module)
    try:
        gm = fx.symbolic_trace(copied)
    except Exception as exc:
        warnings.warn(
            f"torch.fx could not trace {type(module).__name__} ({type(exc).__name__}: {exc}); "
            "its layers were found by running one sample with forward hooks, so how they "
            "connect is unknown: every batch norm is its own diagonal layer, and the measures "
            "that need the graph (bounds, path norm, normalized loss) are undefined on it.",
            UntracedGraphWarning,
            stacklevel=3,
        )
        return _hooked(copied, input_shape)
    return _trace(copied, gm, input_shape)
