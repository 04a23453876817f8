"""Dense kernel interpolation on MNIST: KernelInterpolator against KernelRidge(alpha=0).

What is measured
----------------
For each training size ``n`` (``--sizes``, default 2000, 5000 and 10000; ``d = 784``), two
estimators solve the same interpolation problem on the same data in the same run:

* ``sklearn_gen.KernelInterpolator(kernel="rbf", gamma=0.02, dtype=..., device=...)``;
* the baseline ``sklearn.kernel_ridge.KernelRidge(alpha=0, kernel="rbf", gamma=0.02)``,
  fitted on one-hot targets (``LabelBinarizer``), predictions ``classes[argmax]``.

Data: the 10,000 MNIST test images, pixels in [0, 1] as float64, in a seeded permutation
(``--seed``). Train on its first ``n`` rows and predict 2000 rows: the 2000 rows after the
training rows when there are that many (held-out), else the first 2000 (training rows); the
output says which.

Each (estimator, n, repeat) runs in a fresh child process (multiprocessing, 'spawn'). The
child imports, loads the data, warms the estimator up on a 64-row problem (one-time library
initialization is not part of the measurement), then records its resident set size
(``VmRSS`` in ``/proc/self/status``) as the baseline, resets the high-water mark where the
kernel allows it (``/proc/self/clear_refs``), times ``fit`` and ``predict`` with
``time.perf_counter`` and reports the peak resident set size (``VmHWM``) minus the baseline.
On CUDA the peak GPU memory allocated by torch is reported as well, and is the memory of
KernelInterpolator that the target is judged on. ``--repeats k`` keeps the fastest of ``k``
children (fit + predict) and the largest peak memory.

Printed per n: fit, predict and total times; speedup = KernelRidge time / KernelInterpolator
time (fit + predict); the share of identical predictions; peak extra memory in MiB and as a
multiple of the float32 Gram matrix (``n * n * 4`` bytes); KernelInterpolator's ``solver_``,
``precision_``, ``n_iter_``, ``train_residual_``; and the achieved GFLOP/s of its fit against
a floor of one Gram product (``2 n^2 d`` flops) plus one Cholesky (``n^3 / 3`` flops), next to
the machine's float32 matmul rate (``torch.mm`` of two 4096 x 4096 matrices, best of 3,
measured in the parent on the same device).

Sizes past the 10,000 MNIST test images (``--sizes 30000,60000``): the rows are the test
images plus translated copies, built as ``bench_iterative.py`` builds them, for ``n + 2000``
rows; the first ``n`` train and the last 2000 (translated copies not in the training set)
are predicted. KernelRidge is not run above ``--baseline-max`` (default 15000: its scipy
Cholesky segfaults at n = 20,000 here), and KernelInterpolator gets ``memory_budget`` = 90%
of the memory free in its child, so the in-place dense solver runs whenever the machine can
hold the Gram matrix (the estimator checks the free memory before any work).

Targets (verdict lines at the end, computed from the measurements)
-----------------------------------------------------------------
* speedup at n=10000 >= 3x;
* predictions identical to KernelRidge's at every n where KernelRidge ran;
* peak extra memory of KernelInterpolator < 2x the float32 Gram matrix at n=10000;
* peak extra memory of KernelInterpolator <= 1.2x the float32 Gram matrix at every
  n >= 30000 (the in-place factorization: one ``n x n`` buffer);
* fit + predict <= 20 minutes at n = 60000.

The script always exits with status 0: it is a report, not a test.

Usage::

    python benchmarks/bench_kernel.py                      # n = 2000, 5000, 10000
    python benchmarks/bench_kernel.py --sizes 2000 --repeats 3
    python benchmarks/bench_kernel.py --sizes 30000,60000   # in-place dense past 10,000 rows
    python benchmarks/bench_kernel.py --device cuda --dtype float32 --mnist /path/to/mnist
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
N_PREDICT = 2000
N_WARMUP = 64
N_MNIST = 10000
MM_SIZE = 4096
KI = "KernelInterpolator"
KR = "KernelRidge"
TARGET_N = 10000
TARGET_SPEEDUP = 3.0
TARGET_MEMORY = 2.0
LARGE_N = 30000
TARGET_LARGE_MEMORY = 1.2
WALL_N = 60000
TARGET_WALL_S = 20 * 60
BUDGET_SHARE_OF_FREE = 0.9
MIB = 2**20


def split_rows(n: int, n_total: int) -> tuple[slice, slice, str]:
    """Training rows, prediction rows and a description of the prediction rows."""
    if n + N_PREDICT <= n_total:
        return slice(0, n), slice(n, n + N_PREDICT), f"rows {n}:{n + N_PREDICT} (held out)"
    return slice(0, n), slice(0, N_PREDICT), f"rows 0:{N_PREDICT} (training rows)"


def load_data(folder: Path, seed: int, n: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The permuted MNIST test set; for ``n`` past it, ``n + N_PREDICT`` augmented rows."""
    from sklearn_gen import load_mnist

    X, y = load_mnist(folder, kind="test", return_X_y=True)
    if n > len(X):
        from bench_iterative import build_data

        X, y, _ = build_data(folder, n + N_PREDICT, seed)
        return X, y
    perm = np.random.default_rng(seed).permutation(len(X))
    return np.ascontiguousarray(X[perm], dtype=np.float64), y[perm]


