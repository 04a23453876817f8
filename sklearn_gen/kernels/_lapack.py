"""In-place LAPACK/BLAS on the CPU, from the library that torch ships.

``torch.linalg.cholesky`` zeroes the triangle it does not factor and
``torch.linalg.solve_triangular`` returns a new array, so neither can keep ``K`` beside its
factor in one buffer. LAPACK's ``?potrf`` and BLAS's ``?trsm`` work in place on a block of a
larger matrix (its leading dimension is the buffer's row stride). When torch's CPU library
exports them (MKL builds do), :func:`potrf_upper` and :func:`trsm_upper_panel` call them
through :mod:`ctypes`; otherwise they return None and the caller uses torch operations.

A C-contiguous (row-major) matrix is its transpose to Fortran, so Fortran's lower triangle
is the buffer's upper one: every routine here works on the buffer's upper triangle.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from pathlib import Path

import torch

_PREFIX = {torch.float32: "s", torch.float64: "d"}
_SCALAR = {torch.float32: ctypes.c_float, torch.float64: ctypes.c_double}


@functools.cache
def _library() -> ctypes.CDLL | None:
    lib_dir = Path(torch.__file__).parent / "lib"
    suffix = {"darwin": ".dylib", "win32": ".dll"}.get(sys.platform, ".so")
    for name in ("libtorch_cpu", "torch_cpu"):
        path = lib_dir / f"{name}{suffix}"
        if path.exists():
            try:
                return ctypes.CDLL(str(path))
            except OSError:
                return None
    return None


@functools.cache
def _routine(dtype: torch.dtype, name: str) -> ctypes._CFuncPtr | None:
    lib = _library()
    if lib is None or dtype not in _PREFIX:
        return None
    return getattr(lib, f"{_PREFIX[dtype]}{name}_", None)


def potrf_available(dtype: torch.dtype) -> bool:
    """Whether in-place LAPACK ``potrf`` and BLAS ``trsm`` for ``dtype`` were found."""
    return _routine(dtype, "potrf") is not None and _routine(dtype, "trsm") is not None


def _usable(buffer: torch.Tensor) -> bool:
    return (
        buffer.device.type == "cpu"
        and buffer.dtype in _PREFIX
        and buffer.ndim == 2
        and buffer.stride(1) == 1
        and buffer.stride(0) >= buffer.shape[1]
        and potrf_available(buffer.dtype)
    )


def _char(value: bytes) -> ctypes._Pointer:
    return ctypes.byref(ctypes.c_char(value))


def _int(value: int) -> ctypes._Pointer:
    return ctypes.byref(ctypes.c_int(value))


def _address(buffer: torch.Tensor, row: int, col: int) -> ctypes.c_void_p:
    offset = row * buffer.stride(0) + col * buffer.stride(1)
    return ctypes.c_void_p(buffer.data_ptr() + offset * buffer.element_size())


def potrf_upper(buffer: torch.Tensor, start: int = 0, stop: int | None = None) -> int | None:
    """Factor the diagonal block ``K[start:stop, start:stop] = U^T U`` in place.

    Only the block's upper triangle (diagonal included) is read and overwritten with ``U``;
    everything else in ``buffer`` is left as it was. ``buffer`` is a CPU float matrix whose
    rows are contiguous (a view into a larger one is fine). Returns LAPACK's ``info`` (0 on
    success, ``k > 0`` if the leading minor of order ``k`` is not positive definite), or
    None when no suitable LAPACK is available.

    Examples
    --------
    >>> import torch
    >>> from sklearn_gen.kernels._lapack import potrf_upper
    >>> k = torch.tensor([[4.0, 2.0], [2.0, 5.0]], dtype=torch.float64)
    >>> info = potrf_upper(k)
    >>> info is None or (info == 0 and k.tolist() == [[2.0, 1.0], [2.0, 2.0]])
    True
    """
    stop = min(buffer.shape) if stop is None else stop
    if not _usable(buffer) or stop > min(buffer.shape):
        return None
    info = ctypes.c_int(0)
    _routine(buffer.dtype, "potrf")(
        _char(b"L"),
        _int(stop - start),
        _address(buffer, start, start),
        _int(buffer.stride(0)),
        ctypes.byref(info),
        ctypes.c_size_t(1),
    )
    return int(info.value)


def trsm_upper_panel(buffer: torch.Tensor, start: int, stop: int) -> bool:
    """``buffer[start:stop, stop:] = U^{-T} buffer[start:stop, stop:]`` in place.

    ``U`` is the upper triangle of the diagonal block ``buffer[start:stop, start:stop]``
    (as left by :func:`potrf_upper`). This is the panel step of a blocked Cholesky: with
    ``K[start:stop, stop:]`` on entry, the block row of the factor is left on exit. Returns
    False (and does nothing) where no suitable BLAS is available.

    Examples
    --------
    >>> import torch
    >>> from sklearn_gen.kernels._lapack import potrf_upper, trsm_upper_panel
    >>> k = torch.tensor([[4.0, 2.0], [2.0, 5.0]], dtype=torch.float64)
    >>> potrf_upper(k, 0, 1) in (0, None) and trsm_upper_panel(k, 0, 1) in (True, False)
    True
    """
    if not _usable(buffer):
        return False
    width, rest = stop - start, buffer.shape[1] - stop
    if rest <= 0:
        return True
    one = _SCALAR[buffer.dtype](1.0)
    # Fortran sees B = panel^T (rest x width) and L = U^T: solve X L^T = B for X
    _routine(buffer.dtype, "trsm")(
        _char(b"R"),
        _char(b"L"),
        _char(b"T"),
        _char(b"N"),
        _int(rest),
        _int(width),
        ctypes.byref(one),
        _address(buffer, start, start),
        _int(buffer.stride(0)),
        _address(buffer, start, stop),
        _int(buffer.stride(0)),
        *(ctypes.c_size_t(1),) * 4,
    )
    return True
