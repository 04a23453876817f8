"""Input randomizations of Zhang et al. (2017, Sec. 2): shuffled, random and Gaussian pixels.

Zhang, Bengio, Hardt, Recht and Vinyals (2017), "Understanding deep learning requires
rethinking generalization", Sec. 2, destroy the structure of the images while keeping
the labels:

- *shuffled pixels*: "a random permutation of the pixels is chosen and then the same
  permutation is applied to all the images in both training and test set"
  (:class:`PixelShuffle`);
- *random pixels*: "a different random permutation is applied to each image
  independently" (:class:`RandomPixels`);
- *Gaussian*: "a Gaussian distribution (with matching mean and variance to the original
  image dataset) is used to generate random pixels for each image"
  (:class:`GaussianPixels`).

Each is a transformer on flat images (``X`` of shape ``(n_samples, n_features)``), so it
composes with any estimator in a ``Pipeline``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import ndtri
from sklearn.base import OneToOneFeatureMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from sklearn_gen._validation import Bool, ImageShape, Seed
from sklearn_gen.randomization._base import FlatImageTransformer
from sklearn_gen.randomization._streams import (
    row_blocks,
    row_random_bits,
    stream_seed,
    uniform_open,
)
from sklearn_gen.randomization._validation import check_image_shape, feature_names_in

_PER_SAMPLE_RANDOMNESS_DOC = """
    Each sample's randomness is a deterministic function of its values and of one seed
    drawn from ``random_state`` at each ``transform`` (a per-sample stream seeded by a
    hash of the sample's values): the result for a sample does not depend on the other
    samples of the batch or on its position, so transforming a subset gives the rows of
    the full transform, and a test image does not get the same draw as the training image
    that happens to sit at the same row. With an int ``random_state``, transforming the
    same array twice gives the same result (``fit_transform(X)`` equals
    ``fit(X).transform(X)``); with a ``RandomState`` instance or None each ``transform``
    call draws afresh. Two identical images get identical results.
"""


class PixelShuffle(FlatImageTransformer):
    """One random permutation of the features, the same for every sample (shuffled pixels).

    Zhang et al. (2017, Sec. 2), *shuffled pixels*: "a random permutation of the pixels is
    chosen and then the same permutation is applied to all the images in both training
    and test set". The permutation is drawn in ``fit`` and reused by every ``transform``,
    so in a ``Pipeline`` the training and the test images are shuffled alike. Each
    feature (each entry of the flat image, a channel value of a pixel for colour images)
    is permuted.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Seeds the permutation drawn in ``fit``.

    Attributes
    ----------
    permutation_ : ndarray of int of shape (n_features,)
        Output feature ``j`` is input feature ``permutation_[j]``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names seen in ``fit`` (DataFrame input only).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gen.randomization import PixelShuffle
    >>> X_train, X_test = np.arange(12.0).reshape(3, 4), np.arange(4.0)[None, :]
    >>> shuffle = PixelShuffle(random_state=0).fit(X_train)
    >>> shuffle.permutation_
    array([2, 3, 1, 0])
    >>> shuffle.transform(X_test)
    array([[2., 3., 1., 0.]])
    >>> shuffle.get_feature_names_out().tolist()
    ['x2', 'x3', 'x1', 'x0']
    """

    _param_checks: ClassVar[dict[str, Any]] = {"random_state": Seed()}

    def __init__(self, random_state: int | np.random.RandomState | None = None) -> None:
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> PixelShuffle:
        """Draw the permutation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flat images.
        y : None
            Ignored.

        Returns
        -------
        self : PixelShuffle
        """
        X = self._validate(X, reset=True)
        self.permutation_ = check_random_state(self.random_state).permutation(X.shape[1])
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Permute the features of every sample with ``permutation_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flat images.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "permutation_")
        X = self._validate(X, reset=False)
        return X[:, self.permutation_]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output features: the input names in permuted order.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input feature names; None means ``feature_names_in_`` or ``x0, x1, ...``.

        Returns
        -------
        names : ndarray of str objects
        """
        check_is_fitted(self, "permutation_")
        return feature_names_in(self, input_features)[self.permutation_]


class RandomPixels(OneToOneFeatureMixin, FlatImageTransformer):
    __doc__ = (
        """A fresh random permutation of the features for each sample (random pixels).

    Zhang et al. (2017, Sec. 2), *random pixels*: "a different random permutation is
    applied to each image independently". Applied at ``transform`` time to training and
    test images alike; each sample keeps its multiset of values (its sorted values). The
    permutations come from an argsort of a random matrix and ``np.take_along_axis``, by
    blocks of rows.
"""
        + _PER_SAMPLE_RANDOMNESS_DOC
        + """
    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Seeds the permutations, resolved at each ``transform``.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names seen in ``fit`` (DataFrame input only).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gen.randomization import RandomPixels
    >>> X = np.arange(12.0).reshape(3, 4)
    >>> Xr = RandomPixels(random_state=0).fit_transform(X)
    >>> bool(np.array_equal(np.sort(Xr, axis=1), X))
    True
    >>> bool(np.array_equal(RandomPixels(random_state=0).fit(X).transform(X), Xr))
    True
    """
    )

    _param_checks: ClassVar[dict[str, Any]] = {"random_state": Seed()}

    def __init__(self, random_state: int | np.random.RandomState | None = None) -> None:
        self.random_state = random_state

    def transform(self, X: Any) -> np.ndarray:
        """Permute the features of each sample with its own random permutation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flat images.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "n_features_in_")
        X = self._validate(X, reset=False)
        seed = stream_seed(self.random_state)
        out = np.empty_like(X)
        n_features = X.shape[1]
        for rows in row_blocks(X.shape[0], n_features):
            block = X[rows]
            order = np.argsort(row_random_bits(block, seed, n_features), axis=1)
            out[rows] = np.take_along_axis(block, order, axis=1)
        return out


class GaussianPixels(OneToOneFeatureMixin, FlatImageTransformer):
    __doc__ = (
        """Replace every image by Gaussian noise with the data set's mean and variance.

    Zhang et al. (2017, Sec. 2), *Gaussian*: "a Gaussian distribution (with matching mean
    and variance to the original image dataset) is used to generate random pixels for
    each image". ``fit`` learns the mean and the variance of all the pixel values of the
    training data (one pair overall, or one per channel with ``per_channel=True``);
    ``transform`` returns i.i.d. Gaussian pixels with those moments, of the shape of its
    input (the input values only seed the draw, see below).
