"""One entry point for the experiments' data: ``load_dataset("digits" | "cifar10:PATH" | ...)``.

A spec is ``name`` or ``name:PATH``. With a ``PATH`` the standard files are read from that
folder (never downloaded); the image sets without one are fetched the way scikit-learn fetches
data, :func:`sklearn.datasets.fetch_openml` with its ``data_home`` cache, and fail at once
offline with a message naming the ``name:PATH`` form.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import PredefinedSplit

__all__ = ["DATA_NAMES", "Dataset", "load_dataset"]

#: OpenML copies for users without the files: (OpenML name, version, image shape, n_train).
#: They keep the original order, so the first ``n_train`` rows are the official training set.
_OPENML = {
    "mnist": ("mnist_784", 1, (1, 28, 28), 60000),
    "fashion-mnist": ("Fashion-MNIST", 1, (1, 28, 28), 60000),
    "cifar10": ("CIFAR_10", 1, (3, 32, 32), 50000),
}
#: Every name a spec may start with.
DATA_NAMES = (
    "digits",
    "mnist",
    "fashion-mnist",
    "cifar10",
    "cifar100",
    "cifar100-coarse",
    "hyperspheres",
)
_HELP = (
    "'digits', 'mnist:PATH', 'fashion-mnist:PATH', 'cifar10:PATH', 'cifar100:PATH', "
    "'cifar100-coarse:PATH' or 'hyperspheres'"
)


@dataclass(frozen=True)
class Dataset:
    """Flat float32 images (or points) with labels, how to read them, and their split.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    input_shape : tuple of int or None
        ``(C, H, W)`` for image data, None for points.
    name : str
    is_test : ndarray of bool of shape (n_samples,) or None
        The official train/test split (True marks a test row); None for data without one,
        which the experiments then split at random.
    source : str
        Where the data came from, for the run's summary.

    Examples
    --------
    >>> data = Dataset(np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1]), None, "toy",
    ...                is_test=np.array([False, False, True, True]))
    >>> data.n_train, data.n_test
    (2, 2)
    >>> data.test_split(0.25).get_n_splits()
    1
    """

    X: np.ndarray
    y: np.ndarray
    input_shape: tuple[int, int, int] | None
    name: str
    is_test: np.ndarray | None = None
    source: str = ""

    @property
    def n_train(self) -> int:
        """Rows of the official training set (all rows when there is no official split)."""
        return len(self.y) if self.is_test is None else int((~self.is_test).sum())

    @property
    def n_test(self) -> int:
        """Rows of the official test set (0 when there is no official split)."""
        return 0 if self.is_test is None else int(self.is_test.sum())

    def test_split(self, test_size: float | int) -> float | int | PredefinedSplit:
        """What the experiments take as ``test_size``: the official split, else ``test_size``.

        The official split is a :class:`~sklearn.model_selection.PredefinedSplit` (fold 0 is
        the test set, -1 the training set), as scikit-learn spells a fixed split.
        """
        if self.is_test is None:
            return test_size
        return PredefinedSplit(np.where(self.is_test, 0, -1))

    def subset(
        self,
        n_train: int | None = None,
        n_test: int | None = None,
        *,
        random_state: int | None = 0,
    ) -> Dataset:
        """A seeded random subset: ``n_train`` training and ``n_test`` test rows.

        With an official split each part is drawn from its own side of it, and None keeps a
        whole side. Without one, ``n_train + n_test`` rows (None counting as 0; all rows
        when both are None) are drawn from the pool, for the experiment to split. Row order
        is kept.

        Examples
        --------
        >>> data = load_dataset("digits").subset(100, 50)
        >>> data.X.shape
        (150, 64)
        """
        for value, what in ((n_train, "n_train"), (n_test, "n_test")):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1
            ):
                raise ValueError(f"{what} must be a positive integer or None, got {value!r}.")
        rng = np.random.RandomState(random_state)
        if self.is_test is None:
            total = (n_train or 0) + (n_test or 0)
            if total == 0 or total >= len(self.y):
                return self
            keep = np.sort(rng.choice(len(self.y), total, replace=False))
            return replace(self, X=self.X[keep], y=self.y[keep])
        parts = []
        for rows, n in (
            (np.flatnonzero(~self.is_test), n_train),
            (np.flatnonzero(self.is_test), n_test),
        ):
            if n is not None and n < len(rows):
                rows = np.sort(rng.choice(rows, n, replace=False))
            parts.append(rows)
        keep = np.concatenate(parts)
        return replace(self, X=self.X[keep], y=self.y[keep], is_test=self.is_test[keep])

    def describe(self) -> str:
        """One line for a run's summary: the name, the sizes and which split is used.

        Examples
        --------
        >>> print(load_dataset("digits").describe())
        digits: 1797 samples, 64 features, image shape (1, 8, 8); no official split (random
        split); scikit-learn's load_digits
        """
        shape = f", image shape {self.input_shape}" if self.input_shape else ""
        head = f"{self.name}: {len(self.y)} samples, {self.X.shape[1]} features{shape}"
        if self.is_test is None:
            split = "no official split (random split)"
        else:
            split = f"official split, {self.n_train} training + {self.n_test} test"
        source = f"; {self.source}" if self.source else ""
        return f"{head}; {split}{source}"


def _from_bunch(bunch: Any, name: str) -> Dataset:
    is_test = np.asarray(bunch.is_test, dtype=bool)
    X = np.asarray(bunch.data, dtype=np.float32)
    source = bunch.DESCR.splitlines()[0]
    if is_test.all() or not is_test.any():  # one split alone: no official split to keep
        is_test = None
    return Dataset(X, np.asarray(bunch.target), tuple(bunch.input_shape), name, is_test, source)


def _load_mnist_folder(folder: Path, name: str) -> Dataset:
    from sklearn_gen.datasets._mnist import has_idx_split, load_fashion_mnist, load_mnist

    loader = load_mnist if name == "mnist" else load_fashion_mnist
    if name == "mnist" and not has_idx_split(folder, "train"):
        data = _from_bunch(loader(folder, kind="test"), name)
        note = "the test set alone (no train-* files in the folder)"
        return replace(data, source=f"{data.source}; {note}")
    return _from_bunch(loader(folder, kind="all"), name)


def _fetch_openml(name: str, data_home: str | os.PathLike[str] | None) -> Dataset:
    """The OpenML copy, cached in ``data_home`` as scikit-learn does; offline: a clear error."""
    from sklearn.datasets import fetch_openml

    openml_name, version, input_shape, n_train = _OPENML[name]
    try:
        with warnings.catch_warnings():  # sklearn warns before its one retry; the error says it
            warnings.filterwarnings("ignore", "A network error occurred", UserWarning)
            X, y = fetch_openml(
                openml_name,
                version=version,
                data_home=data_home,
                return_X_y=True,
                as_frame=False,
                parser="liac-arff",
                n_retries=1,
                delay=0.1,
            )
    except OSError as exc:  # urllib's URLError and socket errors are OSErrors
        raise OSError(
            f"cannot download {openml_name!r} from OpenML ({exc}); without internet, pass the "
            f"folder of the standard files as '{name}:PATH' (no download is needed then)."
        ) from None
    X = np.asarray(X, dtype=np.float32) / 255.0
    y = np.asarray(y).astype(np.int64)
    is_test = np.arange(len(y)) >= n_train
    source = (
        f"OpenML {openml_name!r} (version {version}); first {n_train} rows are the training set"
    )
    return Dataset(X, y, input_shape, name, is_test if is_test.any() else None, source)


def load_dataset(
    spec: str,
    *,
    n_samples: int | None = None,
    random_state: int | None = 0,
    data_home: str | os.PathLike[str] | None = None,
) -> Dataset:
    """Load the data named by ``spec``.

    Parameters
    ----------
    spec : str
        ``"digits"`` (sklearn's embedded 8x8 digits, pixels scaled to [0, 1]);
        ``"mnist:PATH"`` (MNIST from the IDX files in the folder PATH: the 60,000 training
        and 10,000 test images with the official split when the ``train-*`` files are there,
        else the test set alone, which the experiments split at random);
        ``"fashion-mnist:PATH"`` (the same for Fashion-MNIST; both splits needed);
        ``"cifar10:PATH"`` (the ``cifar-10-batches-py`` folder), ``"cifar100:PATH"`` /
        ``"cifar100-coarse:PATH"`` (``cifar-100-python``, fine or coarse labels);
        ``"hyperspheres"`` (Nagarajan & Kolter's two concentric spheres in 100 dimensions,
        radii 1 and 1.1). ``"mnist"``, ``"fashion-mnist"`` and ``"cifar10"`` without a PATH
        fetch the OpenML copy (``mnist_784``, ``Fashion-MNIST``, ``CIFAR_10``) into
        ``data_home``, as :func:`sklearn.datasets.fetch_openml` does. Pixels are scaled to
        [0, 1]; images are flat ``(C, H, W)`` rows.
    n_samples : int, optional
        Keep a seeded random subset of this size (all of it when None; the number of
        points drawn for ``"hyperspheres"``, 4,000 when None). With an official split the
        subset is drawn in proportion from both sides; :meth:`Dataset.subset` draws the
        two sides separately.
    random_state : int or None, default=0
        Seeds the subset (and the hyperspheres).
    data_home : str or path-like, optional
        The download cache of scikit-learn for the OpenML copies (``~/scikit_learn_data`` when
        None).

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        For an unknown name or a corrupt file (naming it).
    FileNotFoundError
        When a folder or one of its files is missing.
    OSError
        When an OpenML copy is needed and cannot be downloaded; the message says to pass
        ``name:PATH``.

    Examples
    --------
    >>> data = load_dataset("digits")
    >>> data.X.shape, data.input_shape, data.is_test is None
    ((1797, 64), (1, 8, 8), True)
    """
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a string such as 'digits', got {spec!r}.")
    if n_samples is not None and (
        isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1
    ):
        raise ValueError(f"n_samples must be a positive integer or None, got {n_samples!r}.")
    name, _, argument = spec.partition(":")
    folder = Path(argument).expanduser() if argument else None
    if name == "hyperspheres":
        from sklearn_gen.datasets._hyperspheres import make_hyperspheres

        X, y = make_hyperspheres(n_samples or 4000, 100, random_state=random_state)
        return Dataset(np.asarray(X, dtype=np.float32), np.asarray(y), None, "hyperspheres")
    if name not in DATA_NAMES:
        raise ValueError(f"unknown data {spec!r}; use {_HELP}.")
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        source = "scikit-learn's load_digits"
        data = Dataset((X / 16.0).astype(np.float32), y, (1, 8, 8), "digits", None, source)
    elif folder is None:
        if name not in _OPENML:
            raise ValueError(f"give the {name} folder as '{name}:PATH'.")
        data = _fetch_openml(name, data_home)
    elif name in ("mnist", "fashion-mnist"):
        data = _load_mnist_folder(folder, name)
    else:
        from sklearn_gen.datasets._cifar import load_cifar10, load_cifar100

        if name == "cifar10":
            bunch = load_cifar10(folder)
        else:
            bunch = load_cifar100(folder, label="coarse" if name.endswith("coarse") else "fine")
        data = _from_bunch(bunch, name)
    if n_samples is not None and n_samples < len(data.y):
        keep = np.sort(np.random.RandomState(random_state).choice(len(data.y), n_samples, False))
        is_test = None if data.is_test is None else data.is_test[keep]
        data = replace(data, X=data.X[keep], y=data.y[keep], is_test=is_test)
    return data
