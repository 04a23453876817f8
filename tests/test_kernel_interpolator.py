"""KernelInterpolator / KernelInterpolationRegressor: correctness, solvers, bad input."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.kernel_ridge import KernelRidge
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelBinarizer, StandardScaler

from sklearn_gen import KernelInterpolationRegressor, KernelInterpolator, load_mnist
from sklearn_gen.kernels import _solvers
from sklearn_gen.kernels._interpolator import SingularKernelWarning

_RNG = np.random.default_rng(0)

KERNEL_PARAMS = {
    "rbf": {"gamma": 0.05},
    "laplacian": {"gamma": 0.05},
    "linear": {},
    "polynomial": {"gamma": 0.1, "degree": 2, "coef0": 1.0},
}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _pinv_solution(K: np.ndarray, Y: np.ndarray) -> np.ndarray:
    n = K.shape[0]
    return np.linalg.pinv(K, rtol=n * np.finfo(np.float64).eps, hermitian=True) @ Y


# --------------------------------------------------------------------------- exactness
@pytest.mark.parametrize("kernel", sorted(KERNEL_PARAMS))
def test_matches_kernel_ridge_alpha0(kernel):
    """Same predictions and close coefficients as KernelRidge(alpha=0), every kernel."""
    X, y = make_regression(n_samples=60, n_features=80, random_state=0)
    X /= np.abs(X).max()
    params = KERNEL_PARAMS[kernel]
    ours = KernelInterpolationRegressor(kernel=kernel, dtype="float64", **params).fit(X, y)
    ref = KernelRidge(alpha=0.0, kernel=kernel, **params).fit(X, y)
    X_new = X[:10] + 0.01
    np.testing.assert_allclose(ours.predict(X_new), ref.predict(X_new), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, rtol=1e-5, atol=1e-6)
    assert ours.solver_ == "cholesky"
    assert ours.train_residual_ < 1e-8


def test_classifier_matches_kernel_ridge_on_one_hot(digits):
    X, y = digits
    X_train, y_train, X_test = X[:300], y[:300], X[300:600]
    clf = KernelInterpolator(gamma=0.05, dtype="float64").fit(X_train, y_train)
    Y = LabelBinarizer().fit_transform(y_train)
    ref = KernelRidge(alpha=0.0, kernel="rbf", gamma=0.05).fit(X_train, Y)
    np.testing.assert_array_equal(clf.predict(X_test), ref.predict(X_test).argmax(1))
    np.testing.assert_allclose(clf.decision_function(X_test), ref.predict(X_test), atol=1e-6)
    np.testing.assert_allclose(clf.dual_coef_, ref.dual_coef_, rtol=1e-5, atol=1e-6)
    assert clf.score(X_train, y_train) == 1.0


def test_callable_and_precomputed_kernels_agree(digits):
    X, y = digits
    X_train, y_train, X_test = X[:200], y[:200], X[200:300]

    def cosine_like(a, b, scale=1.0):
        return scale * (a @ b.T + 1.0) ** 2

    ref = KernelInterpolator(
        kernel="polynomial", gamma=1.0, degree=2, coef0=1.0, dtype="float64"
    ).fit(X_train, y_train)
    call = KernelInterpolator(
        kernel=cosine_like, kernel_params={"scale": 1.0}, dtype="float64"
    ).fit(X_train, y_train)
    K_train = pairwise_kernels(X_train, metric="poly", gamma=1.0, degree=2, coef0=1.0)
    K_test = pairwise_kernels(X_test, X_train, metric="poly", gamma=1.0, degree=2, coef0=1.0)
    pre = KernelInterpolator(kernel="precomputed", dtype="float64").fit(K_train, y_train)
    assert pre.__sklearn_tags__().input_tags.pairwise
    for other, X_eval in ((call, X_test), (pre, K_test)):
        np.testing.assert_allclose(
            other.decision_function(X_eval), ref.decision_function(X_test), atol=1e-6
        )


# --------------------------------------------------------------------------- min-norm
def test_singular_duplicates_equal_pinv():
    rng = np.random.RandomState(0)
    X = rng.rand(40, 5)
    X = np.vstack([X, X[:10]])  # duplicate points: K has 10 zero eigenvalues
    y = rng.randn(50)
    with pytest.warns(SingularKernelWarning, match="singular"):
        reg = KernelInterpolationRegressor(gamma=0.5, dtype="float64").fit(X, y)
    assert reg.solver_ == "eigh"
    assert reg.rank_ == 40
    K = pairwise_kernels(X, metric="rbf", gamma=0.5)
    np.testing.assert_allclose(reg.dual_coef_, _pinv_solution(K, y), rtol=1e-6, atol=1e-8)


def test_singular_linear_kernel_equals_pinv_for_every_solver():
    rng = np.random.RandomState(1)
    X = rng.randn(30, 4)  # d < n: rank-4 linear Gram matrix
    Y = rng.randn(30, 2)
    expected = _pinv_solution(X @ X.T, Y)
    for solver in ("auto", "cholesky", "eigh"):
        with pytest.warns(SingularKernelWarning):
            reg = KernelInterpolationRegressor(kernel="linear", solver=solver, dtype="float64")
            reg.fit(X, Y)
        assert reg.rank_ == 4
        np.testing.assert_allclose(reg.dual_coef_, expected, rtol=1e-6, atol=1e-10)
    # CG from zero stays in range(K): on a consistent system (Y in the range of K, as for
    # duplicated points with equal labels) it converges to the min-norm solution too.
    Y_range = X @ X.T @ rng.randn(30, 2)
    reg = KernelInterpolationRegressor(
        kernel="linear", solver="cg", dtype="float64", tol=1e-10, n_components=2, random_state=0
    ).fit(X, Y_range)
    np.testing.assert_allclose(reg.dual_coef_, _pinv_solution(X @ X.T, Y_range), atol=1e-8)
    # on an inconsistent one (Y outside the range of K) it warns and keeps its best
    # iterate instead of diverging
    with pytest.warns(ConvergenceWarning):
        reg = KernelInterpolationRegressor(
            kernel="linear", solver="cg", dtype="float64", n_components=2, random_state=0
        ).fit(X, Y)
    assert reg.train_residual_ <= 1.0


def test_float32_falls_back_to_float64_when_ill_conditioned(digits):
    X, y = digits
    clf32 = KernelInterpolator(gamma=0.005).fit(X[:800], y[:800])
    clf64 = KernelInterpolator(gamma=0.005, dtype="float64").fit(X[:800], y[:800])
    # 800 digits at gamma=0.005 are too ill-conditioned for float32 (a float32 pivot
    # vanishes): redone in float64. At gamma=0.01 float32 + refinement converges.
    assert clf32.precision_ == "float64"
    np.testing.assert_allclose(clf32.dual_coef_, clf64.dual_coef_)


def test_float32_refinement_gives_float64_predictions(digits):
    X, y = digits
    X_train, X_test, y_train, _ = train_test_split(X, y, train_size=800, random_state=0)
    clf32 = KernelInterpolator(gamma=0.05).fit(X_train, y_train)
    clf64 = KernelInterpolator(gamma=0.05, dtype="float64").fit(X_train, y_train)
    assert clf32.precision_ == "float32"
    assert clf32.n_iter_ >= 2  # at least one refinement step
    assert clf32.train_residual_ <= 1e-6
    np.testing.assert_array_equal(clf32.predict(X_test), clf64.predict(X_test))
    np.testing.assert_allclose(
        clf32.decision_function(X_test), clf64.decision_function(X_test), atol=1e-3
    )


# --------------------------------------------------------------------------- solvers
@pytest.mark.parametrize(
    ("dtype", "gamma", "tol"), [("float32", 0.1, 1e-6), ("float64", 0.01, 1e-7)]
)
def test_cg_reaches_dense_solution(dtype, gamma, tol):
    X, y = load_digits(return_X_y=True)
    X = X[:500] / 16.0
    Y = np.eye(10)[y[:500]]
    dense = KernelInterpolationRegressor(gamma=gamma, dtype="float64").fit(X, Y)
    cg = KernelInterpolationRegressor(
        gamma=gamma, solver="cg", tol=tol, n_components=100, dtype=dtype, random_state=0
    ).fit(X, Y)
    assert cg.solver_ == "cg"
    assert 1 <= cg.n_iter_ < 1000
    assert cg.train_residual_ <= 10 * tol
    np.testing.assert_allclose(cg.predict(X), dense.predict(X), atol=10 * tol)
    np.testing.assert_allclose(cg.rkhs_norm_, dense.rkhs_norm_, rtol=1e-3)


def test_every_solver_gives_the_same_classifier(digits):
    X, y = digits
    X_train, X_test = X[:400], X[400:700]
    preds = {}
    for solver in ("auto", "cholesky", "eigh", "cg"):
        clf = KernelInterpolator(gamma=0.01, solver=solver, dtype="float64", random_state=0)
        clf.fit(X_train, y[:400])
        assert clf.solver_ == ("cholesky" if solver == "auto" else solver)
        preds[solver] = clf.decision_function(X_test)
    for solver in ("cholesky", "eigh", "cg"):
        np.testing.assert_allclose(preds[solver], preds["auto"], atol=1e-4)


def test_auto_goes_out_of_core_when_the_gram_matrix_does_not_fit(digits, tmp_path):
    X, y = digits
    n = 1500
    budget = int(0.7 * n * n * 4)  # less than the float32 Gram matrix alone
    dense = KernelInterpolator(gamma=0.1).fit(X[:n], y[:n])
    clf = KernelInterpolator(gamma=0.1, memory_budget=budget, scratch_dir=str(tmp_path))
    clf.fit(X[:n], y[:n])
    assert clf.solver_ == "out_of_core"
    assert clf.precision_ == "float32"
    assert clf.train_residual_ <= 1e-6
    assert list(tmp_path.iterdir()) == []  # the scratch files are gone
    np.testing.assert_array_equal(clf.predict(X[n:]), dense.predict(X[n:]))
    # two float32 Gram matrices (row panels vs column panels) differ in the last bits; the
    # solutions then differ by about cond(K) * eps32
    scale = np.abs(dense.dual_coef_).max()
    np.testing.assert_allclose(clf.dual_coef_, dense.dual_coef_, atol=1e-3 * scale)


@pytest.mark.parametrize("kernel", ["rbf", "polynomial", "precomputed"])
def test_out_of_core_matches_in_memory_cholesky(digits, kernel):
    """Several panels (width 128 from the budget), float64: the same solution."""
    X, y = digits
    n = 700
    X_fit = X[:n]
    params = {"gamma": 0.05} if kernel == "rbf" else {"gamma": 0.01, "degree": 2}
    if kernel == "precomputed":
        X_fit, params = pairwise_kernels(X[:n], metric="rbf", gamma=0.05), {}
    common = {"kernel": kernel, "dtype": "float64", **params}
    dense = KernelInterpolator(solver="cholesky", **common).fit(X_fit, y[:n])
    ooc = KernelInterpolator(solver="out_of_core", memory_budget=3_700_000, **common)
    ooc.fit(X_fit, y[:n])
    assert ooc.solver_ == "out_of_core"
    scale = np.abs(dense.dual_coef_).max()
    np.testing.assert_allclose(ooc.dual_coef_, dense.dual_coef_, rtol=1e-7, atol=1e-9 * scale)
    assert ooc.train_residual_ <= 1e-6


def test_out_of_core_singular_falls_back_to_min_norm_cg():
    rng = np.random.RandomState(0)
    X = rng.rand(40, 5)
    X = np.vstack([X, X[:10]])  # duplicates with equal targets: singular but consistent
    y = np.sin(X @ np.arange(1, 6))
    with pytest.warns(SingularKernelWarning, match="past memory"):
        reg = KernelInterpolationRegressor(
            gamma=0.5, solver="out_of_core", dtype="float64", tol=1e-10, random_state=0
        ).fit(X, y)
    assert reg.solver_ == "cg"
    K = pairwise_kernels(X, metric="rbf", gamma=0.5)
    np.testing.assert_allclose(reg.dual_coef_, _pinv_solution(K, y), rtol=1e-5, atol=1e-6)


def test_out_of_core_bad_scratch_dir_is_a_clear_error(tmp_path):
    X = _RNG.random((50, 3))
    with pytest.raises(ValueError, match="scratch_dir="):
        KernelInterpolator(solver="out_of_core", scratch_dir=str(tmp_path / "missing")).fit(
            X, np.arange(50) % 2
        )


def test_blocked_torch_cholesky_matches_lapack(monkeypatch, digits):
    """The portable (GPU) factorization gives the same solution as LAPACK's potrf."""
    X, y = digits
    ref = KernelInterpolator(gamma=0.01, dtype="float64", block_size=64).fit(X[:300], y[:300])
    monkeypatch.setattr(_solvers, "potrf_available", lambda dtype: False)
    blocked = KernelInterpolator(gamma=0.01, dtype="float64", block_size=64)
    blocked.fit(X[:300], y[:300])
    np.testing.assert_allclose(blocked.dual_coef_, ref.dual_coef_, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("lapack", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_blocked_in_place_factorization_matches_one_potrf(monkeypatch, digits, lapack, dtype):
    """Many diagonal blocks (64 wide, 37-row update panels) vs one whole-matrix potrf."""
    X, y = digits
    X_train, X_test = X[:500], X[500:900]
    ref = KernelInterpolator(gamma=0.05, dtype=dtype, block_size=37).fit(X_train, y[:500])
    monkeypatch.setattr(_solvers, "_FACTOR_BLOCK", 64)
    if not lapack:
        monkeypatch.setattr(_solvers, "potrf_available", lambda dtype: False)
    blocked = KernelInterpolator(gamma=0.05, dtype=dtype, block_size=37).fit(X_train, y[:500])
    assert blocked.solver_ == ref.solver_ == "cholesky"
    assert blocked.precision_ == ref.precision_ == dtype
    np.testing.assert_array_equal(blocked.predict(X_test), ref.predict(X_test))
    scale = np.abs(ref.dual_coef_).max()
    atol = (1e-5 if dtype == "float32" else 1e-10) * scale
    np.testing.assert_allclose(blocked.dual_coef_, ref.dual_coef_, rtol=0, atol=atol)
    assert blocked.train_residual_ <= 1e-6


def test_memory_budget_is_capped_by_free_memory_before_any_work(monkeypatch):
    from sklearn_gen.kernels import _interpolator

    monkeypatch.setattr(_interpolator, "available_memory", lambda device: 100_000)
    X = _RNG.random((400, 3))
    with pytest.raises(ValueError, match=r"free on cpu \(memory_budget="):
        KernelInterpolator(solver="cholesky", memory_budget=1e12).fit(X, np.arange(400) % 2)


def test_progress_parameter_is_validated(capsys):
    X = _RNG.random((30, 3))
    KernelInterpolator(progress=True).fit(X, np.arange(30) % 2)
    assert "Cholesky n=30" in capsys.readouterr().err  # a bar, on stderr
    KernelInterpolator(progress=False).fit(X, np.arange(30) % 2)
    assert capsys.readouterr().err == ""
    with pytest.raises(ValueError, match="progress must be"):
        KernelInterpolator(progress="yes").fit(X, np.arange(30) % 2)


def test_block_size_does_not_change_the_result(digits):
    X, y = digits
    a = KernelInterpolator(gamma=0.01, dtype="float64", block_size=37).fit(X[:200], y[:200])
    b = KernelInterpolator(gamma=0.01, dtype="float64").fit(X[:200], y[:200])
    np.testing.assert_allclose(a.dual_coef_, b.dual_coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(a.rkhs_norm_, b.rkhs_norm_)


# --------------------------------------------------------------------------- sklearn use
def test_string_labels_binary_and_pickle(digits, tmp_path):
    X, y = digits
    mask = y < 2
    labels = np.where(y[mask] == 0, "zero", "one")
    clf = KernelInterpolator(gamma=0.02, dtype="float64").fit(X[mask], labels)
    assert set(clf.classes_) == {"zero", "one"}
    assert clf.decision_function(X[mask]).shape == (mask.sum(),)
    assert clf.score(X[mask], labels) == 1.0
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X[:50]), clf.predict(X[:50]))
    np.testing.assert_array_equal(restored.dual_coef_, clf.dual_coef_)


def test_grid_search_in_pipeline(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), KernelInterpolator(dtype="float64"))
    search = GridSearchCV(
        pipe, {"kernelinterpolator__gamma": [0.002, 0.02]}, cv=3, return_train_score=True
    ).fit(X[:450], y[:450])
    assert np.all(search.cv_results_["mean_train_score"] == 1.0)
    assert search.best_score_ > 0.85


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf_rejected(bad):
    X = np.random.RandomState(0).rand(10, 3)
    X[3, 1] = bad
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        KernelInterpolator().fit(X, np.arange(10) % 2)


