"""FiniteSampleReLU and FiniteSampleReLURegressor: the finite-sample expressivity network.

Zhang, Bengio, Hardt, Recht and Vinyals (2017), "Understanding deep learning requires
rethinking generalization" (ICLR), Theorem 1 / Section 4: there is a depth-2 network with
ReLU activations and ``2n + d`` weights that represents any function on any sample of
``n`` distinct points in ``d`` dimensions,

.. math::

    c(x) = \\sum_{j=1}^{n} w_j \\, \\mathrm{ReLU}(\\langle a, x \\rangle - b_j).

The proof is constructive, and these estimators carry it out:

1. draw a random direction ``a`` (standard normal, scaled to unit length, from
   ``random_state``) and project the points, ``z_i = <a, x_i>``; for distinct points the
   projections are distinct with probability one;
2. sort them and interleave the biases, ``b_1 < z_(1) < b_2 < z_(2) < ... < b_n < z_(n)``:
   ``b_j`` is the midpoint of ``z_(j-1)`` and ``z_(j)``, and ``b_1`` lies one mean gap
   ``(z_(n) - z_(1)) / (n - 1)`` below ``z_(1)``;
3. the matrix ``A_ij = ReLU(z_(i) - b_j)`` is then lower triangular with a positive
   diagonal, hence invertible, and ``w`` solves ``A w = y`` (a float64 triangular solve).

The network is fitted exactly on the training points, whatever the labels: the paper's
point is that expressivity on a finite sample is cheap, so it cannot explain
generalization. Nothing here is meant to generalize.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.linalg import solve_triangular
from scipy.linalg.lapack import dtrcon
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_gen._validation import Real, Seed, check_params

__all__ = ["FiniteSampleReLU", "FiniteSampleReLURegressor"]

#: Largest accepted condition number of ``A``: beyond ``1 / eps`` the float64 system is
#: numerically singular.
_MAX_CONDITION = 1.0 / np.finfo(np.float64).eps
#: Steps of iterative refinement of ``w`` after the triangular solve.
_MAX_REFINE = 3
#: Most float64 elements of the ``(rows, n_features)`` temporary of a projection.
_PROJECT_ELEMENTS = 1 << 22
#: Samples per block of the forward pass (its temporaries are ``(block, n_outputs)``).
_FORWARD_ROWS = 1 << 16


class _BaseFiniteSampleReLU(BaseEstimator):
    """Construction, validation and forward pass shared by the classifier and regressor."""

    def __init__(
        self,
        *,
        random_state: int | np.random.RandomState | None = None,
        tol: float = 1e-6,
    ) -> None:
        self.random_state = random_state
        self.tol = tol

    # ------------------------------------------------------------------ validation
    #: The declared constraints (:func:`~sklearn_gen._validation.check_params`).
    _param_checks: ClassVar[dict[str, Any]] = {"tol": Real(0.0), "random_state": Seed()}

    def _check_params(self) -> None:
        check_params(self)

    def _validate_X(self, X: Any) -> np.ndarray:
        return validate_data(self, X, reset=False, dtype=np.float64, order="C")

    # ------------------------------------------------------------------ fitting
    def _fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        """Build the network that maps each row of ``X`` to the row of ``Y`` (2-D targets).

        Sets ``direction_``, ``biases_``, ``weights_`` (of shape ``(n, n_outputs)``),
        ``n_params_``, ``condition_number_`` and ``train_residual_``, only once every
        check has passed.
        """
        n_features = X.shape[1]
        direction = check_random_state(self.random_state).standard_normal(n_features)
        direction /= np.linalg.norm(direction)

        z = _project(X, direction)
        order = np.argsort(z, kind="stable")
        z, Y = z[order], Y[order]
        keep = _distinct_points(X, order, z, Y)
        z, Y = z[keep], Y[keep]
        biases = _interleaving_biases(z)

        # A[i, j] = ReLU(z_(i) - b_j): exactly lower triangular (b_j > z_(i) for j > i).
        A = np.subtract.outer(z, biases)
        np.maximum(A, 0.0, out=A)
        condition = _condition_number(A)
        if not condition <= _MAX_CONDITION:
            raise ValueError(
                f"The {len(z)} x {len(z)} triangular system A w = y is numerically singular: "
                f"its condition number (1-norm estimate) is {condition:.3g} > 1/eps = "
                f"{_MAX_CONDITION:.3g}, because some training points are nearly "
                "indistinguishable along the random direction (projections far closer "
                "together than their spread). Remove near-duplicate samples, fit fewer "
                "samples, or try another random_state."
            )

        weights, residual = _solve_refined(A, z, biases, Y)
        scale = float(np.max(np.abs(Y)))
        if residual > self.tol * scale:
            raise ValueError(
                f"The network does not fit the training targets to tol={self.tol:g}: the "
                f"largest training error is {residual:.3g} (targets up to {scale:.3g}), "
                f"and A has condition number (1-norm estimate) {condition:.3g}. The system "
                "is too ill-conditioned for float64: remove near-duplicate samples, fit "
                "fewer samples, try another random_state, or raise tol."
            )

        self.direction_ = direction
        self.biases_ = biases
        self.weights_ = weights
        self.n_params_ = int(biases.size + weights.size + n_features)
        self.condition_number_ = float(condition)
        self.train_residual_ = float(residual)

    # ------------------------------------------------------------------ forward pass
    def network_output(self, X: Any) -> np.ndarray:
        """Raw output of the network, ``c(x) = sum_j w_j ReLU(<a, x> - b_j)``.

        The hidden units are accumulated one at a time, in increasing order of their bias,
        in float64, so every output depends only on its own row: predictions do not depend
        on how the queries are batched. Memory is ``O(n_samples * n_outputs)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Query points.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            For the classifier, the regressed class index (see the class docstring).

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_gen.networks._finite_sample import FiniteSampleReLURegressor
        >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
        >>> reg = FiniteSampleReLURegressor(random_state=0).fit(X, [3.0, -1.0, 0.5])
        >>> reg.network_output(X).round(6)
        array([ 3. , -1. ,  0.5])
        """
        check_is_fitted(self, "weights_")
        X = self._validate_X(X)
        weights = self.weights_.reshape(self.biases_.size, -1)
        out = _forward(_project(X, self.direction_), self.biases_, weights)
        return out.ravel() if self.weights_.ndim == 1 else out


def _project(X: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """``X @ direction``, row by row (per-row pairwise sums: independent of batching)."""
    n, d = X.shape
    z = np.empty(n)
    rows = max(1, _PROJECT_ELEMENTS // max(d, 1))
    for start in range(0, n, rows):
        z[start : start + rows] = np.sum(X[start : start + rows] * direction, axis=1)
    return z


def _forward(z: np.ndarray, biases: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sum_j ReLU(z - b_j) * weights[j]`` (2-D ``weights``), hidden units in order.

    Sequential accumulation over increasing ``b_j`` makes every partial sum the value of
    a sub-network on the same sample, which keeps the rounding error near that of an
    exactly rounded sum here; units with ``b_j >= max(z)`` add exact zeros and are skipped.
    """
    out = np.zeros((z.size, weights.shape[1]))
    for start in range(0, z.size, _FORWARD_ROWS):
        zb = z[start : start + _FORWARD_ROWS]
        ob = out[start : start + _FORWARD_ROWS]
        n_active = int(np.searchsorted(biases, zb.max(), side="left"))
        for j in range(n_active):
            hidden = zb - biases[j]
            np.maximum(hidden, 0.0, out=hidden)
            ob += hidden[:, None] * weights[j]
    return out


