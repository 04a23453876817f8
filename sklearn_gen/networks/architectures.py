"""The papers' network architectures as plain :class:`torch.nn.Module` objects.

Every architecture is built as ``Arch(input_shape, n_classes, *, switches...)`` and its
``forward`` returns **logits** of shape ``(N, n_classes)``. Each one accepts a flat batch
``(N, prod(input_shape))`` as well as an image batch ``(N, C, H, W)``: the convolutional
networks reshape flat rows to ``input_shape`` and the multilayer perceptrons flatten
everything after the batch dimension.

All architectures except :class:`SmallInception` are *chains*: :class:`torch.nn.Sequential`
subclasses whose children are plain torch layers (no nested containers, no branching), listed
in forward order, so that code can walk the weight layers one after the other (see
:func:`is_chain`).

Architectures
-------------
``"mlp"`` -- :class:`MLP`
    Multilayer perceptrons of Zhang et al. (2017), Table 1 ("MLP 1x512", "MLP 3x512").
``"deep_fc"`` -- :class:`DeepFCNet`
    The bias-free deep fully connected ReLU network of Nagarajan & Kolter (2019).
``"small_alexnet"`` -- :class:`SmallAlexNet`
    The small AlexNet of Zhang et al. (2017), Appendix A, after the TensorFlow CIFAR-10
    tutorial network.
``"small_inception"`` -- :class:`SmallInception`
    The small Inception network of Zhang et al. (2017), Fig. 3, with or without batch
    normalization.
``"convnet"`` -- :class:`ConvNet`
    The two-layer convolutional network of Liao et al. (2018).

References
----------
.. [1] C. Zhang, S. Bengio, M. Hardt, B. Recht and O. Vinyals, "Understanding deep learning
   requires rethinking generalization", ICLR 2017.
.. [2] V. Nagarajan and J. Z. Kolter, "Uniform convergence may be unable to explain
   generalization in deep learning", NeurIPS 2019.
.. [3] Q. Liao, B. Miranda, A. Banburski, J. Hidary and T. Poggio, "A surprising linear
   relationship predicts test performance in deep networks", arXiv:1807.09659, 2018.

Examples
--------
>>> import torch
>>> from sklearn_gen.networks.architectures import get_architecture, count_parameters
>>> model = get_architecture("mlp")((3, 28, 28), 10, hidden=(512,))
>>> count_parameters(model)
1209866
>>> model(torch.zeros(4, 3, 28, 28)).shape
torch.Size([4, 10])
"""

from __future__ import annotations

import math
import numbers
from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import fx, nn

from sklearn_gen._validation import (
    InvalidParameterError,
    check_bool,
    check_image_shape,
    check_int,
    check_real,
)

__all__ = [
    "ARCHITECTURES",
    "MLP",
    "ConvNet",
    "DeepFCNet",
    "NiN",
    "SmallAlexNet",
    "SmallInception",
    "count_parameters",
    "get_architecture",
    "is_chain",
]

# Local response normalization of the TensorFlow CIFAR-10 tutorial, ``tf.nn.lrn(x,
# depth_radius=4, bias=1.0, alpha=0.001 / 9.0, beta=0.75)``, which computes
# ``x / (bias + alpha * sum(x[c - 4 : c + 5] ** 2)) ** beta``. torch's LocalResponseNorm
# divides its ``alpha`` by ``size`` itself, so the same map is ``size=9, alpha=0.001``.
_LRN_SIZE = 9
_LRN_ALPHA = 0.001
_LRN_BETA = 0.75
_LRN_K = 1.0

_BATCH_NORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


