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
from typing import BinaryIO

import numpy as np
from sklearn.utils import Bunch

_PREFIXES = {"train": "train", "test": "t10k"}
_DTYPES = ("float32", "float64")
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
    ``train-labels-idx1-ubyte`` for ``kind="train"``. Each file may also be gzip-compressed
    with a ``.gz`` suffix (an uncompressed file is preferred when both exist), and the
    dotted spelling used by some mirrors (``t10k-images.idx3-ubyte``) is accepted too.

    Parameters
    ----------
    path : str or os.PathLike
        Folder holding the IDX files.
    kind : {"test", "train"}, default="test"
        Which split to read: the 10,000 test images or the 60,000 training images.
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
        With fields ``data`` (``X``), ``target`` (``y``), ``images`` (``X`` viewed as
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
        data bytes than the header promises, an invalid gzip stream, or image and label
        files holding different numbers of items.

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
    if kind not in _PREFIXES:
        raise ValueError(f"kind must be 'train' or 'test', got {kind!r}.")
    if scale is not True and scale is not False and not isinstance(scale, np.bool_):
        raise ValueError(f"scale must be a bool, got {scale!r}.")
    try:
        np_dtype = None if dtype is None else np.dtype(dtype)
    except TypeError:
        np_dtype = None
    if np_dtype is None or np_dtype.name not in _DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}.")

    folder = Path(path)
    image_names = _candidate_names(kind, "images")
    label_names = _candidate_names(kind, "labels")
    if not folder.is_dir():
        raise FileNotFoundError(
            f"MNIST folder {str(folder)!r} does not exist or is not a directory; it should "
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
            f"MNIST {kind} files not found in {str(folder)!r}: " + "; ".join(missing) + "."
        )
    assert image_file is not None and label_file is not None

    labels = _read_idx(label_file, _LABEL_NDIM)
    images = _read_idx(image_file, _IMAGE_NDIM, n_items=labels.shape[0], paired_with=label_file)

    n_samples, height, width = images.shape
    flat = images.reshape(n_samples, height * width)
    if scale:
        X = flat.astype(np_dtype)
        X /= 255
    else:
        X = flat  # already a fresh, writeable array
    y = labels.astype(np.int64)

    if return_X_y:
        return X, y
    descr = (
        f"MNIST handwritten digits, {kind} split, read from {str(folder)!r}.\n"
        f"{n_samples} grey-scale images of {height}x{width} pixels, flattened to "
        f"{height * width} features "
        + ("scaled to [0, 1]" if scale else "as raw uint8 values in [0, 255]")
        + "; targets are the digits 0-9.\n"
        f"Files: {image_file.name}, {label_file.name}."
    )
    return Bunch(
        data=X,
        target=y,
        images=X.reshape(n_samples, height, width),
        feature_names=None,
        target_names=np.arange(10, dtype=np.int64),
        DESCR=descr,
    )
