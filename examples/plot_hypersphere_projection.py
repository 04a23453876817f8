"""
Two hyperspheres and the projected training set (Nagarajan & Kolter 2019, Sec. 3)
=================================================================================

A wide two-layer ReLU network separates two concentric hyperspheres. Nagarajan and Kolter
show that at large ``m`` it classifies fresh points well yet misclassifies almost all of
``S'``, the training set moved onto the other sphere with flipped labels. This quick
version uses small ``m`` and ``dim`` so it runs in seconds; at this scale the test error
is still far from small (see the paper page of the documentation).
"""

# %%
from sklearn_gen.studies import hypersphere_projection
from sklearn_gen.studies.plotting import plot_hypersphere_projection

frame = hypersphere_projection(
    sample_sizes=(128, 256, 512),
    dim=50,
    radii=(1.0, 1.2),
    width=256,
    test_size=500,
    max_epochs=100,
    device="cpu",
    random_state=0,
)
print(frame[["m", "train_error", "test_error", "projected_error"]].to_string(index=False))

# %%
fig = plot_hypersphere_projection(frame)
