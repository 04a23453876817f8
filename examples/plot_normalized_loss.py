"""
Normalized loss predicts test loss (Liao et al. 2018)
=====================================================

Networks are pretrained on labels corrupted with probability ``p`` and then trained on the
true labels to the same small training loss. Their raw training losses are all alike, but
the training loss of the *normalized* network (each layer divided by its norm) is linearly
related to its normalized test loss. A quick version on 400 digits with a bias-free 1x64
MLP.
"""

# %%
from sklearn_gen import NetworkClassifier
from sklearn_gen.datasets import load_dataset
from sklearn_gen.studies import linear_fit, normalized_loss_study
from sklearn_gen.studies.plotting import plot_normalized_loss_study

data = load_dataset("digits", n_samples=400, random_state=0)
net = NetworkClassifier(
    "mlp",
    module__hidden=(64,),
    module__bias=False,
    lr=0.05,
    momentum=0.9,
    batch_size=32,
    max_epochs=1000,
    device="cpu",
    random_state=0,
)

# %%
frame = normalized_loss_study(
    data.X, data.y, network=net, levels=(0.0, 0.5, 1.0), pretrain_epochs=60, random_state=0
)
fit = linear_fit(frame)
print(frame.groupby("level")[["train_loss", "test_loss", "test_error"]].mean().round(4))
print(f"slope {fit['slope']:.3f}, intercept {fit['intercept']:.3f}, R^2 {fit['r2']:.4f}")

# %%
fig = plot_normalized_loss_study(frame)
