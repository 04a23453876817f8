"""Packs: many networks of one architecture trained at once, as one stacked computation.

The studies train many small networks of one architecture on the same inputs (corruption
levels x repeats, seeds, learning rates). Fitted one at a time, a step of such a network is
a few small matrix products wrapped in Python, autograd and skorch bookkeeping. Here the
``K`` members' weights are stacked (:func:`torch.func.stack_module_state`) and a training
step of the whole pack is one computation over the stack:

* plain Flatten/Linear/ReLU chains under cross-entropy ("mlp", "deep_fc") take a
  hand-written batched step: one ``bmm`` per layer forward, the gradients written out;
* other modules take the generic step, :func:`torch.func.vmap` of
  :func:`torch.func.functional_call` and autograd, on CUDA; on the CPU, where a convolution
  vectorized over the members becomes a slower grouped convolution, the generic step runs
  the members' forward and backward passes one after the other on views of the stack.

In every case one SGD update serves all members and no per-batch callback runs.

Each member keeps everything its own ``NetworkClassifier.fit`` would have:

* its initial weights, drawn from its own ``random_state`` by its own ``initialize()``
  (``initial_params_`` as in a single fit);
* its own labels (one label vector per member, so ``LabelNoise`` levels and repeats can
  share a pack), its own batch order (the member's own batch generator draws the
  permutation of every epoch and the augmentation of every batch);
* its own learning rate, momentum, weight decay and learning-rate decay (SGD, the update
  of :class:`torch.optim.SGD`, one vector entry per member);
* its own stopping rules, evaluated after every epoch on the whole training set; a member
  that stops (or reaches its ``max_epochs``) is frozen: its weights are written back to its
  own module and it leaves the stack, which shrinks;
* its own ``history_`` (the same records as a single fit; ``dur`` is the pack's epoch time),
  ``n_epochs_``, ``n_steps_``, ``converged_`` and optimizer state (momentum buffers,
  learning-rate schedule), so that ``partial_fit`` continues as after a single fit.

The results are ordinary fitted :class:`~sklearn_gen.NetworkClassifier` objects (or
``LabelNoise`` objects around one): predict, scorers, measures and pickling work on them
unchanged. For the same seeds a member's weights agree with those of its separate ``fit``
up to floating-point rounding (the batched products add in another order).

Settings a pack cannot reproduce are refused by :func:`pack_refusal` (dropout, whose masks
come from the global random stream; optimizers other than plain SGD; mixed precision; user
callbacks; an internal validation split; warm starts); :func:`fit_many` fits such
estimators one at a time.
"""

from __future__ import annotations

import copy
import logging
import math
import time
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from sklearn.base import clone
from torch.func import functional_call, stack_module_state, vmap
from torch.optim.sgd import sgd

from sklearn_gen._device import format_bytes, resolve_device, resolve_memory_budget
from sklearn_gen._wrappers import find_inner
from sklearn_gen.networks._batches import crop_flip_augmenter
from sklearn_gen.networks._callbacks import (
    StoppingRules,
    chunked_statistics,
    finalize_fit,
    n_correct,
    warn_not_converged,
)
from sklearn_gen.networks._classifier import NetworkClassifier
from sklearn_gen.networks.architectures import _Chain
from sklearn_gen.randomization import LabelNoise

__all__ = ["fit_many", "fit_pack", "group_packs", "pack_key", "pack_refusal"]

logger = logging.getLogger(__name__)

#: ``optimizer__<name>`` settings a pack reproduces (read from the member's own optimizer).
_OPTIMIZER_SETTINGS = frozenset({"lr", "momentum", "weight_decay"})
#: skorch parameter prefixes whose settings a pack cannot honour.
_REFUSED_PREFIXES = ("iterator_train__", "iterator_valid__", "callbacks__", "dataset__")
#: Samples (over all members) per forward pass when the stopping rules are evaluated: the
#: same total as a single fit's chunk of 4096, so the evaluation needs no more memory.
_EVAL_SAMPLES = 4096
#: Logits (members x samples x classes entries) gathered before the loss and the margins
#: are computed on them in one vectorized call (not one per forward chunk: each ``vmap``
#: call costs about 0.7 ms, a third of the pack's evaluation time on digits).
_EVAL_LOGITS = 1 << 22
#: Vectorize the generic step with ``vmap`` on the CPU too (off: convolutions over the
#: members run faster one member at a time there; see ``_LoopStep``).
_VMAP_ON_CPU = False
#: ``forward`` methods of the Sequential chains the hand-written step may replace.
_CHAIN_FORWARDS = (torch.nn.Sequential.forward, _Chain.forward)
_DROPOUT_TYPES = (
    torch.nn.Dropout,
    torch.nn.Dropout1d,
    torch.nn.Dropout2d,
    torch.nn.Dropout3d,
    torch.nn.AlphaDropout,
    torch.nn.FeatureAlphaDropout,
)


# ------------------------------------------------------------------------------ packability
def _network_of(estimator: Any) -> Any:
    """The NetworkClassifier that a pack would train (inside LabelNoise), else the input.

    Only LabelNoise itself: a subclass (RandomPretraining) fits in its own way, which a
    pack does not reproduce, so it is refused as what it is.
    """
    found, _ = find_inner(estimator, lambda obj: type(obj) is not LabelNoise, fitted=False)
    return estimator if found is None else found


