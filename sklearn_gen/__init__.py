"""sklearn_gen: the experiments on why deep networks generalize, as scikit-learn objects.

The public API is re-exported here; the implementation lives in private modules of the
subpackages ``kernels``, ``datasets`` (and, as they land, ``networks``, ``randomization``,
``measures``, ``metrics``, ``experiments``).
"""

from sklearn_gen._version import __version__
from sklearn_gen.datasets import load_mnist
from sklearn_gen.kernels import KernelInterpolationRegressor, KernelInterpolator
from sklearn_gen.networks import FiniteSampleReLU, FiniteSampleReLURegressor, NetworkClassifier
from sklearn_gen.randomization import (
    CenterCrop,
    GaussianPixels,
    LabelNoise,
    PerImageWhitening,
    PixelShuffle,
    RandomPixels,
    RandomPretraining,
    corrupt_labels,
)

__all__ = [
    "CenterCrop",
    "FiniteSampleReLU",
    "FiniteSampleReLURegressor",
    "GaussianPixels",
    "KernelInterpolationRegressor",
    "KernelInterpolator",
    "LabelNoise",
    "NetworkClassifier",
    "PerImageWhitening",
    "PixelShuffle",
    "RandomPixels",
    "RandomPretraining",
    "__version__",
    "corrupt_labels",
    "load_mnist",
]