def _distinct_points(X: np.ndarray, order: np.ndarray, z: np.ndarray, Y: np.ndarray):
    """Mask (over the sorted projections ``z``) that drops repeated rows of ``X``.

    Equal rows have bitwise equal projections, so only ties of ``z`` are compared. A
    repeated row with the same targets is dropped (the network fits it anyway); distinct
    rows with the same projection, or repeated rows with different targets, raise.
    """
    keep = np.ones(z.size, dtype=bool)
    tie = np.flatnonzero(z[1:] == z[:-1])
    if tie.size == 0:
        return keep
    same_row = np.all(X[order[tie]] == X[order[tie + 1]], axis=1)
    if not same_row.all():
        raise _coincident_error(int(np.count_nonzero(~same_row)))
    conflict = np.any(Y[tie] != Y[tie + 1], axis=1)
    if conflict.any():
        group = np.cumsum(np.r_[True, z[1:] != z[:-1]])
        n_points = np.unique(group[tie[conflict]]).size
        raise ValueError(
            f"X contains duplicate samples with conflicting targets: {n_points} distinct "
            f"point(s) occur more than once with different labels ({tie.size} duplicate "
            "row(s) in all). No function can fit them, and Theorem 1 of Zhang et al. "
            "(2017) needs n distinct points: remove the duplicates (e.g. with "
            "np.unique(X, axis=0, return_index=True)) or make their targets agree."
        )
    keep[tie + 1] = False
    return keep


