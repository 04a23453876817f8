"""Per-sample random streams keyed by the sample's values (for RandomPixels, GaussianPixels).

A transformer that draws fresh randomness for every sample has to decide which random
numbers a sample gets. Taking them in row order from one ``RandomState`` makes the
result depend on the batch: test row ``i`` would get the permutation (or the noise
image) of training row ``i``, and transforming a subset would not give the rows of
the full transform. Here each sample gets its own stream, seeded by a hash of its
values and of one seed drawn from ``random_state``: the result for a sample depends only
on the sample and ``random_state``, whatever the batch, and different samples get
independent streams. The streams are SplitMix64 sequences (Steele, Lea and Flood 2014),
computed for a whole block of rows at once with numpy ``uint64`` arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_BLOCK_ELEMENTS = 1 << 20


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finalizer, in place on a ``uint64`` array (arithmetic modulo 2**64)."""
    z ^= z >> np.uint64(30)
    z *= _MUL1
    z ^= z >> np.uint64(27)
    z *= _MUL2
    z ^= z >> np.uint64(31)
    return z


def stream_seed(random_state: Any) -> np.uint64:
    """One 64-bit seed from ``random_state`` (an int always gives the same seed)."""
    rng = check_random_state(random_state)
    high, low = rng.randint(0, 1 << 32, size=2, dtype=np.uint64)
    return np.uint64((int(high) << 32) | int(low))


def row_blocks(n_rows: int, n_cols: int) -> Iterator[slice]:
    """Slices of about ``2**20`` elements, to bound the temporaries."""
    step = max(1, _BLOCK_ELEMENTS // max(n_cols, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def row_random_bits(X: np.ndarray, seed: np.uint64, n_cols: int) -> np.ndarray:
    """``(n_rows, n_cols)`` pseudo-random ``uint64``: row ``i`` depends on ``X[i]`` and ``seed``.

    Rows with equal values (``-0.0`` and ``0.0`` counted equal) get equal streams.
    """
    with np.errstate(over="ignore"):
        bits = (np.asarray(X, dtype=np.float64) + 0.0).view(np.uint64)  # new array
        bits ^= _mix(np.arange(1, bits.shape[1] + 1, dtype=np.uint64) * _GOLDEN)
        state = _mix(bits).sum(axis=1, dtype=np.uint64)
        state ^= seed
        state = _mix(state)
        steps = np.arange(1, n_cols + 1, dtype=np.uint64) * _GOLDEN
        return _mix(state[:, None] + steps[None, :])


def uniform_open(bits: np.ndarray) -> np.ndarray:
    """Map ``uint64`` draws to floats uniform on the open interval ``(0, 1)``."""
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
