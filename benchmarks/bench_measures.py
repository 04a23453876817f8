"""Cost of the measures, as a fraction of one training epoch on the same data.

Two trained networks on ``--n`` random 28x28x3 images with random labels (2,000 by
default; the cost of a measure does not depend on what the images show):

* SmallInception (branching: only the measures that do not need a chain apply);
* a 5-layer conv chain (4 conv layers + 1 linear, ReLU in between).

For each, one training epoch of NetworkClassifier (batch 128) on the same images is the
named baseline, measured in this run; every measure is timed on the same images and the
script prints each one's time, the total, and the total as a fraction of the epoch.
Target (issue 5): all measures together under 0.2 epochs on the CPU.

Run ``python benchmarks/bench_measures.py`` (``--n 256`` for a quick run).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
from _bench_common import code_version, load_note
from torch import nn

from sklearn_gen import NetworkClassifier, measures


class ConvChain(nn.Sequential):
    """Four 3x3 conv layers (stride 1, 2, 1, 2) and a linear layer: a 5-layer chain."""

    def __init__(self, input_shape: tuple[int, int, int], n_classes: int) -> None:
        c, h, w = input_shape
        layers: list[nn.Module] = []
        channels = [c, 32, 32, 64, 64]
        for i, stride in enumerate((1, 2, 1, 2)):
            layers += [nn.Conv2d(channels[i], channels[i + 1], 3, stride, 1), nn.ReLU()]
            if stride == 2:  # 3x3, padding 1: ceil(size / 2)
                h, w = (h + 1) // 2, (w + 1) // 2
        layers += [nn.Flatten(), nn.Linear(64 * h * w, n_classes)]
        super().__init__(*layers)
        self.input_shape = input_shape


#: name -> (measure, keyword arguments, needs a chain)
MEASURES = {
    "parameter_count": (measures.parameter_count, {}, False),
    "product_norm (fro)": (measures.product_norm, {"norm": "fro"}, False),
    "product_norm (spectral, exact)": (measures.product_norm, {"norm": "spectral"}, False),
    "distance_from_init (fro)": (measures.distance_from_init, {}, False),
    "distance_from_init (spectral)": (measures.distance_from_init, {"norm": "spectral"}, False),
    "normalized_loss": (measures.normalized_loss, {}, False),
    "margin_quantile": (measures.margin_quantile, {}, False),
    "pac_bayes_flatness": (measures.pac_bayes_flatness, {}, False),
    "pac_bayes_flatness (magnitude)": (
        measures.pac_bayes_flatness,
        {"magnitude_aware": True},
        False,
    ),
    "path_norm": (measures.path_norm, {}, True),
    "spectral_bound": (measures.spectral_bound, {}, True),
    "pac_bayes_bound": (measures.pac_bayes_bound, {}, True),
}


def time_network(name: str, module, X: np.ndarray, y: np.ndarray, chain: bool) -> float:
    net = NetworkClassifier(
        module,
        input_shape=(3, 28, 28),
        lr=0.01,
        max_epochs=1,
        batch_size=128,
        device="cpu",
        random_state=0,
        warm_start=True,
    ).fit(X, y)  # one epoch to warm up (and to have trained weights)
    start = time.perf_counter()
    net.partial_fit(X, y)
    epoch = time.perf_counter() - start
    print(f"\n{name}: one training epoch on {len(X)} images = {epoch:.2f} s (baseline)")
    total = 0.0
    for label, (measure, params, needs_chain) in MEASURES.items():
        if needs_chain and not chain:
            continue
        start = time.perf_counter()
        try:
            value = measure(net, X, y, **params)
            shown = f"{value:.4g}"
        except ValueError as exc:  # e.g. a margin quantile that is not positive
            shown = f"not defined ({exc})"[:60]
        seconds = time.perf_counter() - start
        total += seconds
        print(f"  {label:32s} {seconds:7.3f} s  {seconds / epoch:6.3f} epochs   {shown}")
    ratio = total / epoch
    verdict = "PASS" if ratio < 0.2 else "FAIL"
    print(f"  {'all measures':32s} {total:7.3f} s  {ratio:6.3f} epochs (target < 0.2): {verdict}")
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="images")
    args = parser.parse_args(argv)
    rng = np.random.RandomState(0)
    X = rng.rand(args.n, 3 * 28 * 28).astype(np.float32)
    y = rng.randint(0, 10, args.n)
    print(
        f"bench_measures: {code_version()}; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; {load_note()}"
    )
    ratios = [
        time_network("SmallInception (non-chain subset)", "small_inception", X, y, chain=False),
        time_network("5-layer conv chain", ConvChain, X, y, chain=True),
    ]
    return 0 if max(ratios) < 0.2 else 1


if __name__ == "__main__":
    sys.exit(main())
