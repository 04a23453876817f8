"""Tests of the randomization experiments (Zhang et al. 2017) and their figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.datasets import load_digits

from sklearn_gen.kernels import KernelInterpolator
from sklearn_gen.networks import NetworkClassifier
from sklearn_gen.studies._randomization import (
    CONDITIONS,
    RANDOMIZATION_COLUMNS,
    expressivity,
    randomization_test,
    regularization_ablation,
)
from sklearn_gen.studies.plotting._randomization import (
    plot_expressivity,
    plot_randomization_test,
    plot_regularization_ablation,
)

LEVELS = (0.0, 0.5, 1.0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def _net(**params):
    settings = {
        "module__hidden": (128,),
        "lr": 0.1,
        "batch_size": 128,
        "max_epochs": 400,
        "stop_on_interpolation": True,
        "device": "cpu",
    }
    settings.update(params)
    return NetworkClassifier("mlp", **settings)


@pytest.fixture(scope="module")
def fig1(digits):
    X, y = digits
    return randomization_test(X, y, estimator=_net(), corruption_levels=LEVELS, random_state=0)


# --------------------------------------------------------------------- randomization_test
def test_frame_layout(fig1):
    assert list(fig1.columns[: len(RANDOMIZATION_COLUMNS)]) == RANDOMIZATION_COLUMNS
    assert set(fig1["panel"]) == {"curves", "corruption"}
    curves = fig1[fig1["panel"] == "curves"]
    assert set(curves["condition"]) == set(CONDITIONS)
    corruption = fig1[fig1["panel"] == "corruption"]
    assert sorted(corruption["p"]) == list(LEVELS)
    assert (corruption["condition"] == "corrupted labels").all()
    assert corruption["epoch"].isna().all()
    assert fig1["converged"].dtype == bool
    # the step is cumulative and ends at the number of steps of the fit
    for _, run in curves.groupby("condition"):
        assert np.all(np.diff(run["step"]) > 0)
        assert run["step"].iloc[-1] == run["steps_to_fit"].iloc[-1]
        assert run["epoch"].iloc[-1] == run["epochs_to_fit"].iloc[-1]


def test_every_condition_is_fitted(fig1):
    """True labels, random labels, shuffled/random pixels and Gaussian inputs: all
    interpolated, with a training loss that falls overall."""
    curves = fig1[fig1["panel"] == "curves"]
    for condition, run in curves.groupby("condition"):
        assert run["converged"].all(), condition
        assert run["train_accuracy"].iloc[0] == 1.0, condition
        assert run["end_of_epoch_train_accuracy"].iloc[-1] == 1.0, condition
        losses = run.sort_values("epoch")["running_train_loss"].to_numpy()
        assert losses[-1] < 0.5 * losses[0], condition
        assert losses[-5:].mean() < losses[:5].mean(), condition
    summary = curves.groupby("condition").first()
    # structure kept (true labels, shuffled pixels) generalizes; the rest is near chance
    assert summary.loc["true labels", "test_error"] < 0.15
    assert summary.loc["shuffled pixels", "test_error"] < 0.2
    for condition in ("random labels", "random pixels", "gaussian"):
        assert summary.loc[condition, "test_error"] > 0.7, condition
    # random labels: about 9 in 10 training labels are wrong
    assert summary.loc["random labels", "train_accuracy_true_labels"] < 0.3


def test_corruption_panel(fig1):
    corruption = fig1[fig1["panel"] == "corruption"]
    means = corruption.groupby("p")[["test_error", "epochs_to_fit", "train_accuracy"]].mean()
    # every corruption level, random labels included, is interpolated
    assert (means["train_accuracy"] == 1.0).all()
    assert corruption["converged"].all()
    # the test error rises with p, to near chance at p = 1
    errors = means.loc[list(LEVELS), "test_error"].to_numpy()
    assert np.all(np.diff(errors) > 0)
    assert errors[-1] > 0.7
    # fitting noise takes longer than fitting the true labels
    assert means.loc[1.0, "epochs_to_fit"] > means.loc[0.0, "epochs_to_fit"]


def test_kernel_estimator_skips_curves(digits):
    X, y = digits
    frame = randomization_test(
        X,
        y,
        estimator=KernelInterpolator(gamma=0.05, device="cpu"),
        corruption_levels=(0.0, 1.0),
    )
    assert set(frame["panel"]) == {"corruption"}
    assert frame["epochs_to_fit"].isna().all()
    assert (frame["train_accuracy"] == 1.0).all()
    errors = frame.set_index("p")["test_error"]
    assert errors[1.0] > errors[0.0]
    fig = plot_randomization_test(frame)
    assert all(ax.get_xlabel() for ax in fig.axes)


@pytest.mark.filterwarnings("ignore:The stopping rules were not met")
def test_n_jobs_gives_identical_results(digits):
    X, y = digits
    kwargs = {
        "estimator": _net(module__hidden=(32,), max_epochs=15),
        "conditions": ["random pixels"],
        "corruption_levels": (0.5,),
        "n_repeats": 2,
        "random_state": 3,
    }
    one = randomization_test(X[:300], y[:300], n_jobs=1, **kwargs)
    two = randomization_test(X[:300], y[:300], n_jobs=2, **kwargs)
    pd.testing.assert_frame_equal(one.drop(columns="fit_seconds"), two.drop(columns="fit_seconds"))
    # repeats differ from each other
    corruption = one[one["panel"] == "corruption"]
    assert corruption.groupby("repeat")["test_error"].sum().nunique() == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"conditions": ["random labels", "no such condition"]},
        {"corruption_levels": (0.0, 1.5)},
        {"corruption_levels": (-0.1,)},
        {"test_size": 1.5},
        {"n_repeats": 0},
        {"conditions": (), "corruption_levels": ()},
    ],
)
def test_randomization_test_bad_inputs(digits, kwargs):
    X, y = digits
    with pytest.raises(ValueError):
        randomization_test(X, y, estimator=_net(max_epochs=1), **kwargs)


def test_randomization_test_bad_data():
    with pytest.raises(ValueError, match="2-D"):
        randomization_test(np.zeros(10), np.arange(10) % 2)


# ----------------------------------------------------------------- regularization_ablation
def test_regularization_ablation(digits):
    X, y = digits
    switches = ["weight_decay", "augment", "dropout", "batch_norm"]
    frame = regularization_ablation(
        X,
        y,
        estimator=_net(
            input_shape=(1, 8, 8), augment_padding=1, max_epochs=15, stop_on_interpolation=False
        ),
        switches=switches,
        corruption_levels=(0.0, 1.0),
    )
    settings = ["baseline", *[f"+{s}" for s in switches], "all"]
    assert len(frame) == 2 * len(settings)
    assert list(frame[frame["p"] == 0.0]["setting"]) == settings
    for column in ("train_accuracy", "test_accuracy"):
        assert frame[column].between(0.0, 1.0).all()
    assert np.allclose(frame["test_accuracy"] + frame["test_error"], 1.0)
    assert (frame["epochs"] == 15).all()
    for s in switches:
        assert frame[s].dtype == bool
    states = frame.set_index(["p", "setting"])[switches]
    assert not states.loc[(0.0, "baseline")].any()
    assert states.loc[(0.0, "all")].all()
    assert states.loc[(0.0, "+dropout")].tolist() == [s == "dropout" for s in switches]
    clean = frame[frame["p"] == 0.0].set_index("setting")
    assert (clean["test_accuracy"] > 0.7).all()
    noisy = frame[frame["p"] == 1.0]
    assert (noisy["test_accuracy"] < 0.3).all()
    fig = plot_regularization_ablation(frame)
    assert isinstance(fig, Figure)
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    # one panel per level, two bars (train, test) per setting, at the frame's means
    assert len(fig.axes) == frame["p"].nunique()
    first = fig.axes[0]
    settings = list(dict.fromkeys(frame["setting"]))
    assert [t.get_text() for t in first.get_xticklabels()] == settings
    heights = [patch.get_height() for patch in first.patches]
    assert len(heights) == 2 * len(settings)
    means = frame[frame["p"] == frame["p"].min()].groupby("setting")["train_accuracy"].mean()
    np.testing.assert_allclose(heights[: len(settings)], means.reindex(settings), rtol=1e-12)


def test_regularization_ablation_bad_inputs(digits):
    X, y = digits
    with pytest.raises(ValueError, match="Unknown switch"):
        regularization_ablation(X, y, estimator=_net(max_epochs=1), switches=["mixup"])
    with pytest.raises(ValueError, match="input_shape"):
        regularization_ablation(X, y, estimator=_net(max_epochs=1), switches=["augment"])
    with pytest.raises(ValueError, match="input_shape"):
        regularization_ablation(X, y, input_shape=(1, 7, 7))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        regularization_ablation(X, y, corruption_levels=(2.0,))


# ---------------------------------------------------------------------------- expressivity
def test_expressivity():
    frame = expressivity(n_values=(100, 300, 1000), d=50, n_classes=10, n_repeats=2)
    assert len(frame) == 6
    assert (frame["train_accuracy"] == 1.0).all()
    assert (frame["n_params"] == 2 * frame["n"] + frame["d"]).all()
    assert (frame["condition_number"] >= 1.0).all()
    assert (frame["train_residual"] < 0.5).all()
    again = expressivity(n_values=(100, 300, 1000), d=50, n_classes=10, n_repeats=2, n_jobs=2)
    pd.testing.assert_frame_equal(
        frame.drop(columns="fit_seconds"), again.drop(columns="fit_seconds")
    )


@pytest.mark.parametrize(
    "kwargs",
    [{"n_values": (1,)}, {"n_values": ()}, {"d": 0}, {"n_classes": 1}, {"n_values": (10.5,)}],
)
def test_expressivity_bad_inputs(kwargs):
    with pytest.raises(ValueError):
        expressivity(**kwargs)


# ----------------------------------------------------------------------------------- plots
def test_plot_randomization_test(fig1, tmp_path):
    for normalize in (False, True):
        fig = plot_randomization_test(fig1, normalize_epochs=normalize)
        assert isinstance(fig, Figure)
        assert len(fig.axes) == 3
        assert all(ax.get_xlabel() and ax.get_ylabel() and ax.get_title() for ax in fig.axes)
        assert all(ax.get_legend() is not None for ax in fig.axes)
    assert "p = 0" in fig.axes[1].get_ylabel()
    assert len(fig.axes[0].get_lines()) == len(CONDITIONS)
    path = tmp_path / "fig1.png"
    fig.savefig(path)
    assert path.stat().st_size > 0


def test_plot_expressivity(tmp_path):
    fig = plot_expressivity(expressivity(n_values=(50, 100), d=5))
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    path = tmp_path / "expressivity.png"
    fig.savefig(path)
    assert path.stat().st_size > 0


def test_plots_refuse_other_frames():
    with pytest.raises(ValueError):
        plot_randomization_test(pd.DataFrame({"a": [1]}))
    with pytest.raises(ValueError):
        plot_expressivity(pd.DataFrame())
    frame = pd.DataFrame(
        {
            "experiment": "expressivity",
            "setting": ["x"],
            "p": [0.0],
            "train_accuracy": [1.0],
            "test_accuracy": [1.0],
        }
    )
    with pytest.raises(ValueError, match="expressivity"):
        plot_regularization_ablation(frame)


def test_the_held_out_baseline_scores_every_epoch(digits):
    # heldout=0.25: one more setting, the baseline on 3/4 of its training split, scored on
    # the other quarter after every epoch; its best and final held-out accuracies
    X, y = digits
    frame = regularization_ablation(
        X,
        y,
        estimator=_net(max_epochs=8, stop_on_interpolation=False),
        switches=["weight_decay"],
        corruption_levels=(0.0, 1.0),
        heldout=0.25,
    )
    held = frame[frame["setting"] == "baseline, held out"]
    assert len(held) == 1 and held["p"].iloc[0] == 0.0  # the lowest level only
    row = held.iloc[0]
    assert 0.0 < row["heldout_final_accuracy"] <= row["heldout_best_accuracy"] <= 1.0
    assert 1 <= row["heldout_best_epoch"] <= 8
    assert frame.loc[frame["setting"] != "baseline, held out", "heldout_best_accuracy"].isna().all()
    with pytest.raises(ValueError, match="heldout"):
        regularization_ablation(X, y, heldout=1.0)
