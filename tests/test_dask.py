"""Joblib's Dask backend gives the same results as one local process."""

from __future__ import annotations

import time

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")
# 300 epochs do not interpolate p=0.5 noise on 100 digits; the scores still compare
pytestmark = pytest.mark.filterwarnings("ignore:The stopping rules were not met")

import joblib  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from sklearn_gen import LabelNoise, NetworkClassifier  # noqa: E402
from sklearn_gen.metrics import make_scoring  # noqa: E402
from sklearn_gen.studies import kernel_interpolation  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    client = distributed.Client(cluster)
    # the tests run torch on one thread (conftest); so must the workers, bit for bit
    import torch

    client.run(torch.set_num_threads, 1)
    assert set(client.run(torch.get_num_threads).values()) == {1}
    yield client
    client.close()
    cluster.close()


def _digits(n: int = 200):
    X, y = load_digits(return_X_y=True)
    keep = np.random.RandomState(0).choice(len(y), n, replace=False)
    return X[keep] / 16.0, y[keep]


def _search() -> GridSearchCV:
    network = NetworkClassifier(
        "mlp",
        module__hidden=(16,),
        max_epochs=300,
        stop_on_interpolation=True,
        random_state=0,
    )
    return GridSearchCV(
        LabelNoise(network, random_state=0),
        {"p": [0.0, 0.5]},
        scoring=make_scoring("accuracy", "neg_path_norm", "neg_distance_from_init"),
        refit="accuracy",
        return_train_score=True,
        cv=2,
    )


def _scores(search: GridSearchCV) -> pd.DataFrame:
    frame = pd.DataFrame(search.cv_results_)
    return frame[[c for c in frame.columns if "time" not in c]]


def test_grid_search_same_under_dask(client):
    X, y = _digits()
    start = time.perf_counter()
    local = _search().set_params(n_jobs=1).fit(X, y)
    local_seconds = time.perf_counter() - start
    start = time.perf_counter()
    with joblib.parallel_backend("dask"):
        remote = _search().fit(X, y)
    dask_seconds = time.perf_counter() - start
    print(f"GridSearchCV: n_jobs=1 {local_seconds:.1f} s, dask (2 workers) {dask_seconds:.1f} s")
    pd.testing.assert_frame_equal(_scores(local), _scores(remote))
    assert remote.best_params_ == local.best_params_


def test_experiment_same_under_dask(client, tmp_path):
    X, y = _digits(150)
    kwargs = dict(network=False, corruption_levels=(0.0, 1.0), random_state=0)
    local = kernel_interpolation(X, y, n_jobs=1, **kwargs)
    with joblib.parallel_backend("dask"):
        remote = kernel_interpolation(X, y, cache_dir=tmp_path, **kwargs)
    timing = [c for c in local.columns if "seconds" in c]
    pd.testing.assert_frame_equal(local.drop(columns=timing), remote.drop(columns=timing))
    # the workers wrote the cache; a rerun reads it back whole
    assert len(list(tmp_path.rglob("output.pkl"))) == len(local)
    again = kernel_interpolation(X, y, cache_dir=tmp_path, **kwargs)
    pd.testing.assert_frame_equal(again, remote)


def test_cli_runs_on_the_scheduler(client, tmp_path):
    from sklearn_gen.cli import main

    out = tmp_path / "out"
    arguments = ["run", "expressivity", "--quick", "--quiet", "--out", str(out)]
    assert main([*arguments, "--scheduler", client.scheduler.address, "--n-jobs", "2"]) == 0
    remote = pd.read_csv(out / "results.csv")
    assert main([*arguments, "--no-resume", "--out", str(tmp_path / "local")]) == 0
    local = pd.read_csv(tmp_path / "local" / "results.csv")
    pd.testing.assert_frame_equal(
        remote.drop(columns="fit_seconds"), local.drop(columns="fit_seconds")
    )


def test_one_worker_per_gpu_layout():
    """The one-worker-per-GPU cluster: each worker sees only its own device.

    On this CPU machine the two "GPUs" are ids that CUDA cannot find, so each worker sees
    zero GPUs and ``device="auto"`` falls back to the CPU; on a GPU machine the same code
    gives each worker exactly one GPU, which ``device="auto"`` picks.
    """
    import torch

    from sklearn_gen.scaling import gpu_worker_cluster, worker_device

    with gpu_worker_cluster(devices=[0, 1]) as cluster, distributed.Client(cluster) as c:
        seen = c.run(worker_device)
        c.run(torch.set_num_threads, 1)
        assert sorted(seen) == sorted(c.scheduler_info()["workers"])
        by_name = {
            info["name"]: seen[address] for address, info in c.scheduler_info()["workers"].items()
        }
        assert sorted(by_name) == ["gpu-0", "gpu-1"]
        for name, device in by_name.items():
            assert device["cuda_visible_devices"] == name.removeprefix("gpu-")
            assert device["cuda_device_count"] <= 1
            expected = "cuda" if device["cuda_device_count"] == 1 else "cpu"
            assert device["auto_device"].startswith(expected)
        X, y = _digits(100)
        local = _search().set_params(n_jobs=1).fit(X, y)
        with joblib.parallel_backend("dask"):
            remote = _search().fit(X, y)
    pd.testing.assert_frame_equal(_scores(local), _scores(remote))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"devices": []}, "devices is empty"),
        ({"devices": [0, 0]}, "distinct"),
        ({"devices": [0], "threads_per_worker": 0}, "threads_per_worker"),
    ],
)
def test_gpu_worker_cluster_rejects_bad_layouts(kwargs, match):
    from sklearn_gen.scaling import gpu_worker_cluster

    with pytest.raises(ValueError, match=match):
        gpu_worker_cluster(**kwargs)


def test_measure_ranking_same_under_dask(client):
    from sklearn_gen.studies import measure_ranking

    X, y = _digits(160)
    kwargs = dict(
        grid={"width": [8, 16], "lr": [0.1]},
        measures=["inverse_margin", "log_spectral_product", "path_norm"],
        target_train_loss=0.1,
        n_repeats=1,
        random_state=0,
    )
    local = measure_ranking(X, y, n_jobs=1, **kwargs)
    with joblib.parallel_backend("dask"):
        remote = measure_ranking(X, y, **kwargs)
    timing = ["fit_seconds", "measure_seconds"]
    pd.testing.assert_frame_equal(local.drop(columns=timing), remote.drop(columns=timing))
