"""A small memo of what several measures compute on the same fitted model and data.

When the scorers of one ``make_scoring`` dict score the same fitted estimator on the same
fold, each builds its own layers view; without a memo each would run its own forward pass
over the fold (and its own Lanczos iterations for the conv layers' spectral norms). The
memo keys every result by a fingerprint of *what it was computed from*: the bytes of the
network's (folded) parameters and buffers, its structure, and the bytes of the input
tensor. A refit, a ``partial_fit`` or any in-place change of a weight changes the
fingerprint, so a result is never served for a model it was not computed on. The memo
keeps the :data:`MAX_ENTRIES` most recently used results (logits of shape
``(n_samples, n_classes)``, floats, and the folded copies of the networks: small next to
the data), so its memory stays bounded. The fingerprints are SHA-256 digests (hardware
accelerated on current CPUs: about 1 GB/s, a few percent of a forward pass over the same
inputs).

:func:`single_threaded` runs the measures' small tensor operations (one-sample passes,
the Lanczos iterations of the conv operator norms) on one thread: an operation on one
image is too small to gain from several threads, and on a busy machine a team of threads
waiting for a descheduled member made them 10 to 40 times slower.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from typing import Any

import torch
from threadpoolctl import threadpool_limits
from torch import nn

__all__ = [
    "MAX_ENTRIES",
    "cached",
    "clear_cache",
    "module_key",
    "single_threaded",
    "tensor_key",
]

#: Results kept (least recently used dropped first).
MAX_ENTRIES = 32

_entries: OrderedDict[Hashable, Any] = OrderedDict()
_lock = threading.Lock()


def _digest(*parts: Any) -> str:
    h = hashlib.sha256()
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


def cached(
    key: Hashable, compute: Callable[[], Any], valid: Callable[[Any], bool] | None = None
) -> Any:
    """``compute()``, or the value stored under ``key`` by an earlier call.

    ``valid(value)``, when given, is checked on a stored value; a value that fails it is
    computed again and replaced (e.g. a stored object that was changed in place).

    Examples
    --------
    >>> cached(("doc", 1), lambda: 42), cached(("doc", 1), lambda: 0)
    (42, 42)
    >>> cached(("doc", 1), lambda: 0, valid=lambda value: value < 10)
    0
    """
    with _lock:
        found = key in _entries
        if found:
            _entries.move_to_end(key)
            value = _entries[key]
    if found and (valid is None or valid(value)):
        return value
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


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch's (OpenMP) and BLAS operations of the calling thread on one thread.

    OpenMP's thread count is a setting of the calling thread, so other threads of the
    process keep theirs; the previous limits come back on exit.

    Examples
    --------
    >>> import torch
    >>> with single_threaded():
    ...     torch.get_num_threads()
    1
    """
    with (
        threadpool_limits(limits=1, user_api="openmp"),
        threadpool_limits(limits=1, user_api="blas"),
    ):
        yield
