"""The graph of a network, as the measures read it: traced, every op classified, every
parameter owned, batch norm folded.

:func:`trace_network` turns any ``torch.nn.Module`` into what the measures need:

1. **Trace** a CPU copy in eval mode with :func:`torch.fx.symbolic_trace`; a model it
   cannot trace (a shape-dependent branch, ``if x.dim() == 2: ...``) is exported with
   :func:`torch.export.export` on a sample of the given shape (batch size left free), whose
   ATen graph is read the same way. One sample is run through the graph
   (:class:`torch.fx.passes.shape_prop.ShapeProp`) to learn the shape every op sees. A
   model neither can read (Python control flow on the values of the data) is run once with
   forward hooks instead, which record the order in which its modules run; a
   :class:`UntracedGraphWarning` says so, and the graph is then ``"untraced"``: the
   measures that need to know how the layers connect are undefined on it.
2. **Own the functional weights.** A functional Linear/Conv call on parameters
   (``F.linear(h, self.w, self.b)``, ``F.conv2d``, their ATen ops) becomes a call of an
   ``nn.Linear``/``nn.ConvNd`` holding the model's own parameters, and an ATen batch norm
   a batch norm module: each is then a layer like a module's.
3. **Batch norm anywhere.** A batch norm that is the only consumer of a Linear/Conv
   output is folded into that layer (:func:`torch.nn.utils.fusion.fuse_conv_bn_eval`,
   :func:`~torch.nn.utils.fusion.fuse_linear_bn_eval`); any other (a pre-activation batch
   norm, one after a sum) becomes a :class:`ChannelAffine`, the diagonal map that batch
   norm computes in eval mode, and counts as a layer of its own. A batch norm without
   running statistics raises.
4. **Classify** every op that carries the data (:class:`Op`): weight layers, diagonal
   layers, ReLU, other activations (:data:`ACTIVATIONS`: Lipschitz constant, positive
   homogeneity, ``f(0) = 0``), constant scalings (``k * x``, Lipschitz ``|k|``),
   normalizations (:data:`NORMALIZATIONS`), average and max pooling, reshapes (transposes
   included), identities (dropout in eval mode), residual sums, concatenations, and
   everything else as ``"other"``; every parameter is owned by a layer or a normalization,
   or listed in :attr:`TracedNetwork.unowned` with the op that reads it; and the graph as
   a whole (:data:`GRAPH_KINDS`): a ``"chain"`` (every op reads the one before it: a VGG
   with a flatten in ``forward`` is one), ``"residual"`` (branches joined by sums),
   ``"concatenating"`` (branches joined by concatenations, sums allowed), ``"general"``
   (branches joined otherwise, or several outputs) or ``"untraced"``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

__all__ = [
    "ACTIVATIONS",
    "GRAPH_KINDS",
    "HOMOGENEOUS",
    "NORMALIZATIONS",
    "ChannelAffine",
    "Op",
    "TracedNetwork",
    "UntracedGraphWarning",
    "fold_batch_norm",
    "is_normalization",
    "trace_network",
]

#: What :attr:`TracedNetwork.kind` may be.
GRAPH_KINDS = ("chain", "residual", "concatenating", "general", "untraced")

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
WEIGHT_LAYERS = (nn.Linear, *_CONVS)

#: Op kinds whose output is ``c * f(x)`` for an input ``c * x``, ``c > 0`` (the weight and
#: diagonal layers too, when their bias is scaled with them; a constant scaling ``k * x``).
HOMOGENEOUS = frozenset(
    {
        "weight",
        "diagonal",
        "relu",
        "avgpool",
        "maxpool",
        "reshape",
        "identity",
        "add",
        "cat",
        "scale",
    }
)

#: Op kinds of the normalizations (layer, group, instance norm, ``F.normalize``): their
#: output does not scale with their input, so a layer before one can be rescaled freely.
NORMALIZATIONS = ("layer_norm", "group_norm", "instance_norm", "normalize", "local_response_norm")

#: Activations other than ReLU: ``name -> (Lipschitz constant, positively homogeneous,
#: maps 0 to 0)``. GELU's constant is ``max_x Phi(x) + x phi(x)`` at ``x = sqrt(2)``, SiLU's
#: ``max_x s(x) (1 + x (1 - s(x)))`` at ``x = 2.3994`` (a test checks both with autograd);
#: LeakyReLU's and ELU's depend on their slope (``max(1, |a|)``, set where they are read).
ACTIVATIONS: dict[str, tuple[float, bool, bool]] = {
    "gelu": (1.1289, False, True),
    "silu": (1.0998, False, True),
    "tanh": (1.0, False, True),
    "sigmoid": (0.25, False, False),
    "hardtanh": (1.0, False, True),
    "relu6": (1.0, False, True),
    "softplus": (1.0, False, False),
    "elu": (1.0, False, True),
    "leaky_relu": (1.0, True, True),
}

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
WEIGHT_LAYERS = (nn.Linear, *_CONVS)

#: Module types by the op name their call is classified under.
_MODULE_NAMES: tuple[tuple[tuple[type[nn.Module], ...], str], ...] = (
    ((nn.ReLU,), "relu"),
    ((nn.GELU,), "gelu"),
    ((nn.SiLU,), "silu"),
    ((nn.Tanh,), "tanh"),
    ((nn.Sigmoid,), "sigmoid"),
    ((nn.Hardtanh,), "hardtanh"),  # ReLU6 is a Hardtanh
    ((nn.Softplus,), "softplus"),
    ((nn.ELU,), "elu"),
    ((nn.LeakyReLU,), "leaky_relu"),
    ((nn.LayerNorm,), "layer_norm"),
    ((nn.GroupNorm,), "group_norm"),
    ((nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d), "instance_norm"),
    ((nn.LocalResponseNorm,), "local_response_norm"),
    ((nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d), "avg_pool"),
    ((nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d), "avg_pool"),
    ((nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d), "max_pool"),
    ((nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d), "max_pool"),
    ((nn.Flatten, nn.Unflatten), "flatten"),
    ((nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d), "dropout"),
)

#: Op names (a function's, a Tensor method's or an ATen op's) by kind; any name not here
#: is ``"other"``.
_NAME_KINDS: dict[str, str] = {
    **dict.fromkeys(["add", "add_", "iadd"], "add"),
    **dict.fromkeys(["cat", "concat", "concatenate"], "cat"),
    **dict.fromkeys(
        [
            "view",
            "reshape",
            "_unsafe_view",
            "flatten",
            "unflatten",
            "squeeze",
            "unsqueeze",
            "contiguous",
            "transpose",
            "permute",
            "t",
            "movedim",
            "swapaxes",
        ],
        "reshape",
    ),
    **dict.fromkeys(["relu", "relu_"], "relu"),
    **dict.fromkeys(
        [
            "mean",
            "avg_pool",
            "avg_pool1d",
            "avg_pool2d",
            "avg_pool3d",
            "adaptive_avg_pool1d",
            "adaptive_avg_pool2d",
            "adaptive_avg_pool3d",
        ],
        "avgpool",
    ),
    **dict.fromkeys(
        [
            "max_pool",
            "max_pool1d",
            "max_pool2d",
            "max_pool3d",
            "adaptive_max_pool1d",
            "adaptive_max_pool2d",
            "adaptive_max_pool3d",
        ],
        "maxpool",
    ),
    **dict.fromkeys(
        [
            "dropout",
            "dropout_",
            "dropout1d",
            "dropout2d",
            "dropout3d",
            "feature_dropout",
            "alpha_dropout",
            "clone",
            "detach",
            "alias",
        ],
        "identity",
    ),
    **dict.fromkeys(["mul", "mul_", "imul", "truediv", "div", "div_", "itruediv", "neg"], "scale"),
    **dict.fromkeys(NORMALIZATIONS, "norm"),
    **dict.fromkeys(ACTIVATIONS, "activation"),
}

#: Functional (or ATen) weight ops, and the module each becomes once its weight is owned.
_FUNCTIONAL_LAYERS = {
    "linear": nn.Linear,
    "conv1d": nn.Conv1d,
    "conv2d": nn.Conv2d,
    "conv3d": nn.Conv3d,
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
        ``"input"``, ``"weight"`` (Linear/Conv, a module or a functional call on
        parameters), ``"diagonal"`` (a batch norm kept as a layer), ``"relu"``,
        ``"activation"`` (another activation, see :data:`ACTIVATIONS`), ``"scale"``
        (multiplication or division by a constant), ``"norm"`` (a normalization, see
        :data:`NORMALIZATIONS`), ``"avgpool"``, ``"maxpool"``, ``"reshape"`` (transposes
        included), ``"identity"`` (dropout in eval mode), ``"add"`` (a sum of two
        branches), ``"cat"``, ``"other"`` or ``"output"``.
    inputs : list of int
        Indices (in the list of ops) of the ops whose data it reads.
    module : str or None
        Path of the module it calls, if any.
    what : str
        What it is, for messages (e.g. ``"nn.ReLU6"`` or ``"torch.mul"``).
    lipschitz : float
        Its Lipschitz constant in the Euclidean norm where known (``|k|`` for a constant
        scaling ``k``; 1 for the layers, whose own norms are measured, and for reshapes,
        pooling and identities), ``nan`` for ``"other"``.
    homogeneous : bool
        Whether ``f(c x) = c f(x)`` for ``c > 0`` (kinds in :data:`HOMOGENEOUS` and
        LeakyReLU).
    zero_at_zero : bool
        Whether ``f(0) = 0`` (a bias-free layer's, a sigmoid's is not).
    params : list of str
        Paths of the parameters it reads (a normalization's affine weights, an unknown
        op's).
    """

    name: str
    kind: str
    inputs: list[int] = field(default_factory=list)
    module: str | None = None
    what: str = ""
    lipschitz: float = 1.0
    homogeneous: bool = True
    zero_at_zero: bool = True
    params: list[str] = field(default_factory=list)

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
        :class:`ChannelAffine`, every functional Linear/Conv call on parameters a module
        call (a ``torch.fx.GraphModule`` when traced).
    ops : list of Op
        Data-carrying ops in the order they run (empty when untraced).
    kind : str
        One of :data:`GRAPH_KINDS`.
    layers : list of tuple
        ``(module path, module, input shape, output shape)`` of every weight or diagonal
        layer, in the order they first run (a shared module once).
    folded : list of str
        Paths of the batch norms folded into the layer before them.
    unowned : list of tuple of str
        ``(parameter path, what reads it)`` for every parameter that no layer or
        normalization owns (read by an unknown op, or, untraced, by no layer module).
    tracer : str
        ``"fx"`` (:func:`torch.fx.symbolic_trace`), ``"export"``
        (:func:`torch.export.export`'s ATen graph) or ``"hooks"``.
    """

    module: nn.Module
    ops: list[Op]
    kind: str
    layers: list[tuple[str, nn.Module, tuple[int, ...], tuple[int, ...]]]
    folded: list[str]
    unowned: list[tuple[str, str]] = field(default_factory=list)
    tracer: str = "fx"


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
        f"(pass the shape of one sample, e.g. input_shape=(C, H, W) for images): "
        f"{type(exc).__name__}: {_first_line(exc)}"
    )


def _check_shape(module: nn.Module, input_shape: tuple[int, ...]) -> None:
    """Run one sample, so that a wrong shape is one line, not a tracer's traceback."""
    try:
        with torch.no_grad():
            module(torch.zeros(1, *input_shape))
    except Exception as exc:
        raise _shape_error(module, input_shape, exc) from None


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


def _function_name(target: Any) -> str:
    """The op name of a called function: an ATen op's name, a Python function's."""
    opname = getattr(target, "_opname", None)
    if isinstance(opname, str):
        return opname
    return str(getattr(target, "__name__", target))


def _fetch(gm: nn.Module, path: str) -> Any:
    owner, _, name = path.rpartition(".")
    return getattr(gm.get_submodule(owner) if owner else gm, name)


def _op_name(gm: fx.GraphModule, node: fx.Node) -> tuple[str, str]:
    """``(name, what)``: the name the op is classified under, and what it is for messages."""
    if node.op == "call_module":
        module = gm.get_submodule(node.target)
        what = f"nn.{type(module).__name__}"
        if isinstance(module, WEIGHT_LAYERS):
            return "<weight>", what
        if isinstance(module, ChannelAffine):
            return "<diagonal>", "batch norm"
        for types, name in _MODULE_NAMES:
            if isinstance(module, types):
                return name, what
        return "<other>", what
    if node.op == "call_method":
        return str(node.target), f"Tensor.{node.target}"
    name = _function_name(node.target)
    module_name = getattr(node.target, "__module__", "") or ""
    what = f"{module_name}.{name}".lstrip(".").replace("_operator.", "operator.")
    if hasattr(node.target, "_opname"):
        what = f"aten.{name}"
    return name, what


def _argument(node: fx.Node, index: int, keyword: str, default: Any) -> Any:
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(keyword, default)


def _constant_factor(name: str, node: fx.Node, data: fx.Node) -> float | None:
    """``k`` when ``node`` multiplies (divides) its one data input by the number ``k``."""
    if name == "neg":
        return -1.0
    others = [a for a in (*node.args, *node.kwargs.values()) if a is not data]
    if len(others) != 1 or isinstance(others[0], bool):
        return None
    if not isinstance(others[0], (int, float)):
        return None
    k = float(others[0])
    if name in ("mul", "mul_", "imul"):
        return k
    if node.args and node.args[0] is data and k != 0:  # x / k, never k / x
        return 1.0 / k
    return None


def _describe_kind(gm: fx.GraphModule, node: fx.Node, data: list[fx.Node]) -> dict[str, Any]:
    """The :class:`Op` fields (kind, what, Lipschitz constant, ...) of a data-carrying node."""
    if node.op == "placeholder":
        return {"kind": "input", "what": "input"}
    if node.op == "output":
        return {"kind": "output", "what": "output"}
    name, what = _op_name(gm, node)
    if name == "<weight>":
        return {"kind": "weight", "what": what}
    if name == "<diagonal>":
        return {"kind": "diagonal", "what": what}
    kind = _NAME_KINDS.get(name, "other")
    fields: dict[str, Any] = {"kind": kind, "what": what}
    module = gm.get_submodule(node.target) if node.op == "call_module" else None
    if kind == "add" and len({id(n) for n in data}) != 2:
        kind = "other"  # a tensor plus a constant or a parameter: an affine shift
    elif kind == "scale":
        k = _constant_factor(name, node, data[0]) if len(data) == 1 else None
        if k is None:
            kind = "other"  # a product of branches, or by a parameter
        else:
            fields.update(lipschitz=abs(k), what=f"{what} by {k:g}")
    elif kind == "activation":
        lipschitz, homogeneous, zero = ACTIVATIONS[name]
        if name == "leaky_relu":
            slope = module.negative_slope if module else _argument(node, 1, "negative_slope", 0.01)
            lipschitz = max(1.0, abs(float(slope)))
        elif name == "elu":
            alpha = module.alpha if module else _argument(node, 1, "alpha", 1.0)
            lipschitz = max(1.0, abs(float(alpha)))
        elif name == "hardtanh" and module is not None:
            zero = module.min_val <= 0.0 <= module.max_val
        fields.update(lipschitz=lipschitz, homogeneous=homogeneous, zero_at_zero=zero)
        return {**fields, "kind": kind}
    elif kind == "norm":
        return {**fields, "lipschitz": float("nan"), "homogeneous": False, "zero_at_zero": True}
    if kind == "other":
        return {
            **fields,
            "kind": kind,
            "lipschitz": float("nan"),
            "homogeneous": False,
            "zero_at_zero": False,
        }
    return {**fields, "kind": kind}


def _analyse(gm: fx.GraphModule) -> tuple[list[Op], str, list[tuple[str, str]]]:
    """The data-carrying ops of a shape-propagated graph, the graph's kind, and the
    parameters no layer or normalization owns."""
    paths = {id(p): name for name, p in gm.named_parameters()}
    index: dict[fx.Node, int] = {}
    reads: dict[fx.Node, set[int]] = {}  # parameters a non-data node is computed from
    ops: list[Op] = []
    read_by: list[set[int]] = []
    for node in gm.graph.nodes:
        data_inputs = [n for n in node.all_input_nodes if n in index]
        params: set[int] = set()
        if node.op == "get_attr":
            params = {id(_fetch(gm, node.target))} & paths.keys()
        elif node.op == "call_module":
            params = {id(p) for p in gm.get_submodule(node.target).parameters()}
        for n in node.all_input_nodes:
            params |= reads.get(n, set())
        if node.op == "placeholder":
            if ops:  # a second input: not a network of one sample
                raise ValueError("measures need a network with one input tensor.")
        elif not data_inputs or (node.op != "output" and "tensor_meta" not in node.meta):
            reads[node] = params  # a parameter, a computation on parameters, x.size(0), ...
            continue
        fields = _describe_kind(gm, node, data_inputs)
        module = node.target if node.op == "call_module" else None
        ops.append(
            Op(
                node.name,
                inputs=[index[n] for n in data_inputs],
                module=module,
                params=sorted(paths[i] for i in params),
                **fields,
            )
        )
        read_by.append(params)
        index[node] = len(ops) - 1
    owned = {
        i
        for op, ids in zip(ops, read_by, strict=True)
        if op.kind in ("weight", "diagonal", "norm")
        for i in ids
    }
    unowned = [
        (paths[i], op.describe())
        for op, ids in zip(ops, read_by, strict=True)
        for i in sorted(ids - owned, key=paths.get)
    ]
    return ops, _graph_kind(ops), unowned


def _graph_kind(ops: list[Op]) -> str:
    users = [0] * len(ops)
    for op in ops:
        for i in set(op.inputs):
            users[i] += 1
    output = ops[-1]
    joins = [op for op in ops if len(set(op.inputs)) > 1 and op.kind != "output"]
    if len(set(output.inputs)) > 1 or any(op.kind == "other" and len(op.inputs) > 1 for op in ops):
        return "general"
    if not joins and all(u <= 1 for u in users):
        return "chain"
    if all(op.kind == "add" for op in joins):
        return "residual"
    if all(op.kind in ("add", "cat") for op in joins):
        return "concatenating"
    return "general"


# ------------------------------------------------------------------- owning functional ops
_FUNCTIONAL_ARGS = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_BATCH_NORM_ARGS = (
    "input",
    "weight",
    "bias",
    "running_mean",
    "running_var",
    "training",
    "momentum",
    "eps",
)


def _arguments(node: fx.Node, names: tuple[str, ...]) -> dict[str, Any]:
    found = dict(zip(names, node.args, strict=False))
    found.update({k: v for k, v in node.kwargs.items() if k in names})
    return found


def _tensor_attr(gm: fx.GraphModule, arg: Any) -> Any:
    """The tensor a ``get_attr`` argument reads, None for None, else the sentinel False."""
    if arg is None:
        return None
    if isinstance(arg, fx.Node) and arg.op == "get_attr":
        return _fetch(gm, arg.target)
    return False


def _home(gm: fx.GraphModule, paths: list[str], names: set[str]) -> str | None:
    """The module that holds exactly these tensors (``bn`` for ``bn.weight``, ...), if the
    new layer may take its place and its name."""
    owners = {path.rpartition(".")[0] for path in paths}
    if len(owners) != 1 or "" in owners:
        return None
    owner = owners.pop()
    holder = gm.get_submodule(owner)
    own = {n for n, _ in holder.named_parameters(recurse=False)}
    own |= {n for n, _ in holder.named_buffers(recurse=False)}
    held = {path.rpartition(".")[2] for path in paths}
    if list(holder.children()) or not own <= names or held != own & held or not held <= names:
        return None
    return owner


def _new_name(gm: fx.GraphModule, paths: list[str], suffix: str) -> str:
    base = f"{paths[0].replace('.', '_')}_{suffix}"
    name, i = base, 1
    while hasattr(gm, name):
        name, i = f"{base}{i}", i + 1
    return name


def _functional_layer(gm: fx.GraphModule, node: fx.Node, name: str) -> nn.Module | None:
    args = _arguments(node, _FUNCTIONAL_ARGS)
    weight, bias = _tensor_attr(gm, args.get("weight")), _tensor_attr(gm, args.get("bias"))
    if not isinstance(weight, nn.Parameter) or bias is False:
        return None  # a weight computed in forward, a buffer: an op of its own ("other")
    if bias is not None and not isinstance(bias, nn.Parameter):
        return None
    cls = _FUNCTIONAL_LAYERS[name]
    if cls is nn.Linear:
        if weight.dim() != 2:
            return None
        layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, device="meta")
    else:
        groups = int(args.get("groups", 1))
        layer = cls(
            weight.shape[1] * groups,
            weight.shape[0],
            tuple(weight.shape[2:]),
            stride=args.get("stride", 1),
            padding=args.get("padding", 0),
            dilation=args.get("dilation", 1),
            groups=groups,
            bias=bias is not None,
            device="meta",
        )
    layer.weight = weight  # the model's own parameters: owned, not copied
    if bias is not None:
        layer.bias = bias
    return layer