def _interleaving_biases(z: np.ndarray) -> np.ndarray:
    """Biases with ``b_1 < z_(1) < b_2 < ... < b_n < z_(n)`` for sorted distinct ``z``."""
    n = z.size
    biases = np.empty(n)
    if n > 1:
        biases[1:] = z[:-1] + 0.5 * np.diff(z)
        below = (z[-1] - z[0]) / (n - 1)
    else:
        below = max(1.0, abs(float(z[0])))
    biases[0] = z[0] - below
    separated = biases < z
    separated[1:] &= biases[1:] > z[:-1]
    if not separated.all():
        # Only when consecutive projections are adjacent floats: no bias fits between.
        raise _coincident_error(int(np.count_nonzero(~separated)))
    return biases


def _coincident_error(n_pairs: int) -> ValueError:
    return ValueError(
        f"{n_pairs} pair(s) of distinct training points have the same projection onto "
        "the random direction to float64 precision, so no bias separates them (Theorem 1 "
        "needs n distinct projections). These points are near-duplicates: remove the "
        "duplicates (e.g. round X and use np.unique(X, axis=0)), or try another "
        "random_state."
    )


def _condition_number(A: np.ndarray) -> float:
    """1-norm condition number of lower-triangular ``A`` by LAPACK ``dtrcon`` (O(n^2)).

    ``dtrcon`` reads Fortran order; ``A.T`` is the Fortran view of the upper-triangular
    transpose, and ``kappa_1(A) = kappa_inf(A^T)``.
    """
    rcond, info = dtrcon(A.T, norm="I", uplo="U", diag="N")
    if info != 0 or not np.isfinite(rcond):  # pragma: no cover - LAPACK argument errors
        return float("inf")
    return float("inf") if rcond == 0 else 1.0 / float(rcond)


def _solve_refined(A: np.ndarray, z: np.ndarray, biases: np.ndarray, Y: np.ndarray):
    """Solve ``A W = Y`` and refine ``W`` with residuals of the network's own forward pass.

    Returns ``W`` and the largest absolute training error of the network.
    """
    weights = solve_triangular(A, Y, lower=True, check_finite=False)
    remainder = Y - _forward(z, biases, weights)
    error = float(np.max(np.abs(remainder)))
    for _ in range(_MAX_REFINE):
        if error == 0.0:
            break
        candidate = weights + solve_triangular(A, remainder, lower=True, check_finite=False)
        candidate_remainder = Y - _forward(z, biases, candidate)
        candidate_error = float(np.max(np.abs(candidate_remainder)))
        if not candidate_error < error:
            break
        weights, remainder, error = candidate, candidate_remainder, candidate_error
    return weights, error


_PARAMS_DOC = """
    Parameters
    ----------
    random_state : int, RandomState instance or None, default=None
        Seeds the random direction ``a`` (the only randomness); resolved in ``fit``.
    tol : float, default=1e-6
        ``fit`` raises a ``ValueError`` when the largest training error of the network,
        ``train_residual_``, exceeds ``tol`` times the largest absolute {target}. The
        weights come from a float64 triangular solve followed by up to three steps of
        iterative refinement driven by the network's own forward pass.
"""

_ATTRS_DOC = """
    Attributes
    ----------
    direction_ : ndarray of shape (n_features,)
        The random direction ``a`` (unit Euclidean norm).
    biases_ : ndarray of shape (n_distinct,)
        The hidden biases ``b_j``, increasing, interleaved with the sorted training
        projections. ``n_distinct`` is the number of distinct training points (repeated
        rows with equal targets are dropped, see Notes).
    weights_ : ndarray of shape {weights_shape}
        The output weights ``w_j``, in the order of ``biases_``.
    n_params_ : int
        Number of weights of the network, {n_params}.
    condition_number_ : float
        The 1-norm condition number ``||A||_1 ||A^-1||_1`` of the triangular system, as
        estimated by LAPACK ``dtrcon`` (Hager-Higham estimator: O(n^2), a lower bound
        that is almost always within a small factor, usually exact). ``fit`` raises when
        it exceeds ``1 / eps`` (about 4.5e15).
    train_residual_ : float
        Largest absolute error of the network on the training points (the value
        ``predict`` / ``network_output`` gives there, minus the {target}).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Names of the features seen in ``fit``, when ``X`` has string column names.
"""