# --------------------------------------------------------------------------------------------
# Argument validation
# --------------------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_int_sequence(value: object, name: str) -> tuple[int, ...]:
    if _is_int(value):
        value = (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(
            f"{name} must be an int or a sequence of ints, got {type(value).__name__}: {value!r}."
        )
    if not all(_is_int(v) for v in value):
        raise TypeError(f"{name} must contain only ints, got {value!r}.")
    if not all(v >= 1 for v in value):
        raise ValueError(f"{name} must contain only positive ints, got {tuple(value)!r}.")
    return tuple(int(v) for v in value)


def _check_flat_shape(input_shape: object) -> tuple[int, ...]:
    shape = _check_int_sequence(input_shape, "input_shape")
    if not shape:
        raise ValueError("input_shape must not be empty.")
    return shape


def _check_image_shape(input_shape: object, owner: str) -> tuple[int, int, int]:
    """The package's (C, H, W) check, its message naming the convolutional network."""
    try:
        return check_image_shape(input_shape)
    except InvalidParameterError as error:
        raise InvalidParameterError(f"{owner} is a convolutional network: {error}") from None


def _check_batch(x: object, input_shape: tuple[int, ...], *, image: bool, owner: str) -> None:
    """Raise a clear error unless ``x`` is a batch the network can read.

    Skipped while ``torch.fx`` traces the network (``x`` is then a symbolic proxy): the
    check is about the data, and the measures trace the networks to read their graphs.
    """
    if isinstance(x, fx.Proxy):
        return
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{owner} expects a torch.Tensor, got {type(x).__name__}.")
    n_features = math.prod(input_shape)
    if image:
        ok = (x.dim() == 2 and x.shape[1] == n_features) or tuple(x.shape[1:]) == input_shape
        expected = f"(N, {n_features}) or (N, {', '.join(map(str, input_shape))})"
    else:
        ok = x.dim() >= 2 and math.prod(x.shape[1:]) == n_features
        expected = f"(N, ...) with {n_features} features per sample"
    if not ok:
        raise ValueError(f"{owner} expects a batch of shape {expected}, got {tuple(x.shape)}.")


# --------------------------------------------------------------------------------------------
# Chains
# --------------------------------------------------------------------------------------------


class _Chain(nn.Sequential):
    """A flat :class:`torch.nn.Sequential` that checks the batch shape before running.

    Subclasses set ``input_shape`` (a tuple) and ``_image_input`` (whether the first layers
    turn flat rows into images). Slicing returns a plain :class:`torch.nn.Sequential` of the
    selected layers (sharing their weights), since a slice is no longer the architecture.

    Examples
    --------
    >>> import torch
    >>> chain = MLP(4, 2, hidden=(3,))
    >>> isinstance(chain, _Chain)
    True
    >>> chain[:3](torch.zeros(5, 4)).shape  # Flatten, Linear, ReLU: the hidden layer
    torch.Size([5, 3])
    """

    input_shape: tuple[int, ...]
    _image_input: bool = False

    def __getitem__(self, idx: int | slice) -> nn.Module:
        if isinstance(idx, slice):
            return nn.Sequential(OrderedDict(list(self._modules.items())[idx]))
        return super().__getitem__(idx)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Check the shape of ``x``, then run the layers in order and return the logits."""
        _check_batch(x, self.input_shape, image=self._image_input, owner=type(self).__name__)
        return super().forward(x)


class MLP(_Chain):
    """Multilayer perceptron with ReLU activations (Zhang et al. 2017, Table 1).

    Layers, in order: ``Flatten``, then for each hidden width ``Linear`` →
    ``BatchNorm1d`` (if ``batch_norm``) → ``ReLU`` → ``Dropout`` (if ``dropout > 0``), then
    the output ``Linear``.

    Parameters
    ----------
    input_shape : int or sequence of int
        Shape of one sample; the product is the number of input features. Any batch whose
        trailing dimensions hold that many features is flattened from dimension 1.
    n_classes : int
        Number of output logits.
    hidden : int or sequence of int, default=(512,)
        Widths of the hidden layers; ``()`` gives a linear (softmax regression) model.
        ``(512,)`` is Zhang et al.'s "MLP 1x512", ``(512, 512, 512)`` their "MLP 3x512".
    bias : bool, default=True
        Whether every ``Linear`` layer (the output layer included) has a bias.
    batch_norm : bool, default=False
        Add ``BatchNorm1d`` after each hidden ``Linear`` (before the ReLU).
    dropout : float, default=0.0
        Drop probability of a ``Dropout`` after each hidden ReLU; no layer when 0.

    Attributes
    ----------
    input_shape : tuple of int
        The validated sample shape.
    n_features : int
        Number of input features, ``prod(input_shape)``.
    n_classes, hidden, bias, batch_norm, dropout
        The validated constructor arguments.

    Examples
    --------
    >>> import torch
    >>> model = MLP((3, 28, 28), 10, hidden=(512, 512, 512))
    >>> count_parameters(model)
    1735178
    >>> model(torch.zeros(2, 3 * 28 * 28)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        input_shape: int | Sequence[int],
        n_classes: int,
        hidden: int | Sequence[int] = (512,),
        *,
        bias: bool = True,
        batch_norm: bool = False,
        dropout: float = 0.0,
    ) -> None:
        shape = _check_flat_shape(input_shape)
        n_classes = check_int(n_classes, "n_classes")
        hidden = _check_int_sequence(hidden, "hidden")
        bias = check_bool(bias, "bias")
        batch_norm = check_bool(batch_norm, "batch_norm")
        dropout = check_real(dropout, "dropout", 0.0, 1.0, closed="left")

        n_features = math.prod(shape)
        layers: list[nn.Module] = [nn.Flatten()]
        n_in = n_features
        for width in hidden:
            layers.append(nn.Linear(n_in, width, bias=bias))
            if batch_norm:
                layers.append(nn.BatchNorm1d(width))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            n_in = width
        layers.append(nn.Linear(n_in, n_classes, bias=bias))
        super().__init__(*layers)

        self.input_shape = shape
        self.n_features = n_features
        self.n_classes = n_classes
        self.hidden = hidden
        self.bias = bias
        self.batch_norm = batch_norm
        self.dropout = dropout


class DeepFCNet(MLP):
    """Bias-free deep fully connected ReLU network (Nagarajan & Kolter 2019).

    An :class:`MLP` with ``depth`` ``Linear`` layers in total -- ``depth - 1`` hidden layers
    of ``width`` units and the output layer -- none of which has a bias (unless ``bias``).
    Nagarajan & Kolter's MNIST network, 5 hidden layers of 1,024 units, is ``depth=6``;
    their code initializes it with Xavier's uniform distribution
    (``NetworkClassifier(init="xavier")``).

    Parameters
    ----------
    input_shape : int or sequence of int
        Shape of one sample; the product is the number of input features.
    n_classes : int
        Number of output logits.
    depth : int, default=5
        Number of ``Linear`` layers, the output layer included (``1`` is a linear model).
    width : int, default=1024
        Width of every hidden layer.
    bias : bool, default=False
        Give every ``Linear`` layer a bias; off, as in the paper (``module__bias=False`` is
        accepted and changes nothing).

    Attributes
    ----------
    depth, width : int
        The validated constructor arguments (see :class:`MLP` for the others).

    Examples
    --------
    >>> import torch
    >>> model = DeepFCNet(784, 10, depth=3, width=100)
    >>> count_parameters(model) == 784 * 100 + 100 * 100 + 100 * 10
    True
    >>> model(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        input_shape: int | Sequence[int],
        n_classes: int,
        depth: int = 5,
        width: int = 1024,
        *,
        bias: bool = False,
    ) -> None:
        depth = check_int(depth, "depth")
        width = check_int(width, "width")
        bias = check_bool(bias, "bias")
        super().__init__(input_shape, n_classes, hidden=(width,) * (depth - 1), bias=bias)
        self.depth = depth
        self.width = width


def _maxpool_out(size: int) -> int:
    """Output size of the 3x3, stride-2, padding-1 max-pool of :class:`SmallAlexNet`."""
    return (size + 2 - 3) // 2 + 1


class SmallAlexNet(_Chain):
    """Small AlexNet of Zhang et al. (2017), Appendix A.

    Two blocks of ``Conv2d(5x5, 64 filters, padding 2)`` → ``BatchNorm2d`` (if
    ``batch_norm``) → ``ReLU`` → ``MaxPool2d(3, stride 2, padding 1)`` →
    ``LocalResponseNorm``, then ``Flatten`` → ``Linear(384)`` → ``ReLU`` → ``Linear(192)``
    → ``ReLU`` → ``Linear(n_classes)`` (``BatchNorm1d`` before and ``Dropout`` after each
    hidden ReLU when switched on). Each pooling halves the image (rounding up), so a 28x28
    image reaches the first fully connected layer as ``64 * 7 * 7`` features; any image size
    works.

    The local response normalization is the TensorFlow CIFAR-10 tutorial's
    ``tf.nn.lrn(depth_radius=4, bias=1.0, alpha=0.001 / 9, beta=0.75)``, written as
    ``nn.LocalResponseNorm(size=9, alpha=0.001, beta=0.75, k=1.0)`` because torch divides
    ``alpha`` by ``size``. Unlike the tutorial (which uses TF's asymmetric ``"SAME"`` pooling
    and normalizes before the second pooling), both blocks here pool and then normalize, as
    Zhang et al. describe.

    Parameters
    ----------
    input_shape : sequence of 3 int
        ``(C, H, W)`` of one image. Flat rows of ``C * H * W`` features are reshaped.
    n_classes : int
        Number of output logits.
    batch_norm : bool, default=False
        Add ``BatchNorm2d`` after each convolution and ``BatchNorm1d`` after each hidden
        ``Linear`` (biases are kept, so :func:`count_parameters` is unchanged).
    dropout : float, default=0.0
        Drop probability of a ``Dropout`` after each hidden fully connected ReLU.

    Attributes
    ----------
    input_shape : tuple of 3 int
        The validated image shape.
    n_classes, batch_norm, dropout
        The validated constructor arguments.

    Examples
    --------
    >>> import torch
    >>> model = SmallAlexNet((3, 28, 28), 10)
    >>> count_parameters(model)
    1387786
    >>> model(torch.zeros(2, 3, 28, 28)).shape
    torch.Size([2, 10])
    """

    _image_input = True

    def __init__(
        self,
        input_shape: Sequence[int],
        n_classes: int,
        *,
        batch_norm: bool = False,
        dropout: float = 0.0,
    ) -> None:
        shape = _check_image_shape(input_shape, type(self).__name__)
        n_classes = check_int(n_classes, "n_classes")
        batch_norm = check_bool(batch_norm, "batch_norm")
        dropout = check_real(dropout, "dropout", 0.0, 1.0, closed="left")

        channels, height, width = shape
        layers: list[nn.Module] = [nn.Flatten(), nn.Unflatten(1, shape)]
        n_in = channels
        for _ in range(2):
            layers.append(nn.Conv2d(n_in, 64, kernel_size=5, padding=2))
            if batch_norm:
                layers.append(nn.BatchNorm2d(64))
            layers += [
                nn.ReLU(),
                nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
                nn.LocalResponseNorm(_LRN_SIZE, alpha=_LRN_ALPHA, beta=_LRN_BETA, k=_LRN_K),
            ]
            n_in = 64
            height, width = _maxpool_out(height), _maxpool_out(width)
        layers.append(nn.Flatten())
        n_in = 64 * height * width
        for units in (384, 192):
            layers.append(nn.Linear(n_in, units))
            if batch_norm:
                layers.append(nn.BatchNorm1d(units))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            n_in = units
        layers.append(nn.Linear(n_in, n_classes))
        super().__init__(*layers)

        self.input_shape = shape
        self.n_classes = n_classes
        self.batch_norm = batch_norm
        self.dropout = dropout


class ConvNet(_Chain):
    """Two-layer convolutional network without pooling (Liao et al. 2018).

    ``Conv2d(k x k, width filters, with bias, padding 0)`` → ``ReLU`` →
    ``Conv2d(k x k, width filters, no bias, padding 0)`` → ``ReLU`` → ``Flatten`` →
    ``Linear(n_classes, no bias)``, with ``BatchNorm2d`` before each ReLU when
    ``batch_norm``. Each convolution shrinks the image by ``k - 1`` pixels, so images must be
    at least ``2 * k - 1`` pixels high and wide (9x9 for the default ``k = 5``).

    Parameters
    ----------
    input_shape : sequence of 3 int
        ``(C, H, W)`` of one image. Flat rows of ``C * H * W`` features are reshaped.
    n_classes : int
        Number of output logits.
    width : int, default=24
        Number of filters of both convolutions.
    batch_norm : bool, default=False
        Add ``BatchNorm2d`` after each convolution (before the ReLU).
    kernel_size : int, default=5
        Side ``k`` of the square convolution kernels. The paper uses 5; a smaller kernel
        (e.g. 3) lets the network read images smaller than 9x9, such as 8x8 digits.

    Attributes
    ----------
    input_shape : tuple of 3 int
        The validated image shape.
    n_classes, width, batch_norm, kernel_size
        The validated constructor arguments.

    Examples
    --------
    >>> import torch
    >>> model = ConvNet((3, 32, 32), 10)
    >>> count_parameters(model)
    154464
    >>> model(torch.zeros(2, 3 * 32 * 32)).shape
    torch.Size([2, 10])
    """

    _image_input = True

    def __init__(
        self,
        input_shape: Sequence[int],
        n_classes: int,
        *,
        width: int = 24,
        batch_norm: bool = False,
        kernel_size: int = 5,
    ) -> None:
        name = type(self).__name__
        shape = _check_image_shape(input_shape, name)
        n_classes = check_int(n_classes, "n_classes")
        width = check_int(width, "width")
        batch_norm = check_bool(batch_norm, "batch_norm")
        kernel_size = check_int(kernel_size, "kernel_size")

        channels, height, img_width = shape
        min_size = 2 * kernel_size - 1
        if height < min_size or img_width < min_size:
            raise ValueError(
                f"{name} with kernel_size={kernel_size} needs images of at least "
                f"{min_size}x{min_size} pixels (two unpadded convolutions), got "
                f"{height}x{img_width}."
            )
        out_h = height - 2 * (kernel_size - 1)
        out_w = img_width - 2 * (kernel_size - 1)

        layers: list[nn.Module] = [
            nn.Flatten(),
            nn.Unflatten(1, shape),
            nn.Conv2d(channels, width, kernel_size, bias=True),
        ]
        if batch_norm:
            layers.append(nn.BatchNorm2d(width))
        layers += [nn.ReLU(), nn.Conv2d(width, width, kernel_size, bias=False)]
        if batch_norm:
            layers.append(nn.BatchNorm2d(width))
        layers += [nn.ReLU(), nn.Flatten(), nn.Linear(width * out_h * out_w, n_classes, bias=False)]
        super().__init__(*layers)

        self.input_shape = shape
        self.n_classes = n_classes
        self.width = width
        self.batch_norm = batch_norm
        self.kernel_size = kernel_size


class NiN(_Chain):
    """Network-in-Network chain, the architecture of Jiang et al.'s (2020) zoo.

    ``depth`` blocks, each ``Conv2d(3 x 3, stride 2, padding 1)`` → ``ReLU`` → two
    ``Conv2d(1 x 1)`` → ``ReLU`` (Lin et al. 2014's "mlpconv" block, downsampling by 2),
    with ``BatchNorm2d`` before each ReLU when ``batch_norm`` and a ``Dropout`` after each
    block when ``dropout > 0``; then a ``Conv2d(1 x 1)`` to ``n_classes`` channels and
    ``AdaptiveAvgPool2d(1)`` → ``Flatten``: the logits are the spatial means of the class
    maps. Every block has ``width`` channels. A chain: every measure of
    :mod:`sklearn_gen.measures` applies.

    Parameters
    ----------
    input_shape : sequence of 3 int
        ``(C, H, W)`` of one image. Flat rows of ``C * H * W`` features are reshaped.
    n_classes : int
        Number of output logits.
    width : int, default=32
        Channels of every block.
    depth : int, default=2
        Number of blocks; each halves the image (rounding up).
    batch_norm : bool, default=False
        Add ``BatchNorm2d`` after each convolution of the blocks (before its ReLU).
    dropout : float, default=0.0
        Drop probability of a ``Dropout`` after each block; no layer when 0.

    Attributes
    ----------
    input_shape : tuple of 3 int
        The validated image shape.
    n_classes, width, depth, batch_norm, dropout
        The validated constructor arguments.

    Examples
    --------
    >>> import torch
    >>> model = NiN((3, 32, 32), 10, width=16, depth=3)
    >>> count_parameters(model)
    6890
    >>> model(torch.zeros(2, 3 * 32 * 32)).shape
    torch.Size([2, 10])
    """

    _image_input = True

    def __init__(
        self,
        input_shape: Sequence[int],
        n_classes: int,
        *,
        width: int = 32,
        depth: int = 2,
        batch_norm: bool = False,
        dropout: float = 0.0,
    ) -> None:
        shape = _check_image_shape(input_shape, type(self).__name__)
        n_classes = check_int(n_classes, "n_classes")
        width = check_int(width, "width")
        depth = check_int(depth, "depth")
        batch_norm = check_bool(batch_norm, "batch_norm")
        dropout = check_real(dropout, "dropout", 0.0, 1.0, closed="left")

        layers: list[nn.Module] = [nn.Flatten(), nn.Unflatten(1, shape)]
        n_in = shape[0]
        for _ in range(depth):
            for kernel, stride, padding in ((3, 2, 1), (1, 1, 0), (1, 1, 0)):
                layers.append(nn.Conv2d(n_in, width, kernel, stride=stride, padding=padding))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(width))
                layers.append(nn.ReLU())
                n_in = width
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        layers += [nn.Conv2d(n_in, n_classes, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        super().__init__(*layers)

        self.input_shape = shape
        self.n_classes = n_classes
        self.width = width
        self.depth = depth
        self.batch_norm = batch_norm
        self.dropout = dropout


# --------------------------------------------------------------------------------------------
# Small Inception (Zhang et al. 2017, Fig. 3)
# --------------------------------------------------------------------------------------------


class _ConvModule(nn.Sequential):
    """Zhang et al.'s "Conv" module: ``Conv2d`` (with bias) → ``BatchNorm2d`` → ``ReLU``.

    Examples
    --------
    >>> [type(layer).__name__ for layer in _ConvModule(3, 8, 3, batch_norm=True)]
    ['Conv2d', 'BatchNorm2d', 'ReLU']
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        padding: int = 0,
        batch_norm: bool = True,
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding)
        ]
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU())
        super().__init__(*layers)


