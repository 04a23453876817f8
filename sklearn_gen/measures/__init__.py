"""Measures: pure functions from a fitted estimator (and data) to a number.

Norms, exact conv operator norms, distance from initialization, normalized loss (Liao et
al. 2018), margins, norm- and margin-based generalization bounds (Bartlett et al. 2017,
Neyshabur et al. 2018), path norms, PAC-Bayes sharpness (Jiang et al. 2019) and kernel
RKHS norms. Every measure reaches the network through :func:`layers_view`.
"""

from sklearn_gen.measures._layers import Layer, LayersView, fold_batch_norm, layers_view
from sklearn_gen.measures._operator_norm import spectral_norm

__all__ = ["Layer", "LayersView", "fold_batch_norm", "layers_view", "spectral_norm"]