_NOTES_DOC = """
    Notes
    -----
    ``fit`` costs ``O(n d + n^2)`` time and stores the dense ``n x n`` triangular matrix
    ``A`` while it runs (``8 n^2`` bytes); prediction costs ``O(n)`` per sample and
    ``O(n_samples)`` memory. The fitted network needs no training data.

    Theorem 1 needs distinct points. Rows of ``X`` that are exactly equal and carry equal
    {target}s are fitted once (the duplicate rows are dropped: the network fits them
    anyway); equal rows with different {target}s raise a ``ValueError``, since no function
    can fit them, and so do distinct rows whose projections coincide in float64.

    The conditioning of ``A`` worsens as the gaps between consecutive projections shrink
    relative to their spread, i.e. quickly with ``n``: for standard Gaussian points in 50
    dimensions it is about ``1e12`` at ``n = 1000``, ``3e15`` at ``n = 5000`` and past
    ``1 / eps`` at ``n = 8000``, where ``fit`` refuses the system rather than return a
    network that may not fit (the limit is float64, not the theorem).

    References
    ----------
    C. Zhang, S. Bengio, M. Hardt, B. Recht and O. Vinyals. Understanding deep learning
    requires rethinking generalization. ICLR 2017, Theorem 1 and Section 4.
"""


class FiniteSampleReLU(ClassifierMixin, _BaseFiniteSampleReLU):
    __doc__ = (
        """Depth-2 ReLU network with ``2n + d`` weights fitting any labels (Zhang et al. 2017).

    The network ``c(x) = sum_j w_j ReLU(<a, x> - b_j)`` of Theorem 1 regresses the class
    index ``k`` of ``classes_[k]`` (``0 .. n_classes - 1``, in the order of ``classes_``).
    The class is ``classes_[clip(round(c(x)), 0, n_classes - 1)]`` (halves round down):
    one output unit, so the network keeps exactly ``2n + d`` weights whatever the number
    of classes.

    Theorem 1 fits any real labels, so the class codes are fitted exactly on the training
    points and the training accuracy is 1 (the largest training error,
    ``train_residual_``, is far below the 0.5 that rounding tolerates). Off the training
    set the classifier is weak by design: the class codes are arbitrary numbers, and
    between training projections ``c`` is a steep piecewise-linear function that
    overshoots wildly; the estimator demonstrates finite-sample expressivity, not
    generalization.
"""
        + _PARAMS_DOC.format(target="class index")
        + _ATTRS_DOC.format(
            weights_shape="(n_distinct,)",
            n_params="``2 * n_distinct + n_features``",
            target="class index",
        )
        + """    classes_ : ndarray of shape (n_classes,)
        Class labels (sorted, as by ``np.unique``).

    See Also
    --------
    FiniteSampleReLURegressor : The same network for real targets.
"""
        + _NOTES_DOC.format(target="label")
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gen.networks._finite_sample import FiniteSampleReLU
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 10))
    >>> y = rng.integers(0, 5, size=200)  # random labels
    >>> clf = FiniteSampleReLU(random_state=0).fit(X, y)
    >>> clf.score(X, y)
    1.0
    >>> clf.n_params_  # 2 * 200 + 10
    410
    """
    )

    def fit(self, X: Any, y: Any) -> FiniteSampleReLU:
        """Construct the network that fits the class indices of ``y`` exactly.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training points (distinct, up to repeated rows with equal labels).
        y : array-like of shape (n_samples,)
            Class labels (any values ``np.unique`` can sort: integers, strings, ...).

        Returns
        -------
        self : FiniteSampleReLU
            The fitted classifier.

        Raises
        ------
        ValueError
            If equal rows carry different labels, distinct rows project to the same
            value, or the triangular system is too ill-conditioned for float64.

        Examples
        --------
        >>> from sklearn_gen.networks._finite_sample import FiniteSampleReLU
        >>> clf = FiniteSampleReLU(random_state=0).fit([[0.0], [1.0], [2.0]], ["b", "a", "c"])
        >>> clf.classes_
        array(['a', 'b', 'c'], dtype='<U1')
        """
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64, order="C")
        check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
        self._fit(X, codes.reshape(-1, 1).astype(np.float64))
        self.weights_ = self.weights_.ravel()
        self.classes_ = classes
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Scores of the classes, from the raw output ``c(x)`` of :meth:`network_output`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Query points.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, ``c(x) - 0.5`` (positive for ``classes_[1]``, as scikit-learn
            expects). Otherwise ``-|c(x) - k|`` for each class index ``k``, with ``c(x)``
            first clipped to ``[-1, n_classes]`` so that the scores stay finite and far
            queries still go to the end classes; the largest score is the predicted class.

        Examples
        --------
        >>> from sklearn_gen.networks._finite_sample import FiniteSampleReLU
        >>> clf = FiniteSampleReLU(random_state=0).fit([[0.0], [1.0], [2.0]], [0, 1, 0])
        >>> clf.decision_function([[0.0], [1.0]]).round(6)
        array([-0.5,  0.5])
        """
        output = self.network_output(X)
        n_classes = len(self.classes_)
        if n_classes == 2:
            return output - 0.5
        output = np.clip(output, -1.0, float(n_classes))
        return -np.abs(output[:, None] - np.arange(n_classes, dtype=np.float64))

    def predict(self, X: Any) -> np.ndarray:
        """Class whose index is nearest the network output, ``clip(round(c(x)))``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Query points.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_`` (the largest :meth:`decision_function` score).

        Examples
        --------
        >>> from sklearn_gen.networks._finite_sample import FiniteSampleReLU
        >>> clf = FiniteSampleReLU(random_state=0).fit([[0.0], [1.0], [2.0]], [5, 7, 5])
        >>> clf.predict([[1.0], [2.0]])
        array([7, 5])
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(np.intp)]
        return self.classes_[np.argmax(scores, axis=1)]


class FiniteSampleReLURegressor(RegressorMixin, _BaseFiniteSampleReLU):
    __doc__ = (
        """Depth-2 ReLU network with ``2n + d`` weights interpolating any real targets.

    Theorem 1 of Zhang et al. (2017) as a regressor: the network
    ``c(x) = sum_j w_j ReLU(<a, x> - b_j)`` with a random direction ``a``, biases
    ``b_j`` interleaved with the sorted projections ``<a, x_i>`` and weights ``w`` from
    a triangular solve reproduces the training targets to float64 accuracy. With
    ``n_outputs`` target columns the hidden layer is shared and ``w`` becomes a matrix,
    one column per output.