# ---------------------------------------------------------------------------- estimators
def _make_fit_predict(name: str, device: str, dtype: str, budget: int | None = None):
    """A function ``(X_train, y_train, X_pred) -> (fit_s, predict_s, predictions, info)``."""
    if name == KI:
        from sklearn_gen import KernelInterpolator

        def run(X_train, y_train, X_pred):
            est = KernelInterpolator(
                kernel="rbf", gamma=GAMMA, dtype=dtype, device=device, memory_budget=budget
            )
            t0 = time.perf_counter()
            est.fit(X_train, y_train)
            t1 = time.perf_counter()
            pred = est.predict(X_pred)
            t2 = time.perf_counter()
            info = {
                "solver_": est.solver_,
                "precision_": est.precision_,
                "n_iter_": int(est.n_iter_),
                "train_residual_": float(est.train_residual_),
            }
            return t1 - t0, t2 - t1, pred, info

        return run

    from sklearn.kernel_ridge import KernelRidge
    from sklearn.preprocessing import LabelBinarizer

    def run(X_train, y_train, X_pred):
        t0 = time.perf_counter()
        binarizer = LabelBinarizer().fit(y_train)
        est = KernelRidge(alpha=0, kernel="rbf", gamma=GAMMA)
        est.fit(X_train, binarizer.transform(y_train))
        t1 = time.perf_counter()
        pred = binarizer.classes_[np.argmax(est.predict(X_pred), axis=1)]
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1, pred, {}

    return run


def run_job(name: str, n: int, folder: str, seed: int, device: str, dtype: str) -> dict:
    """One measurement; runs inside a fresh child process."""
    import torch

    from sklearn_gen._device import available_memory, resolve_device

    X, y = load_data(Path(folder), seed, n)
    train, pred_rows, _ = split_rows(n, len(X))
    X_train, y_train, X_pred = X[train], y[train], X[pred_rows]
    budget = None
    if n > N_MNIST:  # past the test set: keep the dense solver whenever it can fit
        budget = int(BUDGET_SHARE_OF_FREE * available_memory(resolve_device(device)))
    fit_predict = _make_fit_predict(name, device, dtype, budget)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_predict(X[:N_WARMUP], y[:N_WARMUP], X[:16])  # one-time library initialization
    gc.collect()

    cuda = name == KI and device == "cuda"
    if cuda:
        torch.cuda.synchronize()
        gpu_base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    base_kib = status_kib("VmRSS")
    reset_ok = reset_peak()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_s, predict_s, pred, info = fit_predict(X_train, y_train, X_pred)
    peak_kib = status_kib("VmHWM")
    result: dict[str, Any] = {
        "fit_s": fit_s,
        "predict_s": predict_s,
        "pred": np.asarray(pred),
        "info": info,
        "peak_rss": None if base_kib is None or peak_kib is None else (peak_kib - base_kib) * 1024,
        "hwm_reset": reset_ok,
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
        "peak_gpu": None,
    }
    if cuda:
        result["peak_gpu"] = torch.cuda.max_memory_allocated() - gpu_base
    return result


