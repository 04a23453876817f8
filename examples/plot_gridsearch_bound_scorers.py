"""
Generalization bounds as scorers in a grid search
=================================================

The measures of :mod:`sklearn_gen.measures` are scorers, so ``GridSearchCV`` reads a
network's spectral bound on the training folds next to its accuracy. With
``return_train_score=True``, :func:`~sklearn_gen.studies.measure_correlation` then
asks how well the (negated) bound ranks the models by their generalization gap: Kendall's
tau and the granulated coefficient Psi of Jiang et al. (2019).
"""

# %%
# The bound is defined only where the network fits the sample (its margin quantile is
# positive). That holds on the training folds, which is where it is read here; on the
# held-out folds scikit-learn records NaN and warns, so those warnings are silenced.
import warnings

from sklearn.model_selection import GridSearchCV

from sklearn_gen import NetworkClassifier
from sklearn_gen.datasets import load_dataset
from sklearn_gen.metrics import make_scoring
from sklearn_gen.studies import measure_correlation
from sklearn_gen.studies.plotting import plot_measure_correlation

data = load_dataset("digits", n_samples=600, random_state=0)
net = NetworkClassifier(
    "mlp", lr=0.1, max_epochs=300, stop_on_interpolation=True, device="cpu", random_state=0
)
warnings.filterwarnings("ignore", message="Scoring failed", category=UserWarning)
warnings.filterwarnings("ignore", message="One or more of the test scores", category=UserWarning)
search = GridSearchCV(
    net,
    {"lr": [0.02, 0.1], "module__hidden": [(32,), (128,)]},
    scoring=make_scoring("accuracy", "neg_spectral_bound"),
    refit="accuracy",
    cv=3,
    return_train_score=True,
).fit(data.X, data.y)
print("best parameters:", search.best_params_)

# %%
# The gap is train accuracy minus test accuracy; the bound is read on the training folds.
table = measure_correlation(
    search.cv_results_,
    "mean_train_neg_spectral_bound",
    gap=("mean_train_accuracy", "mean_test_accuracy"),
    hyperparameters=["param_lr", "param_module__hidden"],
)
print(table.round(3).T)

# %%
fig = plot_measure_correlation(table)
