"""One entry point for the experiments' data: ``load_dataset("digits" | "mnist:PATH" | ...)``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Dataset", "load_dataset"]


@dataclass(frozen=True)
class Dataset:
    """Flat float32 images (or points) with labels, and how to read them as images.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    image_shape : tuple of int or None
        ``(C, H, W)`` for image data, None for points.
    name : str
    """

    X: np.ndarray
    y: np.ndarray
    image_shape: tuple[int, int, int] | None
    name: str


def load_dataset(
    spec: str, *, n_samples: int | None = None, random_state: int | None = 0
) -> Dataset:
    """Load the data named by ``spec``.

    Parameters
    ----------
    spec : str
        ``"digits"`` (sklearn's embedded 8x8 digits, pixels scaled to [0, 1]),
        ``"mnist:PATH"`` (the MNIST test set, 10,000 images, read from the IDX files in
        the folder PATH, pixels scaled to [0, 1]) or ``"hyperspheres"`` (Nagarajan &
        Kolter's two concentric spheres in 100 dimensions, radii 1 and 1.1).
    n_samples : int, optional
        Keep a seeded random subset of this size (all of it when None; the number of
        points drawn for ``"hyperspheres"``, 4,000 when None).
    random_state : int or None, default=0
        Seeds the subset (and the hyperspheres).

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        For an unknown name.
    FileNotFoundError
        When the MNIST folder or its files are missing.

    Examples
    --------
    >>> data = load_dataset("digits")
    >>> data.X.shape, data.image_shape
    ((1797, 64), (1, 8, 8))
    """
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a string such as 'digits', got {spec!r}.")
    if n_samples is not None and (
        isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1
    ):
        raise ValueError(f"n_samples must be a positive integer or None, got {n_samples!r}.")
    name, _, argument = spec.partition(":")
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        data = Dataset((X / 16.0).astype(np.float32), y, (1, 8, 8), "digits")
    elif name == "mnist":
        if not argument:
            raise ValueError("give the MNIST folder as 'mnist:PATH'.")
        from sklearn_gen.datasets._mnist import load_mnist

        X, y = load_mnist(Path(argument).expanduser(), kind="test", return_X_y=True)
        data = Dataset(np.asarray(X, dtype=np.float32), np.asarray(y), (1, 28, 28), "mnist")
    elif name == "hyperspheres":
        from sklearn_gen.datasets._hyperspheres import make_hyperspheres

        X, y = make_hyperspheres(n_samples or 4000, 100, random_state=random_state)
        return Dataset(np.asarray(X, dtype=np.float32), np.asarray(y), None, "hyperspheres")
    else:
        raise ValueError(f"unknown data {spec!r}; use 'digits', 'mnist:PATH' or 'hyperspheres'.")
    if n_samples is not None and n_samples < len(data.y):
        keep = np.sort(np.random.RandomState(random_state).choice(len(data.y), n_samples, False))
        data = Dataset(data.X[keep], data.y[keep], data.image_shape, data.name)
    return data
