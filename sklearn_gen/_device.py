"""Device, dtype and memory helpers shared by every torch-backed estimator.

All estimators take ``device="auto" | "cpu" | "cuda" | "cuda:N"`` and resolve it in
``fit`` with :func:`resolve_device`: ``"auto"`` picks CUDA when present and falls back to
the CPU silently, an explicit CUDA request on a machine without one is a clear error.
"""

from __future__ import annotations

import os

import numpy as np
import torch

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn a ``device`` parameter into a :class:`torch.device`.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"} or str or torch.device
        ``"auto"`` selects ``cuda`` when :func:`torch.cuda.is_available` and ``cpu``
        otherwise. ``"cuda"`` or ``"cuda:N"`` on a machine without CUDA raises.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If the string is not a device name, or CUDA is requested but unavailable.

    Examples
    --------
    >>> from sklearn_gen._device import resolve_device
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, torch.device):
        name = str(device)
    elif isinstance(device, str):
        name = device
    else:
        raise TypeError(f"device must be a string or torch.device, got {type(device).__name__}.")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as exc:
        raise ValueError(
            f"device={name!r} is not a valid device; use 'auto', 'cpu' or 'cuda'."
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={name!r} was requested but CUDA is not available on this machine; "
            "use device='auto' to fall back to the CPU."
        )
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device={name!r} is not supported; use 'auto', 'cpu' or 'cuda'.")
    return dev


def resolve_dtype(dtype: str) -> torch.dtype:
    """Map ``"float32"`` / ``"float64"`` to the torch dtype.

    Examples
    --------
    >>> from sklearn_gen._device import resolve_dtype
    >>> resolve_dtype("float64")
    torch.float64
    """
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}.")
    return _DTYPES[dtype]


def available_memory(device: torch.device) -> int:
    """Bytes of memory free for new allocations on ``device``.

    On CUDA this is the driver's free memory; on the CPU it is ``MemAvailable`` from
    ``/proc/meminfo`` (or the physical memory size where that file does not exist).

    Examples
    --------
    >>> import torch
    >>> from sklearn_gen._device import available_memory
    >>> available_memory(torch.device("cpu")) > 0
    True
    """
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
        return 8 * 1024**3


def resolve_memory_budget(memory_budget: int | float | None, device: torch.device) -> int:
    """Bytes an estimator may allocate: the user's budget or half of what is free.

    Examples
    --------
    >>> import torch
    >>> from sklearn_gen._device import resolve_memory_budget
    >>> resolve_memory_budget(1e6, torch.device("cpu"))
    1000000
    """
    if memory_budget is None:
        return available_memory(device) // 2
    return int(memory_budget)


def format_bytes(n_bytes: float) -> str:
    """Human-readable size, e.g. ``'1.5 GiB'``.

    Examples
    --------
    >>> from sklearn_gen._device import format_bytes
    >>> format_bytes(3 * 1024**3 / 2)
    '1.50 GiB'
    """
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n_bytes) < 1024 or unit == "GiB":
            return f"{n_bytes:.2f} {unit}" if unit != "B" else f"{int(n_bytes)} B"
        n_bytes /= 1024
    return f"{n_bytes:.2f} GiB"  # pragma: no cover


def seed_generator(random_state: int | np.random.RandomState | None) -> torch.Generator:
    """A CPU :class:`torch.Generator` seeded from an sklearn ``random_state``.

    Examples
    --------
    >>> from sklearn_gen._device import seed_generator
    >>> g1, g2 = seed_generator(0), seed_generator(0)
    >>> bool((torch.randperm(5, generator=g1) == torch.randperm(5, generator=g2)).all())
    True
    """
    from sklearn.utils import check_random_state

    from sklearn_gen._validation import draw_seed

    gen = torch.Generator()
    gen.manual_seed(draw_seed(check_random_state(random_state)))
    return gen
