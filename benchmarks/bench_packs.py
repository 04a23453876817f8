"""Packs against one-at-a-time fits: the randomization study's networks trained together.

Part 1, the target (issue 16): the randomization study's 18 MLP fits on sklearn's digits
(6 label-noise levels 0, 0.2, ..., 1 x 3 repeats, ``LabelNoise`` around the study's default
network: MLP 1x512, SGD lr 0.1, momentum 0.9, batch 128), here for a fixed number of epochs
(``--epochs``, no stopping rule, so both paths do the same work). The same 18 unfitted
estimators are fitted

* one at a time: ``clone(estimator).fit(X_train, y_train)`` for each (the baseline), and
* as one pack: ``fit_pack(clones, X_train, y_train)``,

interleaved over ``--repeats`` rounds, best time of each kept. Printed: both wall times
(and CPU times, for information: they depend less on other work on the machine), the
speedup (one-at-a-time / pack wall time) against the target (>= 3x on the CPU, >= 10x on a
GPU),
and a check that the pack trains the same networks: the largest difference between the
packed and the separate members' test-set probabilities, and the mean clean test accuracy
per noise level of both.

Also in part 1: the same pack on the generic step (``vmap`` of ``functional_call`` and
autograd, the chain fast path switched off), so the hand-written chain step is kept only
where it is faster here; and each path's achieved FLOP rate (6 x the weights'
multiply-adds per sample and epoch, plus the stopping rule's forward pass) beside the
machine's float32 matmul rate measured in the same run (the limit).

Part 1b, target >= 2.5x on the CPU (issue 24): the same 18 fits with the study's own
stopping rule (zero training error, at most 500 epochs), one round: members stop at their
own epochs and leave the pack (``--skip-stopping`` leaves it out).

Part 2, no target: SmallInception, K = 4 members (seeds), on ``--inception-images`` random
CIFAR-shaped images (3x32x32, 10 classes), ``--inception-epochs`` epochs, batch 128, pack
against one at a time, ratio only.

Run ``python benchmarks/bench_packs.py`` (``--device cuda`` on a GPU, ``--quick`` for a
smoke run). ``--before DIR`` (a checkout of an earlier version, e.g. ``git worktree add
/tmp/before <rev>``) runs the same benchmark on that version's package first and on this
one next, in one run on the same machine, and prints their speedups side by side.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _bench_common import OtherLoad, code_version, load_note
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_gen import LabelNoise, NetworkClassifier
from sklearn_gen.networks import _stacked, fit_pack
from sklearn_gen.studies._randomization import zhang_network

LEVELS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def randomization_members(epochs: int | None, device: str, repeats: int = 3) -> list[LabelNoise]:
    """The study's 18 configurations: its default network under LabelNoise.

    ``epochs`` None keeps the study's stopping rule (zero training error, at most 500
    epochs); an int trains that many epochs with no rule.
    """
    if epochs is None:
        network = zhang_network(device=device)
    else:
        network = zhang_network(device=device, max_epochs=epochs, stop_on_interpolation=False)
    members = []
    for repeat in range(repeats):
        for i, p in enumerate(LEVELS):
            seed = 1000 * repeat + i
            members.append(
                LabelNoise(clone(network).set_params(random_state=seed), p=p, random_state=seed)
            )
    return members


def one_at_a_time(estimators, X, y, device: str) -> list:
    fitted = [clone(e).fit(X, y) for e in estimators]
    _sync(device)
    return fitted


def packed(estimators, X, y, device: str) -> list:
    fitted = fit_pack([clone(e) for e in estimators], X, y)
    _sync(device)
    return fitted


def generic_pack(estimators, X, y, device: str) -> list:
    """A pack on the generic step (vmap of functional_call, autograd): no chain fast path."""
    original = _stacked._ChainStep.of
    _stacked._ChainStep.of = classmethod(lambda cls, module, criterion: None)
    try:
        return packed(estimators, X, y, device)
    finally:
        _stacked._ChainStep.of = original


def matmul_rate(device: str, size: int = 1024, seconds: float = 1.0) -> float:
    """The machine's float32 matmul rate (GFLOP/s) with torch's threads: the pack's limit."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b  # warm-up
    _sync(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
    _sync(device)
    return 2.0 * size**3 * count / (time.perf_counter() - start) / 1e9


def training_flops(fitted: list, n_train: int) -> float:
    """Floating-point operations of the fits: per training sample and epoch, 2 per
    multiply-add forward and 4 backward (6 x the weights' multiply-adds), plus the forward
    pass over the training set that a stopping rule evaluates after each epoch."""
    total = 0.0
    for model in fitted:
        net = model.estimator_ if hasattr(model, "estimator_") else model
        macs = sum(m.weight.numel() for m in net.module_.modules() if hasattr(m, "weight"))
        per_epoch = 6 * macs * n_train
        if net.stop_on_interpolation or net.stop_train_loss is not None:
            per_epoch += 2 * macs * n_train
        total += per_epoch * net.n_epochs_
    return total


def compare(trainers, estimators, X, y, device, repeats) -> tuple[dict, dict, dict]:
    """Best wall and CPU time of each trainer, interleaved over ``repeats`` rounds, and the
    last fits. CPU time (this process, all threads) is less sensitive to other work."""
    best = dict.fromkeys(trainers, np.inf)
    cpu = dict.fromkeys(trainers, np.inf)
    fits: dict = {}
    for _ in range(repeats):
        for name, trainer in trainers.items():
            wall0, cpu0 = time.perf_counter(), time.process_time()
            fits[name] = trainer(estimators, X, y, device)
            best[name] = min(best[name], time.perf_counter() - wall0)
            cpu[name] = min(cpu[name], time.process_time() - cpu0)
    return best, cpu, fits


def print_rates(fits: dict, best: dict, n_train: int, limit: float) -> None:
    for name in ("one at a time", "pack"):
        rate = training_flops(fits[name], n_train) / best[name] / 1e9
        print(
            f"  achieved {name:14s} {rate:7.1f} GFLOP/s = {rate / limit:.0%} of the measured "
            f"float32 matmul rate {limit:.0f} GFLOP/s"
        )


def stopping_part(args) -> bool:
    """The study's 18 fits with its stopping rule, one at a time against one pack."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    members = randomization_members(None, args.device, repeats=args.study_repeats)
    print(
        f"the same {len(members)} fits with the study's stopping rule (zero training error, "
        f"at most 500 epochs), {args.device}, one round:"
    )
    meter = OtherLoad()
    trainers = {"one at a time": one_at_a_time, "pack": packed}
    best, cpu, fits = compare(trainers, members, X_train, y_train, args.device, 1)
    print_times(best, cpu)
    print(f"  machine during the runs: {meter.note()}; load average {os.getloadavg()}")
    epochs = sorted(m.estimator_.n_epochs_ for m in fits["pack"])
    alone = sorted(m.estimator_.n_epochs_ for m in fits["one at a time"])
    print(f"  epochs per member, pack: {epochs}; one at a time: {alone}")
    print_rates(fits, best, len(X_train), args.rate)
    speedup = best["one at a time"] / best["pack"]
    ok = speedup >= 2.5
    print(
        f"one at a time / pack, stopping rules = {speedup:.2f}x (target >= 2.5x on the CPU): "
        f"{'PASS' if ok else 'FAIL'}"
    )
    return ok


def print_times(best: dict, cpu: dict) -> None:
    for name, seconds in best.items():
        print(f"  {name:14s} {seconds:8.2f} s wall, {cpu[name]:8.2f} s CPU")
    ratio = cpu["one at a time"] / cpu["pack"]
    print(f"  CPU-time ratio one at a time / pack: {ratio:.2f}x (for information)")


def digits_part(args) -> bool:
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    members = randomization_members(args.epochs, args.device, repeats=args.study_repeats)
    trainers = {"one at a time": one_at_a_time, "pack": packed, "generic pack": generic_pack}
    warm = randomization_members(1, args.device, repeats=1)[:2]
    for trainer in trainers.values():  # untimed: one-time library start-up
        trainer(warm, X_train[:256], y_train[:256], args.device)
    print(
        f"randomization study, digits: {len(members)} MLP 1x512 fits "
        f"({len(LEVELS)} noise levels x {args.study_repeats} repeats), {len(X_train)} training "
        f"images, {args.epochs} epochs, batch 128, {args.device}, best of {args.repeats}"
    )
    meter = OtherLoad()
    best, cpu, fits = compare(trainers, members, X_train, y_train, args.device, args.repeats)
    speedup = best["one at a time"] / best["pack"]
    target = 10.0 if args.device.startswith("cuda") else 3.0
    print_times(best, cpu)
    print(f"  machine during the runs: {meter.note()}; load average {os.getloadavg()}")
    proba = [
        max(
            float(np.abs(a.predict_proba(X_test) - b.predict_proba(X_test)).max())
            for a, b in zip(fits["pack"], fits["one at a time"], strict=True)
        )
    ]
    print(f"  largest |packed - separate| test probability: {proba[0]:.2e}")
    chain = best["generic pack"] / best["pack"]
    print(
        f"  the chain fast path against the generic step (vmap + autograd): {chain:.2f}x "
        f"({'kept: faster here' if chain > 1 else 'not faster here'})"
    )
    print_rates(fits, best, len(X_train), args.rate)
    for name, fitted in fits.items():
        accuracy = {
            p: np.mean([m.score(X_test, y_test) for m in fitted if m.p == p]) for p in LEVELS
        }
        text = ", ".join(f"p={p:.1f}: {a:.3f}" for p, a in accuracy.items())
        print(f"  mean clean test accuracy, {name:14s} {text}")
    ok = speedup >= target
    print(
        f"one at a time / pack = {speedup:.2f}x (target >= {target:g}x on "
        f"{'a GPU' if target == 10.0 else 'the CPU'}): {'PASS' if ok else 'FAIL'}"
    )
    return ok


def inception_part(args) -> None:
    rng = np.random.RandomState(0)
    n = args.inception_images
    X = rng.rand(n, 3 * 32 * 32).astype(np.float32)
    y = rng.randint(0, 10, n)
    network = NetworkClassifier(
        "small_inception",
        input_shape=(3, 32, 32),
        lr=0.01,
        batch_size=128,
        max_epochs=args.inception_epochs,
        device=args.device,
    )
    members = [clone(network).set_params(random_state=seed) for seed in range(4)]
    trainers = {"one at a time": one_at_a_time, "pack": packed}
    warm = [clone(network).set_params(max_epochs=1, random_state=s) for s in range(2)]
    for trainer in trainers.values():
        trainer(warm, X[:128], y[:128], args.device)
    print(
        f"SmallInception, K=4 seeds, {n} random 3x32x32 images, {args.inception_epochs} "
        f"epochs, batch 128, {args.device}, best of {args.inception_repeats}:"
    )
    meter = OtherLoad()
    best, cpu, _ = compare(trainers, members, X, y, args.device, args.inception_repeats)
    print_times(best, cpu)
    print(f"  machine during the runs: {meter.note()}; load average {os.getloadavg()}")
    print(f"one at a time / pack = {best['one at a time'] / best['pack']:.2f}x (no target)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--study-repeats", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--inception-images", type=int, default=256)
    parser.add_argument("--inception-epochs", type=int, default=1)
    parser.add_argument("--inception-repeats", type=int, default=1)
    parser.add_argument("--skip-inception", action="store_true")
    parser.add_argument(
        "--skip-stopping", action="store_true", help="leave out the stopping-rule run"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--quick", action="store_true", help="few epochs, one round")
    parser.add_argument(
        "--before", type=Path, default=None, help="a checkout of an earlier version to compare"
    )
    args = parser.parse_args(argv)
    if args.before is not None:
        return before_and_after(args.before, sys.argv[1:] if argv is None else argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.epochs, args.repeats, args.inception_images = 3, 1, 128
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available here.")
    print(
        f"bench_packs: {code_version()}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {os.cpu_count()} cores; device {args.device}"
        + (f" ({torch.cuda.get_device_name(args.device)})" if args.device != "cpu" else "")
        + f"; before the runs: {load_note()}, load average {os.getloadavg()}"
    )
    args.rate = matmul_rate(args.device)
    print(
        f"float32 matmul (1024 x 1024, {torch.get_num_threads()} threads): {args.rate:.0f} GFLOP/s"
    )
    ok = digits_part(args)
    if not args.skip_stopping:
        ok = stopping_part(args) and ok
    if not args.skip_inception:
        inception_part(args)
    return 0 if ok else 1


#: The speedup lines of a run, by the part they close.
_SPEEDUPS = {
    "fixed epochs": re.compile(r"^one at a time / pack = ([0-9.]+)x"),
    "stopping rules": re.compile(r"^one at a time / pack, stopping rules = ([0-9.]+)x"),
}


def before_and_after(before: Path, argv: list[str]) -> int:
    """This benchmark on ``before``'s package, then on this one; the speedups side by side."""
    rest = []
    skip = False
    for arg in argv:  # the same arguments, less --before
        if skip:
            skip = False
        elif arg == "--before":
            skip = True
        elif not arg.startswith("--before="):
            rest.append(arg)
    here = Path(__file__).resolve().parents[1]
    speedups: dict[str, dict[str, str]] = {}
    status = 0
    for label, tree in (("before", before.resolve()), ("after", here)):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tree), str(here / "benchmarks")]))
        print(f"==== {label}: the package of {tree}", flush=True)
        run = subprocess.run(
            [sys.executable, __file__, *rest], env=env, capture_output=True, text=True
        )
        print(run.stdout + run.stderr, flush=True)
        status = status or run.returncode
        speedups[label] = {
            part: match.group(1)
            for line in run.stdout.splitlines()
            for part, pattern in _SPEEDUPS.items()
            if (match := pattern.match(line))
        }
    print("one at a time / pack, before -> after:")
    for part in _SPEEDUPS:
        values = [speedups[label].get(part, "-") for label in ("before", "after")]
        print(f"  {part:15s} {values[0]}x -> {values[1]}x")
    return status


if __name__ == "__main__":
    sys.exit(main())
