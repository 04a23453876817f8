"""RandomPretraining: train on corrupted labels first, then go on with the true labels.

Liao, Miranda, Hidary & Poggio (2018), "Classical generalization bounds are surprisingly
tight for deep networks", make networks that reach the same training loss but generalize
differently by *random pretraining*: the network is first trained for some epochs on labels
corrupted with probability ``p`` (Zhang et al.'s definition, :func:`corrupt_labels`), then
the same weights are trained on the true labels. Larger ``p`` leaves worse test error at
equal training loss.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any, ClassVar

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, column_or_1d

from sklearn_gen._validation import Int, check_params
from sklearn_gen.randomization._labels import LabelNoise, corrupt_labels

#: Parameters switched off while pretraining (a stopping rule would end it early).
_STOPPING_OFF = {"stop_on_interpolation": False, "stop_margin": None, "stop_train_loss": None}


class RandomPretraining(LabelNoise):
    """Pretrain on labels corrupted with probability ``p``, then train on the true labels.

    ``fit`` clones ``estimator``, trains it for ``pretrain_epochs`` epochs on labels
    corrupted as in :func:`corrupt_labels` (stopping rules off, so the pretraining always
    lasts exactly that long), and then continues training the *same* weights on the true
    labels with ``partial_fit``, under the estimator's own ``max_epochs`` and stopping
    rules. Prediction and scoring delegate to the trained estimator.

    When no label was corrupted (``p=0``), pretraining is training on the true labels, so
    the estimator's stopping rules apply from the first epoch and training ends where they
    are first met: as Liao et al. pick, among all epochs, the network at the common
    training loss. Without this, ``p=0`` would train ``pretrain_epochs`` epochs past a
    ``stop_train_loss`` target and end far below the training loss the other levels stop
    at.

    The estimator must train in epochs and continue training: a ``max_epochs`` parameter
    and ``partial_fit(X, y, classes=...)``, as :class:`sklearn_gen.NetworkClassifier` and
    other skorch networks have.

    Parameters
    ----------
    estimator : estimator object
        The network to train, e.g. ``NetworkClassifier(stop_train_loss=0.01)``.
    p : float, default=1.0
        Corruption probability of the pretraining labels; 1 gives random labels.
    pretrain_epochs : int, default=10
        Epochs of pretraining on the corrupted labels.
    random_state : int, RandomState instance or None, default=None
        Seeds the corruption only; the estimator keeps its own ``random_state``.

    Attributes
    ----------
    estimator_ : estimator object
        The trained estimator.
    classes_ : ndarray of shape (n_classes,)
    y_pretrain_ : ndarray of shape (n_samples,)
        The corrupted labels used for pretraining.
    corrupted_mask_ : ndarray of bool of shape (n_samples,)
        Where ``y_pretrain_`` differs from the true labels.
    pretrain_history_ : skorch.history.History
        The estimator's history at the end of pretraining (one row per epoch).
    n_pretrain_epochs_ : int
        Epochs of the pretraining phase: ``pretrain_epochs``, or fewer when no label was
        corrupted and a stopping rule ended training within them.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_gen import NetworkClassifier
    >>> from sklearn_gen.randomization import RandomPretraining
    >>> X, y = load_digits(return_X_y=True)
    >>> net = NetworkClassifier("mlp", module__hidden=(32,), lr=0.1, max_epochs=3,
    ...                         random_state=0)
    >>> model = RandomPretraining(net, p=1.0, pretrain_epochs=2, random_state=0)
    >>> model = model.fit(X / 16, y)
    >>> model.n_pretrain_epochs_, model.estimator_.n_epochs_
    (2, 5)
    """

    #: The declared constraints (:func:`~sklearn_gen._validation.check_params`).
    _param_checks: ClassVar[dict[str, Any]] = {
        **LabelNoise._param_checks,
        "pretrain_epochs": Int(1),
    }

    def __init__(
        self,
        estimator: Any,
        p: float = 1.0,
        pretrain_epochs: int = 10,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        super().__init__(estimator, p=p, random_state=random_state)
        self.pretrain_epochs = pretrain_epochs

    def _check_estimator(self) -> dict[str, Any]:
        est = self.estimator
        params = est.get_params(deep=False) if hasattr(est, "get_params") else {}
        if not hasattr(est, "partial_fit") or "max_epochs" not in params:
            raise TypeError(
                "RandomPretraining needs an estimator that trains in epochs and can continue "
                "training (a max_epochs parameter and partial_fit), such as "
                f"NetworkClassifier; got {type(est).__name__}."
            )
        return params

    def fit(self, X: Any, y: Any, **fit_params: Any) -> RandomPretraining:
        """Pretrain a clone of ``estimator`` on corrupted labels, then train it on ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            The true labels.
        **fit_params : dict
            Passed to both ``partial_fit`` calls.

        Returns
        -------
        self : RandomPretraining
        """
        check_params(self)
        params = self._check_estimator()
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        check_classification_targets(y)
        classes = np.unique(y)
        y_pretrain, changed = corrupt_labels(y, self.p, self.random_state, classes=classes)

        # pretraining on the true labels (no label changed, e.g. p=0) is training: the
        # estimator's stopping rules apply to it, so it does not overshoot their target
        clean = not changed.any()
        pretrain = {"max_epochs": int(self.pretrain_epochs)}
        if not clean:
            pretrain.update({k: v for k, v in _STOPPING_OFF.items() if k in params})
        estimator = clone(self.estimator).set_params(**pretrain)
        with warnings.catch_warnings():
            # not meeting the rules within pretrain_epochs is no failure: training goes on
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.partial_fit(X, y_pretrain, classes=classes, **fit_params)
        self.pretrain_history_ = copy.deepcopy(estimator.history)
        self.n_pretrain_epochs_ = len(self.pretrain_history_)

        estimator.set_params(**{name: params[name] for name in pretrain})
        if not (clean and "stopped_by" in estimator.history[-1]):
            estimator.partial_fit(X, y, **fit_params)
        self.estimator_ = estimator
        self.classes_ = classes
        self.y_pretrain_ = y_pretrain
        self.corrupted_mask_ = changed
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if tags.classifier_tags is not None:
            tags.classifier_tags.poor_score = False  # the final training uses true labels
        return tags