class _InceptionModule(nn.Module):
    """Channel concatenation of a 1x1 Conv module (``ch1``) and a 3x3 one (``ch3``).

    Examples
    --------
    >>> import torch
    >>> _InceptionModule(96, 32, 32)(torch.zeros(1, 96, 5, 5)).shape
    torch.Size([1, 64, 5, 5])
    """

    def __init__(self, in_channels: int, ch1: int, ch3: int, *, batch_norm: bool = True) -> None:
        super().__init__()
        self.branch1x1 = _ConvModule(in_channels, ch1, 1, batch_norm=batch_norm)
        self.branch3x3 = _ConvModule(in_channels, ch3, 3, padding=1, batch_norm=batch_norm)
        self.out_channels = ch1 + ch3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate both branches along the channel dimension."""
        return torch.cat([self.branch1x1(x), self.branch3x3(x)], dim=1)


class _DownsampleModule(nn.Module):
    """Channel concatenation of a 3x3 stride-2 Conv module (``ch3``) and a 3x3 stride-2 max-pool.

    Both branches are unpadded, so they agree on the output size ``(size - 3) // 2 + 1``.

    Examples
    --------
    >>> import torch
    >>> _DownsampleModule(80, 80)(torch.zeros(1, 80, 28, 28)).shape
    torch.Size([1, 160, 13, 13])
    """

    def __init__(self, in_channels: int, ch3: int, *, batch_norm: bool = True) -> None:
        super().__init__()
        self.branch_conv = _ConvModule(in_channels, ch3, 3, stride=2, batch_norm=batch_norm)
        self.branch_pool = nn.MaxPool2d(kernel_size=3, stride=2)
        self.out_channels = ch3 + in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate both branches along the channel dimension."""
        return torch.cat([self.branch_conv(x), self.branch_pool(x)], dim=1)