def best_of(results: list[dict]) -> dict:
    """Fastest successful repeat (fit + predict), with the largest peak memory of all."""
    ok = [r for r in results if "error" not in r]
    if not ok:
        return results[0]
    best = dict(min(ok, key=lambda r: r["fit_s"] + r["predict_s"]))
    for key in ("peak_rss", "peak_gpu"):
        values = [r[key] for r in ok if r[key] is not None]
        best[key] = max(values) if values else None
    best["same_predictions_across_repeats"] = all(
        np.array_equal(r["pred"], ok[0]["pred"]) for r in ok
    )
    best["warnings"] = sorted({w for r in ok for w in r["warnings"]})
    return best


# ---------------------------------------------------------------------------- machine rate
def matmul_rate(device: str, dtype_name: str, size: int = MM_SIZE, repeats: int = 3) -> float:
    """GFLOP/s of ``torch.mm`` of two ``size x size`` matrices, best of ``repeats``."""
    import torch

    dtype = getattr(torch, dtype_name)
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(size, size, generator=gen, dtype=dtype).to(device)
    b = torch.rand(size, size, generator=gen, dtype=dtype).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    torch.mm(a, b)  # warm-up
    sync()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.mm(a, b)
        sync()
        best = min(best, time.perf_counter() - t0)
    return 2 * size**3 / best / 1e9


# ---------------------------------------------------------------------------- report
def _fmt(value: float | None, spec: str, missing: str = "n/a") -> str:
    return missing if value is None else format(value, spec)


