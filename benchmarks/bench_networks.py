"""Training speed of NetworkClassifier against a plain PyTorch loop and skorch's default path.

The same 1x512 MLP (sklearn_gen.networks.architectures.MLP), the same optimizer (SGD,
momentum 0.9), epochs and batch size, on sklearn's ``load_digits`` (1,797 x 64). Three
trainers run in this one process, interleaved over ``--repeats`` rounds, and the best time of
each is kept:

* ``plain``: a hand-written loop over tensors made once (shuffled index slices);
* ``NetworkClassifier``: this package, which trains through skorch's own epoch loop and
  public hooks (callbacks, ``train_step``, ``get_loss``, ``initialize_*``; no override of
  skorch's loop or of an underscore method), so its ratio to the plain loop is the cost of
  doing it through skorch's hooks;
* ``skorch default``: ``skorch.NeuralNetClassifier`` with its Dataset/DataLoader path,
  ``train_split=None`` so that it does the same work (this is the named baseline);
* ``skorch as shipped``: for information, skorch's defaults untouched (it trains on 4/5 of
  the data and scores the other 1/5 every epoch).

Targets (issue 3): NetworkClassifier at most 1.15x the plain loop and at least 4x faster
than skorch's default path. The script also times one epoch of SmallInception on 2,000
random 28x28x3 images (images/s) on the CPU, and on CUDA when present.

CIFAR-shaped conv nets (issue 12): SmallInception and SmallAlexNet on random 3x28x28 and
3x32x32 images (``--conv-images``, default 1,024; 2 epochs, batch 128), NetworkClassifier
against the same plain loop on the same module class, data, batch and epochs, interleaved,
best of ``--repeats``. Target: NetworkClassifier at most 1.10x the plain loop on the CPU.

Run ``python benchmarks/bench_networks.py`` (``--quick`` for a smoke run, ``--skip-conv``
for the MLP part alone).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
from _bench_common import code_version, load_note
from sklearn.datasets import load_digits
from skorch import NeuralNetClassifier

from sklearn_gen import NetworkClassifier
from sklearn_gen.networks.architectures import MLP, SmallAlexNet, SmallInception


def plain_loop(
    X: np.ndarray,
    y: np.ndarray,
    epochs: int,
    batch_size: int,
    lr: float,
    module: type[torch.nn.Module] = MLP,
    input_shape: tuple[int, ...] | None = None,
) -> float:
    """The baseline: tensors once, shuffled index slices, SGD; returns seconds."""
    torch.manual_seed(0)
    start = time.perf_counter()
    shape = input_shape or (X.shape[1],)
    Xt = torch.as_tensor(X, dtype=torch.float32).reshape(len(X), *shape)
    yt = torch.as_tensor(y, dtype=torch.long)
    model = module(shape if input_shape else X.shape[1], 10)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(1)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(Xt), generator=gen)
        for i in range(0, len(Xt), batch_size):
            index = order[i : i + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(Xt[index]), yt[index])
            loss.backward()
            opt.step()
    return time.perf_counter() - start


def network_classifier(X, y, epochs, batch_size, lr, module=MLP, input_shape=None) -> float:
    start = time.perf_counter()
    NetworkClassifier(
        module,
        input_shape=input_shape,
        lr=lr,
        max_epochs=epochs,
        batch_size=batch_size,
        device="cpu",
        random_state=0,
    ).fit(X, y)
    return time.perf_counter() - start


def conv_nets_on_cifar_shapes(n: int, epochs: int, batch_size: int, repeats: int) -> bool:
    """NetworkClassifier / plain loop for the conv architectures on CIFAR-shaped images."""
    rng = np.random.RandomState(0)
    ok = True
    for module in (SmallInception, SmallAlexNet):
        for side in (28, 32):
            shape = (3, side, side)
            X = rng.rand(n, 3 * side * side).astype(np.float32)
            y = rng.randint(0, 10, n)
            trainers = {"plain loop": plain_loop, "NetworkClassifier": network_classifier}
            for trainer in trainers.values():  # untimed warm-up on a few batches
                trainer(
                    X[: 2 * batch_size], y[: 2 * batch_size], 1, batch_size, 0.01, module, shape
                )
            best = dict.fromkeys(trainers, np.inf)
            for _ in range(repeats):
                for name, trainer in trainers.items():
                    seconds = trainer(X, y, epochs, batch_size, 0.01, module, shape)
                    best[name] = min(best[name], seconds)
            ratio = best["NetworkClassifier"] / best["plain loop"]
            ok &= ratio <= 1.10
            print(
                f"  {module.__name__:14s} {side}x{side}x3: plain {best['plain loop']:7.2f} s, "
                f"NetworkClassifier {best['NetworkClassifier']:7.2f} s = {ratio:.3f}x plain "
                f"(target <= 1.10x): {'PASS' if ratio <= 1.10 else 'FAIL'}"
            )
    return ok


def _skorch(X, y, epochs, batch_size, lr, **overrides) -> float:
    """skorch's NeuralNetClassifier on the same MLP, its Dataset/DataLoader path."""
    torch.manual_seed(0)
    start = time.perf_counter()
    NeuralNetClassifier(
        MLP,
        module__input_shape=X.shape[1],
        module__n_classes=10,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer__momentum=0.9,
        lr=lr,
        max_epochs=epochs,
        batch_size=batch_size,
        iterator_train__shuffle=True,
        verbose=0,
        **overrides,
    ).fit(X.astype(np.float32), y.astype(np.int64))
    return time.perf_counter() - start


