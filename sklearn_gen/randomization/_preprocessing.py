"""Zhang et al.'s CIFAR-10 preprocessing: central crop and per-image whitening.

Zhang, Bengio, Hardt, Recht and Vinyals (2017), "Understanding deep learning requires
rethinking generalization", Appendix A: "the CIFAR10 images are preprocessed by cropping
the center 28 × 28, and then normalized by per_image_whitening" (TensorFlow's
``tf.image.per_image_whitening``, now ``per_image_standardization``). Both are stateless
transformers on flat, channels-first images.
"""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import numpy as np
from sklearn.base import OneToOneFeatureMixin

from sklearn_gen._validation import Custom, ImageShape, InvalidParameterError
from sklearn_gen.randomization._base import FlatImageTransformer
from sklearn_gen.randomization._validation import check_image_shape, feature_names_in


def _check_size(value: Any, name: str) -> tuple[int, int]:
    """``value`` as ``(height, width)``: a positive int or a pair of them."""
    size = value
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size, size)
    if (
        not isinstance(size, tuple | list)
        or len(size) != 2
        or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1 for s in size
        )
    ):
        raise InvalidParameterError(
            f"{name} must be a positive int or a pair of positive ints (h, w), got {value!r}."
        )
    return int(size[0]), int(size[1])


class CenterCrop(FlatImageTransformer):
    """Keep the central ``h x w`` patch of every channel of flat ``(C, H, W)`` images.

    Zhang et al. (2017, Appendix A) crop "the center 28 × 28" of the 32 × 32 CIFAR-10
    images. The crop starts at row ``(H - h) // 2`` and column ``(W - w) // 2`` (as
    TensorFlow's ``resize_image_with_crop_or_pad``). Input and output are flat,
    channels first (C-order: channel, row, column): ``(n_samples, C*H*W)`` in,
    ``(n_samples, C*h*w)`` out. Stateless: ``fit`` only checks the shapes, and
    ``transform`` works without it.

    Parameters
    ----------
    input_shape : tuple of 3 ints (C, H, W)
        Shape of one input image, channels first; ``C*H*W`` must equal ``n_features``.
        One entry may be -1, inferred from ``n_features`` (as in ``numpy.reshape``), e.g.
        ``(-1, 32, 32)`` for any number of channels.
    size : int or tuple of 2 ints (h, w)
        Side of the square crop, or its height and width; at most the image's.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names seen in ``fit`` (DataFrame input only).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gen.randomization import CenterCrop
    >>> X = np.arange(2 * 4 * 4, dtype=float)[None, :]  # one 2-channel 4x4 image
    >>> crop = CenterCrop(input_shape=(2, 4, 4), size=2).fit(X)
    >>> crop.transform(X)
    array([[ 5.,  6.,  9., 10., 21., 22., 25., 26.]])
    >>> crop.get_feature_names_out()[:2].tolist()
    ['x5', 'x6']
    """

    _param_checks: ClassVar[dict[str, Any]] = {
        "input_shape": ImageShape(),
        "size": Custom(_check_size, bad_value=0),
    }

    def __init__(self, input_shape: tuple[int, int, int], size: int | tuple[int, int]) -> None:
        self.input_shape = input_shape
        self.size = size

    def _box(self, n_features: int | None) -> tuple[tuple[int, int, int], int, int, int, int]:
        """``(C, H, W)``, and top, left, height and width of the crop."""
        shape = check_image_shape(self.input_shape, n_features)
        height, width = _check_size(self.size, "size")
        _, rows, cols = shape
        if height > rows or width > cols:
            raise ValueError(
                f"size={self.size!r} asks for a {height}x{width} crop, larger than the "
                f"{rows}x{cols} images of input_shape={shape}."
            )
        return shape, (rows - height) // 2, (cols - width) // 2, height, width

    def _kept(self, n_features: int | None) -> np.ndarray:
        """Indices of the kept features, in output order."""
        (channels, rows, cols), top, left, height, width = self._box(n_features)
        grid = np.arange(channels * rows * cols).reshape(channels, rows, cols)
        return grid[:, top : top + height, left : left + width].ravel()

    def fit(self, X: Any, y: Any = None) -> CenterCrop:
        """Check ``input_shape`` and ``size`` against ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, C*H*W)
            Flat images, channels first.
        y : None
            Ignored.

        Returns
        -------
        self : CenterCrop
        """
        X = self._validate(X, reset=True)
        self._box(X.shape[1])
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Crop the centre of every image.

        Parameters
        ----------
        X : array-like of shape (n_samples, C*H*W)
            Flat images, channels first.

        Returns
        -------
        X_new : ndarray of shape (n_samples, C*h*w)
            Flat cropped images, channels first, in the dtype of ``X``.
        """
        X = self._validate(X, reset=False)
        (channels, rows, cols), top, left, height, width = self._box(X.shape[1])
        images = X.reshape(len(X), channels, rows, cols)
        return images[:, :, top : top + height, left : left + width].reshape(len(X), -1)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the kept input features (pixels), in output order.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input feature names; None means ``feature_names_in_`` or ``x0, x1, ...``.

        Returns
        -------
        names : ndarray of str objects
        """
        if not hasattr(self, "n_features_in_") and input_features is None:
            shape = check_image_shape(self.input_shape)
            if -1 not in shape:  # stateless: the names follow from input_shape
                input_features = [f"x{i}" for i in range(int(np.prod(shape)))]
        names = feature_names_in(self, input_features)
        return names[self._kept(len(names))]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags


class PerImageWhitening(OneToOneFeatureMixin, FlatImageTransformer):
    """Standardize each image by its own mean and standard deviation.

    TensorFlow's ``per_image_whitening`` (now ``per_image_standardization``), used by
    Zhang et al. (2017, Appendix A) on CIFAR-10: each sample ``x`` with ``N`` values
    becomes ``(x - mean(x)) / max(std(x), 1 / sqrt(N))``, with the population standard
    deviation; the floor ``1 / sqrt(N)`` keeps constant images finite (they become 0).
    Stateless: ``fit`` only records the number of features, and ``transform`` works
    without it. Computed in float64, returned in the dtype of ``X``.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names seen in ``fit`` (DataFrame input only).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gen.randomization import PerImageWhitening
    >>> X = np.array([[0.0, 2.0, 4.0, 6.0], [3.0, 3.0, 3.0, 3.0]])
    >>> Xw = PerImageWhitening().fit_transform(X)
    >>> Xw.round(3)
    array([[-1.342, -0.447,  0.447,  1.342],
           [ 0.   ,  0.   ,  0.   ,  0.   ]])
    >>> round(float(Xw[0].mean()), 6), round(float(Xw[0].std()), 6)
    (0.0, 1.0)
    """

    def transform(self, X: Any) -> np.ndarray:
        """Standardize each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flat images.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
        """
        X = self._validate(X, reset=False)
        values = np.asarray(X, dtype=np.float64)
        mean = values.mean(axis=1, keepdims=True)
        std = values.std(axis=1, keepdims=True)
        floor = 1.0 / np.sqrt(values.shape[1])
        return ((values - mean) / np.maximum(std, floor)).astype(X.dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        return tags
