"""The work the scorers of one scoring call share, and the measures' thread settings.

scikit-learn's multimetric scoring calls every scorer of a ``scoring={...}`` dict once on the
same fitted estimator and the same fold, one after the other, and caches the predictions
they share for that one call (``_MultimetricScorer``). The measure scorers do the same with
what they share: :func:`scoring_call` opens the scope of one call, and every measure that
reaches the network through :func:`~sklearn_gen.measures._layers.resolve_view` inside it
gets the one :class:`~sklearn_gen.measures.LayersView` of that estimator, whose forward pass
over the fold (and conv spectral norms) it computed once. A call ends when a scorer that
already scored in it is called again, or another estimator or fold comes: nothing is kept
from one call to the next, so no change of the model (a refit, a weight changed in place,
an attribute such as a temperature) is ever answered with an earlier value. A direct call
of a measure builds its own view, or takes one the caller built with
:func:`~sklearn_gen.measures.layers_view` (a snapshot of the model, whose forward passes the
measures given it share).

:func:`single_threaded` runs the measures' small tensor operations (one-sample passes,
the Lanczos iterations of the conv operator norms) on one thread: an operation on one
image is too small to gain from several threads, and on a busy machine a team of threads
waiting for a descheduled member made them 10 to 40 times slower.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from typing import Any

import torch
from threadpoolctl import threadpool_limits

__all__ = ["ScoringCall", "active_call", "scoring_call", "single_threaded", "tensor_key"]

_local = threading.local()


def tensor_key(tensor: torch.Tensor) -> str:
    """Fingerprint of a tensor's dtype, shape and bytes (SHA-256).

    Examples
    --------
    >>> import torch
    >>> tensor_key(torch.zeros(3)) == tensor_key(torch.zeros(3)) != tensor_key(torch.ones(3))
    True
    """
    array = tensor.detach().to("cpu").contiguous().numpy()
    h = hashlib.sha256(str((array.dtype, array.shape)).encode())
    h.update(memoryview(array).cast("B"))
    return h.hexdigest()


class ScoringCall:
    """The scope of one scoring call: one estimator, one fold, the views built in it.

    Parameters
    ----------
    estimator : object
        The fitted estimator being scored.
    X : object
        The fold it is scored on.

    Attributes
    ----------
    views : dict
        The views built in this call, by ``(input_shape, id(initial))`` (with the
        ``initial`` object kept beside each, so that its id stays its own).
    scorers : list
        The scorers that have scored in this call (kept, so that their ids stay theirs).

    Examples
    --------
    >>> call = ScoringCall("estimator", "X")
    >>> call.matches("estimator", "X"), call.views
    (True, {})
    """

    def __init__(self, estimator: Any, X: Any) -> None:
        self.estimator = estimator
        self.X = X
        self.views: dict[Any, Any] = {}
        self.scorers: list[Any] = []

    def matches(self, estimator: Any, X: Any) -> bool:
        """Whether ``estimator`` and ``X`` are this call's own objects."""
        return estimator is self.estimator and X is self.X


@contextlib.contextmanager
def scoring_call(scorer: Any, estimator: Any, X: Any) -> Iterator[ScoringCall]:
    """Score inside the current scoring call, or open a new one (see the module docstring).

    Examples
    --------
    >>> scorer_a, scorer_b, estimator, X = object(), object(), object(), object()
    >>> with scoring_call(scorer_a, estimator, X) as first:
    ...     active_call(estimator, X) is first
    True
    >>> with scoring_call(scorer_b, estimator, X) as second:  # the same call
    ...     second is first
    True
    >>> with scoring_call(scorer_a, estimator, X) as third:  # a scorer again: a new call
    ...     third is first
    False
    >>> active_call(estimator, X) is None  # outside a scorer
    True
    """
    call = getattr(_local, "last", None)
    again = call is not None and any(s is scorer for s in call.scorers)
    if call is None or not call.matches(estimator, X) or again:
        call = ScoringCall(estimator, X)
    _local.last = call
    call.scorers.append(scorer)
    previous = getattr(_local, "active", None)
    _local.active = call
    try:
        yield call
    finally:
        _local.active = previous


def active_call(estimator: Any, X: Any) -> ScoringCall | None:
    """The scoring call a scorer runs in on ``estimator`` and ``X``, else None.

    Examples
    --------
    >>> active_call("estimator", "X") is None
    True
    """
    call = getattr(_local, "active", None)
    return call if call is not None and call.matches(estimator, X) else None


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