"""
        + _PER_SAMPLE_RANDOMNESS_DOC
        + """
    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Seeds the noise, resolved at each ``transform``.
    per_channel : bool, default=False
        Learn one mean and variance per channel (needs ``input_shape``) instead of one
        over all the pixel values.
    input_shape : tuple of 3 ints (C, H, W), default=None
        Shape of one image, channels first; the flat features are ``C*H*W`` values in
        C-order (channel, row, column). Required when ``per_channel=True``; when given it
        must match the number of features. One entry may be -1, inferred from
        ``n_features`` (as in ``numpy.reshape``).

    Attributes
    ----------
    mean_ : float or ndarray of shape (C,)
        Mean of the training pixel values (per channel when ``per_channel=True``).
    var_ : float or ndarray of shape (C,)
        Variance (``ddof=0``) of the training pixel values (per channel when
        ``per_channel=True``).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names seen in ``fit`` (DataFrame input only).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gen.randomization import GaussianPixels
    >>> X = np.random.RandomState(0).uniform(size=(500, 64))
    >>> gauss = GaussianPixels(random_state=0).fit(X)
    >>> round(float(gauss.mean_), 2), round(float(gauss.var_), 3)
    (0.5, 0.084)
    >>> Xg = gauss.transform(X)
    >>> Xg.shape
    (500, 64)
    >>> round(float(Xg.mean()), 2), round(float(Xg.var()), 3)
    (0.5, 0.084)
    """
    )

    _param_checks: ClassVar[dict[str, Any]] = {
        "input_shape": ImageShape(none=True),
        "per_channel": Bool(),
        "random_state": Seed(),
    }

    def __init__(
        self,
        random_state: int | np.random.RandomState | None = None,
        per_channel: bool = False,
        input_shape: tuple[int, int, int] | None = None,
    ) -> None:
        self.random_state = random_state
        self.per_channel = per_channel
        self.input_shape = input_shape

    def _channel_shape(self, n_features: int) -> tuple[int, int, int] | None:
        if self.input_shape is None:
            if self.per_channel:
                raise ValueError(
                    "per_channel=True needs input_shape=(C, H, W) to know which features "
                    "belong to which channel."
                )
            return None
        return check_image_shape(self.input_shape, n_features)

    def fit(self, X: Any, y: Any = None) -> GaussianPixels:
        """Learn the mean and the variance of the pixel values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flat images (channels first when ``per_channel=True``).
        y : None
            Ignored.

        Returns
        -------
        self : GaussianPixels
        """
        X = self._validate(X, reset=True)
        shape = self._channel_shape(X.shape[1])
        values = np.asarray(X, dtype=np.float64)
        if self.per_channel:
            values = values.reshape(len(values), shape[0], -1)
            self.mean_ = values.mean(axis=(0, 2))
            self.var_ = values.var(axis=(0, 2))
        else:
            self.mean_ = float(values.mean())
            self.var_ = float(values.var())
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Gaussian noise of the shape of ``X`` with the learned moments.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flat images; their values only seed the noise.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            In the dtype of ``X``.
        """
        check_is_fitted(self, ("mean_", "var_"))
        X = self._validate(X, reset=False)
        n_features = X.shape[1]
        if self.per_channel:
            per_channel = n_features // len(self.mean_)
            loc = np.repeat(self.mean_, per_channel)
            scale = np.repeat(np.sqrt(self.var_), per_channel)
        else:
            loc, scale = self.mean_, np.sqrt(self.var_)
        seed = stream_seed(self.random_state)
        out = np.empty_like(X)
        for rows in row_blocks(X.shape[0], n_features):
            noise = ndtri(uniform_open(row_random_bits(X[rows], seed, n_features)))
            out[rows] = loc + scale * noise
        return out
