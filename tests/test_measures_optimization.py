"""Optimization-speed measures (Jiang et al. 2020): steps to a loss level, read from the
training history of real fits, checked against a loop over ``net.history``."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from skorch import NeuralNetClassifier

from sklearn_gen import NetworkClassifier
from sklearn_gen.measures import UndefinedMeasureError, layers_view
from sklearn_gen.measures._optimization import steps_between_losses, steps_to_loss
from sklearn_gen.randomization import LabelNoise


def _net(max_epochs: int = 60) -> NetworkClassifier:
    return NetworkClassifier(
        "mlp",
        module__hidden=(32,),
        lr=0.5,
        momentum=0.9,
        max_epochs=max_epochs,
        device="cpu",
        random_state=0,
    )


def _divide(X):
    return X / 16


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return _net().fit(X / 16, y)


def _expected_steps(history, level: float, key: str = "train_loss") -> int:
    """Independent count: walk the epochs, counting the batches that recorded a loss."""
    steps = 0
    for row in history:
        steps += len([batch for batch in row["batches"] if "train_loss" in batch])
        if row[key] <= level:
            return steps
    raise AssertionError("level never reached")


def test_history_records_what_the_measures_read(fitted, digits):
    X, _ = digits
    history = fitted.history
    per_epoch = -(-len(X) // 128)  # 1797 samples, batch_size=128: 15 steps an epoch
    assert len(history) == 60
    assert all(row["train_batch_count"] == per_epoch for row in history)
    assert all(len(row["batches"]) == per_epoch for row in history)
    # the epoch's train_loss is the size-weighted mean of its batch losses
    row = history[3]
    sizes = np.array([b["train_batch_size"] for b in row["batches"]])
    losses = np.array([b["train_loss"] for b in row["batches"]])
    assert row["train_loss"] == pytest.approx(np.sum(sizes * losses) / sizes.sum(), rel=1e-12)
    assert fitted.n_steps_ == 60 * per_epoch


@pytest.mark.parametrize("level", [1.0, 0.5, 0.1, 0.05, 0.03])
def test_steps_to_loss_matches_a_loop_over_the_history(fitted, level):
    value = steps_to_loss(fitted, level=level)
    assert isinstance(value, float)
    assert value == _expected_steps(fitted.history, level)
    # this run (lr=0.5, momentum=0.9) first reaches 0.1 at the end of epoch 9
    if level == 0.1:
        assert value == 9 * 15


def test_steps_between_losses_is_the_difference(fitted):
    history = fitted.history
    value = steps_between_losses(fitted, start=0.1, stop=0.05)
    assert value == _expected_steps(history, 0.05) - _expected_steps(history, 0.1) > 0
    # one epoch can cross both levels
    assert steps_between_losses(fitted, start=2.0, stop=1.9) == 0.0


def test_never_reached_is_undefined_and_names_the_last_loss(fitted):
    last = fitted.history[-1, "train_loss"]
    assert min(fitted.history[:, "train_loss"]) > 0.01  # this unstable run never gets there
    with pytest.raises(UndefinedMeasureError, match=f"last {last:.4g}") as info:
        steps_to_loss(fitted, level=0.01)
    assert "never reached 0.01" in str(info.value) and "60 recorded epochs" in str(info.value)
    with pytest.raises(UndefinedMeasureError, match=r"never reached 0\.01"):
        steps_between_losses(fitted)  # Jiang et al.'s 0.1 -> 0.01


def test_through_pipeline_and_label_noise(digits, fitted):
    X, y = digits
    # the same training (same seed, same data; no schedule, so 12 epochs replay the
    # first 12 of the 60), reached through a Pipeline and a LabelNoise with p=0
    pipe = make_pipeline(FunctionTransformer(_divide), LabelNoise(_net(12), p=0.0))
    pipe.fit(X, y)
    np.testing.assert_allclose(
        pipe[-1].estimator_.history[:, "train_loss"], fitted.history[:12, "train_loss"]
    )
    assert steps_to_loss(pipe, X, y) == steps_to_loss(fitted) == 135.0
    assert steps_between_losses(pipe, start=0.5, stop=0.1) == steps_between_losses(
        fitted, start=0.5, stop=0.1
    )
    with pytest.raises(UndefinedMeasureError, match="12 recorded epochs"):
        steps_to_loss(pipe, level=0.05)


def test_other_history_keys_and_plain_skorch_nets(fitted, digits):
    X, y = digits
    # a plain skorch net records train_batch_count and train_loss the same way
    torch.manual_seed(0)
    plain = NeuralNetClassifier(
        torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)),
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.SGD,
        optimizer__momentum=0.9,
        lr=0.5,
        max_epochs=8,
        train_split=None,
        device="cpu",
        verbose=0,
    ).fit(X.astype(np.float32) / 16, y)
    level = float(np.median(plain.history[:, "train_loss"]))
    assert steps_to_loss(plain, level=level) == _expected_steps(plain.history, level) > 15
    # a history without batch counts: the batch records are counted
    stripped = copy.deepcopy(fitted)
    for row in stripped.history:
        del row["train_batch_count"]
    assert steps_to_loss(stripped) == steps_to_loss(fitted)
    # key= reads another per-epoch entry
    for row in stripped.history:
        row["exact_loss"] = row["train_loss"] / 2
    assert steps_to_loss(stripped, key="exact_loss", level=0.05) == steps_to_loss(fitted)
    with pytest.raises(ValueError, match="no 'train_loss_full' entry"):
        steps_to_loss(fitted, key="train_loss_full")


def test_diverged_losses_never_count(fitted):
    diverged = copy.deepcopy(fitted)
    for row in diverged.history:
        row["train_loss"] = float("nan")
    with pytest.raises(UndefinedMeasureError, match="last nan"):
        steps_to_loss(diverged)


def test_misuse_and_bad_parameters(fitted):
    module = fitted.module_
    for model in (module, layers_view(fitted)):
        with pytest.raises(ValueError, match="fitted NetworkClassifier"):
            steps_to_loss(model)
    with pytest.raises(TypeError, match="Was it fitted"):
        steps_to_loss(_net())
    for bad in (0.0, -1.0, float("nan"), float("inf"), "0.1", True):
        with pytest.raises((ValueError, TypeError), match="level"):
            steps_to_loss(fitted, level=bad)
    with pytest.raises(ValueError, match="stop must be smaller than start"):
        steps_between_losses(fitted, start=0.01, stop=0.1)
    with pytest.raises(ValueError, match="stop must be smaller than start"):
        steps_between_losses(fitted, start=0.1, stop=0.1)
    with pytest.raises(ValueError, match="start"):
        steps_between_losses(fitted, start=-0.1)
    with pytest.raises(TypeError, match="key"):
        steps_to_loss(fitted, key=3)


def test_the_model_is_not_changed(fitted):
    state = {k: v.clone() for k, v in fitted.module_.state_dict().items()}
    n_epochs = len(fitted.history)
    steps_to_loss(fitted)
    steps_between_losses(fitted, start=0.1, stop=0.05)
    assert len(fitted.history) == n_epochs
    for k, v in fitted.module_.state_dict().items():
        assert torch.equal(v, state[k])
