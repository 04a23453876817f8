"""Nagarajan & Kolter's overparameterized linear example: data, learner, study, figure."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from sklearn_gen.datasets import make_linear_counterexample, negate_noise, signal_direction
from sklearn_gen.networks._linear_gd import GradientDescentLinearClassifier
from sklearn_gen.studies import linear_example
from sklearn_gen.studies.plotting import plot_linear_example


# ----------------------------------------------------------------------------- data
def test_generator_blocks_and_noise_scale():
    X, y = make_linear_counterexample(
        400, n_signal=3, n_noise=500, signal_norm=0.5, noise_variance=32.0, random_state=0
    )
    assert X.shape == (400, 503) and X.dtype == np.float64 and set(np.unique(y)) == {-1, 1}
    np.testing.assert_allclose(X[:, :3], 0.5 * y[:, None] * signal_direction(3))
    # each noise coordinate has variance 32 / D, so E ||x2||^2 = 32
    assert np.mean(np.sum(X[:, 3:] ** 2, axis=1)) == pytest.approx(32.0, rel=0.01)
    assert abs(np.mean(y)) < 0.15  # +1 and -1 with probability 1/2
    again, _ = make_linear_counterexample(
        400, n_signal=3, n_noise=500, signal_norm=0.5, random_state=0
    )
    assert np.array_equal(X, again)


def test_negate_noise_keeps_signal_and_labels():
    X, y = make_linear_counterexample(6, n_signal=2, n_noise=10, random_state=1)
    Xp, yp = negate_noise(X, y, n_signal=2)
    assert np.array_equal(Xp[:, :2], X[:, :2]) and np.array_equal(Xp[:, 2:], -X[:, 2:])
    assert np.array_equal(yp, y) and Xp is not X


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: make_linear_counterexample(0), "n_samples"),
        (lambda: make_linear_counterexample(5, n_noise=0), "n_noise"),
        (lambda: make_linear_counterexample(5, signal_norm=-1.0), "signal_norm"),
        (lambda: make_linear_counterexample(5, noise_variance=np.inf), "noise_variance"),
        (lambda: negate_noise(np.ones((3, 4)), np.ones(3), n_signal=4), "no noise columns"),
        (lambda: negate_noise(np.ones(4), np.ones(4), n_signal=1), "2-D"),
    ],
)
def test_generator_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------- learner
def test_one_hinge_step_from_zero_is_the_sum_of_signed_points():
    X, y = make_linear_counterexample(30, n_signal=2, n_noise=50, random_state=0)
    clf = GradientDescentLinearClassifier().fit(X, y)
    np.testing.assert_allclose(clf.coef_[0], (y[:, None] * X).sum(axis=0))
    assert clf.intercept_.tolist() == [0.0] and clf.n_iter_ == 1
    # labels other than -1/+1: classes_[1] is the positive class
    named = GradientDescentLinearClassifier().fit(X, np.where(y > 0, "b", "a"))
    np.testing.assert_allclose(named.coef_, clf.coef_)
    assert np.array_equal(named.predict(X) == "b", clf.predict(X) == 1)


def test_more_logistic_steps_separate_the_training_set():
    X, y = make_linear_counterexample(40, n_signal=1, n_noise=200, random_state=0)
    clf = GradientDescentLinearClassifier(loss="logistic", learning_rate=0.1, n_steps=50)
    assert clf.fit(X, y).score(X, y) == 1.0 and clf.n_iter_ == 50


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"loss": "squared"}, ValueError, "loss must be one of"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate"),
        ({"learning_rate": "1"}, TypeError, "learning_rate"),
        ({"n_steps": 0}, ValueError, "n_steps"),
        ({"n_steps": 1.5}, TypeError, "n_steps"),
    ],
)
def test_learner_bad_params(params, error, match):
    with pytest.raises(error, match=match):
        GradientDescentLinearClassifier(**params).fit(np.eye(4), [0, 1, 0, 1])


def test_learner_is_binary():
    with pytest.raises(ValueError, match="Only binary classification"):
        GradientDescentLinearClassifier().fit(np.eye(3), [0, 1, 2])


# ----------------------------------------------------------------------------- study
def test_test_error_falls_with_m_while_s_prime_stays_misclassified():
    # Scaled down from the documented run (m = 16..256, D = 256 * 256, 5 repeats, 500 test
    # points): m in {10, 40, 160}, D = 128 * 160 = 20,480, 2 repeats, 300 test points.
    # The exact error of these weights is Phi(-sqrt(128 m / 160) / 8) = 0.36, 0.24, 0.079.
    # Measured over random_state 0..9: mean test error 0.33-0.40, 0.22-0.275, 0.06-0.093,
    # falling with m for every seed; S' error 1.0 in every fit.
    frame = linear_example((10, 40, 160), n_repeats=2, noise_ratio=128, n_test=300, random_state=0)
    assert len(frame) == 6 and set(frame["n_noise"]) == {20_480}
    means = frame.groupby("m").mean()
    assert (np.diff(means["test_error"]) < 0).all()
    assert (np.diff(means["population_error"]) < 0).all()
    np.testing.assert_allclose(means["population_error"], [0.362, 0.240, 0.079], atol=0.01)
    assert (frame["s_prime_error"] >= 0.95).all() and (frame["s_prime_margin_max"] < 0).all()
    assert (frame["train_error"] == 0).all()


def test_per_m_scaling_is_the_theorem_construction():
    # D = 64 m and ||x1|| = 2 / sqrt(m) at every m: exact test error Phi(-sqrt(64) / 8) =
    # Phi(-1) = 0.159 at each size (measured 0.155-0.163), every point of S' misclassified.
    frame = linear_example(
        (16, 32), n_repeats=2, scaling="per_m", noise_ratio=64, n_test=100, random_state=0
    )
    assert frame.groupby("m")["n_noise"].first().tolist() == [1024, 2048]
    np.testing.assert_allclose(frame["population_error"], 0.159, atol=0.03)
    assert (frame["s_prime_error"] == 1.0).all()


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"sample_sizes": (1, 8)}, ValueError, "sample_sizes"),
        ({"sample_sizes": (8, 8)}, ValueError, "distinct"),
        ({"n_repeats": 0}, ValueError, "n_repeats"),
        ({"scaling": "log"}, ValueError, "scaling"),
        ({"noise_ratio": -1.0}, ValueError, "noise_ratio"),
        ({"estimator": "svm"}, TypeError, "estimator"),
    ],
)
def test_study_bad_params(params, error, match):
    with pytest.raises(error, match=match):
        linear_example(**params)


def test_study_is_reproducible_and_figure_has_its_curves():
    kwargs = dict(sample_sizes=(8, 16), n_repeats=2, noise_ratio=16, n_test=50, random_state=3)
    frame = linear_example(**kwargs)
    assert frame.equals(linear_example(**kwargs))
    fig = plot_linear_example(frame)
    assert isinstance(fig, Figure)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == [
        "test error",
        "test error (exact, from w)",
        "error on S' (noise negated)",
        "training error",
    ]
    with pytest.raises(ValueError, match="'m' column"):
        plot_linear_example(frame.drop(columns="m"))