def _batch_norm_layer(gm: fx.GraphModule, node: fx.Node) -> nn.Module | None:
    """An ATen ``batch_norm`` in eval mode on parameters, as the module it was."""
    args = _arguments(node, _BATCH_NORM_ARGS)
    tensors = {k: _tensor_attr(gm, args.get(k)) for k in _BATCH_NORM_ARGS[1:5]}
    if args.get("training", True) or any(v is False for v in tensors.values()):
        return None
    if tensors["running_mean"] is None:
        return None
    dims = node.args[0].meta["val"].dim() if "val" in node.args[0].meta else 4
    cls = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}[dims]
    bn = cls(
        tensors["running_mean"].shape[0],
        eps=float(args.get("eps", 1e-5)),
        affine=tensors["weight"] is not None,
    )
    if tensors["weight"] is not None:
        bn.weight, bn.bias = tensors["weight"], tensors["bias"]
    bn.running_mean = tensors["running_mean"]
    bn.running_var = tensors["running_var"]
    return bn.eval()


def _own_functional_ops(gm: fx.GraphModule) -> None:
    """Make every functional Linear/Conv call on parameters (``F.linear(h, self.w)``, an
    ATen ``linear``/``conv2d``) and every ATen batch norm a module call, sharing the
    model's own parameters, so that each is a layer of the view like a module's."""
    for node in list(gm.graph.nodes):
        if node.op != "call_function":
            continue
        name = _function_name(node.target)
        if name in _FUNCTIONAL_LAYERS:
            layer, names = _functional_layer(gm, node, name), {"weight", "bias"}
            keys = ("weight", "bias")
        elif name == "batch_norm":
            layer, names = (
                _batch_norm_layer(gm, node),
                {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"},
            )
            keys = _BATCH_NORM_ARGS[1:5]
        else:
            continue
        if layer is None:
            continue
        args = _arguments(node, ("input", *keys))
        attrs = [args[k] for k in keys if isinstance(args.get(k), fx.Node)]
        paths = [a.target for a in attrs]
        home = _home(gm, paths, names)
        target = home if home is not None else _new_name(gm, paths, name)
        _set_submodule(gm, target, layer.train(False))
        with gm.graph.inserting_before(node):
            call = gm.graph.call_module(target, (args["input"],))
        call.meta = dict(node.meta)
        node.replace_all_uses_with(call)
        gm.graph.erase_node(node)
        for attr in attrs:
            if not attr.users:
                gm.graph.erase_node(attr)
            still_read = any(n.op == "get_attr" and n.target == attr.target for n in gm.graph.nodes)
            if home is None and not still_read:  # the layer holds it now, under its name
                owner, _, leaf = attr.target.rpartition(".")
                delattr(gm.get_submodule(owner) if owner else gm, leaf)
    for node in list(gm.graph.nodes):  # tensors no op reads (a folded batch norm's count)
        if node.op == "get_attr" and not node.users:
            gm.graph.erase_node(node)
    gm.graph.lint()
    gm.recompile()


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


def _trace(
    module: nn.Module, gm: fx.GraphModule, input_shape: tuple[int, ...], tracer: str
) -> TracedNetwork:
    _own_functional_ops(gm)
    folded = _fold_traced(gm)
    try:  # ShapeProp prints the traceback of a failing op: not on the caller's stderr
        with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):
            ShapeProp(gm).propagate(torch.zeros(1, *input_shape))
    except Exception:
        _check_shape(gm, input_shape)  # the op's own error, in one line
        raise
    ops, kind, unowned = _analyse(gm)
    return TracedNetwork(gm, ops, kind, _traced_layers(gm), folded, unowned, tracer)


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """Keep torch.export's own logging (tracebacks of failed shape checks) off stderr."""
    logger = logging.getLogger("torch")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _export(module: nn.Module, input_shape: tuple[int, ...]) -> fx.GraphModule:
    """``torch.export``'s ATen graph of ``module`` on a sample, any batch size."""
    sample = torch.zeros(2, *input_shape)
    with _quiet_export(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(
            module, (sample,), dynamic_shapes=({0: torch.export.Dim.AUTO},), strict=False
        )
        gm = program.module()
    gm._forward_pre_hooks.clear()  # the input checks: the graph takes any batch size
    for name in [n for n, _ in gm.named_children() if n.startswith("_guards")]:
        nodes = [n for n in gm.graph.nodes if n.op == "call_module" and n.target == name]
        for node in nodes:
            gm.graph.erase_node(node)
        delattr(gm, name)
    gm.recompile()
    return gm


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
        raise _shape_error(module, input_shape, exc) from None
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
    owned = {id(p) for _, layer, *_ in layers for p in layer.parameters()}
    owned |= {id(p) for m in module.modules() if is_normalization(m) for p in m.parameters()}
    unowned = [
        (name, "no Linear/Conv module (the untraced forward uses it in a way not seen)")
        for name, p in module.named_parameters()
        if id(p) not in owned
    ]
    return TracedNetwork(module, [], "untraced", layers, [], unowned, "hooks")


def is_normalization(module: nn.Module) -> bool:
    """Whether ``module`` is a normalization (LayerNorm, GroupNorm, InstanceNorm, ...).

    Examples
    --------
    >>> is_normalization(nn.LayerNorm(3)), is_normalization(nn.BatchNorm1d(3))
    (True, False)
    """
    return any(
        isinstance(module, types) and name in NORMALIZATIONS for types, name in _MODULE_NAMES
    )


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
    _own_functional_ops(gm)
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
    except Exception as fx_error:
        _check_shape(copied, input_shape)
        try:
            gm = _export(_prepare(module), input_shape)
        except Exception as export_error:
            warnings.warn(
                f"neither torch.fx ({type(fx_error).__name__}: {fx_error}) nor torch.export "
                f"({type(export_error).__name__}: {_first_line(export_error)}) could trace "
                f"{type(module).__name__}; its layers were found by running one sample with "
                "forward hooks, so how they connect is unknown: every batch norm is its own "
                "diagonal layer, and the measures that need the graph (bounds, path norm, "
                "normalized loss) are undefined on it.",
                UntracedGraphWarning,
                stacklevel=3,
            )
            return _hooked(copied, input_shape)
        return _trace(copied, gm, input_shape, "export")
    return _trace(copied, gm, input_shape, "fx")


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""
