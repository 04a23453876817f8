"""Dataset loaders: read the standard files of the datasets used in the experiments."""

from sklearn_gen.datasets._mnist import load_mnist

__all__ = ["load_mnist"]
