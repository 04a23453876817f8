"""sklearn_gen: the experiments on why deep networks generalize, as scikit-learn objects.

The public API is re-exported here: the estimators, transformers and loaders a user calls,
and :func:`~sklearn_gen.fit_pack` / :func:`~sklearn_gen.fit_many`; the plumbing
(``pack_key``, ``group_packs``, ...) stays in its subpackage. The implementation lives in
private modules of the subpackages ``kernels``, ``datasets``, ``networks``,
``randomization``, ``measures``, ``metrics`` and the study harness ``studies`` (its figures
in ``studies.plotting``).

The names and subpackages load lazily, on first use (PEP 562): ``import sklearn_gen`` costs
next to nothing, ``from sklearn_gen import NetworkClassifier`` imports what that class
needs (torch, scikit-learn, skorch), and pandas' and matplotlib's harness code loads only
with ``sklearn_gen.studies`` or ``sklearn_gen.studies.plotting``.

Examples
--------
>>> import sklearn_gen
>>> sklearn_gen.LabelNoise.__name__
'LabelNoise'
>>> "NetworkClassifier" in dir(sklearn_gen)
True
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from sklearn_gen._version import __version__

if TYPE_CHECKING:  # what static tools see; at run time __getattr__ imports on first use
    from sklearn_gen.datasets import load_mnist
    from sklearn_gen.kernels import KernelInterpolationRegressor, KernelInterpolator
    from sklearn_gen.networks import (
        FiniteSampleReLU,
        FiniteSampleReLURegressor,
        GradientDescentLinearClassifier,
        NetworkClassifier,
        fit_many,
        fit_pack,
    )
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

#: Public name -> the subpackage that defines it.
_EXPORTS = {
    "CenterCrop": "randomization",
    "FiniteSampleReLU": "networks",
    "FiniteSampleReLURegressor": "networks",
    "GradientDescentLinearClassifier": "networks",
    "GaussianPixels": "randomization",
    "KernelInterpolationRegressor": "kernels",
    "KernelInterpolator": "kernels",
    "LabelNoise": "randomization",
    "NetworkClassifier": "networks",
    "PerImageWhitening": "randomization",
    "PixelShuffle": "randomization",
    "RandomPixels": "randomization",
    "RandomPretraining": "randomization",
    "corrupt_labels": "randomization",
    "fit_many": "networks",
    "fit_pack": "networks",
    "load_mnist": "datasets",
}
_SUBPACKAGES = frozenset(
    {
        "cli",
        "datasets",
        "kernels",
        "measures",
        "metrics",
        "networks",
        "studies",
        "randomization",
        "scaling",
    }
)

__all__ = [
    "CenterCrop",
    "FiniteSampleReLU",
    "FiniteSampleReLURegressor",
    "GaussianPixels",
    "GradientDescentLinearClassifier",
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
    "fit_many",
    "fit_pack",
    "load_mnist",
]


def __getattr__(name: str) -> Any:
    """Import a public name or a subpackage on first access (PEP 562)."""
    if name in _EXPORTS:
        value = getattr(import_module(f"sklearn_gen.{_EXPORTS[name]}"), name)
        globals()[name] = value  # later accesses skip this function
        return value
    if name in _SUBPACKAGES:
        return import_module(f"sklearn_gen.{name}")
    raise AttributeError(f"module 'sklearn_gen' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBPACKAGES})
