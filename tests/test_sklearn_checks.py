"""scikit-learn's own estimator checks on the default configurations."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_gen import KernelInterpolationRegressor, KernelInterpolator


@parametrize_with_checks([KernelInterpolator(), KernelInterpolationRegressor()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
