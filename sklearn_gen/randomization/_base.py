"""Common validation of the transformers on flat image arrays."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import validate_data

from sklearn_gen._validation import check_params


class FlatImageTransformer(TransformerMixin, BaseEstimator):
    """Base of the transformers on flat images: float ``X`` of shape (n_samples, n_features).

    ``X`` is validated with sklearn's ``validate_data`` (2-D, float32 or float64 kept,
    other numbers cast to float64, no NaN or infinity, no sparse matrix); at ``transform``
    the number of features must be the one seen in ``fit``, where the parameters are
    checked against ``_param_checks``. The default ``fit`` only validates and
    records the width of ``X`` (the stateless transformers use it as is).
    """

    def fit(self, X: Any, y: Any = None) -> FlatImageTransformer:
        """Record the number of features (nothing is learned).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flat images.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._validate(X, reset=True)
        return self

    #: The declared constraints (:func:`~sklearn_gen._validation.check_params`),
    #: checked when ``fit`` validates ``X``.
    _param_checks: ClassVar[dict[str, Any]] = {}

    def _validate(self, X: Any, *, reset: bool) -> np.ndarray:
        if reset:
            check_params(self)
        return validate_data(self, X, reset=reset, dtype=[np.float64, np.float32])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