def test_one_class_rejected():
    with pytest.raises(ValueError, match="at least 2 classes"):
        KernelInterpolator().fit(_RNG.random((5, 2)), np.zeros(5))


def test_sparse_rejected():
    X = sp.random(10, 5, density=0.5, format="csr", random_state=0)
    with pytest.raises(TypeError, match="dense data is required"):
        KernelInterpolator().fit(X, np.arange(10) % 2)


def test_wrong_n_features_at_predict():
    clf = KernelInterpolator().fit(_RNG.random((10, 4)), np.arange(10) % 2)
    with pytest.raises(ValueError, match="features"):
        clf.predict(_RNG.random((3, 5)))


def test_dense_solver_over_budget_names_the_solvers_past_memory():
    X = _RNG.random((400, 3))
    with pytest.raises(ValueError, match=r"solver='out_of_core' .* or 'cg'"):
        KernelInterpolator(solver="cholesky", memory_budget=100_000).fit(X, np.arange(400) % 2)
    with pytest.raises(ValueError, match="'out_of_core' or 'cg'"):
        KernelInterpolator(solver="eigh", memory_budget=100_000).fit(X, np.arange(400) % 2)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpu_is_a_clear_error_and_auto_falls_back():
    X, y = _RNG.random((10, 2)), np.arange(10) % 2
    with pytest.raises(ValueError, match="CUDA is not available"):
        KernelInterpolator(device="cuda").fit(X, y)
    KernelInterpolator(device="auto").fit(X, y)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"kernel": "sigmoidal"}, ValueError),
        ({"solver": "qr"}, ValueError),
        ({"dtype": "float16"}, ValueError),
        ({"gamma": -1.0}, ValueError),
        ({"tol": 0}, ValueError),
        ({"block_size": 0}, ValueError),
        ({"max_iter": 2.5}, TypeError),
        ({"device": "tpu"}, ValueError),
        ({"kernel_params": [1]}, TypeError),
    ],
)
def test_bad_parameters(params, error):
    with pytest.raises(error):
        KernelInterpolator(**params).fit(_RNG.random((6, 2)), np.arange(6) % 2)


