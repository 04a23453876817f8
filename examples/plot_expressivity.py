"""
Finite-sample expressivity (Zhang et al. 2017, Theorem 1)
=========================================================

A depth-two ReLU network with ``2n + d`` weights can fit *any* labelling of ``n`` points in
``d`` dimensions. :class:`~sklearn_gen.FiniteSampleReLU` builds that network in closed
form; :func:`~sklearn_gen.studies.expressivity` fits it to random labels on random
Gaussian points and checks the training accuracy and the parameter count.
"""

# %%
from sklearn_gen.studies import expressivity
from sklearn_gen.studies.plotting import plot_expressivity

frame = expressivity((100, 300, 1000), d=50, random_state=0)
print(frame[["n", "d", "n_params", "train_accuracy"]].to_string(index=False))

# %%
fig = plot_expressivity(frame)
