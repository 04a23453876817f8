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

Part 2, no target: SmallInception, K = 4 members (seeds), on ``--inception-images`` random
CIFAR-shaped images (3x32x32, 10 classes), ``--inception-epochs`` epochs, batch 128, pack
against one at a time, ratio only.

Run ``python benchmarks/bench_packs.py`` (``--device cuda`` on a GPU, ``--quick`` for a
smoke run).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch
from _bench_common import OtherLoad, code_version, load_note
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklearn_gen import LabelNoise, NetworkClassifier
from sklearn_gen.networks import fit_pack

LEVELS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def randomization_members(epochs: int, device: str, repeats: int = 3) -> list[LabelNoise]:
    """The study's 18 configurations: its default network under LabelNoise, fixed epochs."""
    # sklearn_gen.experiments._randomization._default_network, without the stopping rule
    network = NetworkClassifier(
        "mlp",
        module__hidden=(512,),
        lr=0.1,
        momentum=0.9,
        batch_size=128,
        max_epochs=epochs,
        device=device,
    )
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
    trainers = {"one at a time": one_at_a_time, "pack": packed}
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
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument("--quick", action="store_true", help="few epochs, one round")
    args = parser.parse_args(argv)
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
    ok = digits_part(args)
    if not args.skip_inception:
        inception_part(args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
