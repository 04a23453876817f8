"""scikit-learn's own estimator checks on the default (or a small) configuration of each."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_gen import (
    FiniteSampleReLU,
    FiniteSampleReLURegressor,
    KernelInterpolationRegressor,
    KernelInterpolator,
    NetworkClassifier,
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


def _expected_failures(estimator):
    return SKORCH_BY_DESIGN if isinstance(estimator, NetworkClassifier) else {}


@parametrize_with_checks(
    [
        KernelInterpolator(),
        KernelInterpolationRegressor(),
        FiniteSampleReLU(random_state=0),
        FiniteSampleReLURegressor(random_state=0),
        NetworkClassifier(
            "mlp", module__hidden=(16,), lr=0.1, max_epochs=20, device="cpu", random_state=0
        ),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