def test_precomputed_must_be_square():
    with pytest.raises(ValueError, match="square Gram matrix"):
        KernelInterpolator(kernel="precomputed").fit(_RNG.random((6, 4)), np.arange(6) % 2)


# --------------------------------------------------------------------------- real data
@pytest.mark.slow
def test_mnist_rbf_interpolation_error(mnist_path):
    """Zhang et al. setting: rbf, gamma=0.02, pixels in [0, 1]; seeded 8,000/2,000 split."""
    X, y = load_mnist(mnist_path, return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=8000, test_size=2000, random_state=0
    )
    clf = KernelInterpolator(kernel="rbf", gamma=0.02).fit(X_train, y_train)
    assert clf.precision_ == "float32"
    assert clf.train_residual_ <= 1e-6
    assert clf.score(X_train[:1000], y_train[:1000]) == 1.0
    test_error = 1.0 - clf.score(X_test, y_test)
    assert test_error <= 0.027, test_error


def test_a_ridge_term_solves_kernel_ridge_regression():
    # (K + ridge I) alpha = y: scikit-learn's KernelRidge (float64, its own solver) agrees
    from sklearn.kernel_ridge import KernelRidge

    from sklearn_gen import KernelInterpolationRegressor

    rng = np.random.RandomState(0)
    X, y, X_new = rng.rand(80, 3), rng.rand(80), rng.rand(20, 3)
    for solver in ("cholesky", "eigh"):
        ours = KernelInterpolationRegressor(
            gamma=0.5, ridge=0.1, solver=solver, dtype="float64", device="cpu"
        ).fit(X, y)
        theirs = KernelRidge(alpha=0.1, kernel="rbf", gamma=0.5).fit(X, y)
        np.testing.assert_allclose(
            ours.predict(X_new), theirs.predict(X_new), rtol=1e-9, atol=1e-12
        )
    with pytest.raises(ValueError, match=r"ridge=0\.1 needs a dense solver"):
        KernelInterpolationRegressor(ridge=0.1, solver="cg", device="cpu").fit(X, y)