class SmallInception(nn.Module):
    """Small Inception network of Zhang et al. (2017), Fig. 3.

    ``Conv96`` (3x3, stride 1, padding 1) → ``Inception(32, 32)`` → ``Inception(32, 48)`` →
    ``Downsample(80)`` → ``Inception(112, 48)`` → ``Inception(96, 64)`` →
    ``Inception(80, 80)`` → ``Inception(48, 96)`` → ``Downsample(96)`` →
    ``Inception(176, 160)`` → ``Inception(176, 160)`` → global mean pool → ``Flatten`` →
    ``Dropout`` (if ``dropout > 0``) → ``Linear(n_classes)``.

    A Conv module is ``Conv2d`` (with bias) → ``BatchNorm2d`` (if ``batch_norm``) → ``ReLU``;
    ``Inception(ch1, ch3)`` concatenates a 1x1 Conv module with ``ch1`` filters and a 3x3
    (padding 1) one with ``ch3`` filters; ``Downsample(ch3)`` concatenates a 3x3 stride-2
    Conv module with ``ch3`` filters and a 3x3 stride-2 max-pool, both unpadded, so each
    shrinks the image to ``(size - 3) // 2 + 1`` (28 → 13 → 6). The global mean pool is
    ``AdaptiveAvgPool2d(1)`` (the paper's 7x7 mean pool on 28x28 CIFAR crops). Images must be
    at least 7x7.

    This network branches, so it is a plain :class:`torch.nn.Module` and not a chain
    (:func:`is_chain` is False).

    Parameters
    ----------
    input_shape : sequence of 3 int
        ``(C, H, W)`` of one image. Flat rows of ``C * H * W`` features are reshaped.
    n_classes : int
        Number of output logits.
    batch_norm : bool, default=True
        Batch normalization in every Conv module; False gives Zhang et al.'s
        "Inception w/o BatchNorm". Biases are kept either way, so :func:`count_parameters`
        is unchanged.
    dropout : float, default=0.0
        Drop probability of a ``Dropout`` before the output layer.

    Attributes
    ----------
    input_shape : tuple of 3 int
        The validated image shape.
    n_classes, batch_norm, dropout
        The validated constructor arguments.
    features : torch.nn.Sequential
        The Conv, Inception and Downsample modules, in order.
    pool, flatten, drop, classifier : torch.nn.Module
        The global mean pool, flattening, dropout (``Identity`` when 0) and output layer.

    Examples
    --------
    >>> import torch
    >>> model = SmallInception((3, 28, 28), 10).eval()
    >>> count_parameters(model)
    1649402
    >>> model(torch.zeros(2, 3, 28, 28)).shape
    torch.Size([2, 10])
    """

    #: Minimum image height and width: two unpadded 3x3 stride-2 downsamplings.
    min_size = 7

    def __init__(
        self,
        input_shape: Sequence[int],
        n_classes: int,
        *,
        batch_norm: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        shape = _check_image_shape(input_shape, name)
        n_classes = check_int(n_classes, "n_classes")
        batch_norm = check_bool(batch_norm, "batch_norm")
        dropout = check_real(dropout, "dropout", 0.0, 1.0, closed="left")
        channels, height, width = shape
        if height < self.min_size or width < self.min_size:
            raise ValueError(
                f"{name} needs images of at least {self.min_size}x{self.min_size} pixels "
                f"(two unpadded 3x3 stride-2 downsamplings), got {height}x{width}."
            )

        bn = batch_norm
        stem = _ConvModule(channels, 96, 3, padding=1, batch_norm=bn)
        blocks: list[nn.Module] = [stem]
        n_in = 96
        plan: list[tuple[str, tuple[int, ...]]] = [
            ("inc", (32, 32)),
            ("inc", (32, 48)),
            ("down", (80,)),
            ("inc", (112, 48)),
            ("inc", (96, 64)),
            ("inc", (80, 80)),
            ("inc", (48, 96)),
            ("down", (96,)),
            ("inc", (176, 160)),
            ("inc", (176, 160)),
        ]
        for kind, sizes in plan:
            block: _InceptionModule | _DownsampleModule
            if kind == "inc":
                block = _InceptionModule(n_in, *sizes, batch_norm=bn)
            else:
                block = _DownsampleModule(n_in, *sizes, batch_norm=bn)
            blocks.append(block)
            n_in = block.out_channels

        self.features = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.drop: nn.Module = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.classifier = nn.Linear(n_in, n_classes)

        self.input_shape = shape
        self.n_classes = n_classes
        self.batch_norm = batch_norm
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return the logits ``(N, n_classes)`` of a flat or image batch ``x``."""
        _check_batch(x, self.input_shape, image=True, owner=type(self).__name__)
        x = x.reshape(x.shape[0], *self.input_shape)
        x = self.pool(self.features(x))
        return self.classifier(self.drop(self.flatten(x)))


# --------------------------------------------------------------------------------------------
# Registry and helpers
# --------------------------------------------------------------------------------------------

ARCHITECTURES: dict[str, type[nn.Module]] = {
    "mlp": MLP,
    "deep_fc": DeepFCNet,
    "small_alexnet": SmallAlexNet,
    "small_inception": SmallInception,
    "convnet": ConvNet,
    "nin": NiN,
}
"""Architecture classes by name, as accepted by :func:`get_architecture`."""


def get_architecture(name: str | type[nn.Module]) -> type[nn.Module]:
    """Return the architecture class called ``name``.

    Parameters
    ----------
    name : str or subclass of torch.nn.Module
        A key of :data:`ARCHITECTURES` (case-insensitive; ``-`` and ``_`` are equivalent),
        or a :class:`torch.nn.Module` subclass, which is returned unchanged.

    Returns
    -------
    type
        The architecture class; build it as ``cls(input_shape, n_classes, **switches)``.

    Raises
    ------
    ValueError
        If ``name`` is not a known architecture name (the message lists the valid ones).
    TypeError
        If ``name`` is neither a string nor a :class:`torch.nn.Module` subclass.

    Examples
    --------
    >>> get_architecture("small_alexnet").__name__
    'SmallAlexNet'
    >>> get_architecture(ConvNet) is ConvNet
    True
    """
    if isinstance(name, str):
        key = name.strip().lower().replace("-", "_")
        if key not in ARCHITECTURES:
            valid = ", ".join(repr(k) for k in ARCHITECTURES)
            raise ValueError(f"Unknown architecture {name!r}; valid names are {valid}.")
        return ARCHITECTURES[key]
    if isinstance(name, type) and issubclass(name, nn.Module):
        return name
    raise TypeError(
        "architecture must be a name (str) or a torch.nn.Module subclass, got "
        f"{type(name).__name__}: {name!r}."
    )


def count_parameters(module: nn.Module, *, include_batch_norm: bool = False) -> int:
    """Number of parameters of ``module``, the way Zhang et al. (2017, Table 1) count them.

    Every parameter tensor (trainable or frozen, counted once even when shared) contributes
    its number of entries; convolution and linear biases are included. Batch-normalization
    scales and shifts are left out unless ``include_batch_norm``; running statistics are
    buffers and never count.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    include_batch_norm : bool, default=False
        Whether to count the affine parameters of batch-normalization layers.

    Returns
    -------
    int
        The parameter count.

    Examples
    --------
    >>> count_parameters(MLP(4, 3, hidden=(5,), batch_norm=True))
    43
    >>> count_parameters(MLP(4, 3, hidden=(5,), batch_norm=True), include_batch_norm=True)
    53
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}.")
    seen: set[int] = set()
    total = 0
    for sub in module.modules():
        if not include_batch_norm and isinstance(sub, _BATCH_NORM_TYPES):
            continue
        for param in sub.parameters(recurse=False):
            if id(param) not in seen:
                seen.add(id(param))
                total += param.numel()
    return total