def report_size(n: int, d: int, where: str, res: dict[str, dict], rates: dict, dtype: str):
    """Print the table for one ``n``; return the numbers the verdicts need."""
    gram = n * n * 4
    print(f"\n=== n = {n}, d = {d}: train rows 0:{n}, predict on {where} ===")
    ki, kr = res[KI], res[KR]
    for name, r in ((KI, ki), (KR, kr)):
        if "error" in r:
            print(f"  {name} FAILED: {r['error']}")
    if "error" in ki or "error" in kr:
        return {"speedup": None, "identical": False, "memory": None}

    def total(r):
        return r["fit_s"] + r["predict_s"]

    def mem(r):
        return None if r["peak_rss"] is None else r["peak_rss"] / MIB

    def mem_x(r):
        return None if r["peak_rss"] is None else r["peak_rss"] / gram

    rows = [
        ("fit time (s)", lambda r: f"{r['fit_s']:.3f}"),
        ("predict time (s)", lambda r: f"{r['predict_s']:.3f}"),
        ("fit + predict (s)", lambda r: f"{total(r):.3f}"),
        ("peak extra RSS (MiB)", lambda r: _fmt(mem(r), ".1f")),
        ("  / float32 Gram", lambda r: _fmt(mem_x(r), ".2f")),
        ("accuracy on predict rows", lambda r: f"{r['accuracy']:.4f}"),
    ]
    if ki["peak_gpu"] is not None:
        rows.insert(
            5,
            ("peak GPU memory (MiB)", lambda r: _fmt(r["peak_gpu"] and r["peak_gpu"] / MIB, ".1f")),
        )
    print(f"  {'':<26}{KI:>20}{'KernelRidge(alpha=0)':>22}")
    for label, get in rows:
        print(f"  {label:<26}{get(ki):>20}{get(kr):>22}")
    print(f"  {'float32 Gram n*n*4 (MiB)':<26}{gram / MIB:>20.1f}")

    speedup = total(kr) / total(ki)
    same = ki["pred"] == kr["pred"]
    identical = bool(same.all())
    print(f"  speedup (KernelRidge / KernelInterpolator, fit + predict): {speedup:.2f}x")
    print(f"  predictions identical: {100 * same.mean():.2f}% ({int(same.sum())}/{same.size})")
    info = ki["info"]
    print(
        f"  KernelInterpolator: solver_={info['solver_']} precision_={info['precision_']} "
        f"n_iter_={info['n_iter_']} train_residual_={info['train_residual_']:.2e}"
    )
    print_rate(ki, n, d, rates, dtype)
    for name, r in ((KI, ki), (KR, kr)):
        for w in r["warnings"]:
            print(f"  {name} warning: {w}")
        if not r.get("same_predictions_across_repeats", True):
            print(f"  note: {name} predictions differ between repeats")
        if not r["hwm_reset"]:
            print(f"  note: {name}: VmHWM could not be reset; its peak includes data loading")

    ki_mem = ki["peak_gpu"] if ki["peak_gpu"] is not None else ki["peak_rss"]
    return {
        "speedup": speedup,
        "identical": identical,
        "memory": None if ki_mem is None else ki_mem / gram,
        "fit_s": (ki["fit_s"], kr["fit_s"]),
        "total": (total(ki), total(kr)),
        "mem": (mem_x(ki), mem_x(kr)),
        "same": 100 * same.mean(),
    }


def report_alone(n: int, d: int, where: str, ki: dict, rates: dict, dtype: str) -> dict:
    """KernelInterpolator alone (KernelRidge not run at this n): its table and numbers."""
    gram = n * n * 4
    print(f"\n=== n = {n}, d = {d}: train rows 0:{n}, predict on {where}; KernelRidge not run ===")
    if "error" in ki:
        print(f"  {KI} FAILED: {ki['error']}")
        return {"speedup": None, "identical": None, "memory": None, "alone": True}
    ki_mem = ki["peak_gpu"] if ki["peak_gpu"] is not None else ki["peak_rss"]
    total = ki["fit_s"] + ki["predict_s"]
    print(f"  fit time (s)               {ki['fit_s']:.1f}")
    print(f"  predict time (s)           {ki['predict_s']:.1f} ({N_PREDICT} rows)")
    print(f"  fit + predict (s)          {total:.1f} = {total / 60:.1f} min")
    if ki["peak_rss"] is not None:
        print(f"  peak extra RSS (MiB)       {ki['peak_rss'] / MIB:.1f}")
        print(f"    / float32 Gram           {ki['peak_rss'] / gram:.3f}")
    if ki["peak_gpu"] is not None:
        gpu = ki["peak_gpu"]
        print(f"  peak GPU memory (MiB)      {gpu / MIB:.1f} = {gpu / gram:.3f}x the Gram")
    print(f"  float32 Gram n*n*4 (MiB)   {gram / MIB:.1f}")
    print(f"  accuracy on predict rows   {ki['accuracy']:.4f}")
    info = ki["info"]
    print(
        f"  KernelInterpolator: solver_={info['solver_']} precision_={info['precision_']} "
        f"n_iter_={info['n_iter_']} train_residual_={info['train_residual_']:.2e}"
    )
    print_rate(ki, n, d, rates, dtype)
    for w in ki["warnings"]:
        print(f"  {KI} warning: {w}")
    return {
        "speedup": None,
        "identical": None,
        "memory": None if ki_mem is None else ki_mem / gram,
        "total": (total, None),
        "mem": (None if ki["peak_rss"] is None else ki["peak_rss"] / gram, None),
        "same": None,
        "alone": True,
    }


