"""Loaders for CIFAR-10 and CIFAR-100 in their "python version" folders.

``cifar-10-batches-py`` holds ``data_batch_1`` ... ``data_batch_5`` (the 50,000 training
images), ``test_batch`` (10,000) and ``batches.meta`` (``label_names``); ``cifar-100-python``
holds ``train`` (50,000), ``test`` (10,000) and ``meta`` (``fine_label_names``,
``coarse_label_names``). Each file is a pickle of a dict whose ``data`` is a ``uint8`` array of
shape ``(n, 3072)``: the red, then green, then blue 32x32 plane of each image, which is the
``(C, H, W)`` order the package's networks read. Files are read with
:class:`~sklearn_gen.datasets._safe_pickle.RestrictedUnpickler`, so loading never runs code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils import Bunch

from sklearn_gen.datasets._common import check_pixel_options, official_split_bunch
from sklearn_gen.datasets._safe_pickle import load_data_pickle

__all__ = ["load_cifar10", "load_cifar100"]

_IMAGE_SHAPE = (3, 32, 32)
_N_FEATURES = 3 * 32 * 32
_CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))


def _field(record: Any, key: str, path: Path) -> Any:
    if not isinstance(record, dict):
        raise ValueError(
            f"{str(path)!r} holds a {type(record).__name__}, not the dict of a CIFAR batch."
        )
    if key not in record:
        raise ValueError(
            f"{str(path)!r} has no {key!r} entry (it has {sorted(map(str, record))}); is it a "
            "CIFAR batch of the python version?"
        )
    return record[key]


def _read_batch(path: Path, label_key: str, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """``(uint8 data (n, 3072), int64 labels (n,))`` of one batch, every field checked."""
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR batch {str(path)!r} is missing.")
    record = load_data_pickle(path)
    data = _field(record, "data", path)
    labels = _field(record, label_key, path)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        raise ValueError(f"{str(path)!r}: 'data' must be a uint8 array, got {type(data).__name__}.")
    if data.ndim != 2 or data.shape[1] != _N_FEATURES:
        raise ValueError(
            f"{str(path)!r}: 'data' has shape {data.shape}, expected (n_images, {_N_FEATURES})."
        )
    if isinstance(labels, np.ndarray):
        labels = labels.tolist()
    if not isinstance(labels, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in labels
    ):
        raise ValueError(f"{str(path)!r}: {label_key!r} must be a list of integer labels.")
    if len(labels) != data.shape[0]:
        raise ValueError(
            f"{str(path)!r}: {len(labels)} labels for {data.shape[0]} images in {label_key!r}."
        )
    y = np.asarray(labels, dtype=np.int64)
    if len(y) and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(
            f"{str(path)!r}: {label_key!r} holds labels from {y.min()} to {y.max()}, outside "
            f"the {n_classes} classes 0..{n_classes - 1}."
        )
    return data, y


def _names(path: Path, key: str, n_classes: int) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR metadata file {str(path)!r} is missing.")
    names = _field(load_data_pickle(path), key, path)
    if not isinstance(names, list) or len(names) != n_classes:
        raise ValueError(f"{str(path)!r}: {key!r} must list the {n_classes} class names.")
    return [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names]


def _folder(path: str | os.PathLike[str], expected: str) -> Path:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"CIFAR folder {str(folder)!r} does not exist or is not a directory; give the "
            f"{expected!r} folder of the python version."
        )
    if (folder / expected).is_dir():  # the parent of the extracted folder
        folder = folder / expected
    return folder


def _assemble(
    parts: list[tuple[np.ndarray, np.ndarray]], n_train_parts: int, dtype: np.dtype, scale: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = np.concatenate([d for d, _ in parts])
    y = np.concatenate([labels for _, labels in parts])
    n_train = sum(len(labels) for _, labels in parts[:n_train_parts])
    if scale:
        X = X.astype(dtype)
        X /= 255
    is_test = np.zeros(len(y), dtype=bool)
    is_test[n_train:] = True
    return X, y, is_test


def load_cifar10(
    path: str | os.PathLike[str], *, scale: bool = True, dtype: str = "float32"
) -> Bunch:
    """Load CIFAR-10 (50,000 training and 10,000 test images) from its python-version folder.

    Parameters
    ----------
    path : str or os.PathLike
        The ``cifar-10-batches-py`` folder (or the folder that holds it).
    scale : bool, default=True
        Pixels divided by 255 as ``dtype``; False keeps the raw ``uint8``.
    dtype : {"float32", "float64"}, default="float32"

    Returns
    -------
    :class:`~sklearn.utils.Bunch`
        ``data`` (n, 3072) flat ``(C, H, W)`` rows, training batches first then the test
        batch; ``target`` (n,) int64; ``is_test`` (n,) bool, the official split;
        ``input_shape`` ``(3, 32, 32)``; ``target_names`` from ``batches.meta``; ``DESCR``.

    Raises
    ------
    FileNotFoundError
        A missing folder, batch or ``batches.meta``, named.
    ValueError
        Naming the file: a pickle that would run code, a corrupt or truncated file, a
        missing key, a wrong array shape or dtype, a label count that does not match the
        images, or labels outside 0..9.

    Examples
    --------
    >>> import pickle, tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> def batch(n):
    ...     return {"data": np.zeros((n, 3072), np.uint8), "labels": list(range(n))}
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
    ...         _ = Path(folder, name).write_bytes(pickle.dumps(batch(4), protocol=2))
    ...     meta = {"label_names": [f"class {i}" for i in range(10)]}
    ...     _ = Path(folder, "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    ...     cifar = load_cifar10(folder)
    >>> cifar.data.shape, cifar.input_shape, int(cifar.is_test.sum())
    ((24, 3072), (3, 32, 32), 4)
    """
    np_dtype = check_pixel_options(scale, dtype)
    folder = _folder(path, "cifar-10-batches-py")
    names = _names(folder / "batches.meta", "label_names", 10)
    parts = [_read_batch(folder / name, "labels", 10) for name in (*_CIFAR10_TRAIN, "test_batch")]
    X, y, is_test = _assemble(parts, len(_CIFAR10_TRAIN), np_dtype, scale)
    return official_split_bunch(
        X, y, is_test, _IMAGE_SHAPE, names, f"CIFAR-10 read from {str(folder)!r}"
    )


def load_cifar100(
    path: str | os.PathLike[str],
    *,
    label: str = "fine",
    scale: bool = True,
    dtype: str = "float32",
) -> Bunch:
    """Load CIFAR-100 (50,000 training and 10,000 test images) from its python-version folder.

    Parameters
    ----------
    path : str or os.PathLike
        The ``cifar-100-python`` folder (or the folder that holds it).
    label : {"fine", "coarse"}, default="fine"
        The 100 fine classes or the 20 superclasses.
    scale : bool, default=True
        Pixels divided by 255 as ``dtype``; False keeps the raw ``uint8``.
    dtype : {"float32", "float64"}, default="float32"

    Returns
    -------
    :class:`~sklearn.utils.Bunch`
        As :func:`load_cifar10`; ``target_names`` from ``meta``.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load_cifar10`.

    Examples
    --------
    >>> import pickle, tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> def part(n):
    ...     return {"data": np.zeros((n, 3072), np.uint8), "fine_labels": [99] * n,
    ...             "coarse_labels": [19] * n}
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     for name, n in (("train", 5), ("test", 2)):
    ...         _ = Path(folder, name).write_bytes(pickle.dumps(part(n), protocol=2))
    ...     meta = {"fine_label_names": [str(i) for i in range(100)],
    ...             "coarse_label_names": [str(i) for i in range(20)]}
    ...     _ = Path(folder, "meta").write_bytes(pickle.dumps(meta, protocol=2))
    ...     cifar = load_cifar100(folder, label="coarse")
    >>> cifar.data.shape, sorted(set(cifar.target.tolist())), cifar.is_test.tolist().count(True)
    ((7, 3072), [19], 2)
    """
    if label not in ("fine", "coarse"):
        raise ValueError(f"label must be 'fine' or 'coarse', got {label!r}.")
    np_dtype = check_pixel_options(scale, dtype)
    folder = _folder(path, "cifar-100-python")
    n_classes = 100 if label == "fine" else 20
    names = _names(folder / "meta", f"{label}_label_names", n_classes)
    parts = [_read_batch(folder / name, f"{label}_labels", n_classes) for name in ("train", "test")]
    X, y, is_test = _assemble(parts, 1, np_dtype, scale)
    return official_split_bunch(
        X, y, is_test, _IMAGE_SHAPE, names, f"CIFAR-100 ({label} labels) read from {str(folder)!r}"
    )
