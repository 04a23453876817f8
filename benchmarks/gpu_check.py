"""One script for a machine with a GPU: the package's speed and correctness figures on CUDA.

Prints, naming the card:

(a) SmallInception training throughput (images/s) on random 3x28x28 images, NetworkClassifier
    against a plain PyTorch loop on the same module class, data, batch and epochs, in float32
    and in bfloat16 autocast (``precision="bf16"``);
(b) ``KernelInterpolator`` (rbf, gamma 0.02) fit + predict at n = 20,000 and 60,000 rows of
    d = 784 (the MNIST test images plus translated copies when ``--mnist`` finds them, else a
    seeded 10-class Gaussian mixture), its effective rate against the card's measured float32
    matmul rate (the fit's floor is ``2 n^2 d + n^3 / 3`` flops), and ``KernelRidge(alpha=0)``
    on the CPU at 20,000 only when the machine's memory allows it (in a child process, since
    scipy's Cholesky has crashed at that size);
(c) every network scorer of ``sklearn_gen.metrics.SCORERS`` on a trained SmallInception, each
    timed, with the reason where a measure does not apply to that architecture;
(d) a NetworkClassifier pickled on CUDA and loaded in a child process that sees no GPU
    (``CUDA_VISIBLE_DEVICES=""``): its predictions must equal those made on CUDA.

Sized to finish in under 8 minutes on one H100. ``--smoke`` shrinks every size so that the
script itself can be checked on a CPU in seconds (the test suite does that with
``--device cpu --smoke``); its figures then mean nothing.

Run ``python benchmarks/gpu_check.py`` (``--device cuda:1`` for another card).
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _bench_common import code_version, mnist_folder, run_in_child

from sklearn_gen import KernelInterpolator, NetworkClassifier
from sklearn_gen.networks.architectures import SmallInception

_SHAPE = (3, 28, 28)
_SMOKE_SHAPE = (3, 12, 12)  # --smoke: SmallInception's smallest sensible input, fast on a CPU
# --smoke: the iterative measures at a few Hessian-vector products each. At their defaults
# (100 products in float64) they took 40 s of a 53 s smoke run on one CPU and over 500 s on
# a slower one; the smoke run only checks that every scorer runs.
_SMOKE_PARAMS = {
    "neg_hessian_top_eigenvalue": {"n_iter": 3},
    "neg_hessian_trace": {"n_probes": 3},
    "neg_epsilon_sharpness": {"n_steps": 3},
}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _images(n: int, shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    return rng.rand(n, int(np.prod(shape))).astype(np.float32), rng.randint(0, 10, n)


# ---------------------------------------------------------------------------- (a) training
def plain_images_per_second(X, y, shape, device, epochs, batch_size, precision) -> float:
    """A hand-written loop on the same module: tensors on the device once, index slices."""
    torch.manual_seed(0)
    Xt = torch.as_tensor(X, device=device).reshape(len(X), *shape)
    yt = torch.as_tensor(y, dtype=torch.long, device=device)
    model = SmallInception(shape, 10).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    dtype = {"fp32": None, "bf16": torch.bfloat16}[precision]
    device_type = torch.device(device).type

    def epoch() -> None:
        order = torch.randperm(len(Xt), device=device)
        for i in range(0, len(Xt), batch_size):
            index = order[i : i + batch_size]
            opt.zero_grad()
            with torch.autocast(device_type, dtype=dtype or torch.float32, enabled=bool(dtype)):
                loss = loss_fn(model(Xt[index]), yt[index])
            loss.backward()
            opt.step()

    model.train()
    epoch()  # warm-up: allocations, cuDNN autotuning
    _sync(device)
    start = time.perf_counter()
    for _ in range(epochs):
        epoch()
    _sync(device)
    return epochs * len(X) / (time.perf_counter() - start)


def ours_images_per_second(X, y, shape, device, epochs, batch_size, precision) -> float:
    net = NetworkClassifier(
        SmallInception,
        input_shape=shape,
        lr=0.01,
        max_epochs=1,
        batch_size=batch_size,
        precision=precision,
        device=device,
        random_state=0,
        warm_start=True,
    )
    net.fit(X, y)  # warm-up epoch
    net.set_params(max_epochs=epochs)
    _sync(device)
    start = time.perf_counter()
    net.partial_fit(X, y)
    _sync(device)
    return epochs * len(X) / (time.perf_counter() - start)


def section_training(device: str, shape, n: int, epochs: int, batch_size: int) -> None:
    print(f"(a) SmallInception, {n} random {shape} images, batch {batch_size}, {epochs} epochs")
    X, y = _images(n, shape)
    for precision in ("fp32", "bf16"):
        plain = plain_images_per_second(X, y, shape, device, epochs, batch_size, precision)
        ours = ours_images_per_second(X, y, shape, device, epochs, batch_size, precision)
        print(
            f"    {precision}: plain loop {plain:10,.0f} images/s, NetworkClassifier "
            f"{ours:10,.0f} images/s (time ratio ours/plain {plain / ours:.3f}x)"
        )


# ---------------------------------------------------------------------------- (b) kernels
def matmul_rate(device: str, size: int) -> float:
    """Measured float32 matmul rate (flop/s) of ``torch.mm`` at ``size`` x ``size``."""
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    torch.mm(a, b)
    _sync(device)
    reps = 5
    start = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b)
    _sync(device)
    return reps * 2 * size**3 / (time.perf_counter() - start)


def kernel_rows(n: int, n_predict: int, mnist: Path | None) -> tuple[np.ndarray, ...]:
    """``n + n_predict`` rows of d = 784: MNIST test images plus shifted copies, or a mixture."""
    total = n + n_predict
    rng = np.random.RandomState(0)
    if mnist is not None:
        from sklearn_gen import load_mnist

        base, labels = load_mnist(mnist, kind="test", return_X_y=True)
        images = base.reshape(-1, 28, 28)
        blocks, targets, shift = [base], [labels], 0
        while sum(len(b) for b in blocks) < total:
            shift += 1
            dy, dx = ((shift % 5) - 2) or 1, ((shift // 5 % 5) - 2) or -1
            blocks.append(np.roll(images, (dy, dx), axis=(1, 2)).reshape(len(base), -1))
            targets.append(labels)
        X, y = np.concatenate(blocks)[:total], np.concatenate(targets)[:total]
        order = rng.permutation(total)
        X, y = X[order], y[order]
    else:
        centres = rng.rand(10, 784).astype(np.float32)
        y = rng.randint(0, 10, total)
        X = (centres[y] + 0.35 * rng.randn(total, 784)).clip(0, 1).astype(np.float32)
    return X[:n], y[:n], X[n:], y[n:]


def _fit_predict_kernel_ridge(n: int, n_predict: int, mnist: str | None) -> dict:
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.preprocessing import LabelBinarizer

    X, y, Xp, _ = kernel_rows(n, n_predict, Path(mnist) if mnist else None)
    start = time.perf_counter()
    binarizer = LabelBinarizer().fit(y)
    model = KernelRidge(alpha=0, kernel="rbf", gamma=0.02).fit(X, binarizer.transform(y))
    predictions = binarizer.classes_[model.predict(Xp).argmax(axis=1)]
    return {"seconds": time.perf_counter() - start, "predictions": predictions}


def section_kernels(device: str, sizes: list[int], n_predict: int, mnist: Path | None) -> None:
    rate = matmul_rate(device, 8192 if device.startswith("cuda") else 1024)
    source = "MNIST test images + shifted copies" if mnist else "10-class Gaussian mixture"
    print(
        f"(b) KernelInterpolator rbf gamma=0.02, d=784 ({source}), predict {n_predict} rows; "
        f"measured float32 matmul {rate / 1e12:.2f} TFLOP/s"
    )
    for n in sizes:
        X, y, Xp, yp = kernel_rows(n, n_predict, mnist)
        model = KernelInterpolator(kernel="rbf", gamma=0.02, device=device)
        _sync(device)
        start = time.perf_counter()
        model.fit(X, y)
        _sync(device)
        fit = time.perf_counter() - start
        predictions = model.predict(Xp)
        _sync(device)
        total = time.perf_counter() - start
        floor = 2.0 * n * n * 784 + n**3 / 3.0
        print(
            f"    n={n:>6}: fit {fit:7.2f} s, fit+predict {total:7.2f} s, solver "
            f"{getattr(model, 'solver_', '?')}, test accuracy {np.mean(predictions == yp):.4f}, "
            f"fit at {floor / fit / 1e12:.2f} TFLOP/s = {floor / fit / rate:.0%} of the "
            "measured matmul rate"
        )
        if n == sizes[0]:
            _kernel_ridge(n, n_predict, mnist, predictions, total)


def _kernel_ridge(n, n_predict, mnist, predictions, ours_seconds) -> None:
    from sklearn_gen._device import available_memory, format_bytes

    needed = 4 * n * n * 8  # float64 Gram, its Cholesky copy and the solver's temporaries
    free = available_memory(torch.device("cpu"))
    if needed > 0.8 * free:
        print(
            f"    KernelRidge(alpha=0) at n={n}: skipped, needs about {format_bytes(needed)}, "
            f"{format_bytes(free)} free"
        )
        return
    result = run_in_child(
        _fit_predict_kernel_ridge,
        {"n": n, "n_predict": n_predict, "mnist": str(mnist) if mnist else None},
    )
    if "error" in result:
        print(f"    KernelRidge(alpha=0) at n={n} (CPU): failed: {result['error']}")
        return
    same = np.mean(result["predictions"] == predictions)
    print(
        f"    KernelRidge(alpha=0) at n={n} (CPU): {result['seconds']:.2f} s = "
        f"{result['seconds'] / ours_seconds:.1f}x ours; identical predictions {same:.2%}"
    )


# ---------------------------------------------------------------------------- (c) measures
def section_measures(device: str, shape, n: int, epochs: int, smoke: bool = False) -> None:
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from sklearn_gen.metrics import SCORERS, MeasureScorer

    X, y = _images(n, shape, seed=1)
    net = NetworkClassifier(
        SmallInception,
        input_shape=shape,
        lr=0.01,
        max_epochs=epochs,
        device=device,
        random_state=0,
    )
    start = time.perf_counter()
    net.fit(X, y)
    _sync(device)
    epoch = (time.perf_counter() - start) / epochs
    print(
        f"(c) measures on SmallInception trained {epochs} epochs on {n} images "
        f"(one epoch {epoch:.2f} s)"
    )
    for name, scorer in SCORERS.items():
        if "rkhs" in name or "kernel" in name:
            continue
        if smoke and name in _SMOKE_PARAMS:
            scorer = MeasureScorer(
                scorer.measure,
                greater_is_better=scorer.greater_is_better,
                **{**scorer.params, **_SMOKE_PARAMS[name]},
            )
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                if smoke:  # too few products to converge, by design
                    warnings.simplefilter("ignore", ConvergenceWarning)
                value = f"{scorer(net, X, y):.6g}"
        except (ValueError, TypeError, NotImplementedError) as exc:
            value = f"n/a ({str(exc).splitlines()[0][:90]})"
        _sync(device)
        seconds = time.perf_counter() - start
        print(f"    {name:30s} {seconds:7.2f} s = {seconds / epoch:5.2f} epochs  {value}")


# ---------------------------------------------------------------------------- (d) pickles
_LOAD_ON_CPU = """
import pickle, sys
import numpy as np
import torch
assert not torch.cuda.is_available(), "the child must not see a GPU"
net = pickle.loads(open(sys.argv[1], "rb").read())
X = np.load(sys.argv[2])
np.save(sys.argv[3], net.predict(X))
print(net.device_)
"""


def section_pickle(device: str, shape, tmp: Path) -> None:
    X, y = _images(512, shape, seed=2)
    net = NetworkClassifier(
        SmallInception, input_shape=shape, max_epochs=1, device=device, random_state=0
    ).fit(X, y)
    expected = net.predict(X)
    (tmp / "net.pkl").write_bytes(pickle.dumps(net))
    np.save(tmp / "X.npy", X)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    child = subprocess.run(
        [sys.executable, "-c", _LOAD_ON_CPU, tmp / "net.pkl", tmp / "X.npy", tmp / "p.npy"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if child.returncode != 0:
        print(f"(d) pickle written on {device}, loaded without a GPU: FAIL\n{child.stderr}")
        return
    same = np.mean(np.load(tmp / "p.npy") == expected)
    verdict = "PASS" if same == 1.0 else "FAIL"
    print(
        f"(d) pickle written on {net.device_}, loaded where no GPU is visible (device "
        f"{child.stdout.strip()}): identical predictions {same:.2%}: {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--mnist", default=None, help="MNIST folder (default: the shared one)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to test the script")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: no CUDA device is visible; pass --device cpu --smoke to test it")
        return 2
    folder = mnist_folder(args.mnist)
    mnist = folder if any(folder.glob("t10k-images*")) else None
    if args.smoke:
        shape, train_n, epochs, sizes, n_predict, measure_n = _SMOKE_SHAPE, 32, 1, [300], 100, 32
    else:
        shape, train_n, epochs, sizes, n_predict, measure_n = (
            _SHAPE,
            16384,
            2,
            [20000, 60000],
            2000,
            4096,
        )
    card = (
        torch.cuda.get_device_name(torch.device(args.device))
        if args.device.startswith("cuda")
        else f"CPU, {torch.get_num_threads()} threads"
    )
    print(f"gpu_check: {code_version()}; torch {torch.__version__}; {args.device} = {card}")
    start = time.perf_counter()
    section_training(args.device, shape, train_n, epochs, 16 if args.smoke else 128)
    section_kernels(args.device, sizes, n_predict, mnist)
    section_measures(args.device, shape, measure_n, epochs, smoke=args.smoke)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        section_pickle(args.device, shape, Path(tmp))
    print(f"gpu_check: done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
