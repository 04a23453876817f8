"""DataFrame -> matplotlib Figure, one function per study, in the style of the paper.

The public home of the plotting functions; they live in :mod:`sklearn_gen.studies.plotting`.
"""

from sklearn_gen.studies.plotting import (
    plot_bounds_vs_sample_size,
    plot_expressivity,
    plot_hypersphere_projection,
    plot_kernel_interpolation,
    plot_linear_example,
    plot_measure_correlation,
    plot_normalized_loss_study,
    plot_randomization_test,
    plot_regularization_ablation,
)

__all__ = [
    "plot_bounds_vs_sample_size",
    "plot_expressivity",
    "plot_hypersphere_projection",
    "plot_kernel_interpolation",
    "plot_linear_example",
    "plot_measure_correlation",
    "plot_normalized_loss_study",
    "plot_randomization_test",
    "plot_regularization_ablation",
]
