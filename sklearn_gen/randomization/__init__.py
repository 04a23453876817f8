"""Randomization tests of Zhang et al. (2017) as sklearn objects.

"Understanding deep learning requires rethinking generalization" (Zhang, Bengio, Hardt,
Recht, Vinyals, ICLR 2017) trains the same models on corrupted data: partially
corrupted or random labels (:class:`LabelNoise`, :func:`corrupt_labels`), and shuffled,
random or Gaussian pixels (:class:`PixelShuffle`, :class:`RandomPixels`,
:class:`GaussianPixels`), with their CIFAR-10 preprocessing (:class:`CenterCrop`,
:class:`PerImageWhitening`). Liao et al. (2018) pretrain on corrupted labels first
(:class:`RandomPretraining`). Nothing here knows about networks: every object wraps or
feeds any sklearn estimator (RandomPretraining any that trains in epochs).
"""

from sklearn_gen.randomization._labels import LabelNoise, corrupt_labels, fitted_labels
from sklearn_gen.randomization._pixels import GaussianPixels, PixelShuffle, RandomPixels
from sklearn_gen.randomization._preprocessing import CenterCrop, PerImageWhitening
from sklearn_gen.randomization._pretraining import RandomPretraining

__all__ = [
    "CenterCrop",
    "GaussianPixels",
    "LabelNoise",
    "PerImageWhitening",
    "PixelShuffle",
    "RandomPixels",
    "RandomPretraining",
    "corrupt_labels",
    "fitted_labels",
]
