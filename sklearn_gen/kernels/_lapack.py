"""In-place LAPACK Cholesky on the CPU, from the LAPACK library that torch ships.

``torch.linalg.cholesky`` zeroes the triangle it does not factor, so it cannot keep ``K``
beside its factor in one buffer. LAPACK's ``?potrf`` touches only one triangle. When
torch's CPU library exports ``spotrf_``/``dpotrf_`` (MKL builds do), :func:`potrf_upper`
calls it through :mod:`ctypes`; otherwise it returns None and the caller uses the
portable blocked factorization written with torch operations.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from pathlib import Path

import torch

_NAMES = {torch.float32: "spotrf_", torch.float64: "dpotrf_"}


@functools.cache
def _potrf(dtype: torch.dtype) -> ctypes._CFuncPtr | None:
    lib_dir = Path(torch.__file__).parent / "lib"
    suffix = {"darwin": ".dylib", "win32": ".dll"}.get(sys.platform, ".so")
    for name in ("libtorch_cpu", "torch_cpu"):
        path = lib_dir / f"{name}{suffix}"
        if not path.exists():
            continue
        try:
            return getattr(ctypes.CDLL(str(path)), _NAMES[dtype])
        except (OSError, AttributeError):
            return None
    return None


def potrf_available(dtype: torch.dtype) -> bool:
    """Whether an in-place LAPACK ``potrf`` for ``dtype`` was found in torch's library."""
    return dtype in _NAMES and _potrf(dtype) is not None


def potrf_upper(buffer: torch.Tensor) -> int | None:
    """Factor ``K = U^T U`` from the upper triangle of a C-contiguous CPU ``buffer``.

    Only the upper triangle (diagonal included) is read and overwritten with ``U``; the
    strict lower triangle is left as it was. Returns LAPACK's ``info`` (0 on success,
    ``k > 0`` if the leading minor of order ``k`` is not positive definite), or None when
    no suitable LAPACK is available or ``buffer`` is not a contiguous float CPU matrix.

    Examples
    --------
    >>> import torch
    >>> from sklearn_gen.kernels._lapack import potrf_upper
    >>> k = torch.tensor([[4.0, 2.0], [2.0, 5.0]], dtype=torch.float64)
    >>> info = potrf_upper(k)
    >>> info is None or (info == 0 and k.tolist() == [[2.0, 1.0], [2.0, 2.0]])
    True
    """
    if (
        buffer.device.type != "cpu"
        or buffer.dtype not in _NAMES
        or not buffer.is_contiguous()
        or buffer.ndim != 2
        or buffer.shape[0] != buffer.shape[1]
    ):
        return None
    func = _potrf(buffer.dtype)
    if func is None:
        return None
    n = ctypes.c_int(buffer.shape[0])
    info = ctypes.c_int(0)
    # A C-contiguous matrix is its transpose to Fortran: Fortran's lower is our upper.
    func(
        ctypes.byref(ctypes.c_char(b"L")),
        ctypes.byref(n),
        ctypes.c_void_p(buffer.data_ptr()),
        ctypes.byref(n),
        ctypes.byref(info),
        ctypes.c_size_t(1),
    )
    return int(info.value)
