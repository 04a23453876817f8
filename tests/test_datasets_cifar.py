"""CIFAR-10/100 loaders on byte-exact files, the restricted unpickler, specs and splits."""

from __future__ import annotations

import gzip
import os
import pickle
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import PredefinedSplit

from sklearn_gen.datasets import (
    Dataset,
    load_cifar10,
    load_cifar100,
    load_dataset,
    load_fashion_mnist,
)
from sklearn_gen.datasets._safe_pickle import UnsafePickleError


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx_pair(folder: Path, prefix: str, n: int, seed: int, gz: bool = False) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for what, array in (
        ("images-idx3", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)),
        ("labels-idx1", np.arange(n, dtype=np.uint8) % 10),
    ):
        payload = _idx(array)
        name = f"{prefix}-{what}-ubyte"
        if gz:
            Path(folder, name + ".gz").write_bytes(gzip.compress(payload))
        else:
            Path(folder, name).write_bytes(payload)


# --------------------------------------------------------------------------- reading


def test_cifar10_reads_batches_in_order_with_the_official_split(cifar10_folder):
    folder, written = cifar10_folder
    cifar = load_cifar10(folder)
    assert cifar.data.shape == (24, 3072) and cifar.data.dtype == np.float32
    assert cifar.input_shape == (3, 32, 32)
    # rows are the files' rows in order (five training batches, then the test batch),
    # pixels the file's (C, H, W) bytes / 255
    np.testing.assert_array_equal(np.rint(cifar.data * 255).astype(np.uint8), written["data"])
    assert cifar.target.tolist() == written["labels"] and cifar.target.dtype == np.int64
    assert cifar.is_test.tolist() == [False] * 20 + [True] * 4
    assert cifar.target_names[0] == "airplane" and len(cifar.target_names) == 10
    raw = load_cifar10(folder.parent, scale=False)  # the folder that holds it works too
    assert raw.data.dtype == np.uint8
    np.testing.assert_array_equal(raw.data, written["data"])


