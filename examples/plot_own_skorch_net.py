"""
Measures and bounds on your own skorch net in a grid search
===========================================================

The measures read any PyTorch model: they trace its graph (``torch.fx``), fold its batch
norms and apply each measure where its assumptions hold. Here a plain skorch
``NeuralNetClassifier`` with a module written by hand (attributes and a custom
``forward``, not a package architecture) goes through ``GridSearchCV`` with bound, norm and
margin scorers. The one thing it carries for the package is the callback
:class:`~sklearn_gen.networks.RecordInitialParams`, which keeps the weights each fit starts
from, so that the distance from initialization and the bounds (which measure
``W - W0``) are defined on every fold.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from skorch import NeuralNetClassifier
from torch import nn

from sklearn_gen.metrics import make_scoring
from sklearn_gen.networks import RecordInitialParams


class MyMLP(nn.Module):
    """A network as a researcher writes it: layers as attributes, a custom forward."""

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.relu(self.fc2(F.relu(self.fc1(x)))))


X, y = load_digits(return_X_y=True)
X = (X[:450] / 16).astype(np.float32)
y = y[:450]
torch.manual_seed(0)
net = NeuralNetClassifier(
    MyMLP,
    criterion=nn.CrossEntropyLoss,  # the module returns logits
    max_epochs=50,
    lr=0.1,
    batch_size=50,
    train_split=None,
    iterator_train__shuffle=True,
    callbacks=[RecordInitialParams()],
    verbose=0,
)

# %%
# Bounds describe a fitted model on its sample: read them on the training folds. On a
# held-out fold where the network misclassifies more than a tenth of the points the margin
# quantile is negative, the bound undefined, and scikit-learn records NaN and warns.
warnings.filterwarnings("ignore", message="One or more of the t", category=UserWarning)
scoring = make_scoring(
    "accuracy",
    "neg_spectral_bound",
    "neg_pac_bayes_bound",
    "neg_distance_from_init",
    "neg_path_norm",
    "margin_quantile",
)
search = GridSearchCV(
    net,
    {"module__hidden": [32, 256], "lr": [0.1, 0.3]},
    scoring=scoring,
    refit="accuracy",
    cv=3,
    return_train_score=True,
).fit(X, y)

results = pd.DataFrame(search.cv_results_)
table = pd.DataFrame(
    {
        "hidden": results["param_module__hidden"],
        "lr": results["param_lr"],
        "train acc": results["mean_train_accuracy"],
        "test acc": results["mean_test_accuracy"],
        "spectral bound": -results["mean_train_neg_spectral_bound"],
        "PAC-Bayes bound": -results["mean_train_neg_pac_bayes_bound"],
        "distance from init": -results["mean_train_neg_distance_from_init"],
        "path norm": -results["mean_train_neg_path_norm"],
    }
)
print(table.round(3).to_string(index=False))

# %%
# Each dot is one setting of the grid: its generalization gap (train minus test accuracy)
# against the spectral bound and the distance from initialization, both read on the
# training folds.
gap = table["train acc"] - table["test acc"]
fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), layout="constrained")
for ax, column in zip(axes, ["spectral bound", "distance from init"], strict=True):
    ax.scatter(table[column], gap, c=np.log(table["hidden"]), cmap="viridis")
    ax.set_xlabel(column + " (training folds)")
    ax.set_ylabel("generalization gap")
    if column == "spectral bound":
        ax.set_xscale("log")
fig.suptitle("A user's skorch MLP in GridSearchCV (colour: log width)")
plt.show()
