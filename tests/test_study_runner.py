"""The one study runner: declarations, seeds, splits, packs and resuming."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from sklearn_gen import LabelNoise, NetworkClassifier
from sklearn_gen.studies import Study, configuration_packs, run_study, seed_estimator
from sklearn_gen.studies._study import _stratified_order


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16, y[:400]


def _noise_study(max_epochs: int) -> Study:
    net = NetworkClassifier(
        "mlp", module__hidden=(32,), lr=0.1, max_epochs=max_epochs, device="cpu"
    )
    return Study(
        "noise",
        LabelNoise(net, p=0.0),
        {"p": [0.0, 0.5, 1.0]},
        scoring={"accuracy": "accuracy"},
        n_repeats=2,
    )


def test_packs_agree_with_fits_one_at_a_time(digits):
    X, y = digits
    alone = run_study(_noise_study(1), X, y, pack_size=1)
    packed = run_study(_noise_study(1), X, y)  # default: every network in a pack
    columns = ["p", "repeat", "n_train", "n_test"]
    pd.testing.assert_frame_equal(alone[columns], packed[columns])
    # one epoch, same seeds and batches: the same network up to float32 rounding
    np.testing.assert_allclose(alone["train_accuracy"], packed["train_accuracy"], atol=0.01)
    np.testing.assert_allclose(alone["test_accuracy"], packed["test_accuracy"], atol=0.02)


def test_configuration_packs_sets_the_default(digits):
    X, y = digits
    with configuration_packs(1):
        inside = run_study(_noise_study(1), X, y)
    np.testing.assert_array_equal(
        inside["test_accuracy"], run_study(_noise_study(1), X, y, pack_size=1)["test_accuracy"]
    )
    with pytest.raises(ValueError, match="pack_size"):
        run_study(_noise_study(1), X, y, pack_size=0)


def test_cached_study_reads_back_the_same_frame(digits, tmp_path):
    X, y = digits
    first = run_study(_noise_study(2), X, y, cache_dir=tmp_path)
    assert len(list(tmp_path.rglob("output.pkl"))) >= 1
    pd.testing.assert_frame_equal(first, run_study(_noise_study(2), X, y, cache_dir=tmp_path))


def test_seeds_depend_on_repeat_and_grid_point_not_on_order(digits):
    X, y = digits
    study = Study(
        "trees",
        DecisionTreeClassifier(max_features=0.5),
        {"max_depth": [2, 8]},
        scoring={"accuracy": "accuracy"},
        n_repeats=2,
    )
    reversed_grid = Study(
        "trees",
        DecisionTreeClassifier(max_features=0.5),
        [{"max_depth": [8]}, {"max_depth": [2]}],
        scoring={"accuracy": "accuracy"},
        n_repeats=2,
    )
    a = run_study(study, X, y).set_index(["repeat", "max_depth"]).sort_index()
    b = run_study(reversed_grid, X, y).set_index(["repeat", "max_depth"]).sort_index()
    pd.testing.assert_series_equal(a["test_accuracy"], b["test_accuracy"])
    assert a.loc[0, "n_test"].iloc[0] == 100  # the default 25% held out


def test_train_size_draws_nested_stratified_subsets(digits):
    X, y = digits
    order = _stratified_order(np.arange(len(y)), y, seed=0)
    assert len(np.unique(y[order[:10]])) == 10  # every class in the first 10 rows
    study = Study(
        "sizes",
        LogisticRegression(max_iter=500),
        {"data__train_size": [20, 200]},
        scoring={"accuracy": "accuracy"},
    )
    frame = run_study(study, X, y)
    assert frame["train_size"].tolist() == [20, 200]
    assert frame["n_train"].tolist() == [20, 200]
    with pytest.raises(ValueError, match="larger than"):
        run_study(Study("big", LogisticRegression(), {"data__train_size": [10_000]},
                        scoring={"accuracy": "accuracy"}), X, y)  # fmt: skip


def test_seed_estimator_gives_each_random_state_its_own_stream():
    model = seed_estimator(LabelNoise(NetworkClassifier("mlp")), 3)
    assert model.random_state != model.estimator.random_state
    again = seed_estimator(LabelNoise(NetworkClassifier("mlp")), 3)
    assert (model.random_state, model.estimator.random_state) == (
        again.random_state,
        again.estimator.random_state,
    )


def test_run_study_rejects_bad_input(digits):
    X, y = digits
    with pytest.raises(TypeError, match="must be a Study"):
        run_study({"estimator": LogisticRegression()}, X, y)
    study = Study("lr", LogisticRegression(), {"C": [1.0]}, scoring={"accuracy": "accuracy"})
    with pytest.raises(ValueError, match="pass X and y"):
        run_study(study)
    with pytest.raises(ValueError, match="random_state"):
        run_study(study, X, y, random_state=-1)


def test_more_repeats_reuse_the_stored_ones(digits, tmp_path):
    # the stored key of a configuration leaves out n_repeats: extending a study from 2 to 3
    # repeats computes only the new repeat (packs off: one stored result per configuration)
    X, y = digits
    trees = Study(
        "trees",
        DecisionTreeClassifier(max_features=0.5),
        {"max_depth": [2, 8]},
        scoring={"accuracy": "accuracy"},
        n_repeats=2,
    )
    two = run_study(trees, X, y, cache_dir=tmp_path, pack_size=1)
    stored = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("output.pkl")}
    assert len(stored) == 4
    three = run_study(replace(trees, n_repeats=3), X, y, cache_dir=tmp_path, pack_size=1)
    after = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("output.pkl")}
    assert len(after) == 6 and all(after[path] == stored[path] for path in stored)
    pd.testing.assert_frame_equal(three[three["repeat"] < 2].reset_index(drop=True), two)