def test_cifar100_fine_and_coarse(cifar100_folder):
    folder, written = cifar100_folder
    fine = load_cifar100(folder)
    coarse = load_cifar100(folder, label="coarse", dtype="float64")
    expected_fine = written["train"]["fine_labels"] + written["test"]["fine_labels"]
    assert fine.target.tolist() == expected_fine
    assert coarse.target.tolist() == [v // 5 for v in expected_fine]
    assert fine.is_test.sum() == 3 and len(fine.target_names) == 100
    assert len(coarse.target_names) == 20 and coarse.data.dtype == np.float64
    with pytest.raises(ValueError, match="label must be 'fine' or 'coarse'"):
        load_cifar100(folder, label="superclass")


def test_fashion_mnist_and_mnist_all_splits(tmp_path):
    write_idx_pair(tmp_path, "train", 6, 0, gz=True)
    write_idx_pair(tmp_path, "t10k", 3, 1)
    fashion = load_fashion_mnist(tmp_path)
    assert fashion.data.shape == (9, 784) and fashion.is_test.tolist() == [False] * 6 + [True] * 3
    assert fashion.target_names[0] == "T-shirt/top"
    assert load_fashion_mnist(tmp_path, kind="test").data.shape == (3, 784)


# --------------------------------------------------------------------------- safety


class _RunsACommand:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_would_run_a_command_is_refused_and_nothing_runs(tmp_path, cifar_files):
    folder = tmp_path / "cifar-10-batches-py"
    cifar_files.write_cifar10_folder(folder)
    marker = tmp_path / "pwned"
    evil = pickle.dumps({"data": _RunsACommand(marker), "labels": [0]}, protocol=2)
    assert b"system" in evil  # the payload really names os.system / posix.system
    (folder / "data_batch_3").write_bytes(evil)
    with pytest.raises(UnsafePickleError, match="data_batch_3") as info:
        load_cifar10(folder)
    assert "system" in str(info.value) and "refus" in str(info.value)
    assert not marker.exists()
    # control: the same pickle does run the command when loaded without the restriction
    pickle.loads(evil)
    assert marker.exists()


@pytest.mark.parametrize(
    "payload",
    [
        b"cbuiltins\neval\n(S'1+1'\ntR.",
        b"csubprocess\nPopen\n((S'true'\nltR.",
        pickle.dumps(np.array([1, "a"], dtype=object), protocol=2),  # object arrays
        pickle.dumps(np.zeros(3, dtype=np.float64), protocol=2),  # unexpected dtype
    ],
    ids=["eval", "subprocess", "object-array", "float-array"],
)
def test_other_unsafe_payloads_are_refused(tmp_path, payload, cifar_files):
    folder = tmp_path / "cifar-10-batches-py"
    cifar_files.write_cifar10_folder(folder)
    (folder / "test_batch").write_bytes(payload)
    with pytest.raises(UnsafePickleError, match="test_batch"):
        load_cifar10(folder)


# --------------------------------------------------------------------------- corrupt files


def _record(n: int = 4, **changes):
    record = {
        "batch_label": "training batch 2 of 5",
        "labels": [1] * n,
        "data": np.zeros((n, 3072), np.uint8),
        "filenames": ["a.png"] * n,
    }
    record.update(changes)
    return {k: v for k, v in record.items() if v is not None}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda good, py2: good[: len(good) // 2], "truncated or corrupt"),
        (lambda good, py2: b"", "truncated or corrupt"),
        (lambda good, py2: b"this is not a pickle at all", "truncated or corrupt"),
        (lambda good, py2: py2(_record(data=np.zeros((4, 3000), np.uint8))), r"shape \(4, 3000\)"),
        (lambda good, py2: py2(_record(labels=[1, 2])), "2 labels for 4 images"),
        (lambda good, py2: py2(_record(labels=[1, 2, 3, 10])), "outside the 10 classes"),
        (lambda good, py2: py2(_record(labels=[1, 2, 3, -1])), "outside the 10 classes"),
        (lambda good, py2: py2(_record(labels=None)), "no 'labels' entry"),
        (lambda good, py2: py2([1, 2, 3]), "not the dict of a CIFAR batch"),
        (lambda good, py2: py2(_record(labels="1234")), "list of integer labels"),
    ],
    ids=[
        "truncated",
        "empty",
        "garbage",
        "wrong-shape",
        "label-count",
        "label-too-big",
        "label-negative",
        "missing-key",
        "not-a-dict",
        "labels-not-ints",
    ],
)
def test_corrupt_batches_name_the_file(cifar10_folder, cifar_files, content, message):
    folder, _ = cifar10_folder
    path = folder / "data_batch_2"
    path.write_bytes(content(path.read_bytes(), cifar_files.py2_pickle))
    with pytest.raises(ValueError, match=message) as info:
        load_cifar10(folder)
    assert "data_batch_2" in str(info.value)
    # a clear error of our own, never a raw pickle / numpy traceback underneath
    assert info.value.__cause__ is None and info.value.__suppress_context__ in (True, False)
    assert type(info.value) in (ValueError, UnsafePickleError)


def test_missing_files_are_named(cifar10_folder, cifar100_folder, tmp_path):
    folder, _ = cifar10_folder
    (folder / "data_batch_4").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_4"):
        load_cifar10(folder)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_cifar10(tmp_path / "nowhere")
    folder100, _ = cifar100_folder
    (folder100 / "meta").unlink()
    with pytest.raises(FileNotFoundError, match="meta"):
        load_cifar100(folder100)


def test_mnist_labels_out_of_range_are_refused(tmp_path):
    write_idx_pair(tmp_path, "t10k", 3, 0)
    Path(tmp_path, "t10k-labels-idx1-ubyte").write_bytes(_idx(np.array([1, 2, 12], np.uint8)))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.*label 12"):
        load_dataset(f"mnist:{tmp_path}")


# --------------------------------------------------------------------------- specs and splits


def test_specs_carry_the_official_split(cifar10_folder, cifar100_folder, tmp_path):
    folder, _ = cifar10_folder
    data = load_dataset(f"cifar10:{folder}")
    assert (data.name, data.input_shape, data.n_train, data.n_test) == (
        "cifar10",
        (3, 32, 32),
        20,
        4,
    )
    assert "official split, 20 training + 4 test" in data.describe()
    assert isinstance(data.test_split(0.25), PredefinedSplit)
    folder100, _ = cifar100_folder
    assert load_dataset(f"cifar100:{folder100}").y.max() < 100
    assert load_dataset(f"cifar100-coarse:{folder100}").y.max() < 20
    fashion = tmp_path / "fashion"
    write_idx_pair(fashion, "train", 5, 0)
    write_idx_pair(fashion, "t10k", 2, 1)
    assert load_dataset(f"fashion-mnist:{fashion}").n_test == 2


