"""DataFrame -> matplotlib Figure, one function per experiment, in the style of the paper."""

from sklearn_gen.studies.plotting._kernel_normalized import (
    plot_kernel_interpolation,
    plot_measure_correlation,
    plot_normalized_loss_study,
)
from sklearn_gen.studies.plotting._linear_example import plot_linear_example
from sklearn_gen.studies.plotting._measure_ranking import plot_measure_ranking
from sklearn_gen.studies.plotting._randomization import (
    plot_expressivity,
    plot_randomization_test,
    plot_regularization_ablation,
)
from sklearn_gen.studies.plotting._uniform_convergence import (
    plot_bounds_vs_sample_size,
    plot_hypersphere_projection,
)

__all__ = [
    "plot_bounds_vs_sample_size",
    "plot_expressivity",
    "plot_hypersphere_projection",
    "plot_kernel_interpolation",
    "plot_linear_example",
    "plot_measure_correlation",
    "plot_measure_ranking",
    "plot_normalized_loss_study",
    "plot_randomization_test",
    "plot_regularization_ablation",
]