def print_rate(ki: dict, n: int, d: int, rates: dict, dtype: str) -> None:
    """The fit's GFLOP/s against its floor (one Gram product plus one Cholesky)."""
    floor = 2 * n * n * d + n**3 / 3
    achieved = floor / ki["fit_s"] / 1e9
    line = (
        f"  KernelInterpolator fit: {achieved:.1f} GFLOP/s against a floor of "
        f"{floor / 1e9:.1f} GFLOP (2n^2d + n^3/3) = {100 * achieved / rates['float32']:.1f}% "
        f"of the float32 matmul rate ({rates['float32']:.1f} GFLOP/s)"
    )
    if dtype != "float32":
        line += f", {100 * achieved / rates[dtype]:.1f}% of the {dtype} rate"
    print(line)


def print_verdicts(summary: dict[int, dict]) -> None:
    print("\n=== summary ===")
    print(
        f"  {'n':>6} {'KI fit+pred (s)':>16} {'KR fit+pred (s)':>16} {'speedup':>8} "
        f"{'identical':>10} {'KI mem/Gram':>12} {'KR mem/Gram':>12}"
    )
    for n, s in summary.items():
        if s.get("alone") and s["memory"] is not None:
            print(
                f"  {n:>6} {s['total'][0]:>16.3f} {'-':>16} {'-':>8} {'-':>10} "
                f"{_fmt(s['mem'][0], '.2f'):>12} {'-':>12}"
            )
            continue
        if s["speedup"] is None:
            print(f"  {n:>6} failed")
            continue
        print(
            f"  {n:>6} {s['total'][0]:>16.3f} {s['total'][1]:>16.3f} {s['speedup']:>7.2f}x "
            f"{s['same']:>9.2f}% {_fmt(s['mem'][0], '.2f'):>12} {_fmt(s['mem'][1], '.2f'):>12}"
        )

    def target_line(label: str, key: str, passes) -> None:
        prefix = f"{label} at n={TARGET_N}"
        value = None if target is None else target[key]
        if target is None:
            print(f"{prefix}: NOT MEASURED (n={TARGET_N} not in --sizes)")
        elif value is None:
            print(f"{prefix}: FAIL (not measured: the run failed)")
        else:
            print(f"{prefix}: {'PASS' if passes(value) else 'FAIL'} ({value:.2f})")

    print("\n=== verdict ===")
    target = summary.get(TARGET_N)
    target_line(f"speedup >= {TARGET_SPEEDUP:g}x", "speedup", lambda v: v >= TARGET_SPEEDUP)
    compared = [s for s in summary.values() if not s.get("alone")]
    all_same = bool(compared) and all(s["identical"] for s in compared)
    if compared:
        print(f"predictions identical at every n: {'PASS' if all_same else 'FAIL'}")
    else:
        print("predictions identical at every n: NOT MEASURED (KernelRidge not run)")
    target_line(
        f"peak memory < {TARGET_MEMORY:g}x float32 Gram", "memory", lambda v: v < TARGET_MEMORY
    )
    large = {n: s for n, s in summary.items() if n >= LARGE_N}
    label = f"peak memory <= {TARGET_LARGE_MEMORY:g}x float32 Gram at n >= {LARGE_N}"
    if not large:
        print(f"{label}: NOT MEASURED (no such n in --sizes)")
    for n, s in large.items():
        mem = s["memory"]
        verdict = (
            "FAIL (run failed)"
            if mem is None
            else (f"{'PASS' if mem <= TARGET_LARGE_MEMORY else 'FAIL'} ({mem:.3f}x)")
        )
        print(f"{label}, n={n}: {verdict}")
    label = f"fit + predict <= {TARGET_WALL_S // 60} min at n={WALL_N}"
    wall = summary.get(WALL_N)
    if wall is None:
        print(f"{label}: NOT MEASURED (n={WALL_N} not in --sizes)")
    elif wall.get("total") is None:
        print(f"{label}: FAIL (run failed)")
    else:
        seconds = wall["total"][0]
        verdict = "PASS" if seconds <= TARGET_WALL_S else "FAIL"
        print(f"{label}: {verdict} ({seconds:.0f} s = {seconds / 60:.1f} min)")


