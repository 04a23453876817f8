"""Data: loaders for the standard files (MNIST IDX), generators, and ``load_dataset``."""

from sklearn_gen.datasets._hyperspheres import make_hyperspheres, project_to_other_sphere
from sklearn_gen.datasets._mnist import load_mnist
from sklearn_gen.datasets._registry import Dataset, load_dataset

__all__ = [
    "Dataset",
    "load_dataset",
    "load_mnist",
    "make_hyperspheres",
    "project_to_other_sphere",
]
