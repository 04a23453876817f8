"""Randomization wrappers around NetworkClassifier: LabelNoise and RandomPretraining."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split

from sklearn_gen import LabelNoise, NetworkClassifier, RandomPretraining


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


def mlp(**params) -> NetworkClassifier:
    defaults = dict(module="mlp", module__hidden=(256,), lr=0.05, random_state=0)
    defaults.update(params)
    return NetworkClassifier(**defaults)


def _epochs(estimator, X, y) -> float:
    """A scorer for GridSearchCV: epochs the wrapped network trained."""
    return float(estimator.estimator_.n_epochs_)


def test_label_noise_network_interpolates_every_p_and_random_labels_take_longer(digits):
    X, X_test, y, y_test = digits
    epochs, test_acc = {}, {}
    for p in (0.0, 0.5, 1.0):
        net = mlp(max_epochs=2000, stop_on_interpolation=True)
        model = LabelNoise(net, p=p, random_state=0).fit(X, y)
        # the network fits the labels it was given (corrupted ones included) exactly
        assert model.estimator_.score(X, model.y_fit_) == 1.0
        assert model.estimator_.converged_
        epochs[p] = model.estimator_.n_epochs_
        test_acc[p] = model.score(X_test, y_test)
    # Zhang et al. Fig. 1b: more corruption takes longer to fit, by a modest factor
    assert epochs[0.0] < epochs[0.5] < epochs[1.0] < 50 * epochs[0.0]
    assert test_acc[0.0] > 0.95 and test_acc[0.0] > test_acc[0.5] > test_acc[1.0]
    assert test_acc[1.0] < 0.2

    search = GridSearchCV(
        LabelNoise(mlp(max_epochs=2000, stop_on_interpolation=True), random_state=0),
        {"p": [0.0, 1.0]},
        scoring={"accuracy": "accuracy", "epochs": _epochs},
        refit=False,
        cv=2,
    ).fit(X, y)
    acc, n_epochs = (search.cv_results_[f"mean_test_{k}"] for k in ("accuracy", "epochs"))
    assert acc[0] > acc[1] and n_epochs[0] < n_epochs[1]


def test_random_pretraining_then_true_labels(digits):
    X, _, y, _ = digits
    net = mlp(max_epochs=500, stop_train_loss=0.01)
    clean = net.fit(X, y)
    model = RandomPretraining(net, p=1.0, pretrain_epochs=30, random_state=0).fit(X, y)
    assert model.n_pretrain_epochs_ == 30
    assert "stopped_by" not in model.pretrain_history_[-1]
    inner = model.estimator_
    assert inner.n_epochs_ > 30 and inner.converged_
    assert inner.history[-1, "train_loss_full"] <= 0.01
    # the pretraining labels were random; the final ones are the true labels
    assert np.mean(model.corrupted_mask_) > 0.8
    assert model.score(X, y) == 1.0
    assert clean.history[-1, "train_loss_full"] <= 0.01  # both meet the same loss target


def test_random_pretraining_keeps_the_same_weights(digits):
    X, _, y, _ = digits
    net = mlp(module__hidden=(16,), max_epochs=1)
    model = RandomPretraining(net, p=0.5, pretrain_epochs=1, random_state=0).fit(X, y)
    initial = model.estimator_.initial_params_
    assert model.estimator_.n_epochs_ == 2  # one pretraining epoch + one more
    # the network was initialized once: its initial weights are those of a fresh clone
    fresh = mlp(module__hidden=(16,), max_epochs=1).fit(X, y)
    for name, tensor in initial.items():
        torch.testing.assert_close(tensor, fresh.initial_params_[name])


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"p": 1.5}, ValueError, "p must be in"),
        ({"pretrain_epochs": 0}, ValueError, "pretrain_epochs"),
        ({"estimator": LogisticRegression()}, TypeError, "max_epochs"),
    ],
)
def test_random_pretraining_bad_input(digits, params, error, match):
    X, _, y, _ = digits
    kwargs = {"estimator": mlp(max_epochs=1), **params}
    with pytest.raises(error, match=match):
        RandomPretraining(**kwargs).fit(X, y)


def test_grid_search_over_pretraining_and_network_params(digits):
    X, _, y, _ = digits
    search = GridSearchCV(
        RandomPretraining(
            mlp(module__hidden=(16,), max_epochs=2), pretrain_epochs=1, random_state=0
        ),
        {"p": [0.0, 1.0], "estimator__lr": [0.05, 0.1]},
        cv=2,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4


def test_random_pretraining_on_true_labels_stops_at_the_target(digits):
    # p=0: pretraining is training on the true labels, so the stopping rule applies from
    # the first epoch and the network ends at the first epoch under the target -- not
    # pretrain_epochs past it (far below the loss where the corrupted levels stop)
    X, _, y, _ = digits
    net = mlp(max_epochs=500, stop_train_loss=0.05)
    plain = clone(net).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # no warning at the phase's end
        model = RandomPretraining(net, p=0.0, pretrain_epochs=400, random_state=0).fit(X, y)
    inner = model.estimator_
    assert inner.converged_ and model.n_pretrain_epochs_ == inner.n_epochs_ < 400
    assert inner.n_epochs_ == plain.n_epochs_  # the same network, trained to the same epoch
    assert inner.history[-1, "train_loss_full"] <= 0.05 < inner.history[-2, "train_loss_full"]
    # a target not met within the pretraining epochs: training goes on under the rule
    short = RandomPretraining(net, p=0.0, pretrain_epochs=2, random_state=0).fit(X, y)
    assert short.n_pretrain_epochs_ == 2 and short.estimator_.n_epochs_ == plain.n_epochs_
