"""Cholesky past memory: the factor and the Gram matrix as column panels in files on disk.

:func:`solve_out_of_core` runs the same arithmetic as the in-memory solver (one Cholesky,
then float64 iterative refinement, :func:`~sklearn_gen.kernels._solvers.refine`) when the
Gram matrix does not fit ``memory_budget``. It is a left-looking blocked Cholesky
``K = L L^T`` over column panels ``[j0:n, j0:j1]`` of width ``w``:

1. evaluate ``K[j0:, j0:j1]`` with the kernel (the lower triangle only, as the dense fill)
   and append it to ``gram.bin``;
2. subtract ``L[j0:, k] L[j0:j1, k]^T`` for every earlier panel ``k``, each read back from
   ``factor.bin`` in one contiguous read of its rows ``j0:`` (panels are stored row-major,
   so the rows below ``j0`` are one byte range);
3. factor the top ``w x w`` tile, solve the rows below it, append the panel to
   ``factor.bin``.

The flops are the dense path's (``n^2 d`` for the kernel, ``n^3 / 3`` for the factor, in
matrix products of ``(n - j0) x w`` panels); the extra cost is reading ``n^3 / (6 w)``
floats back, sequentially. At most three panels (``3 n w`` floats) are in memory, so
``w`` follows from the budget. Triangular solves and products with ``K`` stream the files
once per pass. Files are read and written with ``pread``/``pwrite`` (not mapped), so they
never count towards the process's memory; the operating system may keep them in its page
cache while RAM is free. The scratch folder is removed when the solve ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

from sklearn_gen._device import format_bytes
from sklearn_gen.kernels._gram import row_blocks
from sklearn_gen.kernels._progress import progress_bar
from sklearn_gen.kernels._solvers import Solution, pivot_tolerance, refine

PanelSource = Callable[[int, int, torch.Tensor], None]
"""``fill(j0, j1, out)`` writes ``K[j0:, j0:j1]`` into ``out`` (diagonal tile symmetric)."""

_MAX_WIDTH = 4096
MIN_WIDTH = 128
"""Narrowest panel the out-of-core solver runs with."""
_IO_CHUNK = 1 << 30  # pread/pwrite move at most about 2 GiB per call on Linux
_CONVERT_BYTES = 16 * 2**20


def panel_width(n: int, itemsize: int, budget: int) -> int:
    """Widest panel (a multiple of 128, at most 4096) of which three fit ``budget`` bytes.

    Returns 0 when not even a ``128``-wide panel fits.

    Examples
    --------
    >>> from sklearn_gen.kernels._out_of_core import panel_width
    >>> panel_width(30000, 4, 1_800_000_000)
    4096
    >>> panel_width(30000, 4, 10_000_000)
    0
    """
    width = budget // (3 * n * itemsize) // MIN_WIDTH * MIN_WIDTH
    width = min(width, _MAX_WIDTH, -(-n // MIN_WIDTH) * MIN_WIDTH)
    return int(width) if width >= MIN_WIDTH else 0


def scratch_bytes(n: int, itemsize: int) -> int:
    """Disk space of the two files: the lower triangles of ``K`` and of its factor."""
    return n * (n + _MAX_WIDTH) * itemsize


def check_scratch(
    folder: str | os.PathLike | None, n: int, itemsize: int, *, full_is_error: bool = True
) -> Path | None:
    """The scratch folder, checked before any work (None if full and not ``full_is_error``).

    Raises a ValueError naming ``scratch_dir`` when the folder does not exist, or (with
    ``full_is_error``) when it has less free space than :func:`scratch_bytes`.
    """
    path = Path(tempfile.gettempdir() if folder is None else folder)
    if not path.is_dir():
        raise ValueError(
            f"scratch_dir={str(path)!r} is not an existing folder; pass a folder on a local "
            "disk (None uses the system's temporary folder)."
        )
    need, free = scratch_bytes(n, itemsize), shutil.disk_usage(path).free
    if need <= free:
        return path
    if not full_is_error:
        return None
    raise ValueError(
        f"The out-of-core solver needs about {format_bytes(need)} of disk for n={n} "
        f"samples but {path} has {format_bytes(free)} free; pass scratch_dir= a folder "
        "on a larger local disk, or use solver='cg'."
    )


class _PanelFile:
    """Column panels ``[j0:n, j0:j1]`` appended row-major to one file, read back by rows."""

    def __init__(self, path: Path, n: int, blocks: list[tuple[int, int]], dtype: torch.dtype):
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        self.n = n
        self.dtype = dtype
        self.itemsize = torch.finfo(dtype).bits // 8
        self.offsets = {}
        offset = 0
        for j0, j1 in blocks:
            self.offsets[j0] = offset
            offset += (n - j0) * (j1 - j0) * self.itemsize

    def write(self, j0: int, panel: torch.Tensor) -> None:
        array = panel.detach().to("cpu", self.dtype).contiguous().numpy()
        view = memoryview(array).cast("B")
        offset, done = self.offsets[j0], 0
        while done < len(view):
            done += os.pwrite(self.fd, view[done : done + _IO_CHUNK], offset + done)

    def read(self, j0: int, width: int, row: int, out: torch.Tensor) -> torch.Tensor:
        """Rows ``row:`` of panel ``j0`` (``width`` wide) into ``out`` (then on its device)."""
        host = out if out.device.type == "cpu" else torch.empty_like(out, device="cpu")
        view = memoryview(host.numpy()).cast("B")
        offset, done = self.offsets[j0] + (row - j0) * width * self.itemsize, 0
        while done < len(view):
            got = os.preadv(self.fd, [view[done : done + _IO_CHUNK]], offset + done)
            if got <= 0:  # pragma: no cover - a truncated scratch file
                raise OSError(f"short read from the scratch file at offset {offset + done}")
            done += got
        if host is not out:
            out.copy_(host)
        return out

    def close(self) -> None:
        os.close(self.fd)


def _factor(
    fill: PanelSource,
    blocks: list[tuple[int, int]],
    gram: _PanelFile,
    factor: _PanelFile,
    work: torch.Tensor,
    min_pivot: float,
    progress: str | bool,
) -> bool:
    """Left-looking Cholesky into ``factor``; ``K``'s panels into ``gram``. False if singular."""
    n = factor.n
    flops = [(n - j0) * (j1 - j0) * (j0 + (j1 - j0) / 3) * 2 / 1e9 for j0, j1 in blocks]
    with progress_bar(progress, sum(flops), f"out-of-core Cholesky n={n}") as bar:
        for (j0, j1), step in zip(blocks, flops, strict=True):
            width, rows = j1 - j0, n - j0
            panel = work[0, : rows * width].view(rows, width)
            fill(j0, j1, panel)
            gram.write(j0, panel)
            for k0, k1 in blocks:
                if k0 >= j0:
                    break
                earlier = factor.read(k0, k1 - k0, j0, work[1, : rows * (k1 - k0)].view(rows, -1))
                panel.addmm_(earlier, earlier[:width].T, alpha=-1.0)
            lower, info = torch.linalg.cholesky_ex(panel[:width])
            if int(info) != 0 or float(lower.diagonal().min()) ** 2 <= min_pivot:
                return False
            panel[:width].copy_(lower)
            if rows > width:
                below = panel[width:]
                below.copy_(torch.linalg.solve_triangular(lower, below.T, upper=False).T)
            factor.write(j0, panel)
            bar.update(step)
    return True


