"""Label corruption (Zhang et al. 2017, Sec. 2): ``corrupt_labels`` and ``LabelNoise``.

Zhang, Bengio, Hardt, Recht and Vinyals (2017), "Understanding deep learning requires
rethinking generalization", train on *partially corrupted labels*: "independently with
probability p, the label of each image is corrupted as a uniform random class". The new
class may equal the old one, so about ``p * (1 - 1 / n_classes)`` of the labels change
value; ``p = 1`` gives *random labels*. The corrupted labels are drawn once and kept for
the whole training run (they are not redrawn per epoch).
"""

from __future__ import annotations

import hashlib
import numbers
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from sklearn_gen._validation import Custom, InvalidParameterError, Real, Seed, check_params
from sklearn_gen._wrappers import find_inner
from sklearn_gen.randomization._validation import check_probability

#: Mixed into integer seeds, so that the label-corruption stream differs from the stream
#: the same integer gives the wrapped estimator (or anything else seeded with it).
_LABEL_SALT = int.from_bytes(b"label-noise", "big")


def _label_rng(random_state: Any) -> np.random.RandomState:
    """The RandomState that draws the corruption; ints are salted (see ``_LABEL_SALT``)."""
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        check_random_state(random_state)  # same range check (and message) as sklearn
        seed = np.random.SeedSequence([int(random_state), _LABEL_SALT]).generate_state(4)
        return np.random.RandomState(seed)
    return check_random_state(random_state)


def _at_least_two(classes: np.ndarray, owner: str) -> None:
    if len(classes) < 2:
        found = f"only 1 class: {classes[0]!r}" if len(classes) else "no labels"
        raise ValueError(
            f"{owner} needs labels of at least 2 classes to draw a uniform random class, "
            f"but got {found}."
        )


