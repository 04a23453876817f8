"""Randomization tests of Zhang et al. (2017): label noise, pixel randomizations, preprocessing."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import (
    GridSearchCV,
    cross_val_score,
    cross_validate,
    learning_curve,
)
from sklearn.pipeline import Pipeline, make_pipeline

from sklearn_gen import KernelInterpolator
from sklearn_gen.randomization import (
    CenterCrop,
    GaussianPixels,
    LabelNoise,
    PerImageWhitening,
    PixelShuffle,
    RandomPixels,
    corrupt_labels,
)

GAMMA = 0.05  # rbf width for digits scaled to [0, 1]: about 97% cross-validated accuracy


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _interpolator(**params) -> KernelInterpolator:
    return KernelInterpolator(gamma=GAMMA, device="cpu", **params)


# =========================================================================== corrupt_labels
def test_half_corruption_changes_about_45_percent():
    """p = 0.5 over 10 classes changes p * (1 - 1/10) = 45% of the labels."""
    y = np.repeat(np.arange(10), 2000)
    y_new, changed = corrupt_labels(y, 0.5, random_state=0)
    assert changed.dtype == bool
    np.testing.assert_array_equal(changed, y_new != y)
    assert abs(changed.mean() - 0.45) < 0.02
    # every class is a target of the corruption, about uniformly
    counts = np.bincount(y_new[changed], minlength=10)
    assert counts.min() > 0.8 * counts.mean()


def test_no_corruption_changes_nothing():
    y = np.repeat(np.arange(10), 100)
    y_new, changed = corrupt_labels(y, 0.0, random_state=0)
    np.testing.assert_array_equal(y_new, y)
    assert not changed.any()


def test_random_labels_are_independent_of_the_true_ones():
    """p = 1: the 10x10 contingency table of (true, new) passes a chi-square test."""
    y = np.repeat(np.arange(10), 2000)
    y_new, changed = corrupt_labels(y, 1.0, random_state=0)
    table = np.zeros((10, 10), dtype=int)
    np.add.at(table, (y, y_new), 1)
    assert stats.chi2_contingency(table).pvalue > 0.01
    assert abs(changed.mean() - 0.9) < 0.02  # a redrawn label keeps its class 1 time in 10


def test_string_labels():
    y = np.array(["cat", "dog", "bird"] * 200)
    y_new, changed = corrupt_labels(y, 1.0, random_state=0)
    assert set(y_new) == {"cat", "dog", "bird"}
    assert y_new.dtype == y.dtype
    np.testing.assert_array_equal(changed, y_new != y)
    y_list, _ = corrupt_labels(list(y), 0.0)
    assert y_list.tolist() == y.tolist()


def test_classes_argument():
    y = np.repeat(np.arange(3), 300)
    y_new, _ = corrupt_labels(y, 1.0, random_state=0, classes=np.arange(6))
    assert set(np.unique(y_new)) == set(range(6))
    with pytest.raises(ValueError, match="not in classes"):
        corrupt_labels(y, 0.5, classes=[0, 1])


def test_seeding_and_coupling_across_p():
    y = np.repeat(np.arange(10), 200)
    a, _ = corrupt_labels(y, 0.5, random_state=3)
    b, _ = corrupt_labels(y, 0.5, random_state=3)
    np.testing.assert_array_equal(a, b)
    rng = np.random.RandomState(0)
    assert not np.array_equal(corrupt_labels(y, 1.0, rng)[0], corrupt_labels(y, 1.0, rng)[0])
    # same seed: what is corrupted at a small p is corrupted, the same way, at a larger p
    small, changed_small = corrupt_labels(y, 0.2, random_state=5)
    large, changed_large = corrupt_labels(y, 0.6, random_state=5)
    assert np.all(changed_large[changed_small])
    np.testing.assert_array_equal(small[changed_small], large[changed_small])


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_corrupt_labels_rejects_p_outside_unit_interval(p):
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        corrupt_labels([0, 1, 0, 1], p)


@pytest.mark.parametrize("p", ["a", None, True])
def test_corrupt_labels_rejects_non_numeric_p(p):
    with pytest.raises(TypeError, match="p must be a real number"):
        corrupt_labels([0, 1, 0, 1], p)


def test_corrupt_labels_needs_two_classes():
    with pytest.raises(ValueError, match="at least 2 classes"):
        corrupt_labels([4, 4, 4], 0.5)
    with pytest.raises(ValueError, match="Unknown label type"):
        corrupt_labels([0.5, 1.5, 2.25], 0.5)


# =========================================================================== LabelNoise
def test_label_noise_fitted_attributes(digits):
    X, y = digits
    clf = LabelNoise(_interpolator(), p=0.5, random_state=0).fit(X[:500], y[:500])
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    np.testing.assert_array_equal(clf.corrupted_mask_, clf.y_fit_ != y[:500])
    assert 0.35 < clf.corrupted_mask_.mean() < 0.55
    assert clf.estimator_ is not clf.estimator
    assert clf.n_features_in_ == 64
    # the corrupted labels are fitted exactly; the clean ones only where unchanged
    assert clf.estimator_.score(X[:500], clf.y_fit_) == 1.0
    assert clf.score(X[:500], y[:500]) == pytest.approx(1 - clf.corrupted_mask_.mean())
    np.testing.assert_array_equal(clf.predict(X[500:]), clf.estimator_.predict(X[500:]))
    assert clf.score(X[500:], y[500:]) == accuracy_score(y[500:], clf.predict(X[500:]))


def test_label_noise_labels_fixed_once(digits):
    """An int random_state gives the same corrupted labels at every fit (same object too)."""
    X, y = digits
    X, y = X[:300], y[:300]
    clf = LabelNoise(LogisticRegression(max_iter=200), p=1.0, random_state=7)
    first = clf.fit(X, y).y_fit_.copy()
    np.testing.assert_array_equal(clf.fit(X, y).y_fit_, first)
    np.testing.assert_array_equal(clone(clf).fit(X, y).y_fit_, first)
    np.testing.assert_array_equal(first, corrupt_labels(y, 1.0, random_state=7)[0])
    free = LabelNoise(LogisticRegression(max_iter=200), p=1.0)
    assert not np.array_equal(free.fit(X, y).y_fit_, free.fit(X, y).y_fit_)


def test_label_noise_seed_independent_of_inner_seed(digits):
    X, y = digits
    X, y = X[:200], y[:200]
    fits = [
        LabelNoise(LogisticRegression(random_state=s, max_iter=500), random_state=0).fit(X, y)
        for s in (0, 1)
    ]
    np.testing.assert_array_equal(fits[0].y_fit_, fits[1].y_fit_)
    assert [f.estimator_.random_state for f in fits] == [0, 1]
    # the same int does not replay the numbers the inner estimator would draw
    naive = np.random.RandomState(0)
    naive.random_sample(len(y))
    assert not np.array_equal(fits[0].y_fit_, naive.randint(10, size=len(y)))


def test_label_noise_string_labels(digits):
    X, y = digits
    names = np.array(list("abcdefghij"))[y[:400]]
    clf = LabelNoise(LogisticRegression(max_iter=300), p=0.3, random_state=0).fit(X[:400], names)
    assert clf.classes_.tolist() == list("abcdefghij")
    assert set(clf.predict(X[400:450])) <= set("abcdefghij")
    assert clf.predict_proba(X[:5]).shape == (5, 10)


def test_label_noise_delegates_only_what_the_estimator_has(digits):
    X, y = digits
    kernel = LabelNoise(_interpolator(), p=0.0)
    assert not hasattr(kernel, "predict_proba")
    assert hasattr(kernel, "decision_function")
    logistic = LabelNoise(LogisticRegression(max_iter=300), p=0.0)
    assert hasattr(logistic, "predict_proba") and hasattr(logistic, "predict_log_proba")
    with pytest.raises(NotFittedError):
        logistic.predict_proba(X[:3])
    logistic.fit(X[:300], y[:300])
    np.testing.assert_allclose(
        logistic.predict_proba(X[:5]), logistic.estimator_.predict_proba(X[:5])
    )
    kernel.fit(X[:300], y[:300])
    np.testing.assert_allclose(
        kernel.decision_function(X[:5]), kernel.estimator_.decision_function(X[:5])
    )


def test_label_noise_class_lost_to_corruption():
    """When the corruption removes a class (tiny data), outputs still follow classes_."""
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    y = np.array([0, 1, 2, 2])
    seed = next(
        s for s in range(200) if len(np.unique(corrupt_labels(y, 1.0, random_state=s)[0])) == 2
    )
    clf = LabelNoise(LogisticRegression(), p=1.0, random_state=seed)
    with pytest.warns(UserWarning, match="no sample of the classes"):
        clf.fit(X, y)
    lost = np.setdiff1d(y, clf.y_fit_)
    proba = clf.predict_proba(X)
    assert proba.shape == (4, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(proba[:, lost] == 0)
    scores = clf.decision_function(X)
    assert scores.shape == (4, 3) and np.all(scores[:, lost] == -np.inf)
    np.testing.assert_array_equal(clf.classes_[scores.argmax(axis=1)], clf.predict(X))
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))


def _fit_label_accuracy(estimator, X, y):
    """Accuracy on the labels the model was trained on (meaningful on the training fold)."""
    noise = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    if len(X) != len(noise.y_fit_):
        return np.nan
    return noise.estimator_.score(X, noise.y_fit_)


@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_grid_search_over_p_reproduces_zhang(digits):
    """Zhang et al. Fig. 1: every corruption level is fitted exactly; test accuracy falls
    from the clean level to chance. Train scores on the *clean* labels of the training fold
    are the fraction of labels left unchanged (the scorer's labels are never corrupted)."""
    X, y = digits
    search = GridSearchCV(
        LabelNoise(_interpolator(), random_state=0),
        {"p": [0, 0.5, 1]},
        scoring={"accuracy": "accuracy", "fit_label_accuracy": _fit_label_accuracy},
        refit=False,
        return_train_score=True,
        cv=3,
    ).fit(X, y)
    res = search.cv_results_
    np.testing.assert_array_equal(res["mean_train_fit_label_accuracy"], [1.0, 1.0, 1.0])
    test = res["mean_test_accuracy"]
    assert test[0] >= 0.95
    assert test[0] > test[1] > test[2]
    assert test[2] < 0.2
    train_clean = res["mean_train_accuracy"]
    assert train_clean[0] == 1.0
    np.testing.assert_allclose(train_clean, [1.0, 0.55, 0.1], atol=0.04)


def test_pipeline_with_shuffled_pixels(digits):
    """Shuffled pixels: the same permutation for train and test. The rbf kernel only sees
    distances, which a common permutation keeps, so the accuracy is exactly unchanged."""
    X, y = digits
    X, y = X[:900], y[:900]
    pipe = make_pipeline(PixelShuffle(random_state=0), LabelNoise(_interpolator(), p=0.0))
    shuffled = cross_val_score(pipe, X, y, cv=3)
    plain = cross_val_score(LabelNoise(_interpolator(), p=0.0), X, y, cv=3)
    np.testing.assert_allclose(shuffled, plain)
    assert shuffled.mean() > 0.93
    search = GridSearchCV(pipe, {"labelnoise__p": [0.0, 1.0]}, cv=3).fit(X, y)
    assert search.best_params_ == {"labelnoise__p": 0.0}


def test_cross_validate_learning_curve_and_inner_grid(digits):
    X, y = digits
    X, y = X[:600], y[:600]
    clf = LabelNoise(_interpolator(), p=0.2, random_state=0)
    res = cross_validate(clf, X, y, cv=3, return_estimator=True, return_indices=True)
    assert len(res["test_score"]) == 3
    assert all(0.5 < s < 1.0 for s in res["test_score"])
    for est, train in zip(res["estimator"], res["indices"]["train"], strict=True):
        assert len(est.y_fit_) == len(train)
        assert est.estimator_.score(X[train], est.y_fit_) == 1.0  # its own noisy labels
    _, train, test = learning_curve(clf, X, y, train_sizes=[0.5, 1.0], cv=3)
    assert train.shape == test.shape == (2, 3)
    assert np.all(test > 0.5)
    search = GridSearchCV(clf, {"estimator__gamma": [0.01, 0.05]}, cv=3).fit(X, y)
    assert search.best_params_["estimator__gamma"] in (0.01, 0.05)
    assert search.best_estimator_.estimator_.gamma == search.best_params_["estimator__gamma"]


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_label_noise_rejects_p_outside_unit_interval(p):
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        LabelNoise(LogisticRegression(), p=p).fit([[0.0], [1.0]], [0, 1])


def test_label_noise_rejects_non_numeric_p():
    with pytest.raises(TypeError, match="p must be a real number"):
        LabelNoise(LogisticRegression(), p="a").fit([[0.0], [1.0]], [0, 1])


def test_label_noise_single_class():
    with pytest.raises(ValueError, match="at least 2 classes"):
        LabelNoise(LogisticRegression(), p=0.5).fit([[0.0], [1.0]], [3, 3])


@pytest.mark.parametrize("bad", [object(), "svm", None])
def test_label_noise_wrapped_object_without_fit(bad):
    with pytest.raises(TypeError, match="estimator must be an estimator with a fit method"):
        LabelNoise(bad).fit([[0.0], [1.0]], [0, 1])


# =========================================================================== PixelShuffle
def test_pixel_shuffle_same_permutation_for_train_and_test():
    rng = np.random.RandomState(0)
    X_train, X_test = rng.rand(20, 12), rng.rand(5, 12)
    shuffle = PixelShuffle(random_state=0).fit(X_train)
    perm = shuffle.permutation_
    np.testing.assert_array_equal(np.sort(perm), np.arange(12))
    assert not np.array_equal(perm, np.arange(12))
    np.testing.assert_array_equal(shuffle.transform(X_train), X_train[:, perm])
    np.testing.assert_array_equal(shuffle.transform(X_test), X_test[:, perm])
    np.testing.assert_array_equal(shuffle.transform(X_test), shuffle.transform(X_test))
    np.testing.assert_array_equal(PixelShuffle(random_state=0).fit(X_test).permutation_, perm)
    names = shuffle.get_feature_names_out()
    assert names.tolist() == [f"x{i}" for i in perm]
    frame = clone(shuffle).set_output(transform="pandas").fit(X_train).transform(X_test)
    assert frame.columns.tolist() == names.tolist()
    np.testing.assert_array_equal(frame.to_numpy(), X_test[:, perm])


# =========================================================================== RandomPixels
def test_random_pixels_one_permutation_per_sample():
    n, d = 50, 16
    X = np.arange(n * d, dtype=float).reshape(n, d)  # row i holds i*d + (0, ..., d-1)
    out = RandomPixels(random_state=0).fit_transform(X)
    np.testing.assert_array_equal(np.sort(out, axis=1), X)  # same values in each row
    perms = (out - X[:, :1]).astype(int)
    assert all(np.array_equal(np.sort(p), np.arange(d)) for p in perms)
    assert len({tuple(p) for p in perms}) == n  # a different permutation for each row
    # reproducible with an int; each row's draw does not depend on its batch
    transformer = RandomPixels(random_state=0).fit(X)
    np.testing.assert_array_equal(transformer.transform(X), out)
    np.testing.assert_array_equal(transformer.transform(X[10:20]), out[10:20])
    assert not np.array_equal(RandomPixels(random_state=1).fit_transform(X), out)
    # identical images get identical results (the draw is a function of the image)
    twins = RandomPixels(random_state=0).fit_transform(np.repeat(X[:1], 3, axis=0))
    assert (twins == twins[0]).all()
    free = RandomPixels().fit(X)
    assert not np.array_equal(free.transform(X), free.transform(X))


def test_random_pixels_permutations_are_uniform():
    """Over many distinct rows of 4 pixels, each of the 24 permutations is equally likely."""
    n = 4800
    X = np.random.RandomState(0).rand(n, 4)
    out = RandomPixels(random_state=0).fit_transform(X)
    ranks = np.argsort(np.argsort(X, axis=1), axis=1)
    out_ranks = np.take_along_axis(ranks, np.argsort(np.argsort(out, axis=1), axis=1), axis=1)
    code = {p: i for i, p in enumerate(itertools.permutations(range(4)))}
    counts = np.bincount([code[tuple(r)] for r in out_ranks], minlength=24)
    assert stats.chisquare(counts).pvalue > 0.01


# =========================================================================== GaussianPixels
def test_gaussian_pixels_global_moments():
    rng = np.random.RandomState(0)
    X = rng.gamma(2.0, 0.3, size=(2000, 64))
    gauss = GaussianPixels(random_state=0).fit(X)
    assert gauss.mean_ == pytest.approx(X.mean())
    assert gauss.var_ == pytest.approx(X.var())
    out = gauss.transform(X)
    assert out.shape == X.shape
    assert out.mean() == pytest.approx(X.mean(), abs=0.01)
    assert out.var() == pytest.approx(X.var(), rel=0.02)
    z = (out.ravel() - gauss.mean_) / np.sqrt(gauss.var_)
    assert stats.kstest(z[:20000], "norm").pvalue > 0.01
    assert abs(np.corrcoef(out.ravel(), X.ravel())[0, 1]) < 0.02  # noise, not the image
    np.testing.assert_array_equal(gauss.transform(X[100:110]), out[100:110])
    np.testing.assert_array_equal(GaussianPixels(random_state=0).fit_transform(X), out)
    X32 = X.astype(np.float32)
    assert GaussianPixels(random_state=0).fit(X32).transform(X32).dtype == np.float32


def test_gaussian_pixels_per_channel_moments():
    rng = np.random.RandomState(0)
    channel_mean, channel_std = np.array([0.2, 0.5, 0.9]), np.array([0.05, 0.2, 0.1])
    images = rng.normal(channel_mean[:, None, None], channel_std[:, None, None], (800, 3, 4, 4))
    X = images.reshape(800, -1)
    gauss = GaussianPixels(random_state=0, per_channel=True, input_shape=(3, 4, 4)).fit(X)
    np.testing.assert_allclose(gauss.mean_, images.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(gauss.var_, images.var(axis=(0, 2, 3)))
    out = gauss.transform(X).reshape(800, 3, 16)
    np.testing.assert_allclose(out.mean(axis=(0, 2)), channel_mean, atol=0.01)
    np.testing.assert_allclose(out.std(axis=(0, 2)), channel_std, rtol=0.03)
    inferred = GaussianPixels(random_state=0, per_channel=True, input_shape=(3, -1, 4)).fit(X)
    np.testing.assert_array_equal(inferred.transform(X), gauss.transform(X))


def test_gaussian_pixels_bad_input_shape():
    X = np.zeros((5, 48))
    with pytest.raises(ValueError, match="needs input_shape"):
        GaussianPixels(per_channel=True).fit(X)
    with pytest.raises(ValueError, match="does not describe the 48 features"):
        GaussianPixels(per_channel=True, input_shape=(3, 5, 5)).fit(X)
    with pytest.raises(ValueError, match="does not describe the 48 features"):
        GaussianPixels(input_shape=(5, -1, 1)).fit(X)
    with pytest.raises(ValueError, match="input_shape must be a tuple"):
        GaussianPixels(per_channel=True, input_shape=(3, 16)).fit(X)


# =========================================================================== preprocessing
def test_center_crop_known_array():
    X = np.arange(2 * 5 * 6, dtype=float).reshape(1, -1)  # one 2-channel 5x6 image
    crop = CenterCrop(input_shape=(2, 5, 6), size=(2, 3)).fit(X)
    image = X.reshape(2, 5, 6)
    expected = image[:, 1:3, 1:4].reshape(1, -1)  # top (5-2)//2 = 1, left (6-3)//2 = 1
    np.testing.assert_array_equal(crop.transform(X), expected)
    assert crop.get_feature_names_out().tolist() == [f"x{int(v)}" for v in expected[0]]
    square = CenterCrop(input_shape=(-1, 5, 6), size=4).fit_transform(X)
    np.testing.assert_array_equal(square, image[:, 0:4, 1:5].reshape(1, -1))
    X32 = X.astype(np.float32)
    assert CenterCrop((2, 5, 6), 2).transform(X32).dtype == np.float32  # stateless
    assert CenterCrop((2, 5, 6), 5).fit_transform(X).shape == (1, 50)


def test_center_crop_errors():
    X = np.zeros((2, 2 * 5 * 6))
    with pytest.raises(ValueError, match="larger than the 5x6 images"):
        CenterCrop((2, 5, 6), 6).fit(X)
    with pytest.raises(ValueError, match="does not describe the 60 features"):
        CenterCrop((3, 5, 6), 2).fit(X)
    with pytest.raises(ValueError, match="size must be"):
        CenterCrop((2, 5, 6), (0, 2)).fit(X)
    fitted = CenterCrop((2, 5, 6), 2).fit(X)
    with pytest.raises(ValueError, match="features"):
        fitted.transform(np.zeros((2, 48)))


def test_per_image_whitening_matches_numpy():
    rng = np.random.RandomState(0)
    X = rng.rand(6, 20) * 255
    X[1] = 7.0  # constant image: the std floor 1/sqrt(N) keeps it finite (zero)
    X[2] = 3.0 + 1e-3 * rng.rand(20)  # std below the floor
    out = PerImageWhitening().fit_transform(X)
    mean = X.mean(axis=1, keepdims=True)
    adjusted = np.maximum(X.std(axis=1, keepdims=True), 1 / np.sqrt(20))
    np.testing.assert_allclose(out, (X - mean) / adjusted)
    np.testing.assert_array_equal(out[1], 0.0)
    np.testing.assert_allclose(out[2], (X[2] - X[2].mean()) * np.sqrt(20))
    np.testing.assert_allclose(out[[0, 3, 4, 5]].std(axis=1), 1.0)
    X32 = X.astype(np.float32)
    assert PerImageWhitening().transform(X32).dtype == np.float32
