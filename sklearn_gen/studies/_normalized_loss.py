"""Networks trained to the same loss, compared by their normalized loss (Liao et al. 2018).

Liao, Miranda, Hidary and Poggio make networks that reach the *same* training
cross-entropy but generalize differently - by random pretraining on labels corrupted with
probability ``p`` before training on the true labels, or by a larger initialization - and
show that the raw training loss says nothing about the test loss, while the training loss of
the *normalized* network (every layer divided by its norm) is linearly related to its test
loss across all of them (R^2 of 0.97 to 0.9998 in their figures).

References
----------
.. [1] Q. Liao, B. Miranda, J. Hidary and T. Poggio, "Classical generalization bounds are
   surprisingly tight for deep networks", CBMM Memo 91, arXiv:1807.09659, 2018.
"""

from __future__ import annotations

import functools
import numbers
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import PredefinedSplit

from sklearn_gen._validation import check_int, draw_seed
from sklearn_gen.measures import normalized_loss, product_norm
from sklearn_gen.metrics import make_measure_scorer
from sklearn_gen.networks import NetworkClassifier
from sklearn_gen.randomization import RandomPretraining
from sklearn_gen.studies._study import Study, run_study
from sklearn_gen.studies._validation import check_data, check_test_size

__all__ = ["normalized_loss_study"]

#: The columns of the frame returned by :func:`normalized_loss_study`, in order.
NORMALIZED_LOSS_COLUMNS = [
    "factor",
    "level",
    "repeat",
    "n_epochs",
    "converged",
    "train_loss",
    "test_loss",
    "train_error",
    "test_error",
    "normalized_train_loss",
    "normalized_test_loss",
    "product_norm",
    "fit_seconds",
]

_FACTORS = ("pretraining", "init_scale")
_DEFAULT_LEVELS = {"pretraining": (0.0, 0.5, 1.0), "init_scale": (1.0, 2.0, 3.0)}


def _check_factor_levels(factor: Any, levels: Any) -> list[float]:
    if factor not in _FACTORS:
        raise ValueError(f"factor must be one of {_FACTORS}, got {factor!r}.")
    if levels is None:
        levels = _DEFAULT_LEVELS[factor]
    try:
        values = [float(v) for v in np.atleast_1d(np.asarray(levels, dtype=float))]
    except (TypeError, ValueError):
        raise ValueError(f"levels must be a sequence of numbers, got {levels!r}.") from None
    if not values:
        raise ValueError("levels must not be empty.")
    if len(set(values)) != len(values):
        raise ValueError(f"levels must be distinct, got {values}.")
    if factor == "pretraining" and not all(0.0 <= v <= 1.0 for v in values):
        raise ValueError(f"Corruption levels of the pretraining must lie in [0, 1]: {values}.")
    if factor == "init_scale" and not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(f"Initialization scales must be positive and finite: {values}.")
    return values


def _check_target(target: Any) -> float:
    if (
        isinstance(target, bool)
        or not isinstance(target, numbers.Real)
        or not np.isfinite(target)
        or target <= 0
    ):
        raise ValueError(f"target_train_loss must be a positive number, got {target!r}.")
    return float(target)


def default_network(**params: Any) -> NetworkClassifier:
    """The study's network, declared once (``params`` override; the command line sets the
    device, the seed, the width and the epoch budget here)."""
    settings: dict[str, Any] = {
        "module__hidden": (256,),
        "module__bias": False,
        "lr": 0.05,
        "batch_size": 32,
        "max_epochs": 1000,
    }
    settings.update(params)
    return NetworkClassifier("mlp", **settings)


def _final_network(model: Any) -> Any:
    return getattr(model, "estimator_", model)


def _norm_summary(model: Any, norm: str | float) -> dict[str, Any]:
    """Epochs, stopping rule and the product of the layer norms of the fitted network."""
    final = _final_network(model)
    return {
        "n_epochs": int(getattr(final, "n_epochs_", -1)),
        "converged": bool(getattr(final, "converged_", True)),
        "product_norm": float(product_norm(model, norm=norm)),
    }


