"""The layers view: one way from any fitted estimator to the network's weight layers.

:func:`layers_view` unwraps ``GridSearchCV`` (``best_estimator_``), ``Pipeline`` (its last
step, the earlier steps becoming the input transform), meta-estimators with
``estimator_`` (:class:`~sklearn_gen.LabelNoise`, :class:`~sklearn_gen.RandomPretraining`),
skorch networks (``module_``) and raw ``torch.nn.Module`` objects. It returns a
:class:`LayersView`: a CPU copy of the module in eval mode with every batch norm folded into
the Linear/Conv2d right before it, the weight layers in forward order (each with the input
shape it sees, its stride and padding), and the same for the initial weights when the
estimator kept them (``initial_params_``). Every measure takes the same first arguments,
``(estimator, X=None, y=None, *, input_shape=None)``, and reaches the network through
:func:`resolve_view`: a fitted estimator or wrapper, a raw module (``input_shape`` given,
set as ``module.input_shape``, or, for a flat network, read from ``X``) or a
:class:`LayersView` built earlier.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from sklearn_gen._wrappers import find_inner
from sklearn_gen.measures._cache import _digest, cached, module_key, single_threaded, tensor_key
from sklearn_gen.networks.architectures import is_chain

__all__ = [
    "Layer",
    "LayersView",
    "fold_batch_norm",
    "layers_view",
    "resolve_view",
    "unwrap_network",
]

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
_WEIGHT_LAYERS = (nn.Linear, nn.Conv2d)


@dataclass
class Layer:
    """One weight layer (batch norm folded in), as the network applies it.

    Attributes
    ----------
    name : str
        Dotted module path inside the network.
    module : torch.nn.Linear or torch.nn.Conv2d
        The (folded) module of the view's network; changing its weights changes the view's
        network.
    input_shape : tuple of int
        Shape of one input sample as this layer sees it: ``(in_features,)`` or ``(C, H, W)``.
    output_shape : tuple of int
    initial_weight, initial_bias : torch.Tensor or None
        The matching folded initial parameters (None when the estimator kept none).
    """

    name: str
    module: nn.Module
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    initial_weight: torch.Tensor | None = None
    initial_bias: torch.Tensor | None = None

    @property
    def kind(self) -> str:
        """``"linear"`` or ``"conv"``."""
        return "conv" if isinstance(self.module, nn.Conv2d) else "linear"

    @property
    def weight(self) -> torch.Tensor:
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

    def apply(self, x: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """This layer's linear map (no bias) with ``weight`` (default: its own) on ``x``."""
        weight = self.weight if weight is None else weight
        if self.kind == "linear":
            return x @ weight.T
        m = self.module
        return nn.functional.conv2d(x, weight, None, m.stride, m.padding, m.dilation, m.groups)

    def apply_adjoint(self, y: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """The adjoint map ``A^T y`` back to this layer's input shape."""
        weight = self.weight if weight is None else weight
        if self.kind == "linear":
            return y @ weight
        m = self.module
        h, w = self.input_shape[1:]
        # conv_transpose2d may come out smaller than the input when the stride does not
        # divide it: output_padding restores the exact shape of the forward map's domain
        base = nn.functional.conv_transpose2d(
            y, weight, None, m.stride, m.padding, 0, m.groups, m.dilation
        )
        pad = (h - base.shape[-2], w - base.shape[-1])
        if pad == (0, 0):
            return base
        return nn.functional.conv_transpose2d(
            y, weight, None, m.stride, m.padding, pad, m.groups, m.dilation
        )


@dataclass
class LayersView:
    """What measures need from a fitted network, in one place (see :func:`layers_view`).

    Attributes
    ----------
    module : torch.nn.Module
        CPU copy of the trained network, eval mode, batch norm folded. Memoized: the
        views of the same parameters share it, so treat it as read-only (a copy changed
        in place is noticed by its fingerprint and rebuilt by the next view).
    layers : list of Layer
        Weight layers in forward order.
    is_chain : bool
        Whether the network is a chain (flat ``nn.Sequential``), which the layer-product
        bounds need.
    input_shape : tuple of int
        One sample's shape as the network takes it.
    classes : ndarray or None
        The network's ``classes_`` (labels in the order of its outputs).
    transform : callable or None
        The preprocessing before the network (a Pipeline's earlier steps).
    initial_module : torch.nn.Module or None
        The network at initialization (folded), when the estimator kept ``initial_params_``.
    """

    module: nn.Module
    layers: list[Layer]
    is_chain: bool
    input_shape: tuple[int, ...]
    classes: np.ndarray | None = None
    transform: Any = None
    initial_module: nn.Module | None = None
    name: str = field(default="network")

    def require_chain(self, measure: str) -> None:
        """Raise a clear ValueError when ``measure`` needs a chain and this is not one."""
        if not self.is_chain:
            raise ValueError(
                f"{measure} needs a chain network (a flat nn.Sequential of layers, such as "
                f"'mlp', 'deep_fc', 'convnet', 'small_alexnet'); {self.name} branches."
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
                f"{measure} needs the initial weights, but {self.name} kept none: fit a "
                f"NetworkClassifier (which records initial_params_){instead}."
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
        if array.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {array.shape}.")
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

    def logits(self, X: Any, module: nn.Module | None = None, chunk: int = 128) -> torch.Tensor:
        """Outputs of ``module`` (default: the view's network) on ``X``, float64.

        Memoized (:mod:`~sklearn_gen.measures._cache`): measures that need the logits of
        the same network (same parameters) on the same inputs share one forward pass.
        """
        module = self.module if module is None else module
        x = self.inputs(X)
        key = ("logits", module_key(module), tensor_key(x))
        return cached(key, lambda: _forward(module, x, chunk)).clone()


@torch.no_grad()
def _forward(module: nn.Module, x: torch.Tensor, chunk: int) -> torch.Tensor:
    out = [module(x[i : i + chunk]).double() for i in range(0, len(x), chunk)]
    return torch.cat(out) if out else torch.zeros(0, 0, dtype=torch.float64)


# ------------------------------------------------------------------------------- folding
def _fold_into(layer: nn.Module, bn: nn.Module) -> None:
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias.detach() - bn.running_mean * scale
    with torch.no_grad():
        layer.weight.mul_(scale.reshape(-1, *([1] * (layer.weight.dim() - 1))))
        bias = layer.bias.detach() if layer.bias is not None else torch.zeros_like(shift)
        new_bias = bias * scale + shift
        if layer.bias is None:
            layer.bias = nn.Parameter(new_bias)
        else:
            layer.bias.copy_(new_bias)


def fold_batch_norm(module: nn.Module) -> nn.Module:
    """Fold every batch norm (eval statistics) into the Linear/Conv2d right before it.

    Works inside any ``nn.Sequential`` at any depth; the batch norm becomes ``Identity``.
    The module is changed in place and returned. A batch norm that does not directly
    follow a weight layer inside a Sequential cannot be folded and raises.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).eval()
    >>> x = torch.randn(5, 3)
    >>> before = net(x)
    >>> torch.allclose(fold_batch_norm(net)(x), before, atol=1e-6)
    True
    """
    for child in module.children():
        fold_batch_norm(child)
    if isinstance(module, nn.Sequential):
        names = list(module._modules)
        for i, name in enumerate(names):
            child = module._modules[name]
            if not isinstance(child, _BATCH_NORMS):
                continue
            previous = module._modules[names[i - 1]] if i > 0 else None
            if not isinstance(previous, _WEIGHT_LAYERS):
                raise ValueError(
                    f"cannot fold the batch norm {name!r}: it does not follow a Linear or "
                    "Conv2d layer."
                )
            _fold_into(previous, child)
            module._modules[name] = nn.Identity()
    leftover = [n for n, m in module.named_children() if isinstance(m, _BATCH_NORMS)]
    if leftover and not isinstance(module, nn.Sequential):
        raise ValueError(
            f"cannot fold the batch norm(s) {leftover}: only batch norms inside an "
            "nn.Sequential, right after a Linear or Conv2d, can be folded."
        )
    return module


def _weight_layers(module: nn.Module, input_shape: tuple[int, ...]) -> list[Layer]:
    """Weight layers in the order the forward pass calls them, with their shapes."""
    records: list[Layer] = []
    names = {id(m): n for n, m in module.named_modules()}

    def hook(mod, args, output):
        records.append(
            Layer(names[id(mod)], mod, tuple(args[0].shape[1:]), tuple(output.shape[1:]))
        )

    handles = [
        m.register_forward_hook(hook) for m in module.modules() if isinstance(m, _WEIGHT_LAYERS)
    ]
    try:
        with torch.no_grad():
            module(torch.zeros(1, *input_shape))
    except (RuntimeError, ValueError, IndexError) as exc:
        raise ValueError(
            f"input_shape={input_shape} does not fit the network {type(module).__name__} "
            f"(pass the shape of one sample, e.g. input_shape=(C, H, W) for images): {exc}"
        ) from exc
    finally:
        for handle in handles:
            handle.remove()
    seen: set[int] = set()
    unique = []
    for layer in records:  # a layer called twice (weight sharing) counts once
        if id(layer.module) not in seen:
            seen.add(id(layer.module))
            unique.append(layer)
    return unique


def _prepare(module: nn.Module) -> nn.Module:
    module = copy.deepcopy(module).to("cpu").float().eval()
    for param in module.parameters():
        param.requires_grad_(False)
    return fold_batch_norm(module)


def _build(
    module: nn.Module, shape: tuple[int, ...], initial: dict[str, torch.Tensor] | None
) -> tuple[nn.Module, list[Layer], nn.Module | None, str]:
    """The folded copy, its weight layers, the folded initial network and the copy's key."""
    with single_threaded():  # one-sample passes: too small for a team of threads
        folded = _prepare(module)
        layers = _weight_layers(folded, shape)
        initial_module = None
        if initial is not None:
            start = copy.deepcopy(module).to("cpu")
            start.load_state_dict({k: v.to("cpu") for k, v in initial.items()})
            initial_module = _prepare(start)
            by_name = {layer.name: layer for layer in _weight_layers(initial_module, shape)}
            for layer in layers:
                first = by_name[layer.name]
                layer.initial_weight, layer.initial_bias = first.weight, first.bias
    return folded, layers, initial_module, module_key(folded)


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


def layers_view(estimator: Any, input_shape: tuple[int, ...] | None = None) -> LayersView:
    """The :class:`LayersView` of a fitted network estimator or a module.

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
        A fitted NetworkClassifier (or skorch net), a Pipeline ending in one, a
        LabelNoise / RandomPretraining / GridSearchCV around one, a module, or a view
        (returned as it is).
    input_shape : tuple of int, optional
        One sample's shape, ``(n_features,)`` or ``(C, H, W)``; needed for a raw module
        without an ``input_shape`` attribute.

    Returns
    -------
    LayersView

    Examples
    --------
    >>> from sklearn_gen.networks.architectures import MLP
    >>> view = layers_view(MLP(4, 3, hidden=(5,)))
    >>> [(layer.kind, layer.input_shape) for layer in view.layers]
    [('linear', (4,)), ('linear', (5,))]
    """
    if isinstance(estimator, LayersView):
        if input_shape is not None and tuple(input_shape) != estimator.input_shape:
            raise ValueError(
                f"input_shape={tuple(input_shape)} differs from the LayersView's "
                f"{estimator.input_shape}; build a new view with layers_view(module, "
                "input_shape=...)."
            )
        return estimator
    net, transform = unwrap_network(estimator)
    classes = None
    initial = None
    if isinstance(net, nn.Module):
        module = net
        shape = input_shape or getattr(module, "input_shape", None)
    else:
        module = net.module_
        shape = input_shape or getattr(net, "input_shape_", None)
        shape = shape or getattr(module, "input_shape", None)
        classes = np.asarray(net.classes_) if hasattr(net, "classes_") else None
        initial = getattr(net, "initial_params_", None)
    if shape is None:
        raise ValueError(
            f"input_shape is needed: the {type(module).__name__} module does not say what "
            "one sample's shape is. Pass input_shape=(n_features,) or input_shape=(C, H, W) "
            "to the measure (or set module.input_shape)."
        )
    shape = tuple(int(s) for s in np.atleast_1d(shape))
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"input_shape must be positive integers, got {shape}.")
    # the folded copy is built once per (parameters, shape, initial parameters) and shared
    # by the measures that follow (never stale: keyed by the bytes of the parameters, and
    # checked against the copy's own bytes in case a caller changed it in place)
    initial_key = None if initial is None else _digest(*[t for kv in initial.items() for t in kv])
    key = ("view", module_key(module), shape, initial_key)
    folded, layers, initial_module, _ = cached(
        key,
        lambda: _build(module, shape, initial),
        valid=lambda entry: module_key(entry[0]) == entry[3],
    )
    return LayersView(
        module=folded,
        layers=layers,
        is_chain=is_chain(folded),
        input_shape=shape,
        classes=classes,
        transform=transform,
        initial_module=initial_module,
        name=type(module).__name__,
    )


def resolve_view(estimator: Any, X: Any = None, input_shape: Any = None) -> LayersView:
    """The view every measure uses: :func:`layers_view`, with the shape read from ``X``.

    A raw module that does not say what it takes (no ``input_shape`` attribute, none
    given) is read as a flat network: one sample is a row of ``X``, shape
    ``(n_features,)``. A conv network needs ``input_shape=(C, H, W)``.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 2))
    >>> resolve_view(net, X=[[0.0, 1.0, 2.0]]).input_shape
    (3,)
    """
    if input_shape is None and X is not None and not isinstance(estimator, LayersView):
        net, transform = unwrap_network(estimator)
        if isinstance(net, nn.Module) and getattr(net, "input_shape", None) is None:
            rows = X if transform is None else transform(X)
            shape = np.shape(rows)
            if len(shape) == 2:
                input_shape = (int(shape[1]),)
    return layers_view(estimator, input_shape=input_shape)
