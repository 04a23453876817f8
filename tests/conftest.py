"""Shared fixtures for the test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Where the project keeps the genuine MNIST test set (the shared folder next to the repo).
DEFAULT_MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
MNIST_ENV_VAR = "SKLEARN_GEN_MNIST"


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    """Folder holding the MNIST test-set IDX files; skips the test when it is absent.

    The folder is ``$SKLEARN_GEN_MNIST`` when that variable is set, else
    ``<repo>/../shared/data/mnist``.
    """
    from_env = os.environ.get(MNIST_ENV_VAR)
    folder = Path(from_env) if from_env else DEFAULT_MNIST_DIR
    if not folder.is_dir():
        source = f"${MNIST_ENV_VAR}" if from_env else "the default location"
        pytest.skip(f"MNIST data not found at {folder} ({source}).")
    has_images = any(folder.glob("t10k-images*idx3-ubyte*"))
    has_labels = any(folder.glob("t10k-labels*idx1-ubyte*"))
    if not (has_images and has_labels):
        pytest.skip(f"MNIST test-set files not found in {folder}.")
    return folder


def pytest_configure(config: pytest.Config) -> None:
    """One torch thread per test process.

    The suite runs as ``pytest -n 2`` on 2 cores: two torch threads per worker would
    oversubscribe them, which slows the many tiny networks of the tests 10x or more.
    """
    import torch

    torch.set_num_threads(1)


# ---------------------------------------------------------------------------------------
# Byte-exact CIFAR files: the "python version" batches are Python 2 cPickle protocol-2
# dicts (str keys as SHORT_BINSTRING, ints, lists, and a uint8 array pickled through
# numpy.core.multiarray._reconstruct with its raw bytes as a py2 str). The writer below
# emits exactly those opcodes, so the loader is tested on the format the files really have.
# ---------------------------------------------------------------------------------------


def _py2_str(data: bytes) -> bytes:
    if len(data) < 256:
        return b"U" + bytes([len(data)]) + data
    return b"T" + len(data).to_bytes(4, "little") + data


def _py2_int(value: int) -> bytes:
    if 0 <= value < 256:
        return b"K" + bytes([value])
    if 0 <= value < 65536:
        return b"M" + value.to_bytes(2, "little")
    return b"J" + value.to_bytes(4, "little", signed=True)


def _py2_uint8_array(array) -> bytes:
    import numpy as np

    array = np.ascontiguousarray(array, dtype=np.uint8)
    shape = b"".join(_py2_int(d) for d in array.shape)
    shape += {1: b"\x85", 2: b"\x86", 3: b"\x87"}[array.ndim]
    dtype = (
        b"cnumpy\ndtype\n"
        + _py2_str(b"u1")
        + b"K\x00K\x01\x87R"
        + b"(K\x03"
        + _py2_str(b"|")
        + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    )
    return (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85"
        + _py2_str(b"b")
        + b"\x87R(K\x01"
        + shape
        + dtype
        + b"\x89"
        + _py2_str(array.tobytes())
        + b"tb"
    )


def _py2_value(value) -> bytes:
    import numpy as np

    if isinstance(value, str):
        return _py2_str(value.encode("latin1"))
    if isinstance(value, int):
        return _py2_int(value)
    if isinstance(value, np.ndarray):
        return _py2_uint8_array(value)
    if isinstance(value, list):
        return b"]" + (b"(" + b"".join(map(_py2_value, value)) + b"e" if value else b"")
    if isinstance(value, dict):
        items = b"".join(_py2_value(k) + _py2_value(v) for k, v in value.items())
        return b"}" + (b"(" + items + b"u" if value else b"")
    raise TypeError(type(value))


def py2_pickle(value) -> bytes:
    """``value`` as Python 2's ``cPickle.dump(value, f, 2)`` writes it (without memo ops)."""
    return b"\x80\x02" + _py2_value(value) + b"."


def _cifar_images(n: int, seed: int):
    import numpy as np

    return np.random.default_rng(seed).integers(0, 256, size=(n, 3072), dtype=np.uint8)


def write_cifar10_folder(folder: Path, n_per_batch: int = 4, n_test: int = 4) -> dict:
    """A ``cifar-10-batches-py`` folder with the real key names; returns what it wrote."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    written = {"data": [], "labels": []}
    for i, name in enumerate([f"data_batch_{b}" for b in range(1, 6)] + ["test_batch"]):
        n = n_test if name == "test_batch" else n_per_batch
        data = _cifar_images(n, i)
        labels = [int(v) for v in np.random.default_rng(100 + i).integers(0, 10, n)]
        labels[0] = i % 10
        record = {
            "batch_label": f"training batch {i + 1} of 5" if i < 5 else "testing batch 1 of 1",
            "labels": labels,
            "data": data,
            "filenames": [f"image_{i}_{j}.png" for j in range(n)],
        }
        (folder / name).write_bytes(py2_pickle(record))
        written["data"].append(data)
        written["labels"] += labels
    meta = {
        "num_cases_per_batch": n_per_batch,
        "label_names": [
            "airplane",
            "automobile",
            "bird",
            "cat",
            "deer",
            "dog",
            "frog",
            "horse",
            "ship",
            "truck",
        ],
        "num_vis": 3072,
    }
    (folder / "batches.meta").write_bytes(py2_pickle(meta))
    written["data"] = np.concatenate(written["data"])
    return written


def write_cifar100_folder(folder: Path, n_train: int = 6, n_test: int = 3) -> dict:
    """A ``cifar-100-python`` folder (``train``, ``test``, ``meta``); returns what it wrote."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for i, (name, n) in enumerate((("train", n_train), ("test", n_test))):
        fine = [int(v) for v in np.random.default_rng(i).integers(0, 100, n)]
        record = {
            "filenames": [f"{name}_{j}.png" for j in range(n)],
            "batch_label": f"{name}ing batch 1 of 1",
            "fine_labels": fine,
            "coarse_labels": [v // 5 for v in fine],
            "data": _cifar_images(n, 10 + i),
        }
        (folder / name).write_bytes(py2_pickle(record))
        written[name] = record
    meta = {
        "fine_label_names": [f"fine_{i}" for i in range(100)],
        "coarse_label_names": [f"coarse_{i}" for i in range(20)],
    }
    (folder / "meta").write_bytes(py2_pickle(meta))
    return written


@pytest.fixture
def cifar10_folder(tmp_path: Path) -> tuple[Path, dict]:
    """A tiny CIFAR-10 python-version folder in the files' exact format."""
    folder = tmp_path / "cifar-10-batches-py"
    return folder, write_cifar10_folder(folder)


@pytest.fixture
def cifar100_folder(tmp_path: Path) -> tuple[Path, dict]:
    """A tiny CIFAR-100 python-version folder in the files' exact format."""
    folder = tmp_path / "cifar-100-python"
    return folder, write_cifar100_folder(folder)


@pytest.fixture(scope="session")
def cifar_files():
    """The byte-exact CIFAR writers, for tests that forge their own files."""
    from types import SimpleNamespace

    return SimpleNamespace(
        py2_pickle=py2_pickle,
        write_cifar10_folder=write_cifar10_folder,
        write_cifar100_folder=write_cifar100_folder,
    )