def pack_refusal(estimator: Any) -> str | None:
    """Why ``estimator`` cannot be trained in a pack, or None when it can.

    A pack trains :class:`~sklearn_gen.NetworkClassifier` objects, bare or inside
    :class:`~sklearn_gen.LabelNoise`, whose training it can reproduce exactly: plain SGD
    (``torch.optim.SGD`` with ``lr``, ``momentum``, ``weight_decay``), float32 arithmetic,
    no dropout, the package's own callbacks only, no internal validation split, no warm
    start and a module given as an architecture name or a class.

    Parameters
    ----------
    estimator : object
        Any estimator.

    Returns
    -------
    str or None
        A sentence naming the setting that prevents packing; None when packable.

    Examples
    --------
    >>> from sklearn_gen import NetworkClassifier
    >>> from sklearn_gen.networks import pack_refusal
    >>> pack_refusal(NetworkClassifier("mlp")) is None
    True
    >>> pack_refusal(NetworkClassifier("mlp", dropout=0.5))
    'dropout=0.5: dropout masks are drawn from the global random stream, ...'
    """
    net = _network_of(estimator)
    prefix = "LabelNoise's estimator: " if net is not estimator else ""
    if not isinstance(net, NetworkClassifier):
        return (
            f"{prefix}{type(net).__name__} is not a NetworkClassifier "
            "(a pack trains NetworkClassifier, bare or inside LabelNoise)"
        )
    reason = _network_refusal(net)
    return None if reason is None else prefix + reason


def _network_refusal(net: NetworkClassifier) -> str | None:
    params = net.get_params(deep=False)
    if isinstance(net.module, torch.nn.Module):
        return (
            "module is a torch.nn.Module instance, which every member would share; "
            "pass an architecture name or a module class"
        )
    optimizer = net.optimizer
    if optimizer is not torch.optim.SGD:
        name = getattr(optimizer, "__name__", type(optimizer).__name__)
        return f"optimizer={name}: a pack reproduces torch.optim.SGD only"
    for name in params:
        if name.startswith("optimizer__") and name[len("optimizer__") :] not in _OPTIMIZER_SETTINGS:
            return f"{name} is set: a pack reproduces SGD's lr, momentum and weight_decay only"
        if name.startswith(_REFUSED_PREFIXES):
            return f"{name} is set, which a pack does not honour"
    if isinstance(net.criterion, torch.nn.Module):
        return (
            "criterion is an instance; pass a loss name or class (criterion__... for its arguments)"
        )
    if net.precision != "fp32":
        return f"precision={net.precision!r}: a pack trains in float32 only"
    if net.dropout:
        return (
            f"dropout={net.dropout!r}: dropout masks are drawn from the global random "
            "stream, which a pack cannot replay per member"
        )
    if net.callbacks:
        return "callbacks are set: a pack runs the package's own epoch records only"
    if net.train_split is not None:
        return "train_split is set: a pack trains on the whole training set"
    if net.warm_start:
        return "warm_start=True continues an earlier fit; fit it alone"
    return None


