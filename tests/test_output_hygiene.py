"""Output files follow the umask; ``import sklearn_gen`` stays light."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from sklearn_gen.studies import run_configurations
from sklearn_gen.studies._files import atomic_write

REPO_ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def umask(mask: int):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _double(a: int) -> dict:
    return {"a": a, "b": 2 * a}


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_write_follows_the_umask(tmp_path, mask, expected):
    with umask(mask):
        path = atomic_write(tmp_path / "a.txt", lambda p: p.write_text("hi"))
    assert path.read_text() == "hi"
    assert _mode(path) == expected
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary left


def test_cache_files_follow_the_umask(tmp_path):
    with umask(0o022):
        frame = run_configurations(_double, [{"a": 1}, {"a": 2}], cache_dir=tmp_path)
    assert frame["b"].tolist() == [2, 4]
    files = list(tmp_path.rglob("output.pkl"))  # joblib.Memory's stored results
    assert len(files) == 2
    assert {_mode(p) for p in files} == {0o644}


def _threads(a: int) -> dict:
    import torch
    from threadpoolctl import threadpool_info

    pools = {pool["num_threads"] for pool in threadpool_info()}
    return {"a": a, "torch": torch.get_num_threads(), "pools": max(pools, default=0)}


def test_workers_share_the_cores():
    import joblib
    import torch

    cores = joblib.cpu_count()
    before = torch.get_num_threads()
    torch.set_num_threads(max(2, cores))  # as a fresh process starts: one per core, or more
    try:
        with joblib.parallel_backend("threading"):
            frame = run_configurations(_threads, [{"a": a} for a in range(4)], n_jobs=2)
        assert (frame["torch"] == max(1, cores // 2)).all()
        # BLAS / OpenMP pools too: read in worker processes, since a BLAS limit is
        # process-wide and two threads setting and restoring it race
        frame = run_configurations(_threads, [{"a": a} for a in range(4)], n_jobs=2)
        assert (frame["pools"] <= max(1, cores // 2)).all()
        frame = run_configurations(_threads, [{"a": 0}], n_jobs=-1)  # one worker per core
        assert frame["torch"].tolist() == [1]
        # one worker (the default): it may use every core
        assert run_configurations(_threads, [{"a": 0}])["torch"].tolist() == [cores]
        assert torch.get_num_threads() == max(2, cores)  # restored after each run
    finally:
        torch.set_num_threads(before)


def test_threads_override_the_default():
    from sklearn_gen.studies._common import configuration_threads

    assert run_configurations(_threads, [{"a": 0}], threads=1)["torch"].tolist() == [1]
    with configuration_threads(1):
        assert run_configurations(_threads, [{"a": 0}], n_jobs=-1)["torch"].tolist() == [1]
        assert run_configurations(_threads, [{"a": 0}])["torch"].tolist() == [1]
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        run_configurations(_threads, [{"a": 0}], threads=0)
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        configuration_threads(True).__enter__()


# ----------------------------------------------------------------------------- import time
_HEAVY = ("pandas", "matplotlib", "dask", "distributed", "torch", "sklearn", "skorch")


def _loaded_after(code: str) -> set[str]:
    """Top-level packages of ``_HEAVY`` in ``sys.modules`` after ``code``, in a fresh Python."""
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {_HEAVY!r} if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return set(result.stdout.split())


def test_import_sklearn_gen_loads_nothing_heavy():
    assert _loaded_after("import sklearn_gen; sklearn_gen.__version__") == set()


def test_public_objects_load_no_harness_library():
    """Every public object: torch, sklearn, skorch, and what they load, nothing more."""
    baseline = _loaded_after("import torch, sklearn, skorch")
    loaded = _loaded_after("from sklearn_gen import *; import sklearn_gen.metrics")
    assert {"torch", "sklearn", "skorch"} <= loaded
    assert loaded <= baseline  # pandas only where sklearn itself loads it
    assert not loaded & {"matplotlib", "dask", "distributed"}


# ----------------------------------------------------------------------------- columns
def test_every_experiment_column_is_documented():
    from sklearn_gen.studies._columns import COLUMNS
    from sklearn_gen.studies._kernel import KERNEL_COLUMNS
    from sklearn_gen.studies._normalized_loss import NORMALIZED_LOSS_COLUMNS
    from sklearn_gen.studies._randomization import (
        ABLATION_COLUMNS,
        EXPRESSIVITY_COLUMNS,
        RANDOMIZATION_COLUMNS,
        REGULARIZATION_SWITCHES,
    )

    bounds = ["m", "repeat", "train_error", "test_error", "epochs", "converged"]
    bounds += ["distance_from_init", "spectral_bound", "pac_bayes_bound"]
    hyperspheres = ["m", "dim", "width", "repeat", "train_error", "test_error"]
    hyperspheres += ["projected_error", "epochs", "converged"]
    every = {
        *KERNEL_COLUMNS,
        *NORMALIZED_LOSS_COLUMNS,
        *ABLATION_COLUMNS,
        *REGULARIZATION_SWITCHES,
        *EXPRESSIVITY_COLUMNS,
        *RANDOMIZATION_COLUMNS,
        *bounds,
        *hyperspheres,
    }
    assert sorted(every - set(COLUMNS)) == []
    # no near-duplicate names of one quantity
    assert not {"train_acc", "train_acc_full", "train_accuracy_clean"} & every


def test_randomization_frame_has_one_name_per_quantity():
    from sklearn.datasets import load_digits

    from sklearn_gen import KernelInterpolator
    from sklearn_gen.studies import randomization_test
    from sklearn_gen.studies._randomization import RANDOMIZATION_COLUMNS

    X, y = load_digits(return_X_y=True)
    frame = randomization_test(
        X[:200] / 16, y[:200], estimator=KernelInterpolator(), corruption_levels=[0.5]
    )
    assert list(frame.columns) == RANDOMIZATION_COLUMNS
    row = frame.iloc[0]
    assert row["train_accuracy"] == 1.0  # the interpolant fits the labels it was given
    assert row["train_accuracy_true_labels"] < 0.8  # about half of them are wrong
