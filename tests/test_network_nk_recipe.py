"""Nagarajan & Kolter's training recipe: sigmoid loss, margin on a fraction q, no biases, Xavier."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, make_blobs

from sklearn_gen import NetworkClassifier
from sklearn_gen.networks._callbacks import StoppingRules
from sklearn_gen.networks._losses import OneHotBCEWithLogitsLoss, one_hot_bce_with_logits

# rel=1e-5 where two float32 computations of one quantity meet: float32 keeps ~7 digits
# and sums of a few hundred terms in another order (another CPU's vector width, another
# batch shape) move the last 1-2 of them; 1e-6 (pytest.approx's default) is too tight.


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(40, n_features=2, centers=2, cluster_std=1.5, random_state=0)
    return X.astype(np.float32), y


def _margins(net, X, y):
    logits = net.logits(X)
    rows = np.arange(len(y))
    true = logits[rows, y].copy()
    logits[rows, y] = -np.inf
    return true - logits.max(axis=1)


# ------------------------------------------------------------------------ criterion="bce"
def test_bce_trains_digits_and_is_the_one_hot_sigmoid_loss(digits):
    X, y = digits
    net = NetworkClassifier(
        "mlp", module__hidden=(64,), criterion="bce", lr=1.0, max_epochs=25, random_state=0
    ).fit(X, y)
    assert isinstance(net.criterion_, OneHotBCEWithLogitsLoss)
    assert net.score(X, y) >= 0.98  # measured 0.994
    # the criterion is the mean over n * n_classes entries of BCE on one-hot targets
    logits = torch.as_tensor(net.logits(X[:50]))
    target = torch.as_tensor(y[:50])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, torch.nn.functional.one_hot(target, 10).float()
    )
    assert net.criterion_(logits, target).item() == pytest.approx(expected.item(), rel=1e-6)
    # predict_proba: normalized sigmoids, rows sum to 1, argmax = predict
    proba = net.predict_proba(X[:50])
    sig = 1.0 / (1.0 + np.exp(-logits.double().numpy()))
    np.testing.assert_allclose(proba, sig / sig.sum(axis=1, keepdims=True), rtol=1e-9)
    assert np.array_equal(net.classes_[proba.argmax(axis=1)], net.predict(X[:50]))


def test_bce_predict_proba_is_finite_for_very_negative_logits(blobs):
    X, y = blobs
    net = NetworkClassifier("mlp", module__hidden=(4,), criterion="bce", max_epochs=1)
    net.set_params(random_state=0).fit(X, y)
    with torch.no_grad():  # logits near -1e5: every sigmoid underflows to 0 in float64
        net.module_[-1].weight.mul_(100.0)
        net.module_[-1].bias.fill_(-1e5)
    proba = net.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(net.classes_[proba.argmax(axis=1)], net.predict(X))


def test_ce_stays_the_default_and_softmax_proba(digits):
    X, y = digits
    net = NetworkClassifier("mlp", module__hidden=(16,), max_epochs=1, random_state=0)
    assert net.criterion == "ce"
    net.fit(X[:200], y[:200])
    assert isinstance(net.criterion_, torch.nn.CrossEntropyLoss)
    logits = net.logits(X[:5]).astype(np.float64)
    soft = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(net.predict_proba(X[:5]), soft / soft.sum(1, keepdims=True))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"criterion": "sigmoid"}, r"criterion must be one of \['bce', 'ce'\] or a torch loss"),
        ({"criterion": torch.optim.SGD}, "criterion must be one of"),
        ({"init": "he"}, "init must be one of"),
    ],
)
def test_bad_loss_and_init_are_refused_before_work(blobs, params, match):
    X, y = blobs
    net = NetworkClassifier("mlp", module__hidden=(4,), max_epochs=1, **params)
    with pytest.raises(ValueError, match=match):
        net.fit(X, y)
    assert not hasattr(net, "module_")


def test_bce_loss_rule_uses_the_sigmoid_loss(blobs):
    X, y = blobs
    net = NetworkClassifier(
        "mlp", module__hidden=(8,), criterion="bce", lr=0.5, max_epochs=300,
        stop_train_loss=0.1, random_state=0,
    ).fit(X, y)  # fmt: skip
    last = net.history[-1, "train_loss_full"]
    logits = torch.as_tensor(net.logits(X))
    assert last == pytest.approx(
        one_hot_bce_with_logits(logits, torch.as_tensor(y)).item(), rel=1e-5
    )
    assert last <= 0.1 and net.converged_
    assert all(v > 0.1 for v in net.history[:-1, "train_loss_full"])


def test_a_loss_class_is_the_criterion_and_the_stopping_rules_training_loss(blobs):
    # criterion is the one name of the training loss: a torch loss class (its arguments
    # through criterion__), trained on and bounded by stop_train_loss
    X, y = blobs
    net = NetworkClassifier(
        "mlp", module__hidden=(8,), criterion=torch.nn.MultiMarginLoss,
        criterion__margin=2.0, lr=0.5, max_epochs=300, stop_train_loss=0.1, random_state=0,
    ).fit(X, y)  # fmt: skip
    assert isinstance(net.criterion_, torch.nn.MultiMarginLoss) and net.criterion_.margin == 2.0
    logits = torch.as_tensor(net.logits(X))
    expected = torch.nn.functional.multi_margin_loss(logits, torch.as_tensor(y), margin=2.0)
    assert net.history[-1, "train_loss_full"] == pytest.approx(expected.item(), rel=1e-5)
    assert net.converged_ and net.history[-1, "train_loss_full"] <= 0.1
    assert all(v > 0.1 for v in net.history[:-1, "train_loss_full"])
    with pytest.raises(ValueError, match=r"unexpected argument.* loss"):  # one name
        NetworkClassifier("mlp", loss="bce").fit(X, y)


# ----------------------------------------------------------------------------- margin on q
def test_margin_fraction_rule_stops_once_q_of_the_points_reach_the_margin(blobs):
    # 40 points in two overlapping blobs: a few points stay on the wrong side for long, so
    # q = 0.75 stops well before q = 1 (which the overlap may never allow)
    X, y = blobs
    params = dict(module="mlp", module__hidden=(16,), lr=0.05, max_epochs=400, random_state=0)
    net = NetworkClassifier(stop_margin=1.0, stop_margin_fraction=0.75, **params).fit(X, y)
    fractions = net.history[:, "margin_fraction"]
    assert net.converged_ and net.history[-1, "stopped_by"] == "margin"
    assert fractions[-1] >= 0.75 and all(f < 0.75 for f in fractions[:-1])
    # the record is the fraction of the final network's margins that reach 1.0
    assert np.mean(_margins(net, X, y) >= 1.0) == pytest.approx(fractions[-1])
    strict = NetworkClassifier(stop_margin=1.0, stop_margin_fraction=1.0, **params)
    with pytest.warns(Warning):  # every point at margin 1 is not reached within 400 epochs
        strict.fit(X, y)
    assert strict.n_epochs_ > net.n_epochs_


def test_margin_rule_counts_points_exactly():
    rules = StoppingRules(margin=1.0, margin_fraction=0.99)
    # 99 of 100 points are enough (0.99 * 100 is 99.00000000000001 in floating point)
    assert rules._enough_margin({"n_samples": 100, "n_reached": 99})
    assert not rules._enough_margin({"n_samples": 100, "n_reached": 98})
    # 0.99 of 1000 points is 990: 989 is not enough (a lower quantile would accept 990 only)
    assert rules._enough_margin({"n_samples": 1000, "n_reached": 990})
    assert not rules._enough_margin({"n_samples": 1000, "n_reached": 989})
    assert math.ceil(0.99 * 100 - 1e-9) == 99


# ----------------------------------------------------------------------------- bias, init
@pytest.mark.parametrize(
    "module, params",
    [("mlp", {"module__hidden": (8, 8)}), ("deep_fc", {"module__depth": 3, "module__width": 8})],
)
def test_bias_false_leaves_no_bias_parameters(blobs, module, params):
    X, y = blobs
    net = NetworkClassifier(module, module__bias=False, max_epochs=1, random_state=0, **params)
    net.fit(X, y)
    names = [name for name, _ in net.module_.named_parameters()]
    assert names and not any("bias" in name for name in names)
    with_bias = NetworkClassifier(module, module__bias=True, max_epochs=1, **params).fit(X, y)
    assert any("bias" in name for name, _ in with_bias.module_.named_parameters())


def test_xavier_init_draws_glorot_weights_and_zero_biases(digits):
    X, y = digits
    params = dict(module="mlp", module__hidden=(256,), max_epochs=1, lr=1e-12, random_state=0)
    uniform = NetworkClassifier(init="xavier", **params).fit(X[:100], y[:100])
    normal = NetworkClassifier(init="xavier_normal", **params).fit(X[:100], y[:100])
    default = NetworkClassifier(**params).fit(X[:100], y[:100])
    fan_in, fan_out = 64, 256
    bound = math.sqrt(6.0 / (fan_in + fan_out))  # Glorot uniform limit of the first layer
    w = uniform.initial_params_["1.weight"]
    assert w.abs().max().item() <= bound and w.abs().max().item() > 0.95 * bound
    assert normal.initial_params_["1.weight"].std().item() == pytest.approx(
        math.sqrt(2.0 / (fan_in + fan_out)), rel=0.05
    )
    assert uniform.initial_params_["1.bias"].abs().max().item() == 0.0
    # torch's default for Linear is uniform(+-1/sqrt(fan_in)) = +-0.125 < 0.95 * 0.137,
    # with non-zero biases
    assert default.initial_params_["1.weight"].abs().max().item() <= 1 / math.sqrt(fan_in)
    assert default.initial_params_["1.bias"].abs().max().item() > 0.0