# ---------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="2000,5000,10000", help="training sizes, comma-separated"
    )
    parser.add_argument(
        "--mnist",
        default=None,
        help=f"MNIST folder (default ${MNIST_ENV_VAR} "
        "or ../shared/data/mnist next to the repository)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the row permutation")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--repeats", type=int, default=1, help="best of this many runs")
    parser.add_argument(
        "--baseline-max",
        type=int,
        default=15000,
        help="largest n at which KernelRidge runs (its scipy Cholesky segfaults at 20000 here)",
    )
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers, got {args.sizes!r}")
    if not args.sizes or min(args.sizes) < 2:
        parser.error("--sizes must hold integers >= 2")
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    import sklearn_gen

    folder = mnist_folder(args.mnist)
    check_mnist(folder)
    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        sys.exit("error: --device cuda was requested but CUDA is not available.")
    from bench_iterative import SHIFTS

    X, _ = load_data(folder, args.seed)
    n_total, d = X.shape
    del X
    most = n_total * (len(SHIFTS) + 1) - N_PREDICT
    too_big = [n for n in args.sizes if n > most]
    if too_big:
        sys.exit(
            f"error: --sizes {too_big} exceed the {most} rows the {n_total} MNIST images and "
            "their translated copies give."
        )

    gpu = f" ({torch.cuda.get_device_name()})" if device == "cuda" else ""
    print(
        f"sklearn_gen {sklearn_gen.__version__}, torch {torch.__version__}, numpy "
        f"{np.__version__}; device {device}{gpu}, {os.cpu_count()} CPU cores, "
        f"torch threads {torch.get_num_threads()}"
    )
    print(f"code: {code_version()} ({time.strftime('%Y-%m-%d %H:%M:%S')})")
    print(f"machine load at start: {load_note()}; load average {os.getloadavg()}")
    print(
        f"data: MNIST test set from {folder}, {n_total} x {d}, float64, permutation seed "
        f"{args.seed}; rbf gamma={GAMMA}; KernelInterpolator dtype={args.dtype}; "
        f"best of {args.repeats}"
    )
    meter = OtherLoad()
    rates = {"float32": matmul_rate(device, "float32")}
    if args.dtype != "float32":
        rates[args.dtype] = matmul_rate(device, args.dtype)
    for name, rate in rates.items():
        print(
            f"machine: torch.mm {MM_SIZE}x{MM_SIZE} {name} on {device}: {rate:.1f} GFLOP/s "
            "(best of 3)"
        )
    sys.stdout.flush()

    summary = {}
    for n in args.sizes:
        y_all = load_data(folder, args.seed, n)[1]
        _, pred_rows, where = split_rows(n, len(y_all))
        res = {}
        for name in (KI, KR) if n <= args.baseline_max else (KI,):
            job = {
                "name": name,
                "n": n,
                "folder": str(folder),
                "seed": args.seed,
                "device": device,
                "dtype": args.dtype,
            }
            result = best_of([run_in_child(run_job, job) for _ in range(args.repeats)])
            if "error" not in result:
                result["accuracy"] = float(np.mean(result["pred"] == y_all[pred_rows]))
            res[name] = result
        if KR in res:
            summary[n] = report_size(n, d, where, res, rates, args.dtype)
        else:
            summary[n] = report_alone(n, d, where, res[KI], rates, args.dtype)
        sys.stdout.flush()
    print(f"\nmachine load during the runs: {meter.note()}; load average {os.getloadavg()}")
    print_verdicts(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
