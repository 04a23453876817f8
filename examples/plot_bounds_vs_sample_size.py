"""
Bounds that grow with the sample size (Nagarajan & Kolter 2019, Fig. 1)
=======================================================================

A bias-free five-layer fully connected network is trained on digits training sets of
growing size ``m`` until almost every training point has a margin of at least ``gamma``.
The test error falls with ``m``; the distance from initialization and the norm-based
spectral and PAC-Bayes bounds are reported alongside. On digits at this scale they grow
only weakly with ``m``.
"""

# %%
from sklearn_gen.datasets import load_dataset
from sklearn_gen.studies import bounds_vs_sample_size, loglog_slopes
from sklearn_gen.studies.plotting import plot_bounds_vs_sample_size

data = load_dataset("digits")
frame = bounds_vs_sample_size(
    data.X,
    data.y,
    sample_sizes=(200, 400, 800),
    depth=5,
    width=128,
    margin=5.0,
    device="cpu",
    random_state=0,
)
print(frame[["m", "test_error", "distance_from_init", "spectral_bound"]].to_string(index=False))

# %%
# Slopes of each column against ``m`` on log-log axes.
print(loglog_slopes(frame).round(3))

# %%
fig = plot_bounds_vs_sample_size(frame)