def normalized_loss_study(
    X: Any,
    y: Any,
    *,
    network: BaseEstimator | None = None,
    factor: str = "pretraining",
    levels: Sequence[float] | None = None,
    pretrain_epochs: int = 100,
    target_train_loss: float = 0.01,
    norm: str | float = "fro",
    test_size: float | int | PredefinedSplit = 0.5,
    n_repeats: int = 1,
    n_jobs: int | None = None,
    random_state: int | np.random.RandomState | None = 0,
    progress: bool = False,
    cache_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Networks at equal training loss, raw and normalized losses (Liao et al. 2018).

    For each level of ``factor`` and each repeat, a network is trained on one training
    split until its training cross-entropy is at most ``target_train_loss`` (the
    network's ``stop_train_loss`` rule), so every network ends at (about) the same
    training loss, and is evaluated on the held-out split:

    * ``factor="pretraining"``: the network is first trained for ``pretrain_epochs`` epochs
      on labels corrupted with probability ``level``
      (:class:`~sklearn_gen.RandomPretraining`), then on the true labels;
    * ``factor="init_scale"``: every weight tensor of the fresh network is multiplied by
      ``level`` (the network's ``init_scale``).

    Within a repeat all levels share the split and the network's seed, so they differ only
    by the factor. Liao et al. observe that larger ``p`` (or initialization scale) leaves
    the same training loss but a worse test loss and error, and that the normalized test
    loss is a linear function of the normalized training loss across all networks (see
    :func:`linear_fit`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    network : NetworkClassifier, default=None
        The network (its ``stop_train_loss``, ``random_state`` and, for
        ``factor="init_scale"``, ``init_scale`` are set per configuration; make
        ``max_epochs`` large enough to reach the target). None gives
        ``NetworkClassifier("mlp", module__hidden=(256,), module__bias=False, lr=0.05,
        batch_size=32, max_epochs=1000)``: a bias-free ReLU network, for which the
        normalized network is exactly the network divided by the product of its layer
        norms (same predictions).
    factor : {"pretraining", "init_scale"}, default="pretraining"
        What makes the networks differ.
    levels : sequence of float, default=None
        Corruption probabilities of the pretraining labels (in [0, 1]) or initialization
        scales (positive); None gives ``(0.0, 0.5, 1.0)`` for pretraining and
        ``(1.0, 2.0, 3.0)`` for init_scale.
    pretrain_epochs : int, default=100
        Epochs of pretraining (``factor="pretraining"`` only).
    target_train_loss : float, default=0.01
        The common training cross-entropy every network is trained down to.
    norm : {"fro", "l1", "spectral"} or float, default="fro"
        Norm of each layer in the normalized loss and in ``product_norm``.
    test_size : float, int or PredefinedSplit, default=0.5
        As in :func:`sklearn.model_selection.train_test_split` (stratified); or the data's
        official split, a one-fold :class:`~sklearn.model_selection.PredefinedSplit`
        (:meth:`sklearn_gen.datasets.Dataset.test_split`).
    n_repeats : int, default=1
    n_jobs, random_state, progress, cache_dir
        Shared by every study function: joblib's workers, the seed every configuration's
        seeds come from, a progress bar, a :class:`joblib.Memory` folder to resume from
        (see :func:`~sklearn_gen.studies.run_study`).

    Returns
    -------
    pandas.DataFrame
        One row per level x repeat, with columns ``factor``, ``level``, ``repeat``,
        ``n_epochs`` (all epochs, pretraining included), ``converged`` (whether the
        target loss was reached), ``train_loss``, ``test_loss`` (cross-entropy of
        ``predict_proba``, :func:`sklearn.metrics.log_loss`), ``train_error``,
        ``test_error``, ``normalized_train_loss``, ``normalized_test_loss``
        (:func:`~sklearn_gen.measures._normalized_loss.normalized_loss`),
        ``product_norm`` and ``fit_seconds``.

    References
    ----------
    .. [1] Q. Liao, B. Miranda, J. Hidary and T. Poggio, "Classical generalization bounds
       are surprisingly tight for deep networks", arXiv:1807.09659, 2018.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_gen import NetworkClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> net = NetworkClassifier("mlp", module__hidden=(32,), module__bias=False, lr=0.1,
    ...                         batch_size=32, max_epochs=200, device="cpu")
    >>> frame = normalized_loss_study(X[:100] / 16, y[:100], network=net,
    ...                               pretrain_epochs=2, target_train_loss=0.1)
    >>> frame[["factor", "level"]]
            factor  level
    0  pretraining    0.0
    1  pretraining    0.5
    2  pretraining    1.0
    >>> bool((frame["train_loss"] <= 0.1).all())
    True
    >>> from sklearn_gen.studies import linear_fit
    >>> sorted(linear_fit(frame))
    ['intercept', 'r2', 'slope']
    """
    X, y = check_data(X, y)
    values = _check_factor_levels(factor, levels)
    pretrain_epochs = check_int(pretrain_epochs, "pretrain_epochs")
    target_train_loss = _check_target(target_train_loss)
    n_repeats = check_int(n_repeats, "n_repeats")
    test_size = check_test_size(test_size)
    draw_seed(random_state)  # a bad random_state fails before any work
    if network is None:
        network = default_network()
    params = network.get_params(deep=False) if hasattr(network, "get_params") else {}
    needed = {"stop_train_loss"} | ({"init_scale"} if factor == "init_scale" else set())
    if not hasattr(network, "fit") or not needed <= set(params):
        raise ValueError(
            f"network must be an estimator with the parameters {sorted(needed)} (a "
            f"NetworkClassifier); got {network!r}."
        )
    network = clone(network).set_params(stop_train_loss=target_train_loss)
    if factor == "init_scale":
        template: Any = network
        grid = {"init_scale": values}
    else:
        template = RandomPretraining(network, pretrain_epochs=pretrain_epochs)
        grid = {"p": values}
    study = Study(
        "normalized loss",
        template,
        grid,
        scoring={
            "log_loss": "neg_log_loss",
            "accuracy": "accuracy",
            "normalized_loss": make_measure_scorer(normalized_loss, norm=norm),
        },
        n_repeats=n_repeats,
        # one initialization per repeat, shared by the levels: a paired comparison
        seed_by=(),
        summary=functools.partial(_norm_summary, norm=norm),
        train_scores=True,
    )
    frame = run_study(
        study,
        X,
        y,
        test_size=test_size,
        n_jobs=n_jobs,
        random_state=random_state,
        progress=progress,
        cache_dir=cache_dir,
    )
    frame["factor"] = factor
    frame["level"] = frame[next(iter(grid))]
    for part in ("train", "test"):
        frame[f"{part}_loss"] = -frame[f"{part}_log_loss"]
        frame[f"{part}_error"] = 1.0 - frame[f"{part}_accuracy"]
        frame[f"normalized_{part}_loss"] = -frame[f"{part}_normalized_loss"]
    return frame[NORMALIZED_LOSS_COLUMNS]