def skorch_default(X, y, epochs, batch_size, lr) -> float:
    """The named baseline: skorch's data path doing the same work (no internal split)."""
    return _skorch(X, y, epochs, batch_size, lr, train_split=None)


def skorch_as_shipped(X, y, epochs, batch_size, lr) -> float:
    """skorch's defaults left as they are: ValidSplit(5) and validation scoring each epoch."""
    return _skorch(X, y, epochs, batch_size, lr)


def inception_images_per_second(device: str, n: int, batch_size: int) -> float:
    """One timed epoch (after one warm-up epoch) of SmallInception on random images."""
    rng = np.random.RandomState(0)
    X = rng.rand(n, 3 * 28 * 28).astype(np.float32)
    y = rng.randint(0, 10, n)
    net = NetworkClassifier(
        SmallInception,
        input_shape=(3, 28, 28),
        max_epochs=1,
        batch_size=batch_size,
        device=device,
        random_state=0,
        warm_start=True,
    )
    net.fit(X, y)  # warm-up (allocations, cuDNN autotuning)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    net.partial_fit(X, y)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return n / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--inception-images", type=int, default=2000)
    parser.add_argument("--conv-images", type=int, default=1024)
    parser.add_argument("--conv-epochs", type=int, default=2)
    parser.add_argument("--only-conv", action="store_true", help="the CIFAR-shaped part alone")
    parser.add_argument("--skip-conv", action="store_true", help="leave the CIFAR-shaped part out")
    parser.add_argument("--quick", action="store_true", help="few epochs, one repeat")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.repeats, args.inception_images, args.conv_images = 3, 1, 256, 256

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    print(
        f"bench_networks: {code_version()}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; {load_note()}"
    )
    print(
        f"conv nets on CIFAR-shaped random images: {args.conv_images} images, "
        f"{args.conv_epochs} epochs, batch {args.batch_size}, best of {args.repeats}"
    )
    ok_conv = args.skip_conv or conv_nets_on_cifar_shapes(
        args.conv_images, args.conv_epochs, args.batch_size, args.repeats
    )
    if args.only_conv:
        return 0 if ok_conv else 1
    print(
        f"1x512 MLP on digits {X.shape}, {args.epochs} epochs, batch {args.batch_size}, "
        f"best of {args.repeats}"
    )
    trainers = {
        "plain loop": plain_loop,
        "NetworkClassifier": network_classifier,
        "skorch default": skorch_default,
        "skorch as shipped": skorch_as_shipped,
    }
    for trainer in trainers.values():  # one untimed epoch each: one-time library start-up
        trainer(X, y, 1, args.batch_size, args.lr)
    best = dict.fromkeys(trainers, np.inf)
    for _ in range(args.repeats):
        for name, trainer in trainers.items():
            best[name] = min(best[name], trainer(X, y, args.epochs, args.batch_size, args.lr))
    for name, seconds in best.items():
        print(f"  {name:18s} {seconds:8.3f} s   {best[name] / best['plain loop']:5.2f}x plain")
    ratio_plain = best["NetworkClassifier"] / best["plain loop"]
    speedup = best["skorch default"] / best["NetworkClassifier"]
    ok_plain, ok_skorch = ratio_plain <= 1.15, speedup >= 4.0
    print(
        f"NetworkClassifier / plain loop = {ratio_plain:.2f}x (target <= 1.15x): "
        f"{'PASS' if ok_plain else 'FAIL'}"
    )
    print(
        f"skorch default / NetworkClassifier = {speedup:.2f}x (target >= 4x): "
        f"{'PASS' if ok_skorch else 'FAIL'}"
    )

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        rate = inception_images_per_second(device, args.inception_images, args.batch_size)
        print(
            f"SmallInception, {args.inception_images} random 28x28x3 images, batch "
            f"{args.batch_size}, {device}: {rate:,.0f} images/s"
        )
    return 0 if (ok_plain and ok_skorch and ok_conv) else 1


if __name__ == "__main__":
    sys.exit(main())