"""
        + _PARAMS_DOC.format(target="target")
        + _ATTRS_DOC.format(
            weights_shape="(n_distinct,) or (n_distinct, n_outputs)",
            n_params=(
                "``2 * n_distinct + n_features`` for 1-D ``y``;\n"
                "        ``n_distinct * (1 + n_outputs) + n_features`` for 2-D ``y``"
            ),
            target="target",
        )
        + """
    See Also
    --------
    FiniteSampleReLU : The same network regressing class indices.
"""
        + _NOTES_DOC.format(target="target")
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gen.networks._finite_sample import FiniteSampleReLURegressor
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((100, 3)), rng.standard_normal(100)
    >>> reg = FiniteSampleReLURegressor(random_state=0).fit(X, y)
    >>> bool(np.abs(reg.predict(X) - y).max() < 1e-8)
    True
    >>> reg.n_params_  # 2 * 100 + 3
    203
    """
    )

    def fit(self, X: Any, y: Any) -> FiniteSampleReLURegressor:
        """Construct the network that interpolates ``y`` on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training points (distinct, up to repeated rows with equal targets).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Real targets.

        Returns
        -------
        self : FiniteSampleReLURegressor
            The fitted regressor.

        Raises
        ------
        ValueError
            If equal rows carry different targets, distinct rows project to the same
            value, or the triangular system is too ill-conditioned for float64.

        Examples
        --------
        >>> from sklearn_gen.networks._finite_sample import FiniteSampleReLURegressor
        >>> reg = FiniteSampleReLURegressor(random_state=0).fit([[0.0], [1.0]], [[1, 2], [3, 4]])
        >>> reg.weights_.shape, reg.n_params_
        ((2, 2), 7)
        """
        self._check_params()
        X, y = validate_data(
            self, X, y, dtype=np.float64, order="C", multi_output=True, y_numeric=True
        )
        y = np.asarray(y, dtype=np.float64)
        self._fit(X, y.reshape(len(y), -1))
        if y.ndim == 1:
            self.weights_ = self.weights_.ravel()
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Network output ``c(x)`` (the same as :meth:`network_output`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Query points.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted targets.

        Examples
        --------
        >>> from sklearn_gen.networks._finite_sample import FiniteSampleReLURegressor
        >>> reg = FiniteSampleReLURegressor(random_state=0).fit([[0.0], [1.0]], [2.0, -2.0])
        >>> reg.predict([[1.0]]).round(6)
        array([-2.])
        """
        return self.network_output(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
