"""Networks: NetworkClassifier (skorch), the papers' architectures, FiniteSampleReLU, the
gradient-descent linear classifier of Nagarajan & Kolter's counterexample, and packs: many
networks of one architecture trained at once (:func:`fit_pack`), and
:class:`RecordInitialParams`, the callback that lets any skorch net keep its initial
weights for the measures."""

from sklearn_gen.networks._callbacks import RecordInitialParams
from sklearn_gen.networks._classifier import NetworkClassifier
from sklearn_gen.networks._finite_sample import FiniteSampleReLU, FiniteSampleReLURegressor
from sklearn_gen.networks._linear_gd import GradientDescentLinearClassifier
from sklearn_gen.networks._stacked import fit_many, fit_pack, group_packs, pack_key, pack_refusal

__all__ = [
    "FiniteSampleReLU",
    "FiniteSampleReLURegressor",
    "GradientDescentLinearClassifier",
    "NetworkClassifier",
    "RecordInitialParams",
    "fit_many",
    "fit_pack",
    "group_packs",
    "pack_key",
    "pack_refusal",
]
