"""Tests of the dataset loaders on small synthetic IDX files and on the real MNIST test set."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils import Bunch

from sklearn_gen.datasets import load_mnist

N = 7
IMAGE_NAMES = {"test": "t10k-images-idx3-ubyte", "train": "train-images-idx3-ubyte"}
LABEL_NAMES = {"test": "t10k-labels-idx1-ubyte", "train": "train-labels-idx1-ubyte"}
MNIST_MD5 = {
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


def idx_bytes(
    array: np.ndarray,
    *,
    zeros: bytes = b"\x00\x00",
    type_byte: int = 0x08,
    shape: tuple[int, ...] | None = None,
) -> bytes:
    """Encode ``array`` as an IDX file; the keyword arguments forge a bad header."""
    shape = array.shape if shape is None else shape
    header = zeros + bytes([type_byte, len(shape)]) + np.array(shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write(folder: Path, name: str, payload: bytes, *, gz: bool = False) -> Path:
    path = folder / (name + ".gz" if gz else name)
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def make_data(n: int = N, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    if n:
        images[0, 0, 0], images[0, 0, 1] = 0, 255  # the full range is present
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels


def write_pair(
    folder: Path,
    kind: str = "test",
    *,
    gz_images: bool = False,
    gz_labels: bool = False,
    n: int = N,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    images, labels = make_data(n, seed)
    write(folder, IMAGE_NAMES[kind], idx_bytes(images), gz=gz_images)
    write(folder, LABEL_NAMES[kind], idx_bytes(labels), gz=gz_labels)
    return images, labels


# ---------------------------------------------------------------------------------------
# Reading valid files
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz_images", [False, True])
@pytest.mark.parametrize("gz_labels", [False, True])
def test_reads_plain_and_gzip(tmp_path, gz_images, gz_labels):
    images, labels = write_pair(tmp_path, gz_images=gz_images, gz_labels=gz_labels)
    X, y = load_mnist(tmp_path, return_X_y=True)
    assert X.shape == (N, 784)
    assert X.dtype == np.float32
    assert y.shape == (N,)
    assert y.dtype == np.int64
    np.testing.assert_allclose(X, images.reshape(N, -1) / 255, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
    assert X.min() == 0.0
    assert X.max() == 1.0


def test_float64(tmp_path):
    images, _ = write_pair(tmp_path)
    X, _ = load_mnist(tmp_path, dtype="float64", return_X_y=True)
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X, images.reshape(N, -1) / 255.0)


def test_numpy_dtype_object_accepted(tmp_path):
    write_pair(tmp_path)
    X, _ = load_mnist(tmp_path, dtype=np.float64, return_X_y=True)
    assert X.dtype == np.float64


def test_unscaled_is_raw_uint8(tmp_path):
    images, _ = write_pair(tmp_path)
    X, y = load_mnist(str(tmp_path), scale=False, dtype="float64", return_X_y=True)
    assert X.dtype == np.uint8
    np.testing.assert_array_equal(X, images.reshape(N, -1))
    assert X.flags.writeable
    assert y.flags.writeable


def test_bunch_fields(tmp_path):
    images, labels = write_pair(tmp_path)
    data = load_mnist(tmp_path)
    assert isinstance(data, Bunch)
    assert data.data.shape == (N, 784)
    np.testing.assert_array_equal(data.target, labels)
    assert data.images.shape == (N, 28, 28)
    np.testing.assert_array_equal(data.images, data.data.reshape(N, 28, 28))
    np.testing.assert_allclose(data.images, images / 255, rtol=1e-6)
    assert data.feature_names is None
    np.testing.assert_array_equal(data.target_names, np.arange(10))
    assert isinstance(data.DESCR, str)
    assert "MNIST" in data.DESCR


def test_train_kind_reads_train_files(tmp_path):
    train_images, train_labels = write_pair(tmp_path, "train", n=5, seed=1)
    write_pair(tmp_path, "test", n=3, seed=2)
    X, y = load_mnist(tmp_path, kind="train", scale=False, return_X_y=True)
    np.testing.assert_array_equal(X, train_images.reshape(5, -1))
    np.testing.assert_array_equal(y, train_labels)
    assert load_mnist(tmp_path, kind="test", return_X_y=True)[0].shape == (3, 784)


def test_plain_file_preferred_over_gzip(tmp_path):
    _, plain_labels = write_pair(tmp_path, seed=0)
    _, gz_labels = write_pair(tmp_path, gz_images=True, gz_labels=True, seed=1)
    assert not np.array_equal(plain_labels, gz_labels)
    _, y = load_mnist(tmp_path, return_X_y=True)
    np.testing.assert_array_equal(y, plain_labels)


@pytest.mark.parametrize("gz", [False, True])
def test_dotted_file_names(tmp_path, gz):
    images, labels = make_data()
    write(tmp_path, "t10k-images.idx3-ubyte", idx_bytes(images), gz=gz)
    write(tmp_path, "t10k-labels.idx1-ubyte", idx_bytes(labels), gz=gz)
    X, y = load_mnist(tmp_path, scale=False, return_X_y=True)
    np.testing.assert_array_equal(X, images.reshape(N, -1))
    np.testing.assert_array_equal(y, labels)


def test_empty_files(tmp_path):
    write_pair(tmp_path, n=0)
    X, y = load_mnist(tmp_path, return_X_y=True)
    assert X.shape == (0, 784)
    assert y.shape == (0,)


# ---------------------------------------------------------------------------------------
# Invalid parameters and missing files
# ---------------------------------------------------------------------------------------


def test_missing_folder(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=r"nowhere.*t10k-images-idx3-ubyte"):
        load_mnist(missing)


def test_path_is_a_file(tmp_path):
    file = tmp_path / "file.txt"
    file.write_text("not a folder")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_mnist(file)


def test_empty_folder_lists_names(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path)
    message = str(info.value)
    for name in (
        "t10k-images-idx3-ubyte",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte",
        "t10k-labels-idx1-ubyte.gz",
    ):
        assert name in message


def test_missing_labels_only(tmp_path):
    images, _ = make_data()
    write(tmp_path, IMAGE_NAMES["test"], idx_bytes(images))
    with pytest.raises(FileNotFoundError, match="labels") as info:
        load_mnist(tmp_path)
    assert "train-labels-idx1-ubyte" not in str(info.value)
    assert "t10k-labels-idx1-ubyte.gz" in str(info.value)


def test_train_files_missing(tmp_path):
    write_pair(tmp_path, "test")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path, kind="train")


@pytest.mark.parametrize("kind", ["valid", "Test", "", None])
def test_bad_kind(tmp_path, kind):
    write_pair(tmp_path)
    with pytest.raises(ValueError, match="kind"):
        load_mnist(tmp_path, kind=kind)


@pytest.mark.parametrize("dtype", ["int32", "float16", "uint8", "nonsense", None])
def test_bad_dtype(tmp_path, dtype):
    write_pair(tmp_path)
    with pytest.raises(ValueError, match="dtype"):
        load_mnist(tmp_path, dtype=dtype)


def test_parameters_checked_before_files(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        load_mnist(tmp_path / "nowhere", kind="bad")
    with pytest.raises(ValueError, match="dtype"):
        load_mnist(tmp_path / "nowhere", dtype="int8")


# ---------------------------------------------------------------------------------------
# Corrupt files
# ---------------------------------------------------------------------------------------


def _expect_corrupt(folder: Path, name: str, why: str) -> None:
    with pytest.raises(ValueError, match=rf"{re.escape(name)}.*corrupt.*{why}"):
        load_mnist(folder)


@pytest.mark.parametrize("gz", [False, True])
def test_wrong_magic(tmp_path, gz):
    images, labels = make_data()
    write(tmp_path, IMAGE_NAMES["test"], idx_bytes(images, zeros=b"\x00\x01"), gz=gz)
    write(tmp_path, LABEL_NAMES["test"], idx_bytes(labels))
    _expect_corrupt(tmp_path, IMAGE_NAMES["test"], "magic")


@pytest.mark.parametrize("type_byte", [0x09, 0x0B, 0x0D])
def test_wrong_type_byte(tmp_path, type_byte):
    images, labels = make_data()
    write(tmp_path, IMAGE_NAMES["test"], idx_bytes(images))
    write(tmp_path, LABEL_NAMES["test"], idx_bytes(labels, type_byte=type_byte))
    _expect_corrupt(tmp_path, LABEL_NAMES["test"], "type")


def test_images_wrong_ndim(tmp_path):
    images, labels = make_data()
    write(tmp_path, IMAGE_NAMES["test"], idx_bytes(images.reshape(N, 784)))
    write(tmp_path, LABEL_NAMES["test"], idx_bytes(labels))
    _expect_corrupt(tmp_path, IMAGE_NAMES["test"], "2 dimension")


def test_labels_wrong_ndim(tmp_path):
    images, labels = make_data()
    write(tmp_path, IMAGE_NAMES["test"], idx_bytes(images))
    write(tmp_path, LABEL_NAMES["test"], idx_bytes(labels.reshape(N, 1)))
    _expect_corrupt(tmp_path, LABEL_NAMES["test"], "2 dimension")


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_data(tmp_path, gz):
    images, labels = make_data()
    write(tmp_path, IMAGE_NAMES["test"], idx_bytes(images)[:-100], gz=gz)
    write(tmp_path, LABEL_NAMES["test"], idx_bytes(labels))
    _expect_corrupt(tmp_path, IMAGE_NAMES["test"], "truncated")


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_labels(tmp_path, gz):
    images, labels = make_data()
    write(tmp_path, IMAGE_NAMES["test"], idx_bytes(images))
    write(tmp_path, LABEL_NAMES["test"], idx_bytes(labels)[:-1], gz=gz)
    _expect_corrupt(tmp_path, LABEL_NAMES["test"], "truncated")


@pytest.mark.parametrize("n_bytes", [0, 3, 10])
def test_truncated_header(tmp_path, n_bytes):
    images, labels = make_data()
    write(tmp_path, IMAGE_NAMES["test"], idx_bytes(images)[:n_bytes])
    write(tmp_path, LABEL_NAMES["test"], idx_bytes(labels))
    _expect_corrupt(tmp_path, IMAGE_NAMES["test"], "truncated")


def test_huge_promised_size_is_truncated_not_memory_error(tmp_path):
    images, labels = make_data()
    forged = idx_bytes(images, shape=(N, 2**31, 2**31))
    write(tmp_path, IMAGE_NAMES["test"], forged, gz=True)
    write(tmp_path, LABEL_NAMES["test"], idx_bytes(labels))
    _expect_corrupt(tmp_path, IMAGE_NAMES["test"], "truncated")


def test_trailing_bytes(tmp_path):
    images, labels = make_data()
    write(tmp_path, IMAGE_NAMES["test"], idx_bytes(images))
    write(tmp_path, LABEL_NAMES["test"], idx_bytes(labels) + b"\x00")
    _expect_corrupt(tmp_path, LABEL_NAMES["test"], "after")


def test_count_mismatch(tmp_path):
    images, labels = make_data()
    write(tmp_path, IMAGE_NAMES["test"], idx_bytes(images))
    write(tmp_path, LABEL_NAMES["test"], idx_bytes(labels[:-1]))
    with pytest.raises(ValueError, match=rf"{IMAGE_NAMES['test']}.*{N} items.*{N - 1}"):
        load_mnist(tmp_path)


def test_not_gzip_data_with_gz_suffix(tmp_path):
    images, labels = make_data()
    (tmp_path / (IMAGE_NAMES["test"] + ".gz")).write_bytes(idx_bytes(images))
    write(tmp_path, LABEL_NAMES["test"], idx_bytes(labels))
    _expect_corrupt(tmp_path, IMAGE_NAMES["test"] + ".gz", "gzip")


def test_corrupt_gzip_stream(tmp_path):
    images, labels = make_data()
    compressed = bytearray(gzip.compress(idx_bytes(images)))
    middle = len(compressed) // 2
    compressed[middle : middle + 16] = bytes(b ^ 0xFF for b in compressed[middle : middle + 16])
    (tmp_path / (IMAGE_NAMES["test"] + ".gz")).write_bytes(bytes(compressed))
    write(tmp_path, LABEL_NAMES["test"], idx_bytes(labels))
    with pytest.raises(ValueError, match=rf"{re.escape(IMAGE_NAMES['test'])}\.gz.*corrupt"):
        load_mnist(tmp_path)


def test_gzip_stream_cut_short(tmp_path):
    images, labels = make_data()
    compressed = gzip.compress(idx_bytes(images))
    (tmp_path / (IMAGE_NAMES["test"] + ".gz")).write_bytes(compressed[: len(compressed) // 2])
    write(tmp_path, LABEL_NAMES["test"], idx_bytes(labels))
    _expect_corrupt(tmp_path, IMAGE_NAMES["test"] + ".gz", "gzip")


def test_gzip_checksum_mismatch(tmp_path):
    images, labels = make_data()
    compressed = bytearray(gzip.compress(idx_bytes(images)))
    compressed[-8] ^= 0xFF  # the CRC-32 in the gzip trailer
    (tmp_path / (IMAGE_NAMES["test"] + ".gz")).write_bytes(bytes(compressed))
    write(tmp_path, LABEL_NAMES["test"], idx_bytes(labels))
    _expect_corrupt(tmp_path, IMAGE_NAMES["test"] + ".gz", "gzip")


# ---------------------------------------------------------------------------------------
# The real MNIST test set
# ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_real_mnist_test_set(mnist_path):
    data = load_mnist(mnist_path)
    assert data.data.shape == (10000, 784)
    assert data.data.dtype == np.float32
    assert data.images.shape == (10000, 28, 28)
    assert data.target.shape == (10000,)
    assert data.target.dtype == np.int64
    assert set(np.unique(data.target).tolist()) == set(range(10))
    assert data.data.min() == 0.0
    assert data.data.max() == 1.0


@pytest.mark.parametrize("name", sorted(MNIST_MD5))
def test_real_mnist_md5(mnist_path, name):
    path = mnist_path / name
    if not path.is_file():
        pytest.skip(f"{name} is not in {mnist_path}.")
    assert hashlib.md5(path.read_bytes()).hexdigest() == MNIST_MD5[name]
