"""
An overparameterized linear classifier (Nagarajan & Kolter 2019)
================================================================

Inputs are a label-times-direction signal in one dimension and isotropic Gaussian noise
in ``D = 256 * 256`` dimensions. One gradient step from zero (``w = sum_i y_i x_i``)
gives a classifier whose test error falls as ``m`` grows, yet which misclassifies every
point of ``S'``, the training set with its noise negated: a set drawn from the same
distribution, so every two-sided uniform-convergence bound over this algorithm's outputs
is vacuous. Runs in seconds.
"""

# %%
from sklearn_gen.studies import linear_example
from sklearn_gen.studies.plotting import plot_linear_example

frame = linear_example(sample_sizes=(16, 32, 64, 128, 256), n_repeats=5)
columns = ["test_error", "population_error", "s_prime_error", "train_error"]
print(frame.groupby("m")[columns].agg(["mean", "std"]).round(4).to_string())

# %%
fig = plot_linear_example(frame)
