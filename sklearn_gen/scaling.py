"""Dask clusters laid out for sklearn_gen: one worker process per GPU.

Every study in sklearn_gen is a set of independent fits run through joblib, so
``with joblib.parallel_backend("dask"):`` spreads it over any Dask cluster. On a machine
with several GPUs, :func:`gpu_worker_cluster` starts the layout that keeps fits from
sharing a GPU: one worker process per GPU, each started with ``CUDA_VISIBLE_DEVICES`` set
to its own GPU, so ``device="auto"`` (the default of every estimator here) picks that GPU
and nothing else is visible to it. On a multi-machine cluster, start the workers the same
way by hand (``CUDA_VISIBLE_DEVICES=i dask worker ...``; see ``docs/scaling.md``).

Requires the ``dask`` extra (``pip install "sklearn-gen[dask]"``).
"""

from __future__ import annotations

import logging
import numbers
import os
from collections.abc import Sequence
from typing import Any

__all__ = ["gpu_worker_cluster", "visible_gpus", "worker_device"]


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` entries.

    ``CUDA_VISIBLE_DEVICES`` split at commas when it is set (an empty value means no GPU),
    else the indices ``0 .. torch.cuda.device_count() - 1``.

    Returns
    -------
    list of str
        One entry per GPU; empty on a machine without CUDA.

    Examples
    --------
    >>> from sklearn_gen.scaling import visible_gpus
    >>> isinstance(visible_gpus(), list)
    True
    """
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [entry.strip() for entry in listed.split(",") if entry.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def worker_device() -> dict[str, Any]:
    """What a worker sees: its ``CUDA_VISIBLE_DEVICES``, GPU count and ``device="auto"``.

    Meant for ``client.run(worker_device)`` to check a cluster's GPU layout.

    Returns
    -------
    dict
        ``cuda_visible_devices`` (str or None), ``cuda_device_count`` (int) and
        ``auto_device`` (the device ``device="auto"`` resolves to, as a string).

    Examples
    --------
    >>> from sklearn_gen.scaling import worker_device
    >>> sorted(worker_device())
    ['auto_device', 'cuda_device_count', 'cuda_visible_devices']
    """
    import torch

    from sklearn_gen._device import resolve_device

    return {
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "cuda_device_count": torch.cuda.device_count(),
        "auto_device": str(resolve_device("auto")),
    }


def gpu_worker_cluster(
    devices: Sequence[int | str] | None = None,
    *,
    threads_per_worker: int = 1,
    dashboard_address: str | None = None,
    **worker_options: Any,
):
    """Start a local Dask cluster with one worker process per GPU.

    Worker ``gpu-<id>`` is a ``distributed.Nanny`` process started with
    ``CUDA_VISIBLE_DEVICES=<id>``, so it sees exactly one GPU and ``device="auto"``
    resolves to it: fits running at the same time never share a GPU.

    Parameters
    ----------
    devices : sequence of int or str, default=None
        The GPUs, one worker each (``CUDA_VISIBLE_DEVICES`` entries: indices or UUIDs).
        None means every GPU this process sees (:func:`visible_gpus`); that must not be
        empty.
    threads_per_worker : int, default=1
        Threads per worker; 1 runs one fit per GPU at a time.
    dashboard_address : str, default=None
        Where the scheduler serves its dashboard (None: no dashboard).
    **worker_options
        Further ``distributed.Nanny`` options (e.g. ``memory_limit``).

    Returns
    -------
    distributed.SpecCluster
        The running cluster; connect with ``distributed.Client(cluster)`` and close it
        (or use it as a context manager) when done.

    Raises
    ------
    ImportError
        When ``distributed`` is not installed.
    ValueError
        When no device is given and none is visible, or a device is repeated.

    Examples
    --------
    >>> from sklearn_gen.scaling import gpu_worker_cluster
    >>> gpu_worker_cluster(devices=[], threads_per_worker=1)
    Traceback (most recent call last):
    ...
    ValueError: devices is empty: gpu_worker_cluster needs at least one GPU ...

    On a machine with GPUs::

        import joblib
        from distributed import Client

        with gpu_worker_cluster() as cluster, Client(cluster):
            with joblib.parallel_backend("dask"):
                search.fit(X, y)  # each fit on its own GPU
    """
    if (
        isinstance(threads_per_worker, bool)
        or not isinstance(threads_per_worker, numbers.Integral)
        or threads_per_worker < 1
    ):
        raise ValueError(f"threads_per_worker must be an integer >= 1, got {threads_per_worker!r}.")
    found = visible_gpus() if devices is None else [str(device).strip() for device in devices]
    if not found:
        where = "no GPU is visible" if devices is None else "devices is empty"
        raise ValueError(
            f"{where}: gpu_worker_cluster needs at least one GPU (pass devices=[0, 1, ...]); "
            "on a CPU machine use distributed.LocalCluster instead."
        )
    if len(set(found)) != len(found) or "" in found:
        raise ValueError(f"devices must be distinct, non-empty GPU ids, got {found}.")
    try:
        from distributed import Nanny, Scheduler, SpecCluster
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        raise ImportError(
            "gpu_worker_cluster needs Dask's distributed: pip install 'sklearn-gen[dask]'."
        ) from exc
    workers = {
        f"gpu-{device}": {
            "cls": Nanny,
            "options": {
                "nthreads": threads_per_worker,
                "env": {"CUDA_VISIBLE_DEVICES": device},
                **worker_options,
            },
        }
        for device in found
    }
    scheduler = {"cls": Scheduler, "options": {"dashboard_address": dashboard_address}}
    return SpecCluster(workers=workers, scheduler=scheduler, silence_logs=logging.ERROR)
