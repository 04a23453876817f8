"""Loader for the MNIST digits stored in the IDX file format.

The IDX format is a small header followed by raw array data. All integers in the header are
big-endian: two zero bytes, one byte giving the element type (``0x08`` for unsigned bytes, the
only type MNIST uses), one byte giving the number of dimensions, then one unsigned 32-bit
integer per dimension. The data follows in C order.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from sklearn.utils import Bunch

from sklearn_gen.datasets._common import check_pixel_options, official_split_bunch

_PREFIXES = {"train": "train", "test": "t10k"}
_KINDS = ("test", "train", "all")
_FASHION_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_UBYTE = 0x08
_CHUNK = 1 << 24  # bytes read at a time

# Number of dimensions of the image and the label files.
_IMAGE_NDIM = 3
_LABEL_NDIM = 1


def _candidate_names(kind: str, what: str) -> list[str]:
    """File names tried, in order of preference, for ``what`` in {"images", "labels"}."""
    prefix = _PREFIXES[kind]
    ndim = _IMAGE_NDIM if what == "images" else _LABEL_NDIM
    plain = [f"{prefix}-{what}-idx{ndim}-ubyte", f"{prefix}-{what}.idx{ndim}-ubyte"]
    return plain + [name + ".gz" for name in plain]


def _find_file(folder: Path, names: list[str]) -> Path | None:
    for name in names:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def _open(path: Path) -> BinaryIO:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _read_exact(fh: BinaryIO, n_bytes: int) -> bytearray:
    """Read ``n_bytes`` (fewer only at end of file) in chunks.

    Chunks keep a corrupt header that promises an absurd size from allocating it up front.
    """
    buffer = bytearray()
    while len(buffer) < n_bytes:
        chunk = fh.read(min(_CHUNK, n_bytes - len(buffer)))
        if not chunk:
            break
        buffer += chunk
    return buffer


def _corrupt(path: Path, why: str) -> ValueError:
    return ValueError(f"IDX file {str(path)!r} is corrupt: {why}")


def _read_idx(
    path: Path,
    ndim: int,
    *,
    n_items: int | None = None,
    paired_with: Path | None = None,
) -> np.ndarray:
    """Read one unsigned-byte IDX file into an array with ``ndim`` dimensions.

    If ``n_items`` is given, the first dimension in the header must equal it (the number
    of items in ``paired_with``); like every check on the header this happens before the
    data are read. Every way the file can be malformed raises ``ValueError`` naming it.
    """
    try:
        with _open(path) as fh:
            magic = _read_exact(fh, 4)
            if len(magic) < 4:
                raise _corrupt(
                    path, f"truncated inside the 4-byte magic number ({len(magic)} bytes)."
                )
            if magic[0] != 0 or magic[1] != 0:
                raise _corrupt(
                    path,
                    f"wrong magic number 0x{bytes(magic).hex()}; IDX files start with two "
                    "zero bytes.",
                )
            if magic[2] != _UBYTE:
                raise _corrupt(
                    path,
                    f"element type byte is 0x{magic[2]:02x}, expected 0x{_UBYTE:02x} "
                    "(unsigned byte).",
                )
            if magic[3] != ndim:
                raise _corrupt(path, f"header declares {magic[3]} dimension(s), expected {ndim}.")
            raw_shape = _read_exact(fh, 4 * ndim)
            if len(raw_shape) < 4 * ndim:
                raise _corrupt(
                    path,
                    f"truncated inside the header ({len(raw_shape)} of {4 * ndim} bytes of "
                    "dimension sizes).",
                )
            shape = tuple(int(d) for d in np.frombuffer(raw_shape, dtype=">u4"))
            if n_items is not None and shape[0] != n_items:
                other = f" {str(paired_with)!r}" if paired_with is not None else ""
                raise ValueError(
                    f"IDX file {str(path)!r} does not match its pair: it holds {shape[0]} "
                    f"items but the file{other} holds {n_items}."
                )
            n_bytes = math.prod(shape)
            header_bytes = 4 + 4 * ndim
            if not isinstance(fh, gzip.GzipFile):
                # For an uncompressed file the size is known: check it before reading.
                size = os.fstat(fh.fileno()).st_size
                if size < header_bytes + n_bytes:
                    raise _corrupt(path, _truncated(n_bytes, shape, size - header_bytes))
            data = _read_exact(fh, n_bytes)
            if len(data) < n_bytes:
                raise _corrupt(path, _truncated(n_bytes, shape, len(data)))
            # Reading past the data also makes gzip verify the stream's checksum.
            if fh.read(1):
                raise _corrupt(
                    path,
                    f"it has bytes after the {n_bytes} data bytes its header promises for "
                    f"shape {shape}.",
                )
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise _corrupt(path, f"invalid gzip stream ({exc}).") from exc
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def _truncated(n_bytes: int, shape: tuple[int, ...], n_present: int) -> str:
    return (
        f"truncated; the header promises {n_bytes} data bytes for shape {shape} but only "
        f"{max(n_present, 0)} are present."
    )


def has_idx_split(path: str | os.PathLike[str], kind: str) -> bool:
    """Whether the folder ``path`` holds both IDX files of the ``kind`` split.

    Examples
    --------
    >>> has_idx_split("/nonexistent", "train")
    False
    """
    folder = Path(path)
    return all(
        _find_file(folder, _candidate_names(kind, what)) is not None
        for what in ("images", "labels")
    )


def _read_split(folder: Path, kind: str, title: str) -> tuple[np.ndarray, np.ndarray]:
    """Raw ``uint8`` images ``(n, H, W)`` and labels ``(n,)`` of one split."""
    image_names = _candidate_names(kind, "images")
    label_names = _candidate_names(kind, "labels")
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{title} folder {str(folder)!r} does not exist or is not a directory; it should "
            f"hold the {kind} files, one of {image_names} and one of {label_names}."
        )
    image_file = _find_file(folder, image_names)
    label_file = _find_file(folder, label_names)
    missing = []
    if image_file is None:
        missing.append(f"images (looked for {', '.join(image_names)})")
    if label_file is None:
        missing.append(f"labels (looked for {', '.join(label_names)})")
    if missing:
        raise FileNotFoundError(
            f"{title} {kind} files not found in {str(folder)!r}: " + "; ".join(missing) + "."
        )
    assert image_file is not None and label_file is not None
    labels = _read_idx(label_file, _LABEL_NDIM)
    if labels.size and labels.max() > 9:
        raise ValueError(
            f"IDX file {str(label_file)!r} holds label {int(labels.max())}, outside the 10 "
            "classes 0..9."
        )
    images = _read_idx(image_file, _IMAGE_NDIM, n_items=labels.shape[0], paired_with=label_file)
    return images, labels


def _load_idx_dataset(
    path: str | os.PathLike[str],
    kind: str,
    scale: bool,
    dtype: str,
    return_X_y: bool,
    title: str,
    target_names: Any,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    if kind not in _KINDS:
        raise ValueError(f"kind must be 'train', 'test' or 'all', got {kind!r}.")
    np_dtype = check_pixel_options(scale, dtype)
    folder = Path(path)
    kinds = ("train", "test") if kind == "all" else (kind,)
    parts = [_read_split(folder, k, title) for k in kinds]
    images = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
    n_samples, height, width = images.shape
    flat = images.reshape(n_samples, height * width)
    if scale:
        X = flat.astype(np_dtype)
        X /= 255
    else:
        X = flat  # a fresh, writeable array either way
    y = np.concatenate([p[1] for p in parts]).astype(np.int64)
    if return_X_y:
        return X, y
    is_test = np.zeros(n_samples, dtype=bool)
    if kind != "train":
        is_test[n_samples - len(parts[-1][1]) :] = True
    bunch = official_split_bunch(
        X, y, is_test, (1, height, width), target_names, f"{title} read from {str(folder)!r}"
    )
    bunch.images = X.reshape(n_samples, height, width)
    return bunch


def load_mnist(
    path: str | os.PathLike[str],
    kind: str = "test",
    *,
    scale: bool = True,
    dtype: str = "float32",
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load MNIST images and labels from a folder of IDX files.

    The folder must hold the standard file names: ``t10k-images-idx3-ubyte`` and
    ``t10k-labels-idx1-ubyte`` for ``kind="test"``, ``train-images-idx3-ubyte`` and
    ``train-labels-idx1-ubyte`` for ``kind="train"``, all four for ``kind="all"``. Each
    file may also be gzip-compressed with a ``.gz`` suffix (an uncompressed file is
    preferred when both exist), and the dotted spelling used by some mirrors
    (``t10k-images.idx3-ubyte``) is accepted too.

    Parameters
    ----------
    path : str or os.PathLike
        Folder holding the IDX files.
    kind : {"test", "train", "all"}, default="test"
        Which split to read: the 10,000 test images, the 60,000 training images, or both
        (training images first) with the official split in ``is_test``.
    scale : bool, default=True
        If True, return pixels divided by 255, in ``[0, 1]``, as ``dtype``. If False,
        return the raw ``uint8`` pixels and ignore ``dtype``.
    dtype : {"float32", "float64"}, default="float32"
        Floating point type of the scaled pixels.
    return_X_y : bool, default=False
        If True, return ``(X, y)`` instead of a :class:`~sklearn.utils.Bunch`.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With fields ``data`` (``X``), ``target`` (``y``), ``is_test`` (bool per row: the
        official split), ``input_shape`` ``(1, 28, 28)``, ``images`` (``X`` viewed as
        ``(n_samples, 28, 28)``; it shares memory with ``data``), ``feature_names``
        (None), ``target_names`` (the digits 0 to 9) and ``DESCR``.
    (X, y) : tuple of ndarray
        If ``return_X_y`` is True. ``X`` has shape ``(n_samples, 784)``, one flattened
        image per row; ``y`` has shape ``(n_samples,)`` and dtype ``int64``.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a folder or lacks the image or label file; the message lists
        the file names looked for.
    ValueError
        If ``kind`` or ``dtype`` is not one of the allowed values, or if a file is
        corrupt: wrong magic number or element type, wrong number of dimensions, fewer
        data bytes than the header promises, an invalid gzip stream, labels outside 0..9,
        or image and label files holding different numbers of items.

    Examples
    --------
    Write a tiny IDX pair of five random images (one file gzip-compressed) and read it:

    >>> import gzip, tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from sklearn_gen.datasets import load_mnist
    >>> images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    >>> labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    >>> def to_idx(a):
    ...     header = bytes([0, 0, 0x08, a.ndim]) + np.array(a.shape, dtype=">u4").tobytes()
    ...     return header + a.tobytes()
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = Path(folder, "t10k-images-idx3-ubyte").write_bytes(to_idx(images))
    ...     _ = Path(folder, "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(to_idx(labels)))
    ...     X, y = load_mnist(folder, return_X_y=True)
    >>> X.shape, X.dtype, y.dtype
    ((5, 784), dtype('float32'), dtype('int64'))
    >>> y.tolist()
    [3, 1, 4, 1, 5]
    >>> bool(X.min() >= 0.0 and X.max() <= 1.0)
    True
    """
    digits = np.arange(10, dtype=np.int64)
    return _load_idx_dataset(path, kind, scale, dtype, return_X_y, "MNIST", digits)


