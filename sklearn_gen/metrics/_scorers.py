"""sklearn scorers built on the measures, for ``scoring=`` in any search or CV tool.

A scorer here is ``scorer(estimator, X, y) -> float`` (sklearn's callable-scorer protocol):
it evaluates a measure of the fitted estimator on the fold it is given. Names follow
sklearn's convention: greater is better, so measures where smaller is better are negated
and named ``neg_...``.

Norm- and margin-based bounds describe the fitted model *on its training sample*: use them
with ``return_train_score=True`` and read the ``train_<name>`` columns. On a test fold they
are the same formula evaluated on held-out data, which is not a bound on anything. On the
training fold of a :class:`~sklearn_gen.LabelNoise` model, every scorer here uses the
labels the model was trained on (:func:`~sklearn_gen.randomization.fitted_labels`), which
is what "the model on its sample" means under label noise.

The scorers of one ``scoring=`` dict evaluated on the same fitted estimator and fold share
one forward pass over the fold (and the conv layers' spectral norms), cached for that one
scoring call as scikit-learn's multimetric scorer caches predictions
(:mod:`sklearn_gen.measures._cache`): the call ends when a scorer that already scored in it
is called again or another estimator or fold comes, and nothing is kept from one call to
the next, so a refit or any change of the model is never served a stale value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sklearn.metrics import get_scorer as sklearn_get_scorer

from sklearn_gen import measures
from sklearn_gen.measures import UndefinedMeasureError
from sklearn_gen.measures._cache import scoring_call
from sklearn_gen.randomization import fitted_labels

__all__ = ["SCORERS", "MeasureScorer", "get_scorer", "make_measure_scorer", "make_scoring"]


class MeasureScorer:
    """A measure wrapped as an sklearn scorer (picklable: holds a module-level function).

    Parameters
    ----------
    measure : callable
        ``measure(estimator, X, y, **params) -> float``.
    greater_is_better : bool, default=False
        Sign of the score: measures where smaller is better are negated.
    **params
        Passed to the measure at every call.

    Examples
    --------
    >>> from sklearn_gen.measures import pac_bayes_flatness
    >>> MeasureScorer(pac_bayes_flatness, greater_is_better=True, n_iter=4)
    make_measure_scorer(pac_bayes_flatness, greater_is_better=True, n_iter=4)
    """

    def __init__(
        self, measure: Callable[..., float], greater_is_better: bool = False, **params: Any
    ) -> None:
        if not callable(measure):
            raise TypeError(f"measure must be callable, got {measure!r}.")
        self.measure = measure
        self.greater_is_better = greater_is_better
        self.params = params

    def __call__(self, estimator: Any, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        if sample_weight is not None:
            raise ValueError(f"{self.measure.__name__} does not take sample weights.")
        # on a training fold, the sample's labels are the ones the model was fitted on
        # (LabelNoise's corrupted labels), not the clean ones sklearn passes
        labels = fitted_labels(estimator, X, y)
        try:
            with scoring_call(self, estimator, X):
                value = float(self.measure(estimator, X, labels, **self.params))
        except UndefinedMeasureError:
            # e.g. a bound on a held-out fold the network does not fit: no score, no traceback
            return float("nan")
        return value if self.greater_is_better else -value

    def __repr__(self) -> str:
        args = [self.measure.__name__]
        if self.greater_is_better:
            args.append("greater_is_better=True")
        args += [f"{k}={v!r}" for k, v in self.params.items()]
        return f"make_measure_scorer({', '.join(args)})"


def make_measure_scorer(
    measure: Callable[..., float], *, greater_is_better: bool = False, **params: Any
) -> MeasureScorer:
    """Wrap ``measure(estimator, X, y, **params)`` as a scorer for ``scoring=``.

    Parameters
    ----------
    measure : callable
        A measure from :mod:`sklearn_gen.measures` (or any function with its signature).
    greater_is_better : bool, default=False
        False negates the value, as sklearn's ``neg_`` scorers do.
    **params
        Fixed keyword arguments of the measure.

    Returns
    -------
    MeasureScorer

    Examples
    --------
    >>> from sklearn_gen.measures import product_norm
    >>> make_measure_scorer(product_norm, norm="spectral")
    make_measure_scorer(product_norm, norm='spectral')
    """
    return MeasureScorer(measure, greater_is_better=greater_is_better, **params)


def accuracy(estimator: Any, X: Any, y: Any) -> float:
    """Mean accuracy, ``estimator.score(X, y)``: as a scorer, on the labels the model fitted.

    Wrapped in :class:`MeasureScorer` (``"accuracy_on_fitted_labels"``), a training fold of
    a :class:`~sklearn_gen.LabelNoise` model is scored against its corrupted training
    labels, so Zhang et al.'s "training accuracy 1.0 at every p" can be read from
    ``cv_results_``; other folds and models are scored against ``y``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = load_iris(return_X_y=True)
    >>> accuracy(LogisticRegression(max_iter=500).fit(X, y), X, y) > 0.9
    True
    """
    return float(estimator.score(X, y))


#: The ready-made scorers, by sklearn-style name.
SCORERS: dict[str, MeasureScorer] = {
    "accuracy_on_fitted_labels": make_measure_scorer(accuracy, greater_is_better=True),
    "neg_normalized_loss": make_measure_scorer(measures.normalized_loss),
    "neg_normalized_error": make_measure_scorer(measures.normalized_error),
    "neg_spectral_bound": make_measure_scorer(measures.spectral_bound),
    "neg_pac_bayes_bound": make_measure_scorer(measures.pac_bayes_bound),
    "neg_distance_from_init": make_measure_scorer(measures.distance_from_init),
    "neg_path_norm": make_measure_scorer(measures.path_norm),
    "neg_product_spectral_norm": make_measure_scorer(measures.product_norm, norm="spectral"),
    "neg_product_frobenius_norm": make_measure_scorer(measures.product_norm, norm="fro"),
    "pac_bayes_flatness": make_measure_scorer(measures.pac_bayes_flatness, greater_is_better=True),
    "pac_bayes_magnitude_flatness": make_measure_scorer(
        measures.pac_bayes_flatness, greater_is_better=True, magnitude_aware=True
    ),
    "neg_jiang_pac_bayes_flatness": make_measure_scorer(measures.jiang_pac_bayes_flatness),
    "neg_jiang_pac_bayes_magnitude_flatness": make_measure_scorer(
        measures.jiang_pac_bayes_flatness, magnitude_aware=True
    ),
    "neg_worst_case_sharpness": make_measure_scorer(measures.worst_case_sharpness, random_state=0),
    "neg_worst_case_magnitude_sharpness": make_measure_scorer(
        measures.worst_case_sharpness, magnitude_aware=True, random_state=0
    ),
    "neg_epsilon_sharpness": make_measure_scorer(measures.epsilon_sharpness, random_state=0),
    "neg_hessian_top_eigenvalue": make_measure_scorer(
        measures.hessian_top_eigenvalue, random_state=0
    ),
    "neg_hessian_trace": make_measure_scorer(measures.hessian_trace, random_state=0),
    "neg_gradient_noise": make_measure_scorer(
        measures.gradient_noise, batch_size=32, random_state=0
    ),
    "neg_mean_alpha": make_measure_scorer(measures.mean_alpha),
    "neg_steps_to_loss": make_measure_scorer(measures.steps_to_loss),
    "neg_steps_between_losses": make_measure_scorer(measures.steps_between_losses),
    "margin_quantile": make_measure_scorer(measures.margin_quantile, greater_is_better=True),
    "neg_rkhs_norm": make_measure_scorer(measures.rkhs_norm),
    "neg_kernel_margin_bound": make_measure_scorer(measures.kernel_margin_bound),
}


def get_scorer(name: str | Callable) -> Callable:
    """A scorer by name: one of :data:`SCORERS`, else sklearn's own (e.g. ``"accuracy"``).

    Examples
    --------
    >>> get_scorer("neg_path_norm")
    make_measure_scorer(path_norm)
    >>> get_scorer("accuracy")
    make_scorer(accuracy_score, response_method='predict')
    """
    if callable(name):
        return name
    if name in SCORERS:
        return SCORERS[name]
    try:
        return sklearn_get_scorer(name)
    except ValueError as exc:
        raise ValueError(
            f"{name!r} is neither a sklearn_gen scorer ({sorted(SCORERS)}) nor an sklearn one."
        ) from exc


def make_scoring(*names: str) -> dict[str, Callable]:
    """A ``scoring=`` dict from scorer names (sklearn_gen's and sklearn's mixed).

    Examples
    --------
    >>> sorted(make_scoring("accuracy", "neg_path_norm"))
    ['accuracy', 'neg_path_norm']
    """
    if not names:
        raise ValueError("give at least one scorer name.")
    return {name: get_scorer(name) for name in names}
