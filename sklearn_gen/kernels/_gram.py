"""Gram matrices in tiles: dense lower-triangle assembly and matrix-free products.

Two ways to multiply by ``K = K(X, X)``, both over the same lower row panels
``K[i0:i1, :i1]`` of height ``block_size`` and both accumulating in float64:

* :func:`fill_lower` writes only the lower block triangle of a dense ``(n, n)`` buffer
  (half the kernel evaluations); :func:`lower_panels` then reads ``K`` back from the
  strict lower triangle plus a saved diagonal, so the upper triangle is free to hold a
  Cholesky factor (see :mod:`sklearn_gen.kernels._solvers`).
* :class:`GramOperator` never stores ``K``: it evaluates each lower panel when needed
  (caching as many as a memory budget allows) and uses it twice, as ``K_ij`` and
  ``K_ij^T``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import torch

from sklearn_gen.kernels._kernel_functions import Kernel, Rows

Panel = tuple[int, int, torch.Tensor]

_WORKSPACE_BYTES = 16 * 2**20
"""Largest workspace :func:`lower_panels` converts a panel into (fits a typical L3)."""


def row_blocks(n: int, block_size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(n)`` in chunks of ``block_size``.

    Examples
    --------
    >>> from sklearn_gen.kernels._gram import row_blocks
    >>> row_blocks(5, 2)
    [(0, 2), (2, 4), (4, 5)]
    """
    return [(i, min(i + block_size, n)) for i in range(0, n, block_size)]


def fill_lower(
    buffer: torch.Tensor,
    kernel: Kernel,
    rows: Rows,
    block_size: int,
    done: Callable[[int], object] | None = None,
) -> None:
    """Write ``K(rows, rows)`` into the lower block triangle of ``buffer`` in place.

    Each block row ``i`` is one row panel ``buffer[i0:i1, :i1]`` computed with one matrix
    product straight into the buffer; the diagonal tiles are written in full. Tiles
    strictly above the block diagonal are left untouched. ``done(rows)`` (e.g. a progress
    bar's ``update``) is called after each panel with its number of rows.
    """
    diag_value = kernel.diagonal_value()
    for i0, i1 in row_blocks(len(rows), block_size):
        panel = buffer[i0:i1, :i1]
        kernel.block(rows[i0:i1], rows[:i1], out=panel)
        _symmetrize_tile(panel[:, i0:i1], diag_value)
        if done is not None:
            done(i1 - i0)


def fill_column_panel(
    kernel: Kernel | None, rows: Rows | torch.Tensor, start: int, stop: int, out: torch.Tensor
) -> None:
    """Write the column panel ``K[start:, start:stop]`` into ``out`` (its top tile symmetric).

    ``kernel=None`` reads the panel from ``rows``, then a precomputed ``K`` (any device).
    """
    if kernel is None:
        out.copy_(rows[start:, start:stop])
        diag_value = None
    else:
        kernel.block(rows[start:], rows[start:stop], out=out)
        diag_value = kernel.diagonal_value()
    _symmetrize_tile(out[: stop - start], diag_value)


def _symmetrize_tile(tile: torch.Tensor, diag_value: float | None) -> None:
    """Make a diagonal tile exactly symmetric (a float32 ``A @ A.T`` need not be) in place.

    The lower triangle is mirrored onto the upper one, so every stored entry of ``K``
    equals the one its transpose is read from; ``diag_value`` (stationary kernels) is
    written on the diagonal exactly.
    """
    tile.copy_(tile.tril() + tile.tril(-1).T)
    if diag_value is not None:
        tile.diagonal().fill_(diag_value)


