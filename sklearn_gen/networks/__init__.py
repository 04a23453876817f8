"""Networks: NetworkClassifier (skorch), the papers' architectures, FiniteSampleReLU and the
gradient-descent linear classifier of Nagarajan & Kolter's counterexample."""

from sklearn_gen.networks._classifier import NetworkClassifier
from sklearn_gen.networks._finite_sample import FiniteSampleReLU, FiniteSampleReLURegressor
from sklearn_gen.networks._linear_gd import GradientDescentLinearClassifier

__all__ = [
    "FiniteSampleReLU",
    "FiniteSampleReLURegressor",
    "GradientDescentLinearClassifier",
    "NetworkClassifier",
]
