"""The layers view: one way from any fitted estimator or model to the network's layers.

:func:`layers_view` unwraps ``GridSearchCV`` (``best_estimator_``), ``Pipeline`` (its last
step, the earlier steps becoming the input transform), meta-estimators with
``estimator_`` (:class:`~sklearn_gen.LabelNoise`, :class:`~sklearn_gen.RandomPretraining`),
any skorch net (``module_``) and raw ``torch.nn.Module`` objects. It reads the model's
*graph*, not its module nesting (:mod:`~sklearn_gen.measures._graph`): a CPU copy, traced
with ``torch.fx`` (or exported with ``torch.export``) in eval mode, every functional
Linear/Conv call on parameters a layer, every batch norm that only consumes a Linear/Conv
output folded into it and every other batch norm a diagonal layer of its own
(:class:`~sklearn_gen.measures.ChannelAffine`), every op classified and every parameter
owned by a layer or a normalization, or reported (:attr:`LayersView.unowned`). It returns
a :class:`LayersView`: that copy, its layers in the order data meets them (each with the
input shape it sees), the kind of graph (chain, residual, concatenating, ...), and the
same layers at initialization when the initial weights are known (an estimator's
``initial_params_``, recorded by :class:`~sklearn_gen.NetworkClassifier` or by the
:class:`~sklearn_gen.networks.RecordInitialParams` callback on any skorch net, or
``initial=``, a module or a state dict). Every measure takes the same first arguments,
``(estimator, X=None, y=None, *, input_shape=None)``, and reaches the network through
:func:`resolve_view`: a fitted estimator or wrapper, a raw module (``input_shape`` given,
set as ``module.input_shape``, or, for a flat network, read from ``X``) or a
:class:`LayersView` built earlier.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from sklearn_gen._wrappers import find_inner
from sklearn_gen.measures._cache import active_call, single_threaded, tensor_key
from sklearn_gen.measures._graph import (
    ChannelAffine,
    Op,
    fold_batch_norm,
    is_normalization,
    trace_network,
)
from sklearn_gen.measures._margin_utils import UndefinedMeasureError

__all__ = [
    "Layer",
    "LayersView",
    "fold_batch_norm",
    "layers_view",
    "resolve_view",
    "unwrap_network",
]

_CONV = {1: nn.functional.conv1d, 2: nn.functional.conv2d, 3: nn.functional.conv3d}
_CONV_T = {
    1: nn.functional.conv_transpose1d,
    2: nn.functional.conv_transpose2d,
    3: nn.functional.conv_transpose3d,
}

_GRAPH_WORDS = {
    "chain": "a chain",
    "residual": "a graph with residual sums",
    "concatenating": "a graph with concatenations",
    "general": "a branching graph",
    "untraced": "a network torch.fx and torch.export could not trace (how its layers connect "
    "is unknown)",
}


@dataclass
class Layer:
    """One layer with weights (batch norm folded in), as the network applies it.

    Attributes
    ----------
    name : str
        Dotted module path inside the network.
    module : torch.nn.Linear, torch.nn.Conv1d/2d/3d or ChannelAffine
        The module of the view's (folded) network; changing its weights changes the
        view's network.
    input_shape : tuple of int
        Shape of one input sample as this layer sees it: ``(in_features,)`` or ``(C, H, W)``.
    output_shape : tuple of int
    initial_weight, initial_bias : torch.Tensor or None
        The matching folded initial parameters (None when the initial weights are unknown).
    """

    name: str
    module: nn.Module
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    initial_weight: torch.Tensor | None = None
    initial_bias: torch.Tensor | None = None
    memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def is_own(self, weight: torch.Tensor) -> bool:
        """Whether ``weight`` is this layer's own weight, unchanged since it was read."""
        own = self.module.weight
        return (
            weight.data_ptr() == own.data_ptr()
            and weight.shape == own.shape
            and weight._version == own._version
        )

    @property
    def kind(self) -> str:
        """``"linear"``, ``"conv"`` or ``"diagonal"`` (a batch norm that stays a layer)."""
        if isinstance(self.module, ChannelAffine):
            return "diagonal"
        return "linear" if isinstance(self.module, nn.Linear) else "conv"

    @property
    def weight(self) -> torch.Tensor:
        """The weight; a diagonal layer's is the vector of its per-channel scales."""
        return self.module.weight.detach()

    @property
    def bias(self) -> torch.Tensor | None:
        bias = self.module.bias
        return None if bias is None else bias.detach()

    @property
    def matrix(self) -> torch.Tensor:
        """The weight as a matrix ``(out, fan_in)`` (a conv kernel reshaped)."""
        return self.weight.reshape(self.weight.shape[0], -1)

    @property
    def width(self) -> int:
        """Output units (features or channels)."""
        return int(self.weight.shape[0])

    @property
    def positions(self) -> int:
        """How many times each row of :attr:`matrix` is applied.

        The positions it slides over: a diagonal layer's spatial size, a Linear layer's
        leading dimensions (1 on flat inputs), a convolution's number of output pixels.
        """
        shape = self.input_shape if self.kind == "linear" else self.output_shape
        spatial = shape[:-1] if self.kind == "linear" else shape[1:]
        return int(np.prod(spatial)) if spatial else 1

    def _expand(self, weight: torch.Tensor, dim: int) -> torch.Tensor:
        return weight.reshape(-1, *([1] * (dim - 1)))

    def apply(self, x: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """This layer's linear map (no bias) with ``weight`` (default: its own) on ``x``."""
        weight = self.weight if weight is None else weight
        if self.kind == "linear":
            return x @ weight.T
        if self.kind == "diagonal":
            return x * self._expand(weight, len(self.input_shape))
        m = self.module
        conv = _CONV[weight.dim() - 2]
        return conv(x, weight, None, m.stride, m.padding, m.dilation, m.groups)

    def apply_adjoint(self, y: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """The adjoint map ``A^T y`` back to this layer's input shape."""
        weight = self.weight if weight is None else weight
        if self.kind == "linear":
            return y @ weight
        if self.kind == "diagonal":
            return y * self._expand(weight, len(self.input_shape))
        m = self.module
        conv_t = _CONV_T[weight.dim() - 2]
        spatial = self.input_shape[1:]
        # conv_transpose may come out smaller than the input when the stride does not
        # divide it: output_padding restores the exact shape of the forward map's domain
        base = conv_t(y, weight, None, m.stride, m.padding, 0, m.groups, m.dilation)
        pad = tuple(s - b for s, b in zip(spatial, base.shape[2:], strict=True))
        if not any(pad):
            return base
        return conv_t(y, weight, None, m.stride, m.padding, pad, m.groups, m.dilation)


@dataclass
class LayersView:
    """What measures need from a fitted network, in one place (see :func:`layers_view`).

    Attributes
    ----------
    module : torch.nn.Module
        CPU copy of the trained network, eval mode, batch norm folded, functional
        Linear/Conv calls on parameters made module calls (a ``torch.fx.GraphModule`` when
        traced): a snapshot of the model when the view was built. The measures given the
        view share its forward passes (:meth:`logits`), so treat it as read-only (a weight
        changed in place is noticed, and the pass run again).
    layers : list of Layer
        Layers with weights (Linear, Conv, and batch norms that could not be folded, as
        diagonal layers) in the order data meets them.
    graph : str
        ``"chain"``, ``"residual"``, ``"concatenating"``, ``"general"`` or
        ``"untraced"`` (see :mod:`~sklearn_gen.measures._graph`).
    ops : list of Op
        The data-carrying ops of the traced graph, in order (empty when untraced).
    input_shape : tuple of int
        One sample's shape as the network takes it.
    classes : ndarray or None
        The network's ``classes_`` (labels in the order of its outputs).
    transform : callable or None
        The preprocessing before the network (a Pipeline's earlier steps).
    initial_module : torch.nn.Module or None
        The network at initialization (folded), when its initial weights are known.
    folded : list of str
        The batch norms folded into the layer before them.
    name : str
        The network's class name, for messages.
    unowned : list of tuple of str
        ``(parameter path, what reads it)`` of the parameters that no layer or
        normalization owns (a weight computed in ``forward``, a learned scale, ...).
    tracer : str
        What read the graph: ``"fx"``, ``"export"`` or ``"hooks"``.
    initial_params : dict of str to torch.Tensor
        The initial values of the normalizations' parameters (LayerNorm's, GroupNorm's
        weight and bias), by path, when the initial weights are known.
    """

    module: nn.Module
    layers: list[Layer]
    graph: str
    input_shape: tuple[int, ...]
    ops: list[Op] = field(default_factory=list)
    classes: np.ndarray | None = None
    transform: Any = None
    initial_module: nn.Module | None = None
    folded: list[str] = field(default_factory=list)
    name: str = field(default="network")
    unowned: list[tuple[str, str]] = field(default_factory=list)
    tracer: str = "fx"
    initial_params: dict[str, torch.Tensor] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_chain(self) -> bool:
        """Whether every op reads the op before it (``graph == "chain"``)."""
        return self.graph == "chain"

    def describe_graph(self) -> str:
        """The graph's kind in words, with the first join that makes it so."""
        words = f"{self.name} is {_GRAPH_WORDS[self.graph]}"
        joins = [op for op in self.ops if len(set(op.inputs)) > 1 and op.kind != "output"]
        if joins:
            words += f" (first join: {joins[0].describe()})"
        return words

    def require_chain(self, measure: str, why: str) -> None:
        """Raise :class:`UndefinedMeasureError` when ``measure`` needs a chain.

        ``why`` states the assumption (e.g. the theorem that multiplies over the layers).
        """
        if not self.is_chain:
            raise UndefinedMeasureError(
                f"{measure} is defined for chain networks only: {why}; {self.describe_graph()}."
            )

    def require_owned(self, measure: str) -> None:
        """Raise :class:`UndefinedMeasureError` when a parameter belongs to no layer.

        A measure over the layers would otherwise leave that parameter out.
        """
        if self.unowned:
            path, reader = self.unowned[0]
            more = f" (and {len(self.unowned) - 1} more)" if len(self.unowned) > 1 else ""
            raise UndefinedMeasureError(
                f"{measure} needs every parameter of {self.name} in a layer (a Linear/Conv "
                f"module or functional call on parameters, a batch norm); the parameter "
                f"{path!r}{more} is read by {reader}, which is not one."
            )

    def normalizations(self) -> list[str]:
        """The normalizations of the graph (LayerNorm, GroupNorm, ...), described."""
        if self.graph == "untraced":
            return [
                f"nn.{type(m).__name__} at {name!r}"
                for name, m in self.module.named_modules()
                if is_normalization(m)
            ]
        return [op.describe() for op in self.ops if op.kind == "norm"]

    def require_ops(self, measure: str, allowed: Any, why: str) -> None:
        """Raise :class:`UndefinedMeasureError` naming the first op ``allowed(op)`` refuses.

        ``why`` states the assumption the op breaks. On an untraced network the
        normalizations found among its modules are refused by name.
        """
        for op in self.ops:
            if op.kind not in ("input", "output") and not allowed(op):
                raise UndefinedMeasureError(
                    f"{measure}: {why}; {self.name} has {op.describe()}, which breaks it."
                )
        if self.graph == "untraced" and not allowed(Op("", "norm")):
            found = self.normalizations()
            if found:
                raise UndefinedMeasureError(
                    f"{measure}: {why}; {self.name} has {found[0]}, which breaks it."
                )

    def require_no_normalization(self, measure: str) -> None:
        """Raise when a normalization undoes the scale of the layers before it."""
        self.require_ops(
            measure,
            lambda op: op.kind != "norm",
            "it needs the layers' norms to set the network's scale, and a normalization "
            "undoes the scale of the layers before it (they can be rescaled freely)",
        )

    def lipschitz_factor(self) -> float:
        """The product of the Lipschitz constants of the ops between the layers.

        ``rho`` of every activation other than ReLU (GELU's 1.13, ...) and ``|k|`` of every
        constant scaling; 1 on a graph of ReLUs, pooling and reshapes. Meant for chains.
        """
        return float(
            np.prod([op.lipschitz for op in self.ops if op.kind in ("activation", "scale")])
        )

    def require_initial(self, measure: str, *, zero_reference: bool = False) -> None:
        """Raise a clear ValueError when ``measure`` needs the initial weights.

        ``zero_reference``: the measure also takes ``reference="zero"``, which the message
        then offers.
        """
        if self.initial_module is None:
            instead = (
                ", or pass reference='zero' to use the weights themselves" if zero_reference else ""
            )
            raise ValueError(
                f"{measure} needs the initial weights, but none are known for {self.name}: "
                "pass initial= (the module at initialization or its state_dict), fit a "
                "NetworkClassifier (which records initial_params_), or give a skorch net "
                f"the callback sklearn_gen.networks.RecordInitialParams(){instead}."
            )

    def inputs(self, X: Any) -> torch.Tensor:
        """Samples as the network takes them: preprocessed, float32, reshaped."""
        if X is None:
            raise ValueError("this measure needs the data X.")
        if self.transform is not None:
            X = self.transform(X)
        try:
            array = np.asarray(X, dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"X must be numeric, could not convert it to float: {exc}") from None
        if array.ndim > 2 and tuple(array.shape[1:]) == self.input_shape:
            array = array.reshape(len(array), -1)  # samples as the network takes them
        if array.ndim != 2:
            raise ValueError(
                f"X must be 2-D (n_samples, n_features) or (n_samples, *{self.input_shape}), "
                f"got shape {array.shape}."
            )
        if len(array) == 0:
            raise ValueError("X has 0 samples; this measure needs at least one.")
        if not np.all(np.isfinite(array)):
            raise ValueError("X contains NaN or infinity.")
        n_features = int(np.prod(self.input_shape))
        if array.shape[1] != n_features:
            raise ValueError(f"X has {array.shape[1]} features but the network takes {n_features}.")
        return torch.as_tensor(array).reshape(len(array), *self.input_shape)

    def targets(self, y: Any) -> torch.Tensor:
        """Labels as output indices of the network (``classes`` order)."""
        if y is None:
            raise ValueError("this measure needs the labels y.")
        y = np.asarray(y)
        if self.classes is None:
            return torch.as_tensor(y, dtype=torch.long)
        index = np.searchsorted(self.classes, y)
        index = np.clip(index, 0, len(self.classes) - 1)
        if not np.all(self.classes[index] == y):
            raise ValueError("y contains labels the network was not trained on.")
        return torch.as_tensor(index, dtype=torch.long)

    def sample(
        self,
        X: Any,
        y: Any,
        measure: str,
        max_samples: int | None = None,
        rng: np.random.RandomState | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """Inputs and targets of a measure's sample, subsampled to ``max_samples`` rows.

        The rows kept are drawn without replacement by ``rng`` and kept in their order.
        Returns ``(x, target, subsampled)``.
        """
        x, target = self.inputs(X), self.targets(y)
        if len(x) != len(target):
            raise ValueError(f"{measure}: X has {len(x)} samples but y has {len(target)} labels.")
        if max_samples is None or len(x) <= max_samples:
            return x, target, False
        keep = torch.as_tensor(np.sort(rng.choice(len(x), max_samples, replace=False)))
        return x[keep], target[keep], True

    def logits(self, X: Any, module: nn.Module | None = None, chunk: int = 128) -> torch.Tensor:
        """Outputs of ``module`` (default: the view's network) on ``X``, float64.

        Kept in the view: the measures given this view (or the scorers of one scoring
        call, which share one) run one forward pass of a network over the same inputs.
        The pass runs again when a parameter of ``module`` was changed in place.
        """
        module = self.module if module is None else module
        x = self.inputs(X)
        state = tuple(t._version for t in (*module.parameters(), *module.buffers()))
        key = ("logits", id(module), tensor_key(x))
        found = self.memo.get(key)
        if found is None or found[0] is not module or found[1] != state:
            found = (module, state, _forward(module, x, chunk))
            self.memo[key] = found
        return found[2].clone()


@torch.no_grad()
def _forward(module: nn.Module, x: torch.Tensor, chunk: int) -> torch.Tensor:
    out = [module(x[i : i + chunk]).double() for i in range(0, len(x), chunk)]
    return torch.cat(out) if out else torch.zeros(0, 0, dtype=torch.float64)


def _view_layers(traced: list[tuple]) -> list[Layer]:
    return [Layer(name, mod, shape_in, shape_out) for name, mod, shape_in, shape_out in traced]


def _build(
    module: nn.Module, shape: tuple[int, ...], initial: dict[str, torch.Tensor] | None
) -> tuple[Any, list[Layer], nn.Module | None, dict[str, torch.Tensor]]:
    """The traced copy, its layers, the folded initial network and the initial values of
    the normalizations' parameters."""
    with single_threaded():  # one-sample passes: too small for a team of threads
        traced = trace_network(module, shape)
        layers = _view_layers(traced.layers)
        if initial is None:
            return traced, layers, None, {}
        start = copy.deepcopy(module).to("cpu")
        try:
            start.load_state_dict({k: v.to("cpu") for k, v in initial.items()})
        except (RuntimeError, KeyError) as exc:
            raise ValueError(
                "initial= does not match the network: pass the module at "
                f"initialization or its state_dict(), with the same keys and shapes ({exc})"
            ) from None
        first = trace_network(start, shape)
        by_name = {name: mod for name, mod, *_ in first.layers}
        for layer in layers:
            start_layer = by_name[layer.name]
            layer.initial_weight = start_layer.weight.detach()
            bias = start_layer.bias
            layer.initial_bias = None if bias is None else bias.detach()
        params = dict(first.module.named_parameters())
        norm_params = {
            path: params[path].detach()
            for op in traced.ops
            if op.kind == "norm"
            for path in op.params
        }
    return traced, layers, first.module, norm_params


# ------------------------------------------------------------------------------- unwrapping
def unwrap_network(estimator: Any) -> tuple[Any, Any]:
    """The network estimator (or module) inside wrappers, and the transform before it.

    Returns
    -------
    network : estimator or torch.nn.Module
        The innermost object with a ``module_`` (or the module itself).
    transform : callable or None
        The preprocessing a Pipeline applies before it.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Linear(2, 2)
    >>> unwrap_network(net) == (net, None)
    True
    """
    found, transform = find_inner(
        estimator, lambda obj: isinstance(obj, nn.Module) or hasattr(obj, "module_")
    )
    if found is not None:
        return found, transform
    raise TypeError(
        "measures need a fitted network: a NetworkClassifier (or skorch net), a Pipeline "
        "ending in one, a LabelNoise/RandomPretraining/GridSearchCV around one, a "
        "torch.nn.Module (with input_shape=...) or a LayersView; got "
        f"{type(estimator).__name__}. Was it fitted?"
    )


def _initial_state(initial: Any) -> dict[str, torch.Tensor] | None:
    """``initial=`` as a state dict (a module's, or the mapping given)."""
    if initial is None:
        return None
    if isinstance(initial, nn.Module):
        return {k: v.detach() for k, v in initial.state_dict().items()}
    if isinstance(initial, Mapping) and all(isinstance(v, torch.Tensor) for v in initial.values()):
        return dict(initial)
    raise TypeError(
        "initial must be the network at initialization (a torch.nn.Module) or its "
        f"state_dict() (a mapping of names to tensors), got {type(initial).__name__}."
    )


def _declared_shape(net: Any, module: nn.Module) -> Any:
    """The sample shape the estimator or module declares, or None."""
    shape = None if isinstance(net, nn.Module) else getattr(net, "input_shape_", None)
    return shape if shape is not None else getattr(module, "input_shape", None)


def layers_view(
    estimator: Any, input_shape: tuple[int, ...] | None = None, *, initial: Any = None
) -> LayersView:
    """The :class:`LayersView` of a fitted network estimator or a module.

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
        A fitted NetworkClassifier or any skorch net, a Pipeline ending in one, a
        LabelNoise / RandomPretraining / GridSearchCV around one, a module, or a view
        (returned as it is).
    input_shape : tuple of int, optional
        One sample's shape, ``(n_features,)`` or ``(C, H, W)``; needed for a raw module
        or skorch net that does not declare it (an ``input_shape`` attribute).
    initial : torch.nn.Module or dict of str to torch.Tensor, optional
        The network at initialization, or its ``state_dict()``; by default the
        estimator's ``initial_params_`` when it has them.

    Returns
    -------
    LayersView

    Examples
    --------
    >>> from sklearn_gen.networks.architectures import MLP
    >>> view = layers_view(MLP(4, 3, hidden=(5,)))
    >>> view.graph, [(layer.kind, layer.input_shape) for layer in view.layers]
    ('chain', [('linear', (4,)), ('linear', (5,))])
    """
    if isinstance(estimator, LayersView):
        if input_shape is not None and tuple(input_shape) != estimator.input_shape:
            raise ValueError(
                f"input_shape={tuple(input_shape)} differs from the LayersView's "
                f"{estimator.input_shape}; build a new view with layers_view(module, "
                "input_shape=...)."
            )
        if initial is not None:
            raise ValueError(
                "initial= cannot be added to a LayersView built earlier; build a new view "
                "with layers_view(model, initial=...)."
            )
        return estimator
    start = _initial_state(initial)
    net, transform = unwrap_network(estimator)
    classes = None
    if isinstance(net, nn.Module):
        module = net
    else:
        module = net.module_
        classes = np.asarray(net.classes_) if getattr(net, "classes_", None) is not None else None
        if start is None:
            start = getattr(net, "initial_params_", None)
    shape = input_shape if input_shape is not None else _declared_shape(net, module)
    if shape is None:
        raise ValueError(
            f"input_shape is needed: the {type(module).__name__} module does not say what "
            "one sample's shape is. Pass input_shape=(n_features,) or input_shape=(C, H, W) "
            "to the measure or scorer (or set module.input_shape)."
        )
    shape = tuple(int(s) for s in np.atleast_1d(shape))
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"input_shape must be positive integers, got {shape}.")
    traced, layers, initial_module, initial_params = _build(module, shape, start)
    view = LayersView(
        module=traced.module,
        layers=layers,
        graph=traced.kind,
        input_shape=shape,
        ops=traced.ops,
        classes=classes,
        transform=transform,
        initial_module=initial_module,
        folded=traced.folded,
        name=type(module).__name__,
        unowned=traced.unowned,
        tracer=traced.tracer,
        initial_params=initial_params,
    )
    for layer in layers:  # the conv layers' spectral norms, shared like the logits
        layer.memo = view.memo
    return view


def resolve_view(
    estimator: Any, X: Any = None, input_shape: Any = None, initial: Any = None
) -> LayersView:
    """The view every measure uses: :func:`layers_view`, with the shape read from ``X``.

    A network that does not say what it takes (a raw module or skorch net without an
    ``input_shape`` attribute, none given) takes the samples as ``X`` gives them (after a
    Pipeline's transforms): one row, shape ``(n_features,)``, of a 2-D ``X``, or one image,
    ``X.shape[1:]``, of an array of images (as a skorch net on images is fitted). An image
    network fed flat rows needs ``input_shape=(C, H, W)``.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 2))
    >>> resolve_view(net, X=[[0.0, 1.0, 2.0]]).input_shape
    (3,)
    """
    if input_shape is None and X is not None and not isinstance(estimator, LayersView):
        net, transform = unwrap_network(estimator)
        module = net if isinstance(net, nn.Module) else net.module_
        if _declared_shape(net, module) is None:
            rows = X if transform is None else transform(X)
            shape = np.shape(rows)
            if shape and shape[0] == 0:
                raise ValueError("X has 0 samples; this measure needs at least one.")
            if len(shape) >= 2:
                input_shape = tuple(int(s) for s in shape[1:])
    call = active_call(estimator, X)
    if call is None:
        return layers_view(estimator, input_shape=input_shape, initial=initial)
    # inside a scoring call: the one view of this estimator, shared by its scorers
    key = (None if input_shape is None else tuple(np.atleast_1d(input_shape)), id(initial))
    if key not in call.views:
        call.views[key] = (initial, layers_view(estimator, input_shape, initial=initial))
    return call.views[key][1]
