"""The matrix-free solver past memory: KernelInterpolator(solver="cg") at n = 30,000 on MNIST.

What is measured
----------------
One fit of ``sklearn_gen.KernelInterpolator(kernel="rbf", gamma=0.02, solver="cg",
memory_budget=..., tol=..., max_iter=..., n_components=..., random_state=0)`` on ``n``
MNIST-like images (``d = 784``, pixels float32 in [0, 1]):

* ``n = 30000`` (default): the 10,000 MNIST test images plus 20,000 more made from them by
  random translations — each image is copied twice, each copy ``np.roll``-ed on its 28 x 28
  grid by a shift in {-2, ..., 2} on each axis, not both zero, the two shifts of one image
  distinct (so no row is repeated and ``K`` stays non-singular); seeded by ``--seed``.
* Any other ``--n``: ``ceil(n / 3)`` images (at most 10,000; the first of a seeded
  permutation) plus ``n - ceil(n / 3)`` translated copies made the same way, so a smaller run
  has the same mix; ``--quick`` is ``--n 6000`` (2,000 images + 4,000 copies).

The fit runs in a fresh child process (multiprocessing, 'spawn'). The child builds the data,
records its resident set size (``VmRSS``, ``/proc/self/status``) as the baseline, resets the
high-water mark (``/proc/self/clear_refs``, Linux >= 4.0), times ``fit`` with
``time.perf_counter``, reads the peak (``VmHWM``), then predicts a seeded 2,000-row subset of
the training rows (training accuracy; an interpolant should reach 1.0 once converged) and
reads the peak again. Printed: fit time, ``solver_``, ``n_iter_``, ``train_residual_`` (vs
``tol``), the peak extra RSS in GiB of the fit and of fit + predict, against the float32
Gram matrix (``n * n * 4`` bytes; 3.35 GiB at n = 30,000) and the memory budget. On CUDA the
peak GPU memory allocated by torch is reported too and is what the target is judged on.

Target
------
``peak memory below the dense Gram``: the peak extra memory of the whole child run after the
baseline (fit and prediction) is smaller than ``n * n * 4`` bytes, the size of the float32
Gram matrix that a dense solver would have to store. PASS/FAIL is computed from the
measurement; the script exits with status 0 either way (a report, not a test).

The target is only tested when the budget is below the Gram size (the default: 1 GiB against
3.35 GiB); with a larger budget the solver may cache every Gram tile, and the script says so.
The estimator refuses, before any work, a budget smaller than its own estimate of what the cg
solver needs (data, the ``n x n_components`` Nyström factor, two row panels of
``block_size x n``); the child then reports that ``ValueError`` — lower ``--n-components`` or
``--block-size``, or raise ``--memory-budget-gib``.

Cost: on a 2-core CPU one CG iteration at n = 30,000 recomputes most Gram tiles (about
``n^2 d`` = 0.7 TFLOP), roughly 10 s; ``--max-iter`` bounds the run. Use ``--quick`` for a
smoke run. Options: ``--n``, ``--quick``, ``--memory-budget-gib`` (1.0), ``--tol`` (1e-4),
``--max-iter`` (300), ``--n-components`` (1000), ``--block-size`` (1024), ``--device``
(auto), ``--seed`` (0), ``--mnist`` (``$SKLEARN_GEN_MNIST`` or ``../shared/data/mnist``).

Usage::

    python benchmarks/bench_iterative.py                     # n = 30000, budget 1 GiB
    python benchmarks/bench_iterative.py --quick             # n = 6000
    python benchmarks/bench_iterative.py --n 10000 --max-iter 20
    python benchmarks/bench_iterative.py --n 10000 --memory-budget-gib 0.3 --n-components 300 \\
        --block-size 512 --max-iter 20                      # budget below the Gram
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from _bench_common import (
    MNIST_ENV_VAR,
    OtherLoad,
    check_mnist,
    code_version,
    load_note,
    mnist_folder,
    reset_peak,
    run_in_child,
    status_kib,
)

GAMMA = 0.02
SIDE = 28
MAX_SHIFT = 2
SHIFTS = [
    (dy, dx)
    for dy in range(-MAX_SHIFT, MAX_SHIFT + 1)
    for dx in range(-MAX_SHIFT, MAX_SHIFT + 1)
    if (dy, dx) != (0, 0)
]
N_ACCURACY = 2000
QUICK_N = 6000
GIB = 2**30


def split_counts(n: int, n_images: int) -> tuple[int, int, int]:
    """(original images, translated copies, most copies of one image) for ``n`` rows."""
    n_orig = min(n_images, -(-n // 3))
    n_aug = n - n_orig
    copies = -(-n_aug // n_orig) if n_aug else 0
    return n_orig, n_aug, copies


def build_data(folder: Path, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """``n`` rows: original images then translated copies; and the number of originals."""
    from sklearn_gen import load_mnist

    X, y = load_mnist(folder, kind="test", return_X_y=True, dtype="float32")
    rng = np.random.default_rng(seed)
    n_orig, n_aug, copies = split_counts(n, len(X))
    orig = rng.permutation(len(X))[:n_orig]
    images = X[orig].reshape(n_orig, SIDE, SIDE)
    # copy j of image i sits at row n_orig + j * n_orig + i; the shifts of one image differ
    choice = np.argsort(rng.random((n_orig, len(SHIFTS))), axis=1)[:, :copies]
    source = np.tile(np.arange(n_orig), copies)[:n_aug]
    copy_index = np.repeat(np.arange(copies), n_orig)[:n_aug]
    shift_of = choice[source, copy_index]
    out = np.empty((n, SIDE * SIDE), dtype=np.float32)
    out[:n_orig] = X[orig]
    for k, shift in enumerate(SHIFTS):
        rows = np.flatnonzero(shift_of == k)
        moved = np.roll(images[source[rows]], shift, axis=(1, 2))
        out[n_orig + rows] = moved.reshape(len(rows), SIDE * SIDE)
    labels = np.concatenate([y[orig], y[orig][source]])
    return out, labels, n_orig


# ---------------------------------------------------------------------------- child
def run_job(
    folder: str,
    n: int,
    seed: int,
    device: str,
    memory_budget: int,
    tol: float,
    max_iter: int,
    n_components: int,
    block_size: int,
) -> dict:
    """Build the data, fit and predict; runs inside a fresh child process."""
    import torch

    from sklearn_gen import KernelInterpolator

    t0 = time.perf_counter()
    X, y, n_orig = build_data(Path(folder), n, seed)
    build_s = time.perf_counter() - t0
    n_unique = len({row.tobytes() for row in X})
    subset = np.sort(np.random.default_rng(seed + 1).choice(n, min(N_ACCURACY, n), replace=False))
    est = KernelInterpolator(
        kernel="rbf",
        gamma=GAMMA,
        solver="cg",
        memory_budget=memory_budget,
        tol=tol,
        max_iter=max_iter,
        n_components=n_components,
        block_size=block_size,
        device=device,
        random_state=0,
    )
    gc.collect()
    cuda = device == "cuda"
    if cuda:
        torch.cuda.synchronize()
        gpu_base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    base_kib = status_kib("VmRSS")
    reset_ok = reset_peak()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        est.fit(X, y)
        fit_s = time.perf_counter() - t0
        fit_kib = status_kib("VmHWM")
        fit_gpu = torch.cuda.max_memory_allocated() - gpu_base if cuda else None
        t0 = time.perf_counter()
        pred = est.predict(X[subset])
        predict_s = time.perf_counter() - t0
    peak_kib = status_kib("VmHWM")

    def extra(kib: int | None) -> int | None:
        return None if kib is None or base_kib is None else (kib - base_kib) * 1024

    result: dict[str, Any] = {
        "n_orig": n_orig,
        "n_unique": n_unique,
        "build_s": build_s,
        "fit_s": fit_s,
        "predict_s": predict_s,
        "solver_": est.solver_,
        "precision_": est.precision_,
        "n_iter_": int(est.n_iter_),
        "train_residual_": float(est.train_residual_),
        "rkhs_norm_": float(est.rkhs_norm_),
        "accuracy": float(np.mean(pred == y[subset])),
        "n_accuracy": len(subset),
        "baseline_rss": None if base_kib is None else base_kib * 1024,
        "fit_rss": extra(fit_kib),
        "peak_rss": extra(peak_kib),
        "hwm_reset": reset_ok,
        "fit_gpu": fit_gpu,
        "peak_gpu": torch.cuda.max_memory_allocated() - gpu_base if cuda else None,
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
        "torch_threads": torch.get_num_threads(),
    }
    return result


# ---------------------------------------------------------------------------- report
def _gib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / GIB:.3f} GiB"


def _ratio(value: int | None, ref: float) -> str:
    return "n/a" if value is None else f"{value / ref:.2f}x"


def report(r: dict, n: int, gram: int, budget: int, tol: float, device: str) -> None:
    print("\n=== result ===")
    if "error" in r:
        print(f"  FAILED: {r['error']}")
        print("\n=== verdict ===")
        print("peak memory below the dense Gram: FAIL (run failed)")
        return
    print(
        f"  data: {r['n_orig']} MNIST images + {n - r['n_orig']} translated copies "
        f"= {n} rows ({r['n_unique']} distinct), built in {r['build_s']:.1f} s"
    )
    print(f"  fit time:                  {r['fit_s']:.2f} s")
    print(f"  solver_ / precision_:      {r['solver_']} / {r['precision_']}")
    print(f"  n_iter_:                   {r['n_iter_']}")
    conv = "converged" if r["train_residual_"] <= tol else "NOT converged"
    print(f"  train_residual_:           {r['train_residual_']:.3e} (tol {tol:g}: {conv})")
    print(f"  rkhs_norm_:                {r['rkhs_norm_']:.4g}")
    print(
        f"  training accuracy:         {r['accuracy']:.4f} on a seeded {r['n_accuracy']}-row "
        f"subset (predict {r['predict_s']:.2f} s)"
    )
    print(f"  baseline RSS (data built): {_gib(r['baseline_rss'])}")
    print(
        f"  peak extra RSS, fit:       {_gib(r['fit_rss'])} = {_ratio(r['fit_rss'], gram)} "
        f"the float32 Gram, {_ratio(r['fit_rss'], budget)} the budget"
    )
    print(
        f"  peak extra RSS, fit+pred:  {_gib(r['peak_rss'])} = {_ratio(r['peak_rss'], gram)} "
        f"the float32 Gram, {_ratio(r['peak_rss'], budget)} the budget"
    )
    if r["peak_gpu"] is not None:
        print(
            f"  peak GPU memory, fit:      {_gib(r['fit_gpu'])}; fit+pred: {_gib(r['peak_gpu'])}"
            f" = {_ratio(r['peak_gpu'], gram)} the Gram, {_ratio(r['peak_gpu'], budget)} budget"
        )
    print(f"  float32 Gram (n*n*4):      {gram / GIB:.3f} GiB")
    print(f"  memory budget:             {budget / GIB:.3f} GiB")
    if not r["hwm_reset"]:
        print("  note: VmHWM could not be reset; the peaks include building the data")
    if budget >= gram:
        print(
            f"  note: the budget ({budget / GIB:.3f} GiB) is not below the float32 Gram "
            f"({gram / GIB:.3f} GiB), so the solver may keep every Gram tile cached: this run "
            "does not test the target (lower --memory-budget-gib and --n-components, or raise --n)"
        )
    for w in r["warnings"]:
        print(f"  warning: {w}")

    peak = r["peak_gpu"] if device == "cuda" else r["peak_rss"]
    print("\n=== verdict ===")
    label = "peak memory below the dense Gram"
    if peak is None:
        print(f"{label}: FAIL (not measured)")
    else:
        verdict = "PASS" if peak < gram else "FAIL"
        print(
            f"{label}: {verdict} ({peak / GIB:.3f} GiB vs {gram / GIB:.3f} GiB, {peak / gram:.2f}x)"
        )


# ---------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None, help="training rows (default 30000)")
    parser.add_argument("--quick", action="store_true", help=f"smoke run, n={QUICK_N}")
    parser.add_argument("--memory-budget-gib", type=float, default=1.0)
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument("--n-components", type=int, default=1000)
    parser.add_argument(
        "--block-size", type=int, default=1024, help="Gram tile side (the estimator's default)"
    )
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--seed", type=int, default=0, help="seed of the images and shifts")
    parser.add_argument(
        "--mnist",
        default=None,
        help=f"MNIST folder (default ${MNIST_ENV_VAR} or ../shared/data/mnist next to the repo)",
    )
    args = parser.parse_args(argv)
    if args.quick and args.n is not None:
        parser.error("give --quick or --n, not both")
    args.n = QUICK_N if args.quick else (30000 if args.n is None else args.n)
    if args.n < 3:
        parser.error("--n must be >= 3")
    if args.memory_budget_gib <= 0 or args.tol <= 0:
        parser.error("--memory-budget-gib and --tol must be positive")
    if min(args.max_iter, args.n_components, args.block_size) < 1:
        parser.error("--max-iter, --n-components and --block-size must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    import sklearn_gen

    folder = mnist_folder(args.mnist)
    n_images = check_mnist(folder)
    n_orig, n_aug, copies = split_counts(args.n, n_images)
    if copies > len(SHIFTS):
        sys.exit(
            f"error: --n {args.n} needs {copies} translated copies per image, more than the "
            f"{len(SHIFTS)} distinct shifts; use --n <= {n_images * (len(SHIFTS) + 1)}."
        )
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        sys.exit("error: --device cuda was requested but CUDA is not available.")
    budget = int(args.memory_budget_gib * GIB)
    gram = args.n * args.n * 4

    gpu = f" ({torch.cuda.get_device_name()})" if device == "cuda" else ""
    print(
        f"sklearn_gen {sklearn_gen.__version__}, torch {torch.__version__}; device "
        f"{device}{gpu}, {os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}"
    )
    print(f"code: {code_version()} ({time.strftime('%Y-%m-%d %H:%M:%S')})")
    print(f"machine load at start: {load_note()}")
    print(
        f"data: n={args.n}, d={SIDE * SIDE}, float32 in [0, 1]: {n_orig} MNIST test images "
        f"from {folder} + {n_aug} translated copies (shifts in [-{MAX_SHIFT}, {MAX_SHIFT}]^2 "
        f"minus (0, 0), seed {args.seed})"
    )
    print(
        f"KernelInterpolator(kernel='rbf', gamma={GAMMA}, solver='cg', memory_budget="
        f"{budget} ({args.memory_budget_gib:g} GiB), tol={args.tol:g}, max_iter={args.max_iter},"
        f" n_components={args.n_components}, block_size={args.block_size}, random_state=0)"
    )
    print(f"float32 Gram would be {gram / GIB:.3f} GiB; running the fit in a child process ...")
    sys.stdout.flush()
    job = {
        "folder": str(folder),
        "n": args.n,
        "seed": args.seed,
        "device": device,
        "memory_budget": budget,
        "tol": args.tol,
        "max_iter": args.max_iter,
        "n_components": args.n_components,
        "block_size": args.block_size,
    }
    meter = OtherLoad()
    result = run_in_child(run_job, job)
    print(f"machine load during the run: {meter.note()}")
    report(result, args.n, gram, budget, args.tol, device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
