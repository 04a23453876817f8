"""The study harness: each paper's experiment declared, run, judged, plotted and reported.

Every function builds only on the public estimators, transformers and measures, and runs
its configurations through joblib (:func:`run_configurations`), so ``n_jobs`` and joblib's
Dask backend scale it out.
"""

from sklearn_gen.studies._common import config_seed, run_configurations
from sklearn_gen.studies._correlation import measure_correlation
from sklearn_gen.studies._fits import linear_fit, loglog_slopes
from sklearn_gen.studies._kernel import kernel_interpolation
from sklearn_gen.studies._normalized_loss import normalized_loss_study
from sklearn_gen.studies._randomization import (
    expressivity,
    randomization_test,
    regularization_ablation,
)
from sklearn_gen.studies._uniform_convergence import (
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
