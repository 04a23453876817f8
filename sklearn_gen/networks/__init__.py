"""Networks: NetworkClassifier (skorch), the papers' architectures and FiniteSampleReLU."""

from sklearn_gen.networks._classifier import NetworkClassifier
from sklearn_gen.networks._finite_sample import FiniteSampleReLU, FiniteSampleReLURegressor

__all__ = ["FiniteSampleReLU", "FiniteSampleReLURegressor", "NetworkClassifier"]