def _key_value(value: Any) -> Hashable:
    """A hashable stand-in for a parameter value (tuples for sequences, repr otherwise)."""
    if isinstance(value, (list, tuple)):
        return tuple(_key_value(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def _device_key(device: Any) -> str:
    try:
        return str(resolve_device(device))
    except (TypeError, ValueError):
        return str(device)


#: The parameters of :class:`~sklearn_gen.NetworkClassifier` that a pack carries per
#: member. Every other parameter must be equal across a pack's members (:func:`pack_key`).
PER_MEMBER = frozenset(
    {
        "lr",
        "momentum",
        "weight_decay",
        "lr_decay",
        "max_epochs",
        "init_scale",
        "stop_on_interpolation",
        "stop_margin",
        "stop_margin_fraction",
        "stop_train_loss",
        "stop_mode",
        "random_state",
        "verbose",
    }
)


def _shared_settings(net: NetworkClassifier) -> dict[str, Hashable]:
    """The settings a pack's members must share: every parameter but :data:`PER_MEMBER`."""
    params = net.get_params(deep=False)
    shared = {}
    for name, value in params.items():
        if name in PER_MEMBER or name.startswith("_"):  # skorch's private bookkeeping
            continue
        if name == "device":
            value = _device_key(value)
        elif name == "augment_padding" and not params.get("augment"):
            value = None  # no augmentation: the padding is not used
        elif name == "input_shape" and value is not None:
            value = tuple(value)
        shared[name] = _key_value(value)
    return shared


def pack_key(estimator: Any) -> Hashable | None:
    """A key shared by the estimators that can train in one pack (None: not packable).

    Derived from the parameters, not listed: two packable estimators have the same key when
    every parameter of their networks (``get_params(deep=False)``) is equal, except those
    a pack carries per member (:data:`PER_MEMBER`: ``lr``, ``momentum``, ``weight_decay``,
    ``lr_decay``, ``max_epochs``, ``init_scale``, the stopping rules, ``random_state``,
    ``verbose``), and ``LabelNoise``'s ``p`` and ``random_state``. So the architecture,
    the criterion, the batch size, the initialization scheme, the device and any parameter
    added later are compared. Members of a pack must also share their training inputs
    ``X``, which the caller knows (see :func:`group_packs`).

    Parameters
    ----------
    estimator : object
        Any estimator; unfitted clones are what a runner passes.

    Returns
    -------
    hashable or None
        None when :func:`pack_refusal` gives a reason.

    Examples
    --------
    >>> from sklearn_gen import LabelNoise, NetworkClassifier
    >>> from sklearn_gen.networks import pack_key
    >>> a = NetworkClassifier("mlp", lr=0.1, random_state=0)
    >>> b = LabelNoise(NetworkClassifier("mlp", lr=0.01, random_state=1), p=0.5)
    >>> pack_key(a) == pack_key(b)
    True
    >>> pack_key(a) == pack_key(NetworkClassifier("mlp", criterion="bce"))
    False
    """
    if pack_refusal(estimator) is not None:
        return None
    return ("NetworkClassifier", tuple(sorted(_shared_settings(_network_of(estimator)).items())))


def _differing_settings(first: Any, other: Any) -> list[str]:
    """The names of the shared settings in which two packable estimators differ."""
    a = _shared_settings(_network_of(first))
    b = _shared_settings(_network_of(other))
    return sorted(name for name in a.keys() | b.keys() if a.get(name) != b.get(name))


def group_packs(
    estimators: Sequence[Any],
    data_keys: Sequence[Hashable] | None = None,
    *,
    max_pack_size: int | None = None,
) -> list[list[int]]:
    """Group estimators into packs: lists of indices, in order of first appearance.

    Estimators share a group when they have the same :func:`pack_key` and the same data
    key; an estimator that cannot be packed is a group of its own.

    Parameters
    ----------
    estimators : sequence of estimators
    data_keys : sequence of hashable or None, default=None
        One key per estimator naming its training inputs ``X`` (e.g. the split's seed):
        only estimators trained on the same inputs can share a pack. None: all the same.
    max_pack_size : int or None, default=None
        Largest group; larger ones are cut into consecutive groups of at most this size.

    Returns
    -------
    list of list of int

    Examples
    --------
    >>> from sklearn_gen import NetworkClassifier
    >>> from sklearn_gen.networks import group_packs
    >>> nets = [NetworkClassifier("mlp", lr=lr) for lr in (0.1, 0.01, 0.001)]
    >>> nets.append(NetworkClassifier("mlp", dropout=0.5))
    >>> group_packs(nets)
    [[0, 1, 2], [3]]
    >>> group_packs(nets, data_keys=["a", "b", "a", "a"], max_pack_size=1)
    [[0], [2], [1], [3]]
    """
    if data_keys is not None and len(data_keys) != len(estimators):
        raise ValueError(
            f"data_keys must give one key per estimator: got {len(data_keys)} keys for "
            f"{len(estimators)} estimators."
        )
    max_pack_size = _check_max_pack_size(max_pack_size)
    groups: dict[Any, list[int]] = {}
    for i, estimator in enumerate(estimators):
        key = pack_key(estimator)
        data = None if data_keys is None else data_keys[i]
        groups.setdefault(("alone", i) if key is None else (key, data), []).append(i)
    out = []
    for members in groups.values():
        size = len(members) if max_pack_size is None else max_pack_size
        out.extend(members[start : start + size] for start in range(0, len(members), size))
    return out


def _check_max_pack_size(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"max_pack_size must be a positive int or None, got {value!r}.")
    if value < 1:
        raise ValueError(f"max_pack_size must be a positive int or None, got {value!r}.")
    return int(value)


# ------------------------------------------------------------------------------ the members
@dataclass(eq=False)
class _Member:
    """One network of a pack with what its training needs beyond the network itself."""

    index: int  # position in the caller's list
    net: NetworkClassifier
    y_enc: np.ndarray
    generator: torch.Generator
    rules: Any  # the member's StoppingRules callback
    epoch_loss: Any  # the member's "train_loss" callback: the epoch's mean batch loss
    scheduler: Any  # the member's LRScheduler callback, or None
    owner: Any = None  # the LabelNoise to complete, or None
    corruption: tuple = ()
    stopped: bool = False
    epochs: int = 0

    @property
    def group(self) -> dict:
        return self.net.optimizer_.param_groups[0]


def _label_sets(ys: Any, n_estimators: int) -> list[Any]:
    """One label vector per estimator from ``ys`` (a list of vectors, or one shared vector)."""
    if isinstance(ys, np.ndarray):
        if ys.ndim == 1:
            return [ys] * n_estimators
        if ys.ndim == 2:
            rows = list(ys)
        else:
            raise ValueError(f"ys must be 1-D or 2-D, got an array of shape {ys.shape}.")
    elif isinstance(ys, (list, tuple)):
        if len(ys) and all(np.ndim(v) == 0 for v in ys):
            return [np.asarray(ys)] * n_estimators
        rows = list(ys)
    else:
        raise TypeError(
            "ys must be a list of label vectors (one per estimator) or one label vector "
            f"shared by all, got {type(ys).__name__}."
        )
    if len(rows) != n_estimators:
        raise ValueError(
            f"ys must give one label vector per estimator: got {len(rows)} for "
            f"{n_estimators} estimators."
        )
    return rows


def _validate(index: int, estimator: Any, X: Any, y: Any) -> tuple[tuple, np.ndarray]:
    """Check one member's inputs (and corrupt its labels) as its ``fit`` does first."""
    owner, corruption, net = None, (), estimator
    if type(estimator) is LabelNoise:
        classes, y_fit, changed = estimator._corrupted_labels(X, y)
        owner, corruption = estimator, (classes, y_fit, changed)
        net = clone(estimator.estimator)
        y = y_fit
    X_valid, y_enc = net._prepare_fit(X, y, reset=True)
    return (owner, corruption, net, y_enc), X_valid


def _initialize(index: int, owner: Any, corruption: tuple, net: Any, y_enc) -> _Member:
    """Seed and build one member as its ``fit`` does; keep its batch generator."""
    with net._seeded(net._draw_seed()), net._on_device():
        net.initialize()
        generator = torch.Generator(device=net.device_)
        generator.set_state(net.batch_generator_.get_state())
    for module in net.module_.modules():
        if isinstance(module, _DROPOUT_TYPES) and module.p > 0:
            raise ValueError(
                f"estimator {index}: its module has a {type(module).__name__} layer "
                f"(p={module.p}), whose masks a pack cannot draw as the member's own fit "
                "would; fit it alone (fit_many does)."
            )
    callbacks = dict(net.callbacks_)
    member = _Member(
        index=index,
        net=net,
        y_enc=y_enc,
        generator=generator,
        rules=callbacks["stopping"],
        epoch_loss=callbacks["train_loss"],
        scheduler=callbacks.get("lr_decay"),
        owner=owner,
        corruption=corruption,
    )
    member.rules.set_params(**net._stopping_params())
    group = member.group
    if len(net.optimizer_.param_groups) != 1 or group["nesterov"] or group["dampening"]:
        raise ValueError(
            f"estimator {index}: a pack reproduces SGD with one parameter group, no "
            "nesterov and no dampening; fit it alone (fit_many does)."
        )
    return member


# ------------------------------------------------------------------------------ memory
def _activations_per_sample(module: torch.nn.Module, input_shape: tuple[int, ...]) -> int:
    """Values the leaf modules output for one sample (a shape-only pass on the meta device)."""
    total = 0

    def count(_module, _inputs, output):
        nonlocal total
        if isinstance(output, torch.Tensor):
            total += output.numel()

    def run(device: str) -> None:
        copy_ = copy.deepcopy(module).to(device)
        leaves = [m for m in copy_.modules() if not list(m.children())]
        handles = [m.register_forward_hook(count) for m in leaves]
        try:
            with torch.no_grad():
                copy_(torch.zeros((2, *input_shape), device=device))
        finally:
            for handle in handles:
                handle.remove()

    try:
        run("meta")
    except Exception:  # a module that needs real values: one small real pass on the CPU
        total = 0
        run("cpu")
    return max(total // 2, 1)


def _member_bytes(member: _Member, n_samples: int) -> int:
    """A generous estimate of what one more member adds to the pack's peak memory."""
    net = member.net
    n_params = sum(p.numel() for p in net.module_.parameters())
    n_buffers = sum(b.numel() for b in net.module_.buffers())
    batch = min(n_samples, net.batch_size if net.batch_size != -1 else n_samples)
    shape = tuple(net.input_shape_)
    activations = _activations_per_sample(net.module_, shape)
    n_inputs = math.prod(shape) * (2 if net.augment else 1)
    # weights, gradients, momentum and one temporary per parameter; saved activations and
    # their gradients; the gathered (and augmented) input batch; the labels
    per_member = 4 * (4 * n_params + n_buffers + batch * (2 * activations + n_inputs))
    return per_member + 8 * n_samples


def _memory_chunks(members: list[_Member], n_samples: int, budget: int) -> list[list[_Member]]:
    """Cut a pack into consecutive chunks that fit ``budget`` bytes; log why when cut."""
    each = _member_bytes(members[0], n_samples)
    fits = max(1, budget // max(each, 1))
    if fits >= len(members):
        return [members]
    n_chunks = -(-len(members) // fits)
    size = -(-len(members) // n_chunks)
    logger.info(
        "pack of %d networks split into %d packs of at most %d: each member needs about %s "
        "and the budget on %s is %s.",
        len(members),
        n_chunks,
        size,
        format_bytes(each),
        members[0].net.device_,
        format_bytes(budget),
    )
    return [members[start : start + size] for start in range(0, len(members), size)]


def _shape_signature(member: _Member) -> tuple:
    module = member.net.module_
    return tuple(
        (name, tuple(t.shape), t.dtype)
        for name, t in (*module.named_parameters(), *module.named_buffers())
    )


# ------------------------------------------------------------------------------ public API
def fit_pack(
    estimators: Sequence[Any],
    X: Any,
    ys: Any,
    *,
    max_pack_size: int | None = None,
    memory_budget: int | float | None = None,
) -> list[Any]:
    """Fit networks of one architecture on the same inputs together, as one stacked pack.

    Every estimator ends up fitted as its own ``fit(X, y)`` would have fitted it (same
    initialization, batch order, learning rate, stopping rules), up to floating-point
    rounding: the same objects are returned, fitted in place (a ``LabelNoise`` gets its
    ``estimator_``, trained on its corrupted labels, as after ``LabelNoise.fit``).

    Parameters
    ----------
    estimators : sequence of NetworkClassifier or LabelNoise(NetworkClassifier)
        Unfitted (or to-be-refitted) estimators with one :func:`pack_key`.
    X : array-like of shape (n_samples, n_features)
        The training inputs, shared by every member.
    ys : list of array-like of shape (n_samples,), or one array-like
        One label vector per estimator (a 2-D array: one row each), or a single vector
        shared by all. ``LabelNoise`` members corrupt their own vector, as in their ``fit``.
    max_pack_size : int or None, default=None
        Most members trained at once; a larger pack is trained in consecutive parts.
    memory_budget : int, float or None, default=None
        Bytes a pack may use on its device besides the training data (None: half of what
        is free once the data are there, as the kernel estimators budget). A pack whose
        estimate exceeds it is trained in consecutive parts that fit, and the reason is
        logged at INFO level (logger ``sklearn_gen.networks._stacked``).

    Returns
    -------
    list
        ``estimators``, fitted, in the given order.

    Raises
    ------
    ValueError
        When an estimator cannot be packed (the reason is given; see :func:`fit_many`),
        the estimators do not share a pack key, or ``ys`` does not match.

    Examples
    --------
    Four networks, two seeds by two label-noise levels, trained as one pack:

    >>> from sklearn.base import clone
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_gen import LabelNoise, NetworkClassifier
    >>> from sklearn_gen.networks import fit_pack
    >>> X, y = load_digits(return_X_y=True)
    >>> X, y = X[:500] / 16, y[:500]
    >>> net = NetworkClassifier("mlp", module__hidden=(64,), lr=0.1, max_epochs=20,
    ...                         device="cpu")
    >>> members = [LabelNoise(clone(net).set_params(random_state=seed), p=p, random_state=seed)
    ...            for p in (0.0, 1.0) for seed in (0, 1)]
    >>> members = fit_pack(members, X, y)
    >>> [bool(m.score(X, y) > 0.5) for m in members]  # clean accuracy: true labels only
    [True, True, False, False]
    >>> members[0].estimator_.n_epochs_
    20
    """
    estimators = list(estimators)
    if not estimators:
        raise ValueError("estimators is empty: give at least one estimator to fit.")
    max_pack_size = _check_max_pack_size(max_pack_size)
    seen: dict[int, int] = {}
    for i, estimator in enumerate(estimators):
        first = seen.setdefault(id(estimator), i)
        if first != i:
            raise ValueError(
                f"estimators {first} and {i} are the same object; pass one clone per "
                "member (sklearn.base.clone)."
            )
        reason = pack_refusal(estimator)
        if reason is not None:
            raise ValueError(
                f"estimator {i} cannot be trained in a pack: {reason}. Fit it alone, or "
                "use fit_many, which does so for such estimators."
            )
    keys = [pack_key(e) for e in estimators]
    for i, key in enumerate(keys):
        if key != keys[0]:
            names = ", ".join(_differing_settings(estimators[0], estimators[i]))
            raise ValueError(
                f"estimator {i} differs from estimator 0 in {names}, which a pack shares "
                "among its members (only lr, momentum, weight_decay, lr_decay, max_epochs, "
                "init_scale, the stopping rules and the seeds may differ); group them with "
                "group_packs (or call fit_many)."
            )
    y_sets = _label_sets(ys, len(estimators))
    prepared = []
    X_valid = None
    for i, (estimator, y) in enumerate(zip(estimators, y_sets, strict=True)):
        parts, X_i = _validate(i, estimator, X, y)
        prepared.append(parts)
        X_valid = X_i if X_valid is None else X_valid
    members = [_initialize(i, *parts) for i, parts in enumerate(prepared)]
    device = members[0].net.device_

    # members whose modules differ in shape (e.g. a class missing from some labels)
    by_shape: dict[tuple, list[_Member]] = {}
    for member in members:
        by_shape.setdefault(_shape_signature(member), []).append(member)
    if len(by_shape) > 1:
        logger.info(
            "pack of %d networks split into %d packs by parameter shapes (their label "
            "vectors hold different numbers of classes).",
            len(members),
            len(by_shape),
        )
    dataset = members[0].net.get_dataset(X_valid)
    budget = resolve_memory_budget(memory_budget, device)  # the data are held already
    for group in by_shape.values():
        parts = [group]
        if max_pack_size is not None:
            parts = [group[s : s + max_pack_size] for s in range(0, len(group), max_pack_size)]
        for part in parts:
            for chunk in _memory_chunks(part, len(X_valid), budget):
                _train_pack(chunk, dataset.X)

    unconverged = []
    for member in members:
        if not member.net.converged_:
            unconverged.append(member.index)
        if member.owner is not None:
            member.owner._set_fitted(member.net, X, *member.corruption)
    if unconverged:  # one warning for the pack (finalize_fit warns for a single fit)
        warn_not_converged(
            f"The stopping rules of estimators {unconverged}", "their max_epochs", stacklevel=2
        )
    return estimators


def fit_many(
    estimators: Sequence[Any],
    X: Any,
    ys: Any,
    *,
    max_pack_size: int | None = None,
    memory_budget: int | float | None = None,
) -> list[Any]:
    """Fit estimators on the same inputs, in packs where they can share one, else alone.

    The estimators are grouped with :func:`group_packs`; each group of two or more is
    trained by :func:`fit_pack`, and every other estimator by its own ``fit(X, y)``.
    ``max_pack_size=1`` fits every estimator alone (today's one-at-a-time behaviour).

    Parameters
    ----------
    estimators : sequence of estimators
        Any estimators; those that are not packable are fitted alone.
    X : array-like of shape (n_samples, n_features)
    ys : list of array-like of shape (n_samples,), or one array-like
        One label vector per estimator, or one shared by all.
    max_pack_size : int or None, default=None
    memory_budget : int, float or None, default=None
        As in :func:`fit_pack`.

    Returns
    -------
    list
        ``estimators``, fitted, in the given order.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_gen import NetworkClassifier
    >>> from sklearn_gen.networks import fit_many
    >>> X, y = load_digits(return_X_y=True)
    >>> nets = [NetworkClassifier("mlp", module__hidden=(32,), lr=lr, max_epochs=3,
    ...                           dropout=dropout, device="cpu", random_state=0)
    ...         for lr, dropout in ((0.1, 0.0), (0.05, 0.0), (0.1, 0.2))]
    >>> nets = fit_many(nets, X[:300] / 16, y[:300])  # two in a pack, the third alone
    >>> [net.n_epochs_ for net in nets]
    [3, 3, 3]
    """
    estimators = list(estimators)
    y_sets = _label_sets(ys, len(estimators))
    for group in group_packs(estimators, max_pack_size=max_pack_size):
        if len(group) == 1:
            estimators[group[0]].fit(X, y_sets[group[0]])
            continue
        fit_pack(
            [estimators[i] for i in group],
            X,
            [y_sets[i] for i in group],
            memory_budget=memory_budget,
        )
    return estimators


# ------------------------------------------------------------------------------ training
class _Stack:
    """The stacked weights, buffers and momentum of the members still training."""

    def __init__(self, members: list[_Member]) -> None:
        modules = [m.net.module_ for m in members]
        params, buffers = stack_module_state(modules)
        self.params = {k: v.detach().requires_grad_(True) for k, v in params.items()}
        self.buffers = {k: v.detach() for k, v in buffers.items()}
        self.momentum: dict[str, torch.Tensor] | None = None
        self.base = copy.deepcopy(modules[0]).to("meta")
        self.members = list(members)

    def forward(self, params, buffers, x):
        return functional_call(self.base, (params, buffers), (x,))

    def keep(self, rows: list[int]) -> None:
        index = torch.as_tensor(rows, device=next(iter(self.params.values())).device)
        self.params = {
            k: v.detach().index_select(0, index).requires_grad_(True)
            for k, v in self.params.items()
        }
        self.buffers = {k: v.index_select(0, index) for k, v in self.buffers.items()}
        if self.momentum is not None:
            self.momentum = {k: v.index_select(0, index) for k, v in self.momentum.items()}
        self.members = [self.members[r] for r in rows]

    @torch.no_grad()
    def write_back(self, row: int, member: _Member) -> None:
        """Copy a member's weights, buffers and momentum into its own module and optimizer."""
        module = member.net.module_
        for name, tensor in module.named_parameters():
            tensor.copy_(self.params[name][row])
        for name, tensor in module.named_buffers():
            tensor.copy_(self.buffers[name][row])
        if self.momentum is not None and member.group["momentum"] != 0:
            for name, tensor in module.named_parameters():
                state = member.net.optimizer_.state[tensor]
                state["momentum_buffer"] = self.momentum[name][row].clone()

    @torch.no_grad()
    def sgd_step(self, grads, hyper: list[tuple[float, float, float]]) -> None:
        """The members' update by ``torch.optim.sgd.sgd``, the function a single fit's
        ``torch.optim.SGD.step`` calls.

        ``hyper`` holds each member's ``(lr, momentum, weight_decay)``. The update is
        elementwise, so members that share all three are updated in one call on the
        stacked tensors (all of them, in the studies' packs), the others on their rows.
        The momentum buffers start at zero, so the first update, ``0 * momentum + grad``,
        is SGD's first step (the gradient itself) exactly.
        """
        if self.momentum is None:
            self.momentum = {k: torch.zeros_like(v) for k, v in self.params.items()}
        params = list(self.params.values())
        buffers = list(self.momentum.values())
        groups: dict[tuple[float, float, float], list[int]] = {}
        for k, settings in enumerate(hyper):
            groups.setdefault(settings, []).append(k)
        for (lr, momentum, weight_decay), rows in groups.items():
            if len(rows) == len(hyper):
                own = (params, list(grads), buffers)
            else:
                own = tuple(
                    [t[k] for k in rows for t in tensors] for tensors in (params, grads, buffers)
                )
            sgd(
                own[0],
                own[1],
                own[2] if momentum != 0 else [None] * len(own[0]),
                weight_decay=weight_decay,
                momentum=momentum,
                lr=lr,
                dampening=0.0,
                nesterov=False,
                maximize=False,
            )


class _ChainStep:
    """One training step of a Flatten/Linear/ReLU chain under cross-entropy, by hand.

    The generic step (``vmap`` of ``functional_call``, then autograd) spends much of a
    small network's time outside the products; for the plain chains of the fully connected
    architectures ("mlp", "deep_fc" without batch norm) the forward pass is one batched
    product per layer (``baddbmm``, bias fused) and the gradients are written out: the
    cross-entropy's ``(softmax - onehot) / batch``, then per layer ``bmm`` for the weights,
    a sum for the bias and a product back through the weights, zeroed where the ReLU was.
    """

    _LAYERS = (torch.nn.Flatten, torch.nn.Linear, torch.nn.ReLU, torch.nn.Identity)

    def __init__(self, steps: list[tuple]) -> None:
        self.steps = steps

    @classmethod
    def of(cls, module: torch.nn.Module, criterion: torch.nn.Module) -> _ChainStep | None:
        """The hand-written step for ``module``, or None when it is not such a chain."""
        if (
            not isinstance(module, torch.nn.Sequential)
            or type(module).forward not in _CHAIN_FORWARDS
            or type(criterion) is not torch.nn.CrossEntropyLoss
            or criterion.weight is not None
            or criterion.label_smoothing != 0.0
            or criterion.reduction != "mean"
        ):
            return None
        steps: list[tuple] = []
        for name, child in module.named_children():
            if type(child) not in cls._LAYERS:
                return None
            if isinstance(child, torch.nn.Flatten):
                if (child.start_dim, child.end_dim) != (1, -1):
                    return None
                steps.append(("flatten",))
            elif isinstance(child, torch.nn.Linear):
                bias = None if child.bias is None else f"{name}.bias"
                steps.append(("linear", f"{name}.weight", bias))
            elif isinstance(child, torch.nn.ReLU):
                steps.append(("relu",))
        if not any(step[0] == "linear" for step in steps):
            return None
        return cls(steps)

    @torch.no_grad()
    def forward(self, params: dict, xb: torch.Tensor, saved: list | None = None) -> torch.Tensor:
        """The members' logits of ``xb`` (members x batch x ...): one ``bmm`` per layer;
        ``saved`` collects what the backward pass reads."""
        a = xb
        fresh = False  # whether ``a`` is an intermediate that may be changed in place
        for step in self.steps:
            if step[0] == "flatten":
                a = a.reshape(a.shape[0], a.shape[1], -1)
            elif step[0] == "linear":
                if saved is not None:
                    saved.append(a)
                a = torch.bmm(a, params[step[1]].transpose(1, 2))
                if step[2] is not None:  # (faster than baddbmm's fused bias here)
                    a.add_(params[step[2]].unsqueeze(1))
                fresh = True
            else:
                a = a.relu_() if fresh else a.relu()
                fresh = True
                if saved is not None:
                    saved.append(a)
        return a

    def __call__(self, params: dict, xb: torch.Tensor, yb: torch.Tensor):
        """``(logits, per-member losses, gradients in the order of params)``."""
        with torch.no_grad():
            saved: list = []
            logits = self.forward(params, xb, saved)
            batch = logits.shape[1]
            log_p = torch.log_softmax(logits, -1)
            target = yb.unsqueeze(2)
            losses = -log_p.gather(2, target).squeeze(2).mean(1)
            delta = log_p.exp_()
            delta.scatter_add_(2, target, torch.full_like(target, -1, dtype=delta.dtype))
            delta.div_(batch)
            grads = {}
            first_linear = next(i for i, s in enumerate(self.steps) if s[0] == "linear")
            for i in range(len(self.steps) - 1, first_linear - 1, -1):
                step = self.steps[i]
                if step[0] == "relu":  # zero where the ReLU was off, as autograd does
                    delta = torch.ops.aten.threshold_backward(delta, saved.pop(), 0)
                elif step[0] == "linear":
                    inputs = saved.pop()
                    grads[step[1]] = torch.bmm(delta.transpose(1, 2), inputs)
                    if step[2] is not None:
                        grads[step[2]] = delta.sum(1)
                    if i > first_linear:
                        delta = torch.bmm(delta, params[step[1]])
        return logits, losses, [grads[name] for name in params]


class _VmapStep:
    """The generic step: ``vmap`` of ``functional_call`` over the members, then autograd."""

    def __init__(self, stack: _Stack, criterion: torch.nn.Module) -> None:
        self.stack = stack
        self.forward = vmap(stack.forward)
        self.losses = vmap(criterion)

    def __call__(self, params: dict, xb: torch.Tensor, yb: torch.Tensor):
        logits = self.forward(params, self.stack.buffers, xb)
        losses = self.losses(logits, yb)
        grads = torch.autograd.grad(losses.sum(), list(params.values()))
        return logits.detach(), losses.detach(), grads


class _LoopStep:
    """The generic step member by member, on views of the stacked weights.

    On the CPU a vectorized convolution over the members becomes a grouped convolution,
    which runs slower than the members' own convolutions one after the other; this step
    keeps the pack's bookkeeping (one update, no per-batch callbacks) and runs each
    member's forward and backward pass on its own. Batch-norm statistics are updated in
    place in the stacked buffers through the views.
    """

    def __init__(self, stack: _Stack, criterion: torch.nn.Module) -> None:
        self.stack = stack
        self.criterion = criterion

    def __call__(self, params: dict, xb: torch.Tensor, yb: torch.Tensor):
        buffers = self.stack.buffers
        all_logits, all_losses, all_grads = [], [], []
        for k in range(len(xb)):
            own = {name: t[k].detach().requires_grad_(True) for name, t in params.items()}
            own_buffers = {name: t[k] for name, t in buffers.items()}
            logits = functional_call(self.stack.base, (own, own_buffers), (xb[k],))
            loss = self.criterion(logits, yb[k])
            all_grads.append(torch.autograd.grad(loss, list(own.values())))
            all_logits.append(logits.detach())
            all_losses.append(loss.detach())
        grads = [torch.stack(per_param) for per_param in zip(*all_grads, strict=True)]
        return torch.stack(all_logits), torch.stack(all_losses), grads


def _train_pack(members: list[_Member], X: torch.Tensor) -> None:
    """Train the members, one stacked step at a time, until each has stopped."""
    stack = _Stack(members)
    device = X.device
    n = len(X)
    first = members[0].net
    batch_size = n if first.batch_size == -1 else int(first.batch_size)
    criterion = first.criterion_
    labels = torch.stack([torch.as_tensor(m.y_enc, dtype=torch.long) for m in members]).to(device)
    rows = list(range(len(members)))  # each stack row's row in ``labels``
    for member, y in zip(members, labels, strict=True):
        # the member's callbacks start as in its own fit: its initial weights are recorded,
        # its learning-rate schedule begins
        member.net.notify("on_train_begin", X=X, y=y)
    step = _ChainStep.of(first.module_, criterion)
    chain = step
    vectorize = step is not None or device.type == "cuda" or _VMAP_ON_CPU
    if step is None:
        step = _VmapStep(stack, criterion) if vectorize else _LoopStep(stack, criterion)

    while stack.members:
        active = stack.members
        start_time = time.perf_counter()
        y_active = (
            labels[torch.as_tensor(rows, device=device)] if len(rows) < len(labels) else labels
        )
        hyper = [(m.group["lr"], m.group["momentum"], m.group["weight_decay"]) for m in active]
        order = torch.stack(
            [torch.randperm(n, generator=m.generator, device=device) for m in active]
        )
        augmenters = (
            [crop_flip_augmenter(m.net.augment_padding, m.generator) for m in active]
            if first.augment
            else None
        )
        stack.base.train()
        batch_losses, sizes = [], []
        correct = torch.zeros(len(active), dtype=torch.long, device=device)
        for start in range(0, n, batch_size):
            index = order[:, start : start + batch_size]
            xb = X[index]
            if augmenters is not None:
                xb = torch.stack([augment(x) for augment, x in zip(augmenters, xb, strict=True)])
            yb = y_active.gather(1, index)
            logits, losses, grads = step(stack.params, xb, yb)
            stack.sgd_step(grads, hyper)
            batch_losses.append(losses.detach())
            correct += n_correct(logits.detach(), yb)
            sizes.append(index.shape[1])
        per_batch = torch.stack(batch_losses, 1).tolist()
        accuracy = (correct.double() / n).tolist()
        evaluated = [i for i, m in enumerate(active) if m.rules.enabled]
        full = _evaluate(stack, evaluated, X, y_active, vectorize, chain) if evaluated else {}
        seconds = time.perf_counter() - start_time

        done = []
        for i, member in enumerate(active):
            _record_epoch(member, per_batch[i], sizes, accuracy[i], seconds, full.get(i))
            if member.stopped or member.epochs >= member.net.max_epochs:
                done.append(i)
        for i in done:
            _finish(stack, i, active[i])
        if done:
            kept = [i for i in range(len(active)) if i not in done]
            rows = [rows[i] for i in kept]
            if kept:
                stack.keep(kept)
            else:
                stack.members = []


@torch.no_grad()
def _evaluate(
    stack: _Stack, which: list[int], X, y_active, vectorize: bool, chain: _ChainStep | None
) -> dict[int, dict]:
    """The stopping statistics on the whole training set (eval mode) per member (through
    the chain's batched products when the members are plain chains)."""
    index = torch.as_tensor(which, device=X.device)
    if len(which) == len(stack.members):
        params, buffers, targets = stack.params, stack.buffers, y_active
    else:
        params = {k: v.index_select(0, index) for k, v in stack.params.items()}
        buffers = {k: v.index_select(0, index) for k, v in stack.buffers.items()}
        targets = y_active.index_select(0, index)
    if chain is not None:

        def forward(params, buffers, x):
            # every member reads the same rows (an expanded view: no copy); as fast here as
            # one product with the members' weights side by side (measured)
            return chain.forward(params, x.expand(len(which), *x.shape))

    elif vectorize:
        forward = vmap(stack.forward, in_dims=(0, 0, None))
    else:

        def forward(params, buffers, x):
            return torch.stack(
                [
                    stack.forward(
                        {k: v[j] for k, v in params.items()},
                        {k: v[j] for k, v in buffers.items()},
                        x,
                    )
                    for j in range(len(which))
                ]
            )

    # one criterion per pack (pack_refusal compares it)
    criterion = stack.members[which[0]].net.criterion_
    stack.base.eval()
    try:
        total, correct, all_margins = chunked_statistics(
            lambda x: forward(params, buffers, x).float(),
            X,
            targets,
            vmap(partial(StoppingRules.chunk_statistics, criterion)),
            max(1, _EVAL_SAMPLES // len(which)),
            gather=_EVAL_LOGITS,
        )
    finally:
        stack.base.train()
    return {
        i: stack.members[i].rules.summarize(total[j].item(), correct[j].item(), all_margins[j])
        for j, i in enumerate(which)
    }


def _record_epoch(member: _Member, losses, sizes, accuracy, seconds, full) -> None:
    """The records a single fit's epoch leaves in the history, in the same order."""
    history = member.net.history
    history.new_epoch()
    history.record("epoch", len(history))
    for loss, size in zip(losses, sizes, strict=True):
        history.new_batch()
        history.record_batch("train_loss", loss)
        history.record_batch("train_batch_size", size)
    history.record("train_batch_count", len(sizes))
    member.epoch_loss.on_epoch_end(member.net)  # the single fit's epoch train_loss
    history.record("dur", seconds)
    history.record("train_acc", accuracy)
    member.epochs += 1
    rules = member.rules
    if full is not None and rules.record(history, full):  # the single fit's decision
        member.stopped = True
        return  # the single fit's stopping callback ends the epoch before lr decay
    if member.scheduler is not None:
        with warnings.catch_warnings():  # the pack, not the optimizer object, took the steps
            warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
            member.scheduler.on_epoch_end(member.net)  # records event_lr, steps the schedule


def _finish(stack: _Stack, row: int, member: _Member) -> None:
    """Freeze a member: weights back into its module, the attributes a fit sets."""
    stack.write_back(row, member)
    finalize_fit(member.net, member.rules, warn=False)