def _panels(
    store: _PanelFile, blocks: list[tuple[int, int]], work: torch.Tensor, reverse: bool = False
):
    for j0, j1 in reversed(blocks) if reverse else blocks:
        rows, width = store.n - j0, j1 - j0
        yield j0, j1, store.read(j0, width, j0, work[: rows * width].view(rows, width))


def _solve_factor(
    factor: _PanelFile, blocks: list[tuple[int, int]], work: torch.Tensor, rhs: torch.Tensor
) -> torch.Tensor:
    """``(L L^T)^{-1} rhs``: one forward and one backward pass over ``factor``."""
    z = rhs.to(factor.dtype, copy=True)
    for j0, j1, panel in _panels(factor, blocks, work):
        width = j1 - j0
        z[j0:j1] = torch.linalg.solve_triangular(panel[:width], z[j0:j1], upper=False)
        z[j1:] -= panel[width:] @ z[j0:j1]
    for j0, j1, panel in _panels(factor, blocks, work, reverse=True):
        width = j1 - j0
        z[j0:j1] -= panel[width:].T @ z[j1:]
        z[j0:j1] = torch.linalg.solve_triangular(panel[:width].T, z[j0:j1], upper=True)
    return z.to(rhs.dtype)


def _gram_matmul(
    gram: _PanelFile, blocks: list[tuple[int, int]], work: torch.Tensor, v: torch.Tensor
) -> torch.Tensor:
    """``K @ v`` accumulated in ``v.dtype``, from the lower column panels in ``gram``."""
    out = torch.zeros_like(v)
    n = gram.n
    for j0, j1, panel in _panels(gram, blocks, work):
        width = j1 - j0
        chunk = max(1, _CONVERT_BYTES // (width * v.element_size()))
        for r0, r1 in row_blocks(n - j0, chunk):
            part = panel[r0:r1].to(v.dtype)
            out[j0 + r0 : j0 + r1] += part @ v[j0:j1]
            if r1 > width:  # rows below the diagonal tile also act as K[j0:j1, below]
                lo = max(r0, width)
                out[j0:j1] += part[lo - r0 :].T @ v[j0 + lo : j0 + r1]
    return out


def solve_out_of_core(
    fill: PanelSource,
    n: int,
    y: torch.Tensor,
    *,
    dtype: torch.dtype,
    device: torch.device,
    width: int,
    scratch: Path,
    tol: float,
    max_refine: int,
    diagonal_max: float,
    progress: str | bool = False,
) -> Solution | None:
    """Solve ``K alpha = Y`` with ``K``'s panels from ``fill`` and the factor on disk.

    ``width`` is the panel width (:func:`panel_width`), ``scratch`` the folder for the two
    files (:func:`check_scratch`), ``diagonal_max`` the largest diagonal entry of ``K``
    (for :func:`~sklearn_gen.kernels._solvers.pivot_tolerance`). Returns None when ``K``
    is singular to working precision, else the refined solution.

    Examples
    --------
    >>> import tempfile, torch
    >>> from pathlib import Path
    >>> from sklearn_gen.kernels._out_of_core import solve_out_of_core
    >>> a = torch.randn(300, 400, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> k = a @ a.T / 400
    >>> def fill(j0, j1, out):
    ...     out.copy_(k[j0:, j0:j1])
    >>> y = torch.ones(300, 1, dtype=torch.float64)
    >>> sol = solve_out_of_core(
    ...     fill, 300, y, dtype=torch.float64, device=torch.device("cpu"), width=128,
    ...     scratch=Path(tempfile.gettempdir()), tol=1e-10, max_refine=5, diagonal_max=2.0)
    >>> bool(torch.allclose(k @ sol.coef, y))
    True
    """
    blocks = row_blocks(n, width)
    refined = dtype != torch.float64
    diag = torch.full((n,), diagonal_max, dtype=dtype)
    min_pivot = pivot_tolerance(diag, refined)
    work = torch.empty((2, n * width), dtype=dtype, device=device)
    with tempfile.TemporaryDirectory(prefix="sklearn_gen_kernel_", dir=scratch) as folder:
        gram = _PanelFile(Path(folder) / "gram.bin", n, blocks, dtype)
        factor = _PanelFile(Path(folder) / "factor.bin", n, blocks, dtype)
        try:
            if not _factor(fill, blocks, gram, factor, work, min_pivot, progress):
                return None
            sol = refine(
                lambda rhs: _solve_factor(factor, blocks, work[0], rhs),
                lambda v: _gram_matmul(gram, blocks, work[0], v),
                y,
                tol,
                max_refine,
                progress,
            )
        finally:
            gram.close()
            factor.close()
    sol.solver = "out_of_core"
    return sol
