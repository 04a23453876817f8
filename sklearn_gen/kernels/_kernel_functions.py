"""Kernel functions evaluated block by block in torch.

A :class:`Kernel` turns two blocks of rows into one block of the Gram matrix on the device
the rows live on. Blocks are written with one matrix product (or ``torch.cdist`` for the
laplacian) followed by in-place elementwise operations, so a ``(b, m)`` block costs
``b * m`` floats of memory and never an ``(b, m, d)`` intermediate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

KERNELS = ("rbf", "laplacian", "linear", "polynomial", "precomputed")
"""Names accepted by the ``kernel`` parameter (besides a callable)."""

_STATIONARY = ("rbf", "laplacian")


@dataclass
class Rows:
    """Rows of a data matrix on the device, with what the kernel precomputed for them.

    Parameters
    ----------
    x : torch.Tensor
        ``(n, d)`` rows (centred for stationary kernels).
    sq : torch.Tensor or None
        Squared row norms ``(n,)`` for the rbf kernel, else None.
    augmented : torch.Tensor or None
        For the rbf kernel, ``[x, 1, sq]`` as one ``(n, d + 2)`` matrix (``x`` and ``sq``
        are views into it), so that one matrix product gives ``-gamma ||a - b||^2``.
    """

    x: torch.Tensor
    sq: torch.Tensor | None = None
    augmented: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __getitem__(self, index: slice | torch.Tensor) -> Rows:
        if self.augmented is not None:
            return _augmented_rows(self.augmented[index])
        return Rows(self.x[index], None if self.sq is None else self.sq[index])


def _augmented_rows(augmented: torch.Tensor) -> Rows:
    d = augmented.shape[1] - 2
    return Rows(augmented[:, :d], augmented[:, d + 1], augmented)


@dataclass
class Kernel:
    """A positive semi-definite kernel evaluated in blocks.

    Parameters
    ----------
    name : {"rbf", "laplacian", "linear", "polynomial", "callable"}
        ``rbf``: ``exp(-gamma ||x - y||^2)``; ``laplacian``: ``exp(-gamma ||x - y||_1)``;
        ``linear``: ``<x, y>``; ``polynomial``: ``(gamma <x, y> + coef0) ** degree``;
        ``callable``: ``func(A, B, **params)`` on two ``torch.Tensor`` blocks, returning
        an array-like of shape ``(len(A), len(B))``.
    gamma, degree, coef0 : float
        Kernel parameters (as in :func:`sklearn.metrics.pairwise.pairwise_kernels`).
    func : callable, optional
        The user's kernel when ``name == "callable"``.
    params : dict
        Extra keyword arguments passed to ``func``.
    center : torch.Tensor, optional
        A shift subtracted from every row before evaluation. Only used for the
        translation-invariant kernels (rbf, laplacian), where it leaves the kernel
        unchanged and shrinks the cancellation error of ``|x|^2 + |y|^2 - 2<x, y>``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_gen.kernels import Kernel
    >>> k = Kernel("rbf", gamma=0.5)
    >>> rows = k.prepare(torch.tensor([[0.0, 0.0], [1.0, 0.0]]))
    >>> k.block(rows, rows)
    tensor([[1.0000, 0.6065],
            [0.6065, 1.0000]])
    """

    name: str
    gamma: float = 1.0
    degree: float = 3.0
    coef0: float = 1.0
    func: Callable[..., Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    center: torch.Tensor | None = None

    @property
    def stationary(self) -> bool:
        """Whether ``k(x, x) == 1`` for every ``x`` (rbf and laplacian)."""
        return self.name in _STATIONARY

    def prepare(self, x: torch.Tensor) -> Rows:
        """Centre ``x`` (stationary kernels) and precompute squared norms (rbf)."""
        if self.name != "rbf":
            return Rows(x - self.center if self.stationary and self.center is not None else x)
        augmented = torch.empty((x.shape[0], x.shape[1] + 2), dtype=x.dtype, device=x.device)
        rows = augmented[:, :-2]
        if self.center is not None:
            torch.sub(x, self.center, out=rows)
        else:
            rows.copy_(x)
        augmented[:, -2] = 1.0
        torch.linalg.vector_norm(rows, dim=1, out=augmented[:, -1]).square_()
        return _augmented_rows(augmented)

    def block(self, a: Rows, b: Rows, out: torch.Tensor | None = None) -> torch.Tensor:
        """Evaluate ``K(a, b)``, writing into ``out`` (a ``(len(a), len(b))`` view) if given."""
        name = self.name
        if name == "rbf":
            # [2g a, -g |a|^2, -g] . [b, 1, |b|^2] = -g |a - b|^2: one product, then exp
            # (rbf rows always come from prepare, which builds the augmented matrix)
            left, right = self._rbf_left(a), b.augmented
            out = torch.mm(left, right.T, out=out) if out is not None else left @ right.T
            return out.clamp_(max=0.0).exp_()
        if name in ("linear", "polynomial"):
            out = torch.mm(a.x, b.x.T, out=out) if out is not None else torch.mm(a.x, b.x.T)
            if name == "polynomial":
                out.mul_(self.gamma).add_(self.coef0).pow_(self.degree)
            return out
        if name == "laplacian":
            res = torch.cdist(a.x, b.x, p=1.0).mul_(-self.gamma).exp_()
        elif name == "callable":
            res = self._call_user(a.x, b.x)
        else:  # pragma: no cover - guarded by the estimators
            raise ValueError(f"Unknown kernel {name!r}.")
        if out is None:
            return res
        return out.copy_(res)

    def _rbf_left(self, a: Rows) -> torch.Tensor:
        left = torch.empty((len(a), a.x.shape[1] + 2), dtype=a.x.dtype, device=a.x.device)
        torch.mul(a.x, 2.0 * self.gamma, out=left[:, :-2])
        torch.mul(a.sq, -self.gamma, out=left[:, -2])
        left[:, -1] = -self.gamma
        return left

    def diagonal_value(self) -> float | None:
        """The constant ``k(x, x)`` of a stationary kernel (1.0), else None."""
        return 1.0 if self.stationary else None

    def _call_user(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        assert self.func is not None
        res = self.func(a, b, **self.params)
        if isinstance(res, torch.Tensor):
            res = res.to(device=a.device, dtype=a.dtype)
        else:
            res = torch.as_tensor(np.asarray(res), dtype=a.dtype, device=a.device)
        if tuple(res.shape) != (a.shape[0], b.shape[0]):
            raise ValueError(
                "A callable kernel must return an array of shape (len(A), len(B)) = "
                f"{(a.shape[0], b.shape[0])}, got {tuple(res.shape)}."
            )
        return res
