"""Data: loaders for the standard files (MNIST/Fashion-MNIST IDX, CIFAR-10/100 pickles read
through a restricted unpickler), their official splits, generators, and ``load_dataset``."""

from sklearn_gen.datasets._cifar import load_cifar10, load_cifar100
from sklearn_gen.datasets._hyperspheres import make_hyperspheres, project_to_other_sphere
from sklearn_gen.datasets._linear_example import (
    make_linear_counterexample,
    negate_noise,
    signal_direction,
)
from sklearn_gen.datasets._mnist import load_fashion_mnist, load_mnist
from sklearn_gen.datasets._registry import Dataset, load_dataset
from sklearn_gen.datasets._safe_pickle import RestrictedUnpickler, UnsafePickleError

__all__ = [
    "Dataset",
    "RestrictedUnpickler",
    "UnsafePickleError",
    "load_cifar10",
    "load_cifar100",
    "load_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "make_hyperspheres",
    "make_linear_counterexample",
    "negate_noise",
    "project_to_other_sphere",
    "signal_direction",
]
