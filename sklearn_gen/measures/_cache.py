"""A small memo of what several measures compute on the same fitted model and data.

When the scorers of one ``make_scoring`` dict score the same fitted estimator on the same
fold, each builds its own layers view; without a memo each would run its own forward pass
over the fold (and its own Lanczos iterations for the conv layers' spectral norms). The
memo keys every result by a fingerprint of *what it was computed from*: the bytes of the
network's (folded) parameters and buffers, its structure, and the bytes of the input
tensor. A refit, a ``partial_fit`` or any in-place change of a weight changes the
fingerprint, so a result is never served for a model it was not computed on. The memo
keeps the :data:`MAX_ENTRIES` most recently used results (logits of shape
``(n_samples, n_classes)`` and floats: small), so its memory stays bounded.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import torch
from torch import nn

__all__ = ["MAX_ENTRIES", "cached", "clear_cache", "module_key", "tensor_key"]

#: Results kept (least recently used dropped first).
MAX_ENTRIES = 32

_entries: OrderedDict[Hashable, Any] = OrderedDict()
_lock = threading.Lock()


def _digest(*parts: Any) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        if isinstance(part, torch.Tensor):
            array = part.detach().to("cpu").contiguous().numpy()
            h.update(str((array.dtype, array.shape)).encode())
            h.update(memoryview(array).cast("B"))
        else:
            h.update(repr(part).encode())
    return h.hexdigest()


def tensor_key(tensor: torch.Tensor) -> str:
    """Fingerprint of a tensor's dtype, shape and bytes.

    Examples
    --------
    >>> import torch
    >>> tensor_key(torch.zeros(3)) == tensor_key(torch.zeros(3)) != tensor_key(torch.ones(3))
    True
    """
    return _digest(tensor)


def module_key(module: nn.Module) -> str:
    """Fingerprint of a module's structure and every parameter's and buffer's bytes.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Linear(2, 2)
    >>> before = module_key(net)
    >>> with torch.no_grad():
    ...     _ = net.weight.add_(1.0)
    >>> module_key(net) == before
    False
    """
    state = module.state_dict(keep_vars=False)
    return _digest(str(module), *[part for item in state.items() for part in item])


def cached(key: Hashable, compute: Callable[[], Any]) -> Any:
    """``compute()``, or the value stored under ``key`` by an earlier call.

    Examples
    --------
    >>> cached(("doc", 1), lambda: 42), cached(("doc", 1), lambda: 0)
    (42, 42)
    """
    with _lock:
        if key in _entries:
            _entries.move_to_end(key)
            return _entries[key]
    value = compute()
    with _lock:
        _entries[key] = value
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear_cache() -> None:
    """Forget every stored result.

    Examples
    --------
    >>> clear_cache()
    """
    with _lock:
        _entries.clear()
