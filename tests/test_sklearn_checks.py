"""scikit-learn's own estimator checks on every public estimator, in one place.

Each public estimator and transformer runs ``parametrize_with_checks`` here, on its default
(or a small) configuration; a check expected to fail is listed with its one-line reason.
These checks cover NaN/inf input, empty input, unfitted use and the feature count, so the
other test files do not repeat them.
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_gen import (
    FiniteSampleReLU,
    FiniteSampleReLURegressor,
    KernelInterpolationRegressor,
    KernelInterpolator,
    NetworkClassifier,
    RandomPretraining,
)
from sklearn_gen._validation import NO_VALIDATION, InvalidParameterError
from sklearn_gen.networks._linear_gd import GradientDescentLinearClassifier
from sklearn_gen.randomization import (
    CenterCrop,
    GaussianPixels,
    LabelNoise,
    PerImageWhitening,
    PixelShuffle,
    RandomPixels,
)

#: Checks that fail for every skorch ``NeuralNet`` by skorch's design, each with the reason.
SKORCH_BY_DESIGN = {
    "check_no_attributes_set_in_init": (
        "skorch's NeuralNet.__init__ stores history_, initialized_, virtual_params_ and the "
        "prefixed **kwargs (module__..., optimizer__...) that get_params then reports"
    ),
    "check_do_not_raise_errors_in_init_or_set_params": (
        "skorch's set_params rebuilds the callbacks at once, so a nonsense callbacks value "
        "raises in set_params rather than in fit"
    ),
    "check_set_params": (
        "same as above: skorch's set_params initializes callbacks and validates prefixed "
        "kwargs eagerly"
    ),
}


#: sklearn compares a network's float32 outputs on permuted / one-row batches to the whole
#: batch at rtol=1e-7: the float32 GEMM of a row depends on its place in the batch on some
#: CPUs (MKL's AVX2 kernels: a few ulps, 2.4e-7 on logits of ~2). Checked at float32
#: tolerance by test_network_outputs_do_not_depend_on_batch_order_or_size below.
FLOAT32_BATCHING = {
    "check_methods_sample_order_invariance": "float32 logits differ by a few ulps in order",
    "check_methods_subset_invariance": "float32 logits differ by a few ulps row by row",
}


#: LabelNoise with p > 0 randomizes the labels before the sample weights apply.
LABELS_BEFORE_WEIGHTS = {
    "check_classifiers_one_label_sample_weights": (
        "the labels are randomized before the weights apply, so a zero-weight class is not "
        "removed from the corrupted labels"
    )
}


def _expected_failures(estimator):
    if isinstance(estimator, RandomPretraining):
        return dict(FLOAT32_BATCHING)
    if isinstance(estimator, NetworkClassifier):
        return {**SKORCH_BY_DESIGN, **FLOAT32_BATCHING}
    if isinstance(estimator, LabelNoise) and estimator.p != 0:
        return dict(LABELS_BEFORE_WEIGHTS)
    return {}


def _network(seed: int = 0) -> NetworkClassifier:
    return NetworkClassifier(
        "mlp", module__hidden=(16,), lr=0.1, max_epochs=20, device="cpu", random_state=seed
    )


ESTIMATORS = [
    KernelInterpolator(),
    KernelInterpolationRegressor(),
    FiniteSampleReLU(random_state=0),
    FiniteSampleReLURegressor(random_state=0),
    GradientDescentLinearClassifier(),
    NetworkClassifier("mlp", module__hidden=(16,), lr=0.1, max_epochs=2, device="cpu"),
    RandomPretraining(
        NetworkClassifier("mlp", module__hidden=(16,), max_epochs=2, device="cpu"),
        pretrain_epochs=1,
    ),
    LabelNoise(LogisticRegression()),
    PixelShuffle(),
    RandomPixels(),
    GaussianPixels(),
    CenterCrop(input_shape=(1, 2, 2), size=1),
    PerImageWhitening(),
]


def _own_parameters(estimator) -> set[str]:
    """The constructor's parameters (not skorch's prefixed ``module__...`` settings)."""
    return {name for name in estimator.get_params(deep=False) if "__" not in name.strip("_")}


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_every_parameter_has_a_declared_constraint(estimator):
    # fails when a parameter is added to an estimator without a constraint (or a
    # deliberate NO_VALIDATION): the one validation mechanism covers every parameter
    assert set(type(estimator)._param_checks) == _own_parameters(estimator)


def _bad_values():
    for estimator in ESTIMATORS:
        for name, constraint in type(estimator)._param_checks.items():
            if constraint != NO_VALIDATION:
                yield pytest.param(estimator, name, id=f"{type(estimator).__name__}-{name}")


@pytest.mark.parametrize(("estimator", "name"), list(_bad_values()))
def test_fit_refuses_a_bad_value_of_each_parameter_naming_it(estimator, name):
    bad = clone(estimator).set_params(**{name: type(estimator)._param_checks[name].bad_value})
    X = np.random.RandomState(0).rand(12, 4)
    y = np.arange(12) % 2
    with pytest.raises(InvalidParameterError, match=name):
        bad.fit(X, y)


@parametrize_with_checks(
    [
        KernelInterpolator(),
        KernelInterpolationRegressor(),
        FiniteSampleReLU(random_state=0),
        FiniteSampleReLURegressor(random_state=0),
        GradientDescentLinearClassifier(),
        _network(),
        RandomPretraining(_network(), p=0.5, pretrain_epochs=2, random_state=0),
        LabelNoise(LogisticRegression(), p=0.0),
        LabelNoise(LogisticRegression(), random_state=0),
        LabelNoise(KernelInterpolator(device="cpu"), p=0.0),
        PixelShuffle(),
        RandomPixels(),
        GaussianPixels(),
        GaussianPixels(per_channel=True, input_shape=(1, -1, 1)),
        CenterCrop(input_shape=(1, 1, -1), size=1),
        PerImageWhitening(),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "estimator",
    [
        _network(1),
        RandomPretraining(_network(1), p=0.5, pretrain_epochs=2, random_state=0),
    ],
    ids=["NetworkClassifier", "RandomPretraining"],
)
def test_network_outputs_do_not_depend_on_batch_order_or_size(estimator):
    # sklearn's sample order and subset invariance checks (their data), at the tolerance
    # of float32 logits of size ~5, sums of a few dozen products: rtol=atol=1e-5
    rng = np.random.RandomState(0)
    X = 3 * rng.uniform(size=(20, 3))
    estimator.fit(X, X[:, 0].astype(int))
    order = rng.permutation(len(X))
    for method in ("decision_function", "predict_proba"):
        full = getattr(estimator, method)(X)
        permuted = getattr(estimator, method)(X[order])
        np.testing.assert_allclose(permuted, full[order], rtol=1e-5, atol=1e-5)
        rows = np.concatenate([getattr(estimator, method)(row[None]) for row in X])
        np.testing.assert_allclose(rows, full, rtol=1e-5, atol=1e-5)
    # the top two logits are > 0.03 apart here, far above the rounding: the same labels
    np.testing.assert_array_equal(estimator.predict(X[order]), estimator.predict(X)[order])
    np.testing.assert_array_equal(
        np.concatenate([estimator.predict(row[None]) for row in X]), estimator.predict(X)
    )