def test_mnist_spec_uses_train_files_when_present(tmp_path):
    write_idx_pair(tmp_path, "t10k", 4, 0)
    test_only = load_dataset(f"mnist:{tmp_path}")
    assert test_only.is_test is None and len(test_only.y) == 4
    assert "test set alone" in test_only.describe() and "random split" in test_only.describe()
    write_idx_pair(tmp_path, "train", 6, 1, gz=True)
    both = load_dataset(f"mnist:{tmp_path}")
    assert (both.n_train, both.n_test) == (6, 4)
    assert "official split" in both.describe()


def test_subset_draws_each_side_of_the_official_split(cifar10_folder):
    folder, _ = cifar10_folder
    data = load_dataset(f"cifar10:{folder}")
    part = data.subset(5, 2, random_state=3)
    assert (part.n_train, part.n_test) == (5, 2)
    again = data.subset(5, 2, random_state=3)
    np.testing.assert_array_equal(part.X, again.X)
    # every kept training row is a training row of the whole set
    train_rows = {row.tobytes() for row in data.X[~data.is_test]}
    assert all(row.tobytes() in train_rows for row in part.X[~part.is_test])
    assert data.subset(None, 1).n_train == 20
    with pytest.raises(ValueError, match="n_train must be a positive integer"):
        data.subset(0, 1)
    pool = Dataset(np.zeros((10, 2), np.float32), np.arange(10) % 2, None, "toy")
    assert len(pool.subset(3, 2).y) == 5 and pool.subset(None, None) is pool


def test_offline_openml_fails_at_once_naming_the_path_form(tmp_path):
    start = time.perf_counter()
    with pytest.raises(OSError, match=r"'cifar10:PATH'"):
        load_dataset("cifar10", data_home=tmp_path)
    assert time.perf_counter() - start < 30
    with pytest.raises(ValueError, match="'cifar100:PATH'"):
        load_dataset("cifar100")  # no OpenML copy with the official split


def test_experiments_use_exactly_the_official_test_rows(cifar10_folder):
    from sklearn_gen import KernelInterpolator
    from sklearn_gen.studies import randomization_test

    folder, _ = cifar10_folder
    data = load_dataset(f"cifar10:{folder}")
    frame = randomization_test(
        data.X,
        data.y,
        estimator=KernelInterpolator(kernel="linear"),
        conditions=(),
        corruption_levels=(0.0,),
        test_size=data.test_split(0.25),
        progress=False,
    )
    assert frame["n_train"].unique().tolist() == [20] and frame["n_test"].unique().tolist() == [4]
    with pytest.raises(ValueError, match="official split marks 24 rows but the data has 23"):
        randomization_test(
            data.X[:-1],
            data.y[:-1],
            estimator=KernelInterpolator(kernel="linear"),
            conditions=(),
            corruption_levels=(0.0,),
            test_size=data.test_split(0.25),
            progress=False,
        )


def test_cli_randomization_quick_on_cifar10_files(tmp_path, cifar_files):
    import pandas as pd

    from sklearn_gen.cli import main

    folder = tmp_path / "cifar-10-batches-py"
    cifar_files.write_cifar10_folder(folder, n_per_batch=12, n_test=10)
    out = tmp_path / "out"
    argv = ["run", "randomization-test", "--quick", "--quiet", "--data", f"cifar10:{folder}"]
    assert main([*argv, "--n-test", "8", "--out", str(out)]) == 0
    frame = pd.read_csv(out / "results.csv")
    assert set(frame["n_train"]) == {60} and set(frame["n_test"]) == {8}
    summary = (out / "summary.md").read_text()
    assert "official split, 60 training + 10 test" in summary
    assert "rows used (training / test): 60 / 8" in summary
    assert "centre crop 28x28 and per-image whitening" in summary
    curves = frame[(frame["panel"] == "curves") & (frame["condition"] == "random labels")]
    assert curves["train_accuracy"].max() == 1.0  # random labels are fitted on CIFAR too
