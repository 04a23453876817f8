"""NetworkClassifier: skorch subclass, seeds, stopping rules, fast batches, sklearn tools."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from skorch.dataset import ValidSplit

from sklearn_gen import NetworkClassifier
from sklearn_gen.networks._batches import DeviceTensorDataset, SliceBatches, crop_flip_augmenter


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


def small(**params) -> NetworkClassifier:
    defaults = dict(module="mlp", module__hidden=(32,), lr=0.1, max_epochs=3, random_state=0)
    defaults.update(params)
    return NetworkClassifier(**defaults)


def weights(net: NetworkClassifier) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.module_.parameters()]


# ----------------------------------------------------------------------------- seeds
def test_same_seed_gives_identical_weights(digits):
    X, _, y, _ = digits
    a, b = small(dropout=0.2).fit(X, y), small(dropout=0.2).fit(X, y)
    assert all(torch.equal(p, q) for p, q in zip(weights(a), weights(b), strict=True))
    c = small(random_state=1).fit(X, y)
    assert not all(torch.equal(p, q) for p, q in zip(weights(a), weights(c), strict=True))


def test_fit_leaves_global_torch_rng_alone(digits):
    X, _, y, _ = digits
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    small().fit(X, y)
    assert torch.equal(torch.rand(3), expected)


def test_initial_params_and_init_scale(digits):
    X, _, y, _ = digits
    base = small(max_epochs=1).fit(X, y)
    scaled = small(max_epochs=1, init_scale=3.0).fit(X, y)
    for name, tensor in base.initial_params_.items():
        other = scaled.initial_params_[name]
        factor = 3.0 if tensor.dim() >= 2 else 1.0
        torch.testing.assert_close(other, factor * tensor)
    trained = dict(base.module_.named_parameters())
    assert not torch.equal(trained["1.weight"].cpu(), base.initial_params_["1.weight"])


# ----------------------------------------------------------------------------- guards
def test_nll_loss_is_refused(digits):
    X, _, y, _ = digits
    with pytest.raises(ValueError, match="CrossEntropyLoss"):
        small(criterion=torch.nn.NLLLoss).fit(X, y)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        # one parameter's own values: tests/test_sklearn_checks.py checks every parameter;
        # here the rules that tie parameters, or the parameter to the data, together
        ({"module": "resnet9000"}, "resnet9000"),
        ({"input_shape": (3, 9, 9)}, "input_shape"),
        ({"augment": True}, "input_shape"),
        ({"channels_last": True}, "channels_last=True needs images"),
        ({"precision": "bf16", "optimizer": torch.optim.LBFGS}, "LBFGS"),
    ],
)
def test_bad_parameters_fail_before_training(digits, params, match):
    X, _, y, _ = digits
    with pytest.raises(ValueError, match=match):
        small(**params).fit(X, y)


def test_switch_the_module_does_not_take(digits):
    X, _, y, _ = digits
    with pytest.raises(ValueError, match="dropout"):
        NetworkClassifier("deep_fc", module__depth=2, module__width=8, dropout=0.5).fit(X, y)


def test_single_class_is_refused(digits):
    X, *_ = digits
    with pytest.raises(ValueError, match="2 classes"):
        small().fit(X, np.zeros(len(X), dtype=int))


# ----------------------------------------------------------------------------- training
def test_string_labels_and_probabilities(digits):
    X, X_test, y, _ = digits
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    net = small(max_epochs=5).fit(X, names[y])
    assert set(net.classes_) == set(names)
    assert set(net.predict(X_test)) <= set(names)
    proba = net.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert net.decision_function(X_test).shape == (len(X_test), 10)
    assert net.score(X, names[y]) > 0.8


def test_epochs_steps_and_history(digits):
    X, _, y, _ = digits
    net = small(max_epochs=4, batch_size=100).fit(X, y)
    assert net.n_epochs_ == 4
    assert net.n_steps_ == 4 * int(np.ceil(len(X) / 100))
    assert {"train_loss", "train_acc"} <= set(net.history[-1])
    assert net.converged_


def test_partial_fit_continues_training(digits):
    X, _, y, _ = digits
    net = small(max_epochs=2).fit(X, y)
    before = weights(net)
    net.partial_fit(X, y)
    assert net.n_epochs_ == 4
    assert not all(torch.equal(p, q) for p, q in zip(before, weights(net), strict=True))


def test_internal_validation_split_is_possible(digits):
    X, _, y, _ = digits
    net = small(train_split=ValidSplit(5, stratified=True)).fit(X, y)
    assert {"valid_loss", "valid_acc"} <= set(net.history[-1])


def test_optimizer_settings_reach_the_optimizer(digits):
    X, _, y, _ = digits
    net = small(max_epochs=3, weight_decay=1e-3, lr_decay=0.5).fit(X, y)
    group = net.optimizer_.param_groups[0]
    assert group["momentum"] == 0.9 and group["weight_decay"] == 1e-3
    assert group["lr"] == pytest.approx(0.1 * 0.5**3)
    adam = small(optimizer=torch.optim.Adam, lr=1e-3).fit(X, y)
    assert "momentum" not in adam.optimizer_.param_groups[0]


def test_images_with_conv_module_and_augmentation(digits):
    X, X_test, y, y_test = digits
    net = NetworkClassifier(
        "convnet",
        input_shape=(1, 8, 8),
        module__kernel_size=3,
        module__width=8,
        augment=True,
        augment_padding=1,
        lr=0.05,
        max_epochs=8,
        random_state=0,
    ).fit(X, y)
    assert net.module_(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    assert net.score(X_test, y_test) > 0.5


def test_crop_flip_augmenter_moves_pixels_only():
    images = torch.arange(2 * 16, dtype=torch.float32).reshape(2, 1, 4, 4)
    flip_only = crop_flip_augmenter(0, torch.Generator().manual_seed(0))
    out = flip_only(images)
    for image, result in zip(images, out, strict=True):
        assert torch.equal(result, image) or torch.equal(result, image.flip(-1))
    cropped = crop_flip_augmenter(2, torch.Generator().manual_seed(0), flip=False)(images)
    for image, result in zip(images, cropped, strict=True):
        kept = result[result != 0]
        assert set(kept.tolist()) <= set(image.flatten().tolist())


def test_slice_batches_cover_each_sample_once():
    ds = DeviceTensorDataset(torch.arange(10.0)[:, None], torch.arange(10))
    batches = list(SliceBatches(ds, 3, shuffle=True, generator=torch.Generator().manual_seed(0)))
    seen = torch.cat([yb for _, yb in batches])
    assert sorted(seen.tolist()) == list(range(10))
    assert [len(yb) for _, yb in batches] == [3, 3, 3, 1]
    for xb, yb in batches:
        assert torch.equal(xb[:, 0].long(), yb)


# ----------------------------------------------------------------------------- stopping
def test_interpolation_rule_stops_at_first_perfect_epoch(digits):
    X, _, y, _ = digits
    net = small(module__hidden=(128,), max_epochs=200, stop_on_interpolation=True).fit(X, y)
    acc = net.history[:, "train_acc_full"]
    assert acc[-1] == 1.0 and all(a < 1.0 for a in acc[:-1])
    assert net.history[-1, "stopped_by"] == "interpolate"
    assert net.n_epochs_ < 200 and net.converged_


def test_margin_rule(digits):
    X, _, y, _ = digits
    net = small(max_epochs=200, stop_margin=2.0, stop_margin_fraction=0.9).fit(X, y)
    q = net.history[:, "margin_quantile"]
    assert q[-1] >= 2.0 and all(v < 2.0 for v in q[:-1])
    logits = net.decision_function(X)
    true = logits[np.arange(len(y)), y]
    logits[np.arange(len(y)), y] = -np.inf
    assert np.mean(true - logits.max(axis=1) >= 2.0) >= 0.9


def test_loss_rule_and_combined_rules(digits):
    X, _, y, _ = digits
    net = small(max_epochs=200, stop_train_loss=0.1).fit(X, y)
    loss = net.history[:, "train_loss_full"]
    assert loss[-1] <= 0.1 and all(v > 0.1 for v in loss[:-1])
    both = small(max_epochs=300, stop_train_loss=0.1, stop_on_interpolation=True).fit(X, y)
    last = both.history[-1]
    assert last["train_loss_full"] <= 0.1 and last["train_acc_full"] == 1.0
    either = small(
        max_epochs=300, stop_train_loss=0.1, stop_on_interpolation=True, stop_mode="any"
    ).fit(X, y)
    assert either.n_epochs_ <= min(net.n_epochs_, both.n_epochs_)


def test_unmet_rule_warns(digits):
    X, _, y, _ = digits
    with pytest.warns(ConvergenceWarning, match="max_epochs"):
        net = small(max_epochs=1, stop_train_loss=1e-6).fit(X, y)
    assert not net.converged_ and net.n_epochs_ == 1


# ----------------------------------------------------------------------------- paper figure
def test_mlp_fits_random_labels_but_does_not_generalize(digits):
    X, X_test, y, y_test = digits
    true = NetworkClassifier("mlp", lr=0.05, max_epochs=30, random_state=0).fit(X, y)
    assert true.score(X_test, y_test) >= 0.95
    rng = np.random.RandomState(0)
    y_random = rng.randint(0, 10, len(y))
    net = NetworkClassifier(
        "mlp", lr=0.05, max_epochs=1000, stop_on_interpolation=True, random_state=0
    ).fit(X, y_random)
    assert net.score(X, y_random) == 1.0
    assert net.score(X_test, y_test) < 0.2


# ----------------------------------------------------------------------------- sklearn tools
def test_clone_pickle_and_grid_search(digits):
    X, X_test, y, _ = digits
    net = small()
    assert clone(net).get_params()["module__hidden"] == (32,)
    search = GridSearchCV(
        net, {"lr": [0.01, 0.1], "module__hidden": [(16,), (32,)]}, cv=2, n_jobs=2
    ).fit(X, y)
    assert search.best_params_["lr"] == 0.1
    fitted = search.best_estimator_
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(X_test), fitted.predict(X_test))
    assert again.get_params()["device"] == "auto"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clone(fitted).fit(X[:200], y[:200])


def test_memory_guard_fails_before_moving_the_data(digits, monkeypatch):
    import sklearn_gen.networks._classifier as classifier

    X, _, y, _ = digits
    monkeypatch.setattr(classifier, "available_memory", lambda device: 1000)
    with pytest.raises(ValueError, match=r"needs .* on cpu.*device="):
        small().fit(X, y)


# ----------------------------------------------------------------------------- mixed precision
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_and_keeps_float32_weights(digits, precision):
    X, X_test, y, y_test = digits
    net = small(precision=precision, max_epochs=5).fit(X, y)
    assert all(p.dtype == torch.float32 for p in net.module_.parameters())
    assert hasattr(net, "grad_scaler_") == (precision == "fp16")
    losses = net.history[:, "train_loss"]
    assert losses[-1] < losses[0] and net.score(X_test, y_test) > 0.85
    reference = small(max_epochs=5).fit(X, y)
    # the same seed and batches: autocast moves the weights by rounding only
    assert abs(net.score(X_test, y_test) - reference.score(X_test, y_test)) < 0.05
    assert pickle.loads(pickle.dumps(net)).score(X_test, y_test) == net.score(X_test, y_test)


def test_channels_last_matches_the_default_layout(digits):
    X, X_test, y, _ = digits
    params = dict(input_shape=(1, 8, 8), max_epochs=1, lr=0.01, random_state=0)
    last = NetworkClassifier("small_alexnet", **params, channels_last=True).fit(X[:300], y[:300])
    conv = next(m for m in last.module_.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    plain = NetworkClassifier("small_alexnet", **params).fit(X[:300], y[:300])
    np.testing.assert_allclose(last.logits(X_test), plain.logits(X_test), rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- one engine
def test_only_skorch_public_hooks_are_overridden():
    # skorch's underscore methods are not its contract: training changes through callbacks,
    # train_step / train_step_single, get_loss and the initialize_* hooks only
    from skorch import NeuralNetClassifier

    overridden = [
        name
        for name in vars(NetworkClassifier)
        if name.startswith("_")
        and not (name.startswith("__") and name.endswith("__"))
        and hasattr(NeuralNetClassifier, name)
    ]
    assert overridden == []
    for name in ("run_single_epoch", "notify"):  # skorch's own epoch loop runs
        assert name not in vars(NetworkClassifier)


def test_default_callbacks_keep_the_records_of_a_fit(digits):
    from skorch.callbacks import PassthroughScoring

    from sklearn_gen.networks import RecordInitialParams

    X, _, y, _ = digits
    net = small(max_epochs=2, batch_size=100).fit(X, y)
    callbacks = dict(net.callbacks_)
    # the one snapshot of the initial weights is the public callback
    assert isinstance(callbacks["initial_params"], RecordInitialParams)
    assert isinstance(callbacks["train_loss"], PassthroughScoring)
    epoch = net.history[-1]
    losses = [b["train_loss"] for b in epoch["batches"]]
    sizes = [b["train_batch_size"] for b in epoch["batches"]]
    assert epoch["train_loss"] == pytest.approx(np.average(losses, weights=sizes))
    assert [k for k in epoch if k.startswith("train_")][:3] == [
        "train_batch_count",
        "train_loss",
        "train_acc",
    ]
    assert "train_loss_best" not in epoch
    assert net.n_steps_ == 2 * len(sizes) and net.n_epochs_ == 2


def test_numpy_and_torch_margins_are_one_rule():
    from sklearn_gen.measures._margin_utils import _margins_from_scores
    from sklearn_gen.networks._callbacks import margins

    rng = np.random.default_rng(0)
    scores = rng.normal(size=(50, 4))
    target = rng.integers(0, 4, size=50)
    expected = margins(torch.as_tensor(scores), torch.as_tensor(target)).numpy()
    np.testing.assert_array_equal(_margins_from_scores(scores, target), expected)
    assert expected.dtype == np.float64


def test_chunked_statistics_agree_with_one_pass():
    from functools import partial

    from sklearn_gen.networks._callbacks import StoppingRules, chunked_statistics

    generator = torch.Generator().manual_seed(0)
    X = torch.randn(37, 5, generator=generator)
    y = torch.randint(0, 3, (37,), generator=generator)
    weight = torch.randn(5, 3, generator=generator)
    stats = partial(StoppingRules.chunk_statistics, torch.nn.CrossEntropyLoss())
    whole = chunked_statistics(lambda x: x @ weight, X, y, stats, chunk_size=100)
    for chunk, gather in ((4, 0), (4, 30), (10, 10**6)):
        parts = chunked_statistics(lambda x: x @ weight, X, y, stats, chunk, gather=gather)
        assert parts[0].item() == pytest.approx(whole[0].item(), rel=1e-6)
        assert parts[1].item() == whole[1].item()
        torch.testing.assert_close(parts[2], whole[2])
