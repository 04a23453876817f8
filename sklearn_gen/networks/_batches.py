"""Fast mini-batches: data kept as tensors on the device, batches taken by index.

skorch's default path wraps the arrays in a :class:`skorch.dataset.Dataset` and lets a
:class:`torch.utils.data.DataLoader` collate one item at a time, which costs far more than
the forward/backward pass of a small network. Here the whole training set is converted to
tensors once per ``fit`` and moved to the compute device; a batch is one ``index_select``
of a shuffled index vector. Augmentation (random crop with zero padding and horizontal flip)
is one gather per batch on the same device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch.utils.data import Dataset, Subset

__all__ = ["DeviceTensorDataset", "SliceBatches", "crop_flip_augmenter"]


class DeviceTensorDataset(Dataset):
    """Inputs and (optionally) encoded targets held as tensors on one device.

    Exposes ``X`` and ``y`` like :class:`skorch.dataset.Dataset`, so skorch's helpers that
    look at a dataset's data keep working; item access exists for completeness, but
    :class:`SliceBatches` never uses it.

    Parameters
    ----------
    X : torch.Tensor
        Inputs, first dimension = samples.
    y : torch.Tensor or None
        Targets (class indices), or None at prediction time.

    Examples
    --------
    >>> import torch
    >>> ds = DeviceTensorDataset(torch.zeros(4, 3), torch.arange(4))
    >>> len(ds), ds[1][1].item()
    (4, 1)
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None = None) -> None:
        if y is not None and len(y) != len(X):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}.")
        self.X = X
        self.y = y

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i: int):
        target = self.y[i] if self.y is not None else torch.zeros((), device=self.X.device)
        return self.X[i], target


def _tensors_of(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The (X, y) tensors behind a :class:`DeviceTensorDataset` or a Subset of one."""
    if isinstance(dataset, DeviceTensorDataset):
        return dataset.X, dataset.y
    if isinstance(dataset, Subset) and isinstance(dataset.dataset, DeviceTensorDataset):
        X, y = _tensors_of(dataset.dataset)
        index = torch.as_tensor(dataset.indices, dtype=torch.long, device=X.device)
        return X.index_select(0, index), None if y is None else y.index_select(0, index)
    raise TypeError(
        f"SliceBatches needs a DeviceTensorDataset (or a Subset of one), got "
        f"{type(dataset).__name__}."
    )


class SliceBatches:
    """Iterate over ``(X_batch, y_batch)`` slices of device tensors.

    Parameters
    ----------
    dataset : DeviceTensorDataset or torch.utils.data.Subset of one
        The data; a Subset (from skorch's ``ValidSplit``) is gathered once, here.
    batch_size : int
        Samples per batch; the last batch may be smaller. ``-1`` means the whole set.
    shuffle : bool, default=False
        Draw a new permutation at every pass (every epoch).
    generator : torch.Generator or None
        Source of the permutations (and of the augmentation), on the data's device.
    transform : callable or None
        Applied to each input batch, e.g. :func:`crop_flip_augmenter`.

    Examples
    --------
    >>> import torch
    >>> ds = DeviceTensorDataset(torch.arange(10.0).reshape(5, 2), torch.arange(5))
    >>> [len(xb) for xb, yb in SliceBatches(ds, batch_size=2)]
    [2, 2, 1]
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.X, self.y = _tensors_of(dataset)
        n = len(self.X)
        self.batch_size = n if batch_size == -1 else int(batch_size)
        if self.batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer or -1, got {batch_size}.")
        self.shuffle = shuffle
        self.generator = generator
        self.transform = transform

    def __len__(self) -> int:
        return -(-len(self.X) // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        n, bs = len(self.X), self.batch_size
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator, device=self.X.device)
            for start in range(0, n, bs):
                index = order[start : start + bs]
                yield self._batch(self.X.index_select(0, index), index)
        else:
            for start in range(0, n, bs):
                yield self._batch(self.X[start : start + bs], slice(start, start + bs))

    def _batch(self, xb: torch.Tensor, index) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.transform is not None:
            xb = self.transform(xb)
        if self.y is None:
            return xb, None
        yb = self.y[index] if isinstance(index, slice) else self.y.index_select(0, index)
        return xb, yb


def crop_flip_augmenter(
    padding: int, generator: torch.Generator | None = None, flip: bool = True
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Random crop after zero padding, plus random horizontal flip, for ``(N, C, H, W)``.

    Each image gets its own offsets in ``[0, 2 * padding]`` and (with ``flip``) a coin for
    mirroring; the crop and the flip are one gather on the batch's device.

    Parameters
    ----------
    padding : int
        Zero padding added on every side before cropping back to ``H x W``.
    generator : torch.Generator or None
        Source of randomness (must live on the batch's device).
    flip : bool, default=True
        Also mirror each image left-right with probability 1/2.

    Returns
    -------
    callable
        ``augment(images) -> images`` of the same shape.

    Examples
    --------
    >>> import torch
    >>> augment = crop_flip_augmenter(2, torch.Generator().manual_seed(0))
    >>> augment(torch.ones(3, 1, 8, 8)).shape
    torch.Size([3, 1, 8, 8])
    """
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}.")

    def augment(images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4:
            raise ValueError(
                "augmentation needs image batches (N, C, H, W); set input_shape=(C, H, W)."
            )
        n, c, h, w = images.shape
        dev = images.device
        padded = torch.nn.functional.pad(images, (padding, padding, padding, padding))
        dy = torch.randint(0, 2 * padding + 1, (n, 1), generator=generator, device=dev)
        dx = torch.randint(0, 2 * padding + 1, (n, 1), generator=generator, device=dev)
        rows = dy + torch.arange(h, device=dev)
        cols = dx + torch.arange(w, device=dev)
        if flip:
            mirror = torch.rand((n, 1), generator=generator, device=dev) < 0.5
            cols = torch.where(mirror, cols.flip(1), cols)
        batch = torch.arange(n, device=dev)[:, None, None, None]
        channel = torch.arange(c, device=dev)[None, :, None, None]
        return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]

    return augment
