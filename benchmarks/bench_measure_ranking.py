"""Cost of the measure-ranking study's default run: wall time, training and measures.

Runs ``measure_ranking`` at its defaults on the digits (898 training / 899 test images, 64
grid points x 2 seeds = 128 MLPs, each trained to training cross-entropy <= 0.01 within
200 epochs), then ranks the converged networks as ``sklearn-gen run measure-ranking``
does. Prints the wall time beside the machine's float32 matmul rate (the same run takes
longer on slower cores), the training and measure seconds summed over the networks, and
their ratio against the target (issue 23: measures <= 30% of training; default run <= 20
minutes on 2 cores).

Run ``python benchmarks/bench_measure_ranking.py`` (``--n-jobs 2`` for two workers).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import torch
from _bench_common import code_version, load_note
from bench_kernel import matmul_rate
from sklearn.datasets import load_digits

from sklearn_gen.studies import measure_ranking, rank_measures
from sklearn_gen.studies._measure_ranking import RANKING_AXES, RANKING_MEASURES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", type=int, default=None, help="joblib workers")
    args = parser.parse_args(argv)
    rate = matmul_rate("cpu", "float32")
    print(
        f"bench_measure_ranking: {code_version()}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, float32 matmul {rate:.0f} GFLOP/s; {load_note()}"
    )
    X, y = load_digits(return_X_y=True)
    warnings.filterwarnings("ignore", message="The stopping rules were not met")
    start = time.perf_counter()
    zoo = measure_ranking(X / 16, y, n_jobs=args.n_jobs)
    trained = time.perf_counter() - start
    converged = zoo[zoo["converged"]]
    axes = [a for a in RANKING_AXES if converged[a].nunique() > 1]
    rank_measures(converged, list(RANKING_MEASURES), "generalization_gap", axes, random_state=0)
    wall = time.perf_counter() - start
    fit, measures = zoo["fit_seconds"].sum(), zoo["measure_seconds"].sum()
    ratio = measures / fit
    print(
        f"{len(zoo)} networks, {len(converged)} converged; wall {wall / 60:.1f} min "
        f"(training and measures {trained / 60:.1f} min, ranking {(wall - trained):.0f} s; "
        f"target <= 20 min: {'met' if wall <= 1200 else 'NOT met'})"
    )
    print(
        f"summed over networks: training {fit:.0f} s, measures {measures:.0f} s = "
        f"{100 * ratio:.0f}% of training (target <= 30%: {'met' if ratio <= 0.3 else 'NOT met'})"
    )
    return 0 if wall <= 1200 and ratio <= 0.3 else 1


if __name__ == "__main__":
    sys.exit(main())
