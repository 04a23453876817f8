"""Tests of the finite-sample expressivity network (Zhang et al. 2017, Theorem 1)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sklearn_gen.networks import _finite_sample
from sklearn_gen.networks._finite_sample import FiniteSampleReLU, FiniteSampleReLURegressor

ESTIMATORS = [FiniteSampleReLU, FiniteSampleReLURegressor]


def _gaussian(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.random.Generator]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng


def _sorted_projections(est, X: np.ndarray) -> np.ndarray:
    return np.sort(np.sum(np.asarray(X, dtype=np.float64) * est.direction_, axis=1))


# ---------------------------------------------------------------------- Theorem 1
def test_theorem1_random_labels_1000_points_50_dims():
    X, rng = _gaussian(1000, 50)
    y = rng.integers(0, 10, size=1000)  # random labels, 10 classes
    clf = FiniteSampleReLU(random_state=0).fit(X, y)
    assert clf.score(X, y) == 1.0
    assert clf.n_params_ == 2 * 1000 + 50
    assert clf.direction_.shape == (50,)
    assert clf.biases_.shape == clf.weights_.shape == (1000,)
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    assert clf.train_residual_ < 1e-6
    assert 1.0 < clf.condition_number_ < 1.0 / np.finfo(np.float64).eps
    # the raw network output reproduces the class indices on the training points
    assert np.abs(clf.network_output(X) - y).max() == pytest.approx(clf.train_residual_)


@pytest.mark.parametrize("n_classes", [2, 3, 7])
def test_classifier_param_count_independent_of_classes(n_classes):
    X, rng = _gaussian(150, 4, seed=n_classes)
    y = rng.integers(0, n_classes, size=150)
    clf = FiniteSampleReLU(random_state=1).fit(X, y)
    assert clf.n_params_ == 2 * 150 + 4
    assert clf.score(X, y) == 1.0


@pytest.mark.parametrize(("n", "d"), [(300, 1), (300, 3), (200, 20), (50, 200)])
def test_regressor_interpolates_real_targets(n, d):
    X, rng = _gaussian(n, d, seed=d)
    y = rng.standard_normal(n) * 100.0 + 7.0
    reg = FiniteSampleReLURegressor(random_state=0).fit(X, y)
    relative = np.abs(reg.predict(X) - y).max() / np.abs(y).max()
    assert relative < 1e-8
    assert reg.n_params_ == 2 * n + d
    assert reg.train_residual_ == np.abs(reg.predict(X) - y).max()


def test_regressor_multi_output():
    X, rng = _gaussian(120, 5)
    Y = rng.standard_normal((120, 3))
    reg = FiniteSampleReLURegressor(random_state=0).fit(X, Y)
    assert reg.weights_.shape == (120, 3)
    assert reg.n_params_ == 120 + 120 * 3 + 5
    assert reg.predict(X).shape == (120, 3)
    np.testing.assert_allclose(reg.predict(X), Y, rtol=0, atol=1e-8)
    # each column is the single-output network on the same hidden layer
    single = FiniteSampleReLURegressor(random_state=0).fit(X, Y[:, 1])
    np.testing.assert_array_equal(single.biases_, reg.biases_)
    np.testing.assert_allclose(single.predict(X), reg.predict(X)[:, 1], atol=1e-8)


def test_construction_interleaves_biases_and_is_lower_triangular():
    X, rng = _gaussian(60, 3)
    reg = FiniteSampleReLURegressor(random_state=3).fit(X, rng.standard_normal(60))
    z, b = _sorted_projections(reg, X), reg.biases_
    assert np.linalg.norm(reg.direction_) == pytest.approx(1.0)
    assert np.all(b < z) and np.all(b[1:] > z[:-1])
    A = np.maximum(z[:, None] - b[None, :], 0.0)
    np.testing.assert_array_equal(A, np.tril(A))
    assert np.all(np.diag(A) > 0)


def test_condition_number_matches_exact_one_norm_condition():
    X, rng = _gaussian(200, 6)
    reg = FiniteSampleReLURegressor(random_state=0).fit(X, rng.standard_normal(200))
    z = _sorted_projections(reg, X)
    A = np.maximum(z[:, None] - reg.biases_[None, :], 0.0)
    exact = np.linalg.cond(A, 1)
    assert exact / 10 <= reg.condition_number_ <= exact * (1 + 1e-6)


def test_network_output_is_the_formula():
    X, rng = _gaussian(80, 4)
    reg = FiniteSampleReLURegressor(random_state=0).fit(X, rng.standard_normal(80))
    X_new = 2.0 * rng.standard_normal((25, 4))
    out = reg.network_output(X_new)
    for x, value in zip(X_new, out, strict=True):
        terms = reg.weights_ * np.maximum(math.fsum(x * reg.direction_) - reg.biases_, 0.0)
        assert value == pytest.approx(math.fsum(terms), abs=1e-12 * np.abs(terms).sum())


# ---------------------------------------------------------------------- determinism
def test_same_random_state_same_network_different_state_different_direction():
    X, rng = _gaussian(100, 8)
    y = rng.standard_normal(100)
    a = FiniteSampleReLURegressor(random_state=42).fit(X, y)
    b = FiniteSampleReLURegressor(random_state=42).fit(X, y)
    c = FiniteSampleReLURegressor(random_state=43).fit(X, y)
    np.testing.assert_array_equal(a.direction_, b.direction_)
    np.testing.assert_array_equal(a.biases_, b.biases_)
    np.testing.assert_array_equal(a.weights_, b.weights_)
    assert not np.allclose(a.direction_, c.direction_)


def test_random_state_instance_is_stored_untouched_and_resolved_in_fit():
    state = np.random.RandomState(0)
    reg = FiniteSampleReLURegressor(random_state=state)
    assert reg.get_params()["random_state"] is state
    X, rng = _gaussian(30, 3)
    y = rng.standard_normal(30)
    first = reg.fit(X, y).direction_.copy()
    second = reg.fit(X, y).direction_.copy()
    assert not np.allclose(first, second)  # the instance advanced between the fits


def test_predictions_do_not_depend_on_batching(monkeypatch):
    X, rng = _gaussian(200, 7)
    y = rng.integers(0, 4, size=200)
    clf = FiniteSampleReLU(random_state=0).fit(X, y)
    X_new = rng.standard_normal((57, 7))
    full = clf.network_output(X_new)
    by_row = np.concatenate([clf.network_output(row[None, :]) for row in X_new])
    # float64 products of other batch shapes or memory layouts may sum in another order
    # (BLAS kernels): equal to a few ulps, not bit for bit on every CPU
    np.testing.assert_allclose(by_row, full, rtol=1e-12, atol=1e-12)
    monkeypatch.setattr(_finite_sample, "_FORWARD_ROWS", 5)
    monkeypatch.setattr(_finite_sample, "_PROJECT_ELEMENTS", 3)
    np.testing.assert_allclose(clf.network_output(X_new), full, rtol=1e-12, atol=1e-12)
    fortran = clf.network_output(np.asfortranarray(X_new))
    np.testing.assert_allclose(fortran, full, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------- duplicates
def test_duplicates_with_conflicting_labels_raise():
    X, _ = _gaussian(20, 3)
    X = np.vstack([X, X[:2]])
    y = np.r_[np.zeros(20, dtype=int), [1, 1]]
    with pytest.raises(ValueError, match=r"duplicate samples with conflicting targets: 2"):
        FiniteSampleReLU(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="duplicate"):
        FiniteSampleReLURegressor(random_state=0).fit(X, y.astype(float))


def test_duplicates_with_equal_targets_are_fitted_once():
    X, rng = _gaussian(40, 3)
    y = rng.standard_normal(40)
    X_dup, y_dup = np.vstack([X, X[:5], X[:1]]), np.r_[y, y[:5], y[:1]]
    reg = FiniteSampleReLURegressor(random_state=0).fit(X_dup, y_dup)
    assert reg.biases_.shape == (40,)
    assert reg.n_params_ == 2 * 40 + 3
    np.testing.assert_allclose(reg.predict(X_dup), y_dup, atol=1e-9)
    # -0.0 and 0.0 are the same point
    X_zero = np.array([[0.0, 1.0], [-0.0, 1.0], [1.0, 2.0]])
    reg = FiniteSampleReLURegressor(random_state=0).fit(X_zero, [1.0, 1.0, 2.0])
    assert reg.biases_.shape == (2,)


def test_distinct_points_with_the_same_projection_raise():
    # The second coordinate is far below the rounding unit of the first: the rows differ,
    # but their projections onto any direction are the same float.
    X = np.array([[1e5, 0.0], [1e5, 1e-20], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"1 pair\(s\) of distinct training points have the same"):
        FiniteSampleReLURegressor(random_state=0).fit(X, [0.0, 1.0, 2.0])


def test_ill_conditioned_system_raises_with_condition_number():
    X = np.array([[0.0], [1e-16], [1.0]])
    with pytest.raises(ValueError, match=r"condition number \(1-norm estimate\) is 1\.5e\+17"):
        FiniteSampleReLURegressor(random_state=0).fit(X, [0.0, 1.0, 0.0])


def test_residual_above_tol_raises():
    X, rng = _gaussian(300, 5)
    y = rng.standard_normal(300)
    reg = FiniteSampleReLURegressor(random_state=0).fit(X, y)
    assert reg.train_residual_ > 0
    with pytest.raises(ValueError, match=r"tol=0.*condition number"):
        FiniteSampleReLURegressor(random_state=0, tol=0.0).fit(X, y)


# ---------------------------------------------------------------------- API
@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    ("tol", "error"),
    [
        (-1e-3, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("1e-6", TypeError),
        (True, TypeError),
        (None, TypeError),
    ],
)
def test_bad_tol_raises(Estimator, tol, error):
    X, rng = _gaussian(10, 2)
    with pytest.raises(error, match="tol"):
        Estimator(tol=tol).fit(X, rng.integers(0, 2, size=10))


def test_string_labels():
    X, rng = _gaussian(90, 4)
    names = np.array(["cat", "dog", "emu"])
    y = names[rng.integers(0, 3, size=90)]
    clf = FiniteSampleReLU(random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, names)
    np.testing.assert_array_equal(clf.predict(X), y)
    assert set(clf.predict(rng.standard_normal((30, 4)))) <= set(names)


def test_decision_function_matches_predict():
    X, rng = _gaussian(100, 3)
    binary = FiniteSampleReLU(random_state=0).fit(X, rng.integers(0, 2, size=100))
    X_new = rng.standard_normal((200, 3))
    scores = binary.decision_function(X_new)
    assert scores.shape == (200,)
    np.testing.assert_array_equal(scores, binary.network_output(X_new) - 0.5)
    np.testing.assert_array_equal(binary.predict(X_new), (scores > 0).astype(int))

    multi = FiniteSampleReLU(random_state=0).fit(X, rng.integers(0, 5, size=100))
    scores = multi.decision_function(X_new)
    assert scores.shape == (200, 5)
    codes = np.clip(np.ceil(multi.network_output(X_new) - 0.5), 0, 4).astype(int)
    np.testing.assert_array_equal(multi.predict(X_new), codes)
    np.testing.assert_array_equal(multi.predict(X_new), np.argmax(scores, axis=1))


def test_single_class_and_single_sample():
    X, _ = _gaussian(10, 3)
    clf = FiniteSampleReLU(random_state=0).fit(X, ["only"] * 10)
    np.testing.assert_array_equal(clf.predict(X), ["only"] * 10)
    reg = FiniteSampleReLURegressor(random_state=0).fit(X[:1], [3.5])
    assert reg.n_params_ == 2 + 3
    assert reg.predict(X[:1])[0] == pytest.approx(3.5)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_not_fitted(Estimator):
    est = Estimator()
    with pytest.raises(NotFittedError):
        est.predict(np.zeros((2, 3)))
    with pytest.raises(NotFittedError):
        est.network_output(np.zeros((2, 3)))


def test_classifier_decision_function_not_fitted():
    with pytest.raises(NotFittedError):
        FiniteSampleReLU().decision_function(np.zeros((2, 3)))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_get_params_and_clone(Estimator):
    est = Estimator(random_state=7, tol=1e-4)
    assert est.get_params() == {"random_state": 7, "tol": 1e-4}
    X, rng = _gaussian(30, 2)
    est.fit(X, rng.integers(0, 3, size=30))
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "weights_")


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_pickle_round_trip(Estimator):
    X, rng = _gaussian(120, 5)
    est = Estimator(random_state=0).fit(X, rng.integers(0, 4, size=120))
    restored = pickle.loads(pickle.dumps(est))
    X_new = rng.standard_normal((40, 5))
    np.testing.assert_array_equal(restored.predict(X_new), est.predict(X_new))
    np.testing.assert_array_equal(restored.network_output(X_new), est.network_output(X_new))