def is_chain(module: nn.Module | type[nn.Module]) -> bool:
    """Whether ``module`` is a chain: a flat :class:`torch.nn.Sequential` of plain layers.

    A chain runs its children one after the other and none of them contains submodules, so
    iterating over ``module`` visits the layers (weight layers included) in forward order.
    All architectures here are chains except :class:`SmallInception`, which branches.

    Parameters
    ----------
    module : torch.nn.Module or subclass of torch.nn.Module
        A network, or an architecture class. For a class only the base is checked
        (``issubclass(module, nn.Sequential)``), since its layers are not built yet.

    Returns
    -------
    bool
        True for a flat ``nn.Sequential`` (instance whose children have no children, or
        ``nn.Sequential`` subclass), False otherwise.

    Examples
    --------
    >>> is_chain(MLP(4, 2))
    True
    >>> is_chain(SmallInception((3, 8, 8), 2))
    False
    >>> is_chain(get_architecture("convnet"))
    True
    """
    if isinstance(module, type):
        if not issubclass(module, nn.Module):
            raise TypeError(f"Expected a torch.nn.Module or a subclass, got {module!r}.")
        return issubclass(module, nn.Sequential)
    if not isinstance(module, nn.Module):
        raise TypeError(f"Expected a torch.nn.Module or a subclass, got {type(module).__name__}.")
    if not isinstance(module, nn.Sequential):
        return False
    return all(next(child.children(), None) is None for child in module)
