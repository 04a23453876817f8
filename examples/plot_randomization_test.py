"""
Randomization test: fitting random labels (Zhang et al. 2017)
==============================================================

A small multilayer perceptron is trained on the digits data with true labels, random
labels, shuffled pixels, random pixels and Gaussian inputs, and with a growing fraction
``p`` of corrupted labels. The same network that generalizes on the real data fits every
randomized version exactly, while its test error rises to chance.

This is a quick, CPU-sized version of Fig. 1 of the paper (300 digits instead of
CIFAR-10, a 1x128 MLP, three corruption levels).
"""

# %%
# Data and network
# ----------------
# ``load_dataset("digits")`` returns the scaled 8x8 digits; a random subset of 300 keeps
# this example fast.
import numpy as np

from sklearn_gen import NetworkClassifier
from sklearn_gen.datasets import load_dataset
from sklearn_gen.studies import randomization_test
from sklearn_gen.studies.plotting import plot_randomization_test

data = load_dataset("digits", n_samples=300, random_state=0)
net = NetworkClassifier(
    "mlp",
    module__hidden=(128,),
    lr=0.1,
    momentum=0.9,
    batch_size=128,
    max_epochs=300,
    stop_on_interpolation=True,
    device="cpu",
    random_state=0,
)

# %%
# Run the experiment
# ------------------
# The result is a tidy DataFrame: learning curves per condition (``panel == "curves"``)
# and one row per corruption level (``panel == "corruption"``).
frame = randomization_test(
    data.X,
    data.y,
    estimator=net,
    conditions=("true labels", "random labels", "shuffled pixels", "random pixels"),
    corruption_levels=(0.0, 0.5, 1.0),
    random_state=0,
)
corruption = frame[frame["panel"] == "corruption"]
print(corruption[["p", "epochs_to_fit", "train_accuracy", "test_error"]].to_string(index=False))
print("random labels fit exactly:", bool(np.all(corruption["train_accuracy"] == 1.0)))

# %%
# The figure
# ----------
fig = plot_randomization_test(frame)
