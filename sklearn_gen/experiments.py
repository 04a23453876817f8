"""The papers' experiments as one-line functions, each returning a tidy pandas DataFrame.

The public home of the study functions (``randomization_test(...)``, ...). They are thin
calls of the study harness, :mod:`sklearn_gen.studies`, which declares each study and runs
it through scikit-learn and joblib.
"""

from sklearn_gen.studies import (
    bounds_vs_sample_size,
    config_seed,
    expressivity,
    hypersphere_projection,
    kernel_interpolation,
    linear_fit,
    loglog_slopes,
    measure_correlation,
    nagarajan_linear_example,
    normalized_loss_study,
    randomization_test,
    regularization_ablation,
    run_configurations,
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
    "nagarajan_linear_example",
    "normalized_loss_study",
    "randomization_test",
    "regularization_ablation",
    "run_configurations",
]