def load_fashion_mnist(
    path: str | os.PathLike[str],
    kind: str = "all",
    *,
    scale: bool = True,
    dtype: str = "float32",
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load Fashion-MNIST (60,000 training and 10,000 test images) from its IDX files.

    Fashion-MNIST ships in MNIST's format under MNIST's file names
    (``train-images-idx3-ubyte.gz`` ...); everything :func:`load_mnist` says about files,
    compression and errors holds here. Only the class names differ.

    Parameters
    ----------
    path : str or os.PathLike
        Folder holding the IDX files.
    kind : {"all", "train", "test"}, default="all"
        Both splits (training images first, the official split in ``is_test``) or one.
    scale, dtype, return_X_y
        As in :func:`load_mnist`.

    Returns
    -------
    :class:`~sklearn.utils.Bunch` or (X, y)
        As :func:`load_mnist`, with ``target_names`` ``"T-shirt/top"``, ... ``"Ankle boot"``.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load_mnist`.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> def to_idx(a):
    ...     header = bytes([0, 0, 0x08, a.ndim]) + np.array(a.shape, dtype=">u4").tobytes()
    ...     return header + a.tobytes()
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     for prefix, n in (("train", 4), ("t10k", 2)):
    ...         images = np.zeros((n, 28, 28), np.uint8)
    ...         _ = Path(folder, f"{prefix}-images-idx3-ubyte").write_bytes(to_idx(images))
    ...         labels = np.full(n, 9, np.uint8)
    ...         _ = Path(folder, f"{prefix}-labels-idx1-ubyte").write_bytes(to_idx(labels))
    ...     fashion = load_fashion_mnist(folder)
    >>> fashion.data.shape, fashion.is_test.tolist(), fashion.target_names[9]
    ((6, 784), [False, False, False, False, True, True], 'Ankle boot')
    """
    names = list(_FASHION_NAMES)
    return _load_idx_dataset(path, kind, scale, dtype, return_X_y, "Fashion-MNIST", names)