def corrupt_labels(
    y: Any,
    p: float,
    random_state: int | np.random.RandomState | None = None,
    classes: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Corrupt each label independently with probability ``p`` to a uniform random class.

    The definition of Zhang et al. (2017, Sec. 2, "partially corrupted labels"):
    "independently with probability p, the label of each image is corrupted as a uniform
    random class". The random class is drawn uniformly over *all* classes, the current one
    included, so a corrupted label keeps its value with probability ``1 / n_classes`` and
    the expected fraction of labels that change is ``p * (1 - 1 / n_classes)``. ``p = 1``
    gives Zhang's *random labels*.

    For a fixed ``random_state`` the draws are coupled across ``p``: every sample gets one
    uniform number ``u`` and one random class, and it is corrupted when ``u < p``, so the
    labels corrupted at a smaller ``p`` are corrupted, to the same classes, at a larger one.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels, any hashable values of one type (ints, strings, ...).
    p : float
        Corruption probability, in ``[0, 1]``.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws. An int gives the same corruption at every call; it seeds a stream
        derived from the int and a fixed salt, so the same int given to the estimator
        trained on the labels does not replay the same random numbers.
    classes : array-like, default=None
        The classes to draw from; None means the classes present in ``y``. Must contain
        every label of ``y`` (use it when a class may be absent from a subsample).

    Returns
    -------
    y_new : ndarray of shape (n_samples,)
        The corrupted labels, with the dtype of ``classes`` (of ``y`` when None).
    changed : ndarray of bool of shape (n_samples,)
        Where ``y_new`` differs from ``y`` (a label redrawn to its own class is not marked).

    Raises
    ------
    TypeError
        If ``p`` is not a real number.
    ValueError
        If ``p`` is outside ``[0, 1]``, if there are fewer than 2 classes, or if ``y`` has a
        label not in ``classes``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gen.randomization import corrupt_labels
    >>> y = np.repeat(np.arange(10), 1000)
    >>> y_new, changed = corrupt_labels(y, p=0.5, random_state=0)
    >>> bool(np.all(changed == (y_new != y)))
    True
    >>> round(float(changed.mean()), 2)  # about p * (1 - 1/10) = 0.45
    0.45
    >>> corrupt_labels(["cat", "dog", "cat"], p=0.0)[0].tolist()
    ['cat', 'dog', 'cat']
    """
    p = check_probability(p)
    y = column_or_1d(y)
    check_classification_targets(y)
    present = np.unique(y)
    if classes is None:
        classes = present
    else:
        classes = np.unique(column_or_1d(np.asarray(classes)))
        unknown = present[~np.isin(present, classes)]
        if len(unknown):
            raise ValueError(
                f"y contains labels that are not in classes: {unknown.tolist()!r} "
                f"(classes={classes.tolist()!r})."
            )
    _at_least_two(classes, "corrupt_labels")
    y_index = np.searchsorted(classes, y)
    rng = _label_rng(random_state)
    resample = rng.random_sample(len(y)) < p
    draws = rng.randint(len(classes), size=len(y))
    new_index = np.where(resample, draws, y_index)
    return classes[new_index], new_index != y_index


def fingerprint(X: Any) -> str:
    """A digest of an array's shape and values (recognises the training sample).

    Numeric data are hashed as float64 values in C order, so the same sample gives the same
    digest whatever its dtype (float32, float64, integers), memory layout (C or Fortran,
    views) or container (lists, DataFrames); ``-0.0`` counts as ``0.0``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(6.0).reshape(2, 3)
    >>> fingerprint(X) == fingerprint(X.astype(np.float32)) == fingerprint(np.asfortranarray(X))
    True
    >>> fingerprint(X) == fingerprint(X[:, ::-1])
    False
    """
    array = np.asarray(X)
    digest = hashlib.sha256(str(array.shape).encode())
    if array.dtype.hasobject or not np.issubdtype(array.dtype, np.number):
        digest.update(repr(array.tolist()).encode())
    else:
        values = np.ascontiguousarray(array, dtype=np.float64) + 0.0  # -0.0 -> 0.0
        digest.update(values.view(np.uint8).reshape(-1).data)
    return digest.hexdigest()


def fitted_labels(estimator: Any, X: Any, y: Any) -> Any:
    """The labels ``estimator`` was trained on when ``X`` is its training sample, else ``y``.

    A fitted :class:`LabelNoise` (also inside a ``Pipeline`` or a search's
    ``best_estimator_``) trained on corrupted labels: on exactly the ``X`` it was fitted on,
    the labels "of its sample" are ``y_fit_``, not the clean ``y`` that sklearn's scorers
    pass on training folds. Everything else returns ``y`` unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.arange(20.0).reshape(10, 2); y = np.array([0, 1] * 5)
    >>> model = LabelNoise(LogisticRegression(), p=1.0, random_state=0).fit(X, y)
    >>> bool(np.all(fitted_labels(model, X, y) == model.y_fit_))
    True
    >>> fitted_labels(model, X[:4], y[:4]).tolist()  # not the training sample
    [0, 1, 0, 1]
    """
    model, transform = find_inner(
        estimator, lambda obj: isinstance(obj, LabelNoise) and hasattr(obj, "fit_fingerprint_")
    )
    if model is None:
        return y
    Xt = X if transform is None else transform(X)
    if len(Xt) == len(model.y_fit_) and fingerprint(Xt) == model.fit_fingerprint_:
        return model.y_fit_
    return y


def _estimator_has(attr: str) -> Callable[[Any], bool]:
    """For ``available_if``: the fitted estimator has ``attr`` (the unfitted one before fit)."""

    def check(self: LabelNoise) -> bool:
        getattr(self.estimator_ if hasattr(self, "estimator_") else self.estimator, attr)
        return True

    return check


def _check_estimator(value: Any, name: str) -> None:
    if not hasattr(value, "fit"):
        raise InvalidParameterError(
            f"{name} must be an estimator with a fit method, got {value!r} of type "
            f"{type(value).__name__}."
        )


class LabelNoise(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Train a classifier on partially corrupted labels (Zhang et al. 2017, Sec. 2).

    ``fit`` replaces each training label, independently with probability ``p``, by a
    uniform random class ("independently with probability p, the label of each image is
    corrupted as a uniform random class"; the new class may equal the old one) and fits a
    clone of ``estimator`` on the corrupted labels; ``p = 1`` gives Zhang's *random
    labels*. The labels are corrupted once per ``fit`` and stay fixed for the whole
    training of the wrapped estimator (never redrawn per epoch). Prediction and scoring
    are the wrapped estimator's, and the labels given to ``score`` or to a scorer —
    held-out folds as well as training folds in ``return_train_score`` — are never
    touched: they are the clean labels. (The accuracy of the fitted estimator on the
    labels it was trained on is ``estimator_.score(X, y_fit_)``.)

    Works as the last step of a ``Pipeline`` and inside ``GridSearchCV`` (over ``p`` and
    ``estimator__<param>``), ``cross_validate`` and ``learning_curve``.

    Parameters
    ----------
    estimator : estimator object
        The classifier to train on the corrupted labels (cloned in ``fit``).
    p : float, default=1.0
        Corruption probability, in ``[0, 1]``; 0 trains on the true labels, 1 on random
        labels.
    random_state : int, RandomState instance or None, default=None
        Seeds the corruption only; the wrapped estimator keeps its own ``random_state``.
        An int gives the same corrupted labels at every ``fit`` on the same labels (the
        same ``y_fit_`` in every repetition of an experiment), and it is salted so that the
        same int given to the wrapped estimator does not replay the same random numbers.
        A RandomState instance or None draws a new corruption at each ``fit``. See
        :func:`corrupt_labels`.

    Attributes
    ----------
    estimator_ : estimator object
        The clone of ``estimator`` fitted on ``y_fit_``.
    y_fit_ : ndarray of shape (n_samples,)
        The (corrupted) labels the wrapped estimator was trained on.
    corrupted_mask_ : ndarray of bool of shape (n_samples,)
        Which training labels changed value (``y_fit_ != y``).
    fit_fingerprint_ : str
        A digest of the training ``X``, so that scorers can recognise the training sample
        and score it against ``y_fit_`` (:func:`fitted_labels`).
    classes_ : ndarray of shape (n_classes,)
        The classes of the original ``y``. If the corruption happens to remove a class
        from the training labels (tiny samples only) a ``UserWarning`` is raised, and
        ``predict_proba`` gives that class probability 0 (``decision_function`` -inf).
    n_features_in_ : int
        Number of features seen in ``fit``, when the wrapped estimator records it.
    feature_names_in_ : ndarray of str
        Feature names seen in ``fit``, when the wrapped estimator records them.

    See Also
    --------
    corrupt_labels : The corruption itself, as a function.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn_gen import KernelInterpolator
    >>> from sklearn_gen.randomization import LabelNoise
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X[:600] / 16.0
    >>> y = y[:600]
    >>> clf = LabelNoise(KernelInterpolator(gamma=0.05, device="cpu"), p=1.0, random_state=0)
    >>> clf = clf.fit(X, y)
    >>> clf.estimator_.score(X, clf.y_fit_)  # random labels are fitted exactly
    1.0
    >>> round(float(clf.corrupted_mask_.mean()), 1)  # about 9 in 10 labels changed
    0.9
    >>> float(cross_val_score(clf, X, y, cv=3).mean()) < 0.2  # chance on clean test labels
    True
    """

    #: The declared constraints (:func:`~sklearn_gen._validation.check_params`).
    _param_checks: ClassVar[dict[str, Any]] = {
        "estimator": Custom(_check_estimator, bad_value=3),
        "p": Real(0.0, 1.0),
        "random_state": Seed(),
    }

    def __init__(
        self,
        estimator: Any,
        p: float = 1.0,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.estimator = estimator
        self.p = p
        self.random_state = random_state

    def fit(self, X: Any, y: Any, **fit_params: Any) -> LabelNoise:
        """Corrupt the labels and fit a clone of ``estimator`` on them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, passed to the wrapped estimator unchanged.
        y : array-like of shape (n_samples,)
            Clean class labels (any hashable values).
        **fit_params : dict
            Passed to the wrapped estimator's ``fit`` (e.g. ``sample_weight``).

        Returns
        -------
        self : LabelNoise
        """
        classes, y_fit, changed = self._corrupted_labels(X, y)
        estimator = clone(self.estimator)
        estimator.fit(X, y_fit, **fit_params)
        return self._set_fitted(estimator, X, classes, y_fit, changed)

    # The two halves of ``fit``, also used by trainers that fit the wrapped clone
    # themselves (``sklearn_gen.networks.fit_pack`` trains many at once).
    def _corrupted_labels(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Validate, then ``(classes, y_fit, changed)``: the corruption ``fit`` trains on."""
        check_params(self)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        check_classification_targets(y)
        classes = np.unique(y)
        _at_least_two(classes, type(self).__name__)
        y_fit, changed = corrupt_labels(y, self.p, random_state=self.random_state, classes=classes)
        missing = classes[~np.isin(classes, y_fit)]
        if len(missing):
            warnings.warn(
                f"The corrupted training labels contain no sample of the classes "
                f"{missing.tolist()!r}; the wrapped estimator never sees them (predict_proba "
                "gives them probability 0).",
                UserWarning,
                stacklevel=3,
            )
        return classes, y_fit, changed

    def _set_fitted(
        self, estimator: Any, X: Any, classes: np.ndarray, y_fit: np.ndarray, changed: np.ndarray
    ) -> LabelNoise:
        """Store the fitted clone and the corruption it was trained on."""
        self.estimator_ = estimator
        self.classes_ = classes
        self.y_fit_ = y_fit
        self.corrupted_mask_ = changed
        self.fit_fingerprint_ = fingerprint(X)
        return self

    # ------------------------------------------------------------------ delegation
    @property
    def n_features_in_(self) -> int:
        """Number of features seen in ``fit`` (the wrapped estimator's)."""
        return self.estimator_.n_features_in_

    @property
    def feature_names_in_(self) -> np.ndarray:
        """Feature names seen in ``fit`` (the wrapped estimator's)."""
        return self.estimator_.feature_names_in_

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "estimator_")

    def _inner_columns(self) -> np.ndarray | None:
        """Columns of ``classes_`` the wrapped estimator's outputs map to (None: all)."""
        inner = getattr(self.estimator_, "classes_", None)
        if inner is None or np.array_equal(inner, self.classes_):
            return None
        return np.searchsorted(self.classes_, inner)

    def _expand(self, values: np.ndarray, fill: float) -> np.ndarray:
        """Per-class outputs of the wrapped estimator, widened to all of ``classes_``."""
        columns = self._inner_columns()
        values = np.asarray(values)
        if columns is None or len(self.classes_) == 2:
            return values
        if values.ndim == 1:  # a binary decision function: score of inner classes_[1]
            values = np.column_stack([-values, values])
        out = np.full((values.shape[0], len(self.classes_)), fill, dtype=np.float64)
        out[:, columns] = values
        return out

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the wrapped estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the wrapped estimator, columns in ``classes_`` order.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self._expand(self.estimator_.predict_proba(X), 0.0)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log class probabilities of the wrapped estimator, columns in ``classes_`` order.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self._expand(self.estimator_.predict_log_proba(X), -np.inf)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        """Decision function of the wrapped estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the score of ``classes_[1]``.
        """
        check_is_fitted(self)
        return self._expand(self.estimator_.decision_function(X), -np.inf)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """The wrapped estimator's score on ``(X, y)``, with ``y`` as given (uncorrupted).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            True labels; never corrupted.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
            Mean accuracy for a classifier.
        """
        check_is_fitted(self)
        if not hasattr(self.estimator_, "score"):
            return super().score(X, y, sample_weight=sample_weight)
        if sample_weight is None:
            return self.estimator_.score(X, y)
        return self.estimator_.score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            inner = get_tags(self.estimator)
        except Exception:  # not an estimator: fit raises the TypeError
            return tags
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.pairwise = inner.input_tags.pairwise
        tags.input_tags.string = inner.input_tags.string
        tags.input_tags.categorical = inner.input_tags.categorical
        tags.non_deterministic = inner.non_deterministic
        if tags.classifier_tags is not None and inner.classifier_tags is not None:
            # with corrupted labels a low score on clean labels is the point
            noisy = not (isinstance(self.p, numbers.Real) and self.p == 0)
            tags.classifier_tags.poor_score = inner.classifier_tags.poor_score or noisy
        return tags
