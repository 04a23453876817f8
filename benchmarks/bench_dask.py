"""One GridSearchCV (12 fits) at n_jobs=1, n_jobs=2 and on a 2-worker Dask LocalCluster.

The search: ``LabelNoise(NetworkClassifier("mlp", module__hidden=(64,), stop at
interpolation))`` over ``p`` in {0, 0.5, 1} and ``lr`` in {0.05, 0.1} with 2-fold CV (12
fits), scored by accuracy and two bound scorers, on 600 digits. ``n_jobs=1`` is the named
baseline; the script prints each time, the ratio to the baseline, and whether the three
runs give the same ``cv_results_`` scores (they should: every fit is seeded).

Run ``python benchmarks/bench_dask.py`` (needs ``pip install ".[dask]"``).
"""

from __future__ import annotations

import sys
import time

import joblib
import numpy as np
import torch
from _bench_common import code_version, load_note
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from sklearn_gen import LabelNoise, NetworkClassifier
from sklearn_gen.metrics import make_scoring


def search(n_jobs: int | None) -> GridSearchCV:
    net = NetworkClassifier(
        "mlp",
        module__hidden=(64,),
        lr=0.1,
        max_epochs=500,
        stop_on_interpolation=True,
        device="cpu",
        random_state=0,
    )
    return GridSearchCV(
        LabelNoise(net, random_state=0),
        {"p": [0.0, 0.5, 1.0], "estimator__lr": [0.05, 0.1]},
        scoring=make_scoring("accuracy", "neg_path_norm", "neg_distance_from_init"),
        refit=False,
        return_train_score=True,
        cv=2,
        n_jobs=n_jobs,
    )


def scores(results: dict) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in results.items() if "score" in k and "time" not in k}


def main() -> int:
    from distributed import Client, LocalCluster

    X, y = load_digits(return_X_y=True)
    X, y = (X / 16.0)[:600], y[:600]
    torch.set_num_threads(1)  # the same as each worker process, for identical numbers
    print(f"bench_dask: {code_version()}; torch {torch.__version__}; {load_note()}")
    times, results = {}, {}
    for label, n_jobs in (("n_jobs=1", 1), ("n_jobs=2", 2)):
        start = time.perf_counter()
        results[label] = scores(search(n_jobs).fit(X, y).cv_results_)
        times[label] = time.perf_counter() - start
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        Client(cluster) as client,
    ):
        client.run(torch.set_num_threads, 1)
        start = time.perf_counter()
        with joblib.parallel_backend("dask"):
            results["dask"] = scores(search(None).fit(X, y).cv_results_)
        times["dask (2-worker LocalCluster)"] = time.perf_counter() - start
    base = times["n_jobs=1"]
    for label, seconds in times.items():
        print(f"  GridSearchCV, 12 fits, {label:30s} {seconds:7.2f} s  {base / seconds:5.2f}x")
    same = all(
        all(np.allclose(results["n_jobs=1"][k], other[k], equal_nan=True) for k in other)
        for other in (results["n_jobs=2"], results["dask"])
    )
    print(f"identical cv_results_ scores across the three: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