def lower_panels(
    buffer: torch.Tensor, diagonal: torch.Tensor, block_size: int, dtype: torch.dtype
) -> Iterator[Panel]:
    """Row panels ``(i0, i1, K[i0:i1, :i1])`` read from a lower-triangle store, in ``dtype``.

    ``buffer``'s strict lower triangle holds ``K``; its diagonal and upper triangle may
    hold anything (a Cholesky factor); ``diagonal`` holds ``diag(K)``. Each panel is a
    copy whose diagonal tile is rebuilt symmetric, written into one workspace that is
    reused for the next panel (so a panel is valid until the next one is drawn). Panels
    are at most ``block_size`` rows high, and lower still when that keeps the workspace
    within ``_WORKSPACE_BYTES`` (it then stays in the CPU's last-level cache while the
    panel is read twice, as ``K_ij`` and ``K_ij^T``).
    """
    n = buffer.shape[0]
    itemsize = torch.finfo(dtype).bits // 8
    height = max(1, min(block_size, _WORKSPACE_BYTES // max(1, n * itemsize)))
    workspace = torch.empty((min(height, n), n), dtype=dtype, device=buffer.device)
    for i0, i1 in row_blocks(n, height):
        panel = workspace[: i1 - i0, :i1]
        panel.copy_(buffer[i0:i1, :i1])
        tile = panel[:, i0:i1]
        tile.copy_(tile.tril(-1) + tile.tril(-1).T)
        tile.diagonal().copy_(diagonal[i0:i1])
        yield i0, i1, panel


def symmetric_matmul(panels: Iterable[Panel], v: torch.Tensor) -> torch.Tensor:
    """``K @ v`` from the lower row panels ``K[i0:i1, :i1]`` of a symmetric ``K``.

    Every panel is used twice, as ``K_i,:`` and (off its diagonal tile) as its transpose;
    products are accumulated in ``v.dtype``.
    """
    out = torch.zeros_like(v)
    for i0, i1, panel in panels:
        t = panel.to(v.dtype)
        out[i0:i1] += t @ v[:i1]
        if i0 > 0:
            out[:i0] += (v[i0:i1].T @ t[:, :i0]).T
    return out


def symmetrize_lower(buffer: torch.Tensor, block_size: int) -> None:
    """Rebuild the full symmetric ``K`` in ``buffer`` from its lower triangle and diagonal.

    Each strip above the diagonal is one transposed copy of the panel left of the
    diagonal, straight from buffer to buffer (no intermediate panel).
    """
    for i0, i1 in row_blocks(buffer.shape[0], block_size):
        tile = buffer[i0:i1, i0:i1]
        tile.copy_(tile.tril() + tile.tril(-1).T)
        if i0 > 0:
            buffer[:i0, i0:i1].copy_(buffer[i0:i1, :i0].T)


def cross_matmul(
    kernel: Kernel, queries: Rows, fit_rows: Rows, coef: torch.Tensor, block_size: int
) -> torch.Tensor:
    """``K(queries, fit_rows) @ coef`` in tiles, accumulated in ``coef.dtype``."""
    out = torch.zeros((len(queries), coef.shape[1]), dtype=coef.dtype, device=coef.device)
    fit_blocks = row_blocks(len(fit_rows), block_size)
    for q0, q1 in row_blocks(len(queries), block_size):
        q = queries[q0:q1]
        for j0, j1 in fit_blocks:
            out[q0:q1] += kernel.block(q, fit_rows[j0:j1]).to(coef.dtype) @ coef[j0:j1]
    return out


class GramOperator:
    """Matrix-free ``v -> K(X, X) @ v`` over lower row panels, with a bounded cache.

    Parameters
    ----------
    kernel : Kernel
        The kernel.
    rows : Rows
        The prepared training rows on the device.
    block_size : int
        Tile side.
    cache_bytes : int
        Bytes of panels kept between products (0 recomputes every panel every time).

    Examples
    --------
    >>> import torch
    >>> from sklearn_gen.kernels import Kernel
    >>> from sklearn_gen.kernels._gram import GramOperator
    >>> k = Kernel("linear")
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    >>> op = GramOperator(k, k.prepare(x), block_size=2, cache_bytes=0)
    >>> op.matmul(torch.ones(3, 1, dtype=torch.float64)).ravel()
    tensor([2., 6., 5.], dtype=torch.float64)
    """

    def __init__(self, kernel: Kernel, rows: Rows, block_size: int, cache_bytes: int) -> None:
        self.kernel = kernel
        self.rows = rows
        self.block_size = block_size
        self.cache_bytes = cache_bytes
        self._cache: dict[int, torch.Tensor] = {}
        self._cached_bytes = 0
        self.n_panel_evaluations = 0

    @property
    def n(self) -> int:
        """Number of training rows."""
        return len(self.rows)

    @property
    def dtype(self) -> torch.dtype:
        """The kernel's working precision."""
        return self.rows.x.dtype

    @property
    def device(self) -> torch.device:
        """Where the rows live."""
        return self.rows.x.device

    def panels(self) -> Iterator[Panel]:
        """Lower row panels ``(i0, i1, K[i0:i1, :i1])``, cached or freshly evaluated."""
        diag_value = self.kernel.diagonal_value()
        for i0, i1 in row_blocks(self.n, self.block_size):
            panel = self._cache.get(i0)
            if panel is None:
                panel = self.kernel.block(self.rows[i0:i1], self.rows[:i1])
                self.n_panel_evaluations += 1
                _symmetrize_tile(panel[:, i0:i1], diag_value)
                size = panel.numel() * panel.element_size()
                if self._cached_bytes + size <= self.cache_bytes:
                    self._cache[i0] = panel
                    self._cached_bytes += size
            yield i0, i1, panel

    def matmul(self, v: torch.Tensor) -> torch.Tensor:
        """``K @ v`` for ``v`` of shape ``(n, c)``, accumulated in ``v.dtype``."""
        return symmetric_matmul(self.panels(), v)

    def columns(self, index: torch.Tensor) -> torch.Tensor:
        """``K[:, index]`` as an ``(n, len(index))`` tensor in the kernel's dtype."""
        landmarks = self.rows[index]
        cols = torch.empty(
            (self.n, index.numel()), dtype=self.rows.x.dtype, device=self.rows.x.device
        )
        for i0, i1 in row_blocks(self.n, self.block_size):
            self.kernel.block(self.rows[i0:i1], landmarks, out=cols[i0:i1])
        diag_value = self.kernel.diagonal_value()
        if diag_value is not None:
            cols[index, torch.arange(index.numel(), device=index.device)] = diag_value
        return cols
