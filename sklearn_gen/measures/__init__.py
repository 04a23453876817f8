"""Measures: pure functions from a fitted estimator (and data) to a number.

Norms, exact conv operator norms, distance from initialization, normalized loss (Liao et
al. 2018), margins, norm- and margin-based generalization bounds (Bartlett et al. 2017,
Neyshabur et al. 2018), path norms, PAC-Bayes flatness (Jiang et al. 2019) and kernel
RKHS norms, and the measures of the ranking papers (Jiang et al. 2020): worst-case and
epsilon sharpness, Hessian top eigenvalue and trace, gradient noise, the heavy-tailed layer
exponent alpha and the optimization speed read from the training history, on any PyTorch
model: the layers view traces the model's graph (residual sums,
concatenations, batch norm anywhere), and a measure that the graph does not meet the
assumptions of raises :class:`UndefinedMeasureError` naming them. Every network measure
reaches the network through :func:`layers_view`; each
has the signature ``measure(estimator, X=None, y=None, *, input_shape=None, **params)``
and accepts a fitted estimator or a wrapper around one, a raw ``torch.nn.Module`` (with
``input_shape``) or a :class:`LayersView`. The measures given one view, and the scorers of
one scoring call, share one forward pass; nothing is kept from one call to the next.
"""

from sklearn_gen.measures._bounds import pac_bayes_bound, spectral_bound
from sklearn_gen.measures._curvature import gradient_noise, hessian_top_eigenvalue, hessian_trace
from sklearn_gen.measures._graph import ChannelAffine, UntracedGraphWarning
from sklearn_gen.measures._kernel import kernel_margin_bound, rkhs_norm
from sklearn_gen.measures._layers import (
    Layer,
    LayersView,
    fold_batch_norm,
    layers_view,
    unwrap_network,
)
from sklearn_gen.measures._margin_utils import UndefinedMeasureError
from sklearn_gen.measures._margins import margin_quantile, margins
from sklearn_gen.measures._normalized_loss import normalized_error, normalized_loss
from sklearn_gen.measures._norms import (
    count_parameters,
    distance_from_init,
    layer_norms,
    path_norm,
    product_norm,
)
from sklearn_gen.measures._operator_norm import spectral_norm
from sklearn_gen.measures._optimization import steps_between_losses, steps_to_loss
from sklearn_gen.measures._sharpness import jiang_pac_bayes_flatness, pac_bayes_flatness
from sklearn_gen.measures._spectra import layer_alphas, layer_eigenvalues, mean_alpha
from sklearn_gen.measures._worst_case import epsilon_sharpness, worst_case_sharpness

__all__ = [
    "ChannelAffine",
    "Layer",
    "LayersView",
    "UndefinedMeasureError",
    "UntracedGraphWarning",
    "count_parameters",
    "distance_from_init",
    "epsilon_sharpness",
    "fold_batch_norm",
    "gradient_noise",
    "hessian_top_eigenvalue",
    "hessian_trace",
    "jiang_pac_bayes_flatness",
    "kernel_margin_bound",
    "layer_alphas",
    "layer_eigenvalues",
    "layer_norms",
    "layers_view",
    "margin_quantile",
    "margins",
    "mean_alpha",
    "normalized_error",
    "normalized_loss",
    "pac_bayes_bound",
    "pac_bayes_flatness",
    "path_norm",
    "product_norm",
    "rkhs_norm",
    "spectral_bound",
    "spectral_norm",
    "steps_between_losses",
    "steps_to_loss",
    "unwrap_network",
    "worst_case_sharpness",
]
