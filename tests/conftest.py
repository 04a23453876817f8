"""Shared fixtures for the test suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Where the project keeps the genuine MNIST test set (the shared folder next to the repo).
DEFAULT_MNIST_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
MNIST_ENV_VAR = "SKLEARN_GEN_MNIST"


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    """Folder holding the MNIST test-set IDX files; skips the test when it is absent.

    The folder is ``$SKLEARN_GEN_MNIST`` when that variable is set, else
    ``<repo>/../shared/data/mnist``.
    """
    from_env = os.environ.get(MNIST_ENV_VAR)
    folder = Path(from_env) if from_env else DEFAULT_MNIST_DIR
    if not folder.is_dir():
        source = f"${MNIST_ENV_VAR}" if from_env else "the default location"
        pytest.skip(f"MNIST data not found at {folder} ({source}).")
    has_images = any(folder.glob("t10k-images*idx3-ubyte*"))
    has_labels = any(folder.glob("t10k-labels*idx1-ubyte*"))
    if not (has_images and has_labels):
        pytest.skip(f"MNIST test-set files not found in {folder}.")
    return folder


def pytest_configure(config: pytest.Config) -> None:
    """One torch thread per test process.

    The suite runs as ``pytest -n 2`` on 2 cores: two torch threads per worker would
    oversubscribe them, which slows the many tiny networks of the tests 10x or more.
    """
    import torch

    torch.set_num_threads(1)
