"""The study harness: each paper's experiment declared, run, judged, plotted and reported.

Each study is a declaration (:class:`Study`: the estimator built from the public objects,
the grid, the repeats, the scoring) executed by one runner, :func:`run_study`, through
scikit-learn (``ParameterGrid``, ``clone``, ``cross_validate``) and joblib (``Parallel``,
``Memory`` for resuming), so ``n_jobs`` and joblib's Dask backend scale it out. The public
one-line functions (``randomization_test(...)``, ...) are thin calls of it, re-exported by
:mod:`sklearn_gen.studies`; the core (estimators, measures, scorers, data) never imports
this package.
"""

from sklearn_gen.studies._common import config_seed, run_configurations
from sklearn_gen.studies._correlation import measure_correlation
from sklearn_gen.studies._fits import linear_fit, loglog_slopes
from sklearn_gen.studies._fragility import fragility_audit
from sklearn_gen.studies._kernel import kernel_interpolation
from sklearn_gen.studies._linear_example import linear_example
from sklearn_gen.studies._measure_ranking import measure_ranking, zoo_frame
from sklearn_gen.studies._normalized_loss import normalized_loss_study
from sklearn_gen.studies._pgdl import pgdl_score
from sklearn_gen.studies._randomization import (
    expressivity,
    randomization_test,
    regularization_ablation,
)
from sklearn_gen.studies._ranking import (
    compare_measures,
    conditional_mutual_information,
    rank_measures,
    robust_sign_error,
)
from sklearn_gen.studies._study import (
    Study,
    StudyData,
    configuration_packs,
    run_study,
    seed_estimator,
)
from sklearn_gen.studies._uniform_convergence import (
    bounds_vs_sample_size,
    hypersphere_projection,
)

__all__ = [
    "Study",
    "StudyData",
    "bounds_vs_sample_size",
    "compare_measures",
    "conditional_mutual_information",
    "config_seed",
    "configuration_packs",
    "expressivity",
    "fragility_audit",
    "hypersphere_projection",
    "kernel_interpolation",
    "linear_example",
    "linear_fit",
    "loglog_slopes",
    "measure_correlation",
    "measure_ranking",
    "normalized_loss_study",
    "pgdl_score",
    "randomization_test",
    "rank_measures",
    "regularization_ablation",
    "robust_sign_error",
    "run_configurations",
    "run_study",
    "seed_estimator",
    "zoo_frame",
]
