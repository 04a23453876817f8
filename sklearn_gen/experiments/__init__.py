"""Each paper's experiment as one function returning a tidy pandas DataFrame.

Every function builds only on the public estimators, transformers and measures, and runs
its configurations through joblib (:func:`run_configurations`), so ``n_jobs`` and joblib's
Dask backend scale it out.
"""

from sklearn_gen.experiments._common import config_seed, run_configurations
from sklearn_gen.experiments._correlation import measure_correlation
from sklearn_gen.experiments._fits import linear_fit, loglog_slopes
from sklearn_gen.experiments._kernel import kernel_interpolation
from sklearn_gen.experiments._normalized_loss import normalized_loss_study
from sklearn_gen.experiments._randomization import (
    expressivity,
    randomization_test,
    regularization_ablation,
)
from sklearn_gen.experiments._uniform_convergence import (
    bounds_vs_sample_size,
    hypersphere_projection,
)

__all__ = [
    "bounds_vs_sample_size",
    "config_seed",
    "expressivity",
    "hypersphere_projection",
    "kernel_interpolation",
    "linear_fit",
    "loglog_slopes",
    "measure_correlation",
    "normalized_loss_study",
    "randomization_test",
    "regularization_ablation",
    "run_configurations",
]
