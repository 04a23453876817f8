"""Kernel interpolation past memory at n = 30,000 on MNIST: out-of-core (or cg) vs dense.

What is measured
----------------
Two fits of ``sklearn_gen.KernelInterpolator(kernel="rbf", gamma=0.02, tol=...)`` on the
same ``n`` MNIST-like rows (``d = 784``, pixels float32 in [0, 1]), each in a fresh child
process (multiprocessing, 'spawn'), one after the other:

* **past memory**: ``solver="out_of_core"`` (default; ``--solver cg`` for the matrix-free
  solver) with ``memory_budget`` = ``--memory-budget-gib``, by default half the float32
  Gram matrix (``0.5 * n * n * 4`` bytes; 1.68 GiB at n = 30,000);
* **dense**: ``solver="cholesky"`` (in place, one ``n x n`` float32 buffer) with
  ``memory_budget`` = 90% of the memory free in the child (``MemAvailable``), so the
  in-memory solve runs whenever the machine can hold it (``--no-dense`` skips it).

Data: ``n = 30000`` (default) is the 10,000 MNIST test images plus 20,000 more made from
them by random translations — each image is copied twice, each copy ``np.roll``-ed on its
28 x 28 grid by a shift in {-2, ..., 2} on each axis, not both zero, the shifts of one image
distinct (so no row is repeated and ``K`` stays non-singular); seeded by ``--seed``. Any
other ``--n``: ``ceil(n / 3)`` images (at most 10,000) plus translated copies made the same
way. ``--quick`` is ``--n 6000``. The rows are built for ``n + 2000``: the first ``n`` are
the training rows (the same rows a build for ``n`` gives), the last 2,000 (further
translated copies, not in the training set) are the held-out rows both fits predict.

Each child builds the data, records its resident set size (``VmRSS``, ``/proc/self/status``)
as the baseline, resets the high-water mark (``/proc/self/clear_refs``, Linux >= 4.0), times
``fit`` and ``predict`` (the 2,000 held-out rows) with ``time.perf_counter`` and reads the
peak (``VmHWM``) after each. On CUDA the peak GPU memory allocated by torch is reported too
and is what the memory targets are judged on. The out-of-core solver's files live in the
system's temporary folder (``--scratch-dir`` to choose); they are read and written with
``pread``/``pwrite``, so they do not count in the process's RSS, but the operating system
may cache them in free RAM.

Printed: for each fit its time, ``solver_``, ``precision_``, ``n_iter_``,
``train_residual_`` (vs ``tol``), the peak extra RSS of the fit and of fit + predict against
the float32 Gram matrix and the budget; then the past-memory / dense fit-time ratio and the
share of identical held-out predictions.

Targets (verdict lines, computed from the measurements)
-------------------------------------------------------
* past-memory peak (fit + predict) below the dense float32 Gram matrix;
* dense peak extra memory (fit + predict) <= 1.2x the float32 Gram matrix;
* past-memory fit time <= 3x the dense fit time, both converged to ``tol``;
* >= 99.9% identical predictions on the held-out rows.

The script exits with status 0 either way (a report, not a test). Options: ``--n``,
``--quick``, ``--solver`` (out_of_core), ``--memory-budget-gib`` (half the Gram),
``--tol`` (1e-6; 1e-4 for cg), ``--max-iter`` (estimator default for out_of_core, 300 for
cg), ``--n-components`` (1000, cg), ``--block-size`` (1024), ``--no-dense``,
``--scratch-dir``, ``--device`` (auto), ``--seed`` (0), ``--mnist``
(``$SKLEARN_GEN_MNIST`` or ``../shared/data/mnist``).

Usage::

    python benchmarks/bench_iterative.py                     # n = 30000, out_of_core vs dense
    python benchmarks/bench_iterative.py --quick             # n = 6000
    python benchmarks/bench_iterative.py --solver cg --memory-budget-gib 2.5 \\
        --n-components 1500 --max-iter 400                   # the matrix-free solver
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
N_HELD_OUT = 2000
GATE_TIME_RATIO = 3.0
GATE_AGREEMENT = 0.999
GATE_DENSE_MEMORY = 1.2
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
    params: dict[str, Any],
    budget_share_of_free: float | None,
) -> dict:
    """Build the data, fit on ``n`` rows, predict the held-out rows; runs in a child."""
    import torch

    from sklearn_gen import KernelInterpolator
    from sklearn_gen._device import available_memory, resolve_device

    t0 = time.perf_counter()
    X, y, n_orig = build_data(Path(folder), n + N_HELD_OUT, seed)
    build_s = time.perf_counter() - t0
    n_unique = len({row.tobytes() for row in X})
    X_train, y_train, X_held = X[:n], y[:n], X[n:]
    params = dict(params)
    if budget_share_of_free is not None:
        free = available_memory(resolve_device(device))
        params["memory_budget"] = int(budget_share_of_free * free)
    est = KernelInterpolator(kernel="rbf", gamma=GAMMA, device=device, random_state=0, **params)
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
        est.fit(X_train, y_train)
        fit_s = time.perf_counter() - t0
        fit_kib = status_kib("VmHWM")
        fit_gpu = torch.cuda.max_memory_allocated() - gpu_base if cuda else None
        t0 = time.perf_counter()
        pred = est.predict(X_held)
        predict_s = time.perf_counter() - t0
    peak_kib = status_kib("VmHWM")

    def extra(kib: int | None) -> int | None:
        return None if kib is None or base_kib is None else (kib - base_kib) * 1024

    return {
        "n_orig": n_orig,
        "n_unique": n_unique,
        "build_s": build_s,
        "fit_s": fit_s,
        "predict_s": predict_s,
        "memory_budget": params["memory_budget"],
        "solver_": est.solver_,
        "precision_": est.precision_,
        "n_iter_": int(est.n_iter_),
        "train_residual_": float(est.train_residual_),
        "rkhs_norm_": float(est.rkhs_norm_),
        "pred": pred,
        "held_accuracy": float(np.mean(pred == y[n:])),
        "baseline_rss": None if base_kib is None else base_kib * 1024,
        "fit_rss": extra(fit_kib),
        "peak_rss": extra(peak_kib),
        "hwm_reset": reset_ok,
        "fit_gpu": fit_gpu,
        "peak_gpu": torch.cuda.max_memory_allocated() - gpu_base if cuda else None,
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
        "torch_threads": torch.get_num_threads(),
    }


# ---------------------------------------------------------------------------- report
def _gib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / GIB:.3f} GiB"


def _ratio(value: int | None, ref: float) -> str:
    return "n/a" if value is None else f"{value / ref:.2f}x"


def peak_of(r: dict, device: str) -> int | None:
    """The peak extra memory a target is judged on: GPU memory on CUDA, else RSS."""
    return r["peak_gpu"] if device == "cuda" else r["peak_rss"]


def report_fit(label: str, r: dict, n: int, gram: int, tol: float) -> None:
    print(f"\n=== {label} ===")
    if "error" in r:
        print(f"  FAILED: {r['error']}")
        return
    budget = r["memory_budget"]
    print(
        f"  data: {r['n_orig']} MNIST images + translated copies = {n} training rows "
        f"+ {N_HELD_OUT} held out ({r['n_unique']} distinct rows), built in {r['build_s']:.1f} s"
    )
    print(f"  fit time:                  {r['fit_s']:.2f} s")
    print(f"  predict time:              {r['predict_s']:.2f} s ({N_HELD_OUT} held-out rows)")
    print(f"  solver_ / precision_:      {r['solver_']} / {r['precision_']}")
    print(f"  n_iter_:                   {r['n_iter_']}")
    conv = "converged" if r["train_residual_"] <= tol else "NOT converged"
    print(f"  train_residual_:           {r['train_residual_']:.3e} (tol {tol:g}: {conv})")
    print(f"  rkhs_norm_:                {r['rkhs_norm_']:.6g}")
    print(f"  held-out accuracy:         {r['held_accuracy']:.4f}")
    print(f"  memory budget:             {_gib(budget)} = {_ratio(budget, gram)} the Gram")
    print(f"  baseline RSS (data built): {_gib(r['baseline_rss'])}")
    for key, what in (("fit_rss", "fit"), ("peak_rss", "fit+pred")):
        print(
            f"  peak extra RSS, {what + ':':<10}{_gib(r[key])} = {_ratio(r[key], gram)} "
            f"the float32 Gram, {_ratio(r[key], budget)} the budget"
        )
    if r["peak_gpu"] is not None:
        print(
            f"  peak GPU memory, fit:      {_gib(r['fit_gpu'])}; fit+pred: {_gib(r['peak_gpu'])}"
            f" = {_ratio(r['peak_gpu'], gram)} the Gram"
        )
    if not r["hwm_reset"]:
        print("  note: VmHWM could not be reset; the peaks include building the data")
    for w in r["warnings"]:
        print(f"  warning: {w}")


def verdicts(past: dict, dense: dict | None, gram: int, tol: float, device: str) -> None:
    print("\n=== verdict ===")

    def line(label: str, ok: bool | None, detail: str) -> None:
        word = "NOT MEASURED" if ok is None else ("PASS" if ok else "FAIL")
        print(f"{label}: {word} ({detail})")

    past_ok = "error" not in past
    peak = peak_of(past, device) if past_ok else None
    line(
        "past-memory peak below the dense float32 Gram",
        None if peak is None else peak < gram,
        "run failed" if not past_ok else f"{_gib(peak)} vs {_gib(gram)}, {_ratio(peak, gram)}",
    )
    if dense is None or "error" in dense:
        why = "--no-dense" if dense is None else f"dense run failed: {dense['error']}"
        for label in ("dense peak", "time ratio", "held-out agreement"):
            line(label, None, why)
        return
    dense_peak = peak_of(dense, device)
    line(
        f"dense in-place peak <= {GATE_DENSE_MEMORY:g}x the float32 Gram",
        None if dense_peak is None else dense_peak <= GATE_DENSE_MEMORY * gram,
        f"{_ratio(dense_peak, gram)}",
    )
    if not past_ok:
        return
    ratio = past["fit_s"] / dense["fit_s"]
    both = past["train_residual_"] <= tol and dense["train_residual_"] <= tol
    print(
        f"\npast-memory / dense fit time: {ratio:.2f}x ({past['fit_s']:.1f} s / "
        f"{dense['fit_s']:.1f} s); fit + predict: "
        f"{(past['fit_s'] + past['predict_s']) / (dense['fit_s'] + dense['predict_s']):.2f}x"
    )
    same = float(np.mean(past["pred"] == dense["pred"]))
    print(f"held-out predictions identical: {100 * same:.2f}% of {len(past['pred'])}")
    line(
        f"past-memory fit <= {GATE_TIME_RATIO:g}x dense, both at tol",
        ratio <= GATE_TIME_RATIO and both,
        f"{ratio:.2f}x; residuals {past['train_residual_']:.1e} / "
        f"{dense['train_residual_']:.1e} vs tol {tol:g}",
    )
    line(
        f"held-out agreement >= {100 * GATE_AGREEMENT:g}%",
        same >= GATE_AGREEMENT,
        f"{100 * same:.2f}%",
    )


# ---------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=None, help="training rows (default 30000)")
    parser.add_argument("--quick", action="store_true", help=f"smoke run, n={QUICK_N}")
    parser.add_argument("--solver", choices=("out_of_core", "cg"), default="out_of_core")
    parser.add_argument(
        "--memory-budget-gib", type=float, default=None, help="default: half the float32 Gram"
    )
    parser.add_argument("--tol", type=float, default=None, help="default 1e-6 (cg: 1e-4)")
    parser.add_argument("--max-iter", type=int, default=None)
    parser.add_argument("--n-components", type=int, default=1000)
    parser.add_argument(
        "--block-size", type=int, default=1024, help="Gram tile side (the estimator's default)"
    )
    parser.add_argument("--no-dense", action="store_true", help="skip the dense comparison")
    parser.add_argument("--scratch-dir", default=None, help="folder for the out-of-core files")
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
    if args.tol is None:
        args.tol = 1e-4 if args.solver == "cg" else 1e-6
    if args.max_iter is None and args.solver == "cg":
        args.max_iter = 300
    if (args.memory_budget_gib is not None and args.memory_budget_gib <= 0) or args.tol <= 0:
        parser.error("--memory-budget-gib and --tol must be positive")
    if min(args.max_iter or 1, args.n_components, args.block_size) < 1:
        parser.error("--max-iter, --n-components and --block-size must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    import sklearn_gen

    folder = mnist_folder(args.mnist)
    n_images = check_mnist(folder)
    n_orig, _, copies = split_counts(args.n + N_HELD_OUT, n_images)
    if copies > len(SHIFTS):
        sys.exit(
            f"error: --n {args.n} needs {copies} translated copies per image, more than the "
            f"{len(SHIFTS)} distinct shifts; use --n <= "
            f"{n_images * (len(SHIFTS) + 1) - N_HELD_OUT}."
        )
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        sys.exit("error: --device cuda was requested but CUDA is not available.")
    gram = args.n * args.n * 4
    budget = int(0.5 * gram if args.memory_budget_gib is None else args.memory_budget_gib * GIB)

    gpu = f" ({torch.cuda.get_device_name()})" if device == "cuda" else ""
    print(
        f"sklearn_gen {sklearn_gen.__version__}, torch {torch.__version__}; device "
        f"{device}{gpu}, {os.cpu_count()} CPU cores, torch threads {torch.get_num_threads()}"
    )
    print(f"code: {code_version()} ({time.strftime('%Y-%m-%d %H:%M:%S')})")
    print(f"machine load at start: {load_note()}; load average {os.getloadavg()}")
    print(
        f"data: n={args.n} training + {N_HELD_OUT} held-out rows, d={SIDE * SIDE}, float32 in "
        f"[0, 1]: {n_orig} MNIST test images from {folder} + translated copies (shifts in "
        f"[-{MAX_SHIFT}, {MAX_SHIFT}]^2 minus (0, 0), seed {args.seed})"
    )
    past_params: dict[str, Any] = {
        "solver": args.solver,
        "memory_budget": budget,
        "tol": args.tol,
        "max_iter": args.max_iter,
        "block_size": args.block_size,
        "scratch_dir": args.scratch_dir,
    }
    if args.solver == "cg":
        past_params["n_components"] = args.n_components
    print(f"past memory: KernelInterpolator(kernel='rbf', gamma={GAMMA}, {past_params})")
    print(f"float32 Gram would be {gram / GIB:.3f} GiB; running the fits in child processes ...")
    sys.stdout.flush()
    common = {"folder": str(folder), "n": args.n, "seed": args.seed, "device": device}
    meter = OtherLoad()
    past = run_in_child(run_job, {**common, "params": past_params, "budget_share_of_free": None})
    report_fit(f"past memory ({args.solver})", past, args.n, gram, args.tol)
    sys.stdout.flush()
    dense = None
    if not args.no_dense:
        dense_params = {
            "solver": "cholesky",
            "tol": args.tol,
            "block_size": args.block_size,
            "memory_budget": None,
        }
        dense = run_in_child(
            run_job, {**common, "params": dense_params, "budget_share_of_free": 0.9}
        )
        report_fit("dense in place (cholesky)", dense, args.n, gram, args.tol)
    print(f"\nmachine load during the runs: {meter.note()}; load average {os.getloadavg()}")
    verdicts(past, dense, gram, args.tol, device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
