"""A linear classifier trained by full-batch gradient descent from zero.

The learner of Nagarajan & Kolter's (2019) overparameterized linear example: weights start
at the origin and take gradient steps on the summed loss of the training set. One step of
learning rate 1 on the hinge loss (every point has margin 0 < 1 at the origin) gives
``w = sum_i y_i x_i`` whatever the batch size: the paper's classifier. scikit-learn's
linear models are not this learner: ``SGDClassifier(loss="hinge")`` updates point by point
and skips a point once the running weights give it margin >= 1, and ``LogisticRegression``
solves a regularized problem to convergence.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_gen._validation import Int, Options, Real, check_params

__all__ = ["GradientDescentLinearClassifier"]

_LOSSES = ("hinge", "logistic")


class GradientDescentLinearClassifier(ClassifierMixin, BaseEstimator):
    """Binary linear classifier ``sign(<w, x>)`` by full-batch gradient descent from ``w = 0``.

    Each of the ``n_steps`` steps is ``w <- w - learning_rate * sum_i grad loss(y_i w . x_i)``
    with labels mapped to -1/+1 (the summed, not the averaged, loss). There is no
    intercept, as in the paper. The fit is deterministic (no random state): the data and
    the parameters fix the weights.

    Parameters
    ----------
    loss : {"hinge", "logistic"}, default="hinge"
        ``max(0, 1 - z)`` or ``log(1 + exp(-z))`` of the margin ``z = y w . x``.
    learning_rate : float, default=1.0
        Step size (> 0).
    n_steps : int, default=1
        Number of full-batch steps (>= 1). One hinge step from zero is Nagarajan &
        Kolter's learner, ``w = learning_rate * sum_i y_i x_i``.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The labels; ``classes_[1]`` is the positive class.
    coef_ : ndarray of shape (1, n_features)
        The weights ``w``.
    intercept_ : ndarray of shape (1,)
        Always 0 (no intercept).
    n_features_in_ : int
    n_iter_ : int
        Steps taken (``n_steps``).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.5], [2.0, -0.25], [-1.0, 0.25], [-2.0, 0.5]])
    >>> y = np.array([1, 1, 0, 0])
    >>> clf = GradientDescentLinearClassifier().fit(X, y)
    >>> clf.coef_.tolist()  # sum of y_i x_i with y in {-1, +1}
    [[6.0, -0.5]]
    >>> clf.predict(X).tolist()
    [1, 1, 0, 0]
    """

    def __init__(self, loss: str = "hinge", learning_rate: float = 1.0, n_steps: int = 1) -> None:
        self.loss = loss
        self.learning_rate = learning_rate
        self.n_steps = n_steps

    #: The declared constraints (:func:`~sklearn_gen._validation.check_params`).
    _param_checks: ClassVar[dict[str, Any]] = {
        "loss": Options(*_LOSSES),
        "learning_rate": Real(0.0, closed="neither"),
        "n_steps": Int(1),
    }

    def _check_params(self) -> None:
        check_params(self)

    def fit(self, X: Any, y: Any) -> GradientDescentLinearClassifier:
        """Run ``n_steps`` full-batch gradient steps from ``w = 0`` on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Exactly two distinct labels.

        Returns
        -------
        self
        """
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=False)
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) != 2:
            kind = "1 class" if len(classes) == 1 else type_of_target(y, input_name="y")
            raise ValueError(
                "Only binary classification is supported: GradientDescentLinearClassifier "
                f"needs y with exactly 2 classes, got {len(classes)} ({kind})."
            )
        self.classes_ = classes
        signs = np.where(y == classes[1], 1.0, -1.0)
        signed_X = X * signs[:, None]  # rows y_i x_i
        w = np.zeros(X.shape[1])
        for _ in range(self.n_steps):
            z = signed_X @ w
            if self.loss == "hinge":
                slope = (z < 1.0).astype(np.float64)  # -d/dz max(0, 1 - z)
            else:
                slope = 0.5 * (1.0 - np.tanh(z / 2.0))  # -d/dz log(1 + e^-z) = sigmoid(-z)
            w += self.learning_rate * (slope @ signed_X)
        self.coef_ = w[None, :]
        self.intercept_ = np.zeros(1)
        self.n_iter_ = int(self.n_steps)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """``w . x``: positive for ``classes_[1]``.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_[0]

    def predict(self, X: Any) -> np.ndarray:
        """``classes_[1]`` where ``<w, x> > 0``, else ``classes_[0]``.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "coef_")
        return self.classes_[(self.decision_function(X) > 0).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
