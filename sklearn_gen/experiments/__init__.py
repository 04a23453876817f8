"""Each paper's experiment as one function returning a tidy pandas DataFrame.

Every function builds only on the public estimators, transformers and measures, and runs
its configurations through joblib (:func:`run_configurations`), so ``n_jobs`` and joblib's
Dask backend scale it out.
"""

from sklearn_gen.experiments._common import config_seed, run_configurations

__all__ = ["config_seed", "run_configurations"]
