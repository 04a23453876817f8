"""The package's one parameter-validation mechanism, its one seed helper, its (C, H, W) check.

Every public object validates its parameters with these functions, before any work, so the
same mistake gives the same message everywhere: the parameter's name, what was given and
what to pass instead. Every error is an :class:`InvalidParameterError`, both a
``ValueError`` and a ``TypeError`` (as scikit-learn's own parameter errors are).

Seeds: :func:`draw_seed` turns any ``random_state`` (int, :class:`numpy.random.RandomState`
or None) into one int; :func:`derive_seed` hashes such a seed with a
configuration's keys into an independent, reproducible seed (the studies' per-configuration
seeds).
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
    "MAX_SEED",
    "NO_VALIDATION",
    "Bool",
    "Custom",
    "ImageShape",
    "Int",
    "InvalidParameterError",
    "Options",
    "Real",
    "Seed",
    "check_bool",
    "check_choice",
    "check_image_shape",
    "check_int",
    "check_params",
    "check_real",
    "derive_seed",
    "draw_seed",
]


class InvalidParameterError(ValueError, TypeError):
    """A parameter of the wrong type or value (both a ``ValueError`` and a ``TypeError``,
    as scikit-learn's own parameter errors are, so either ``except`` catches it)."""


def _bound(value: float | None, default: str) -> str:
    return default if value is None else f"{value:g}"


def _scalar(value: Any, name: str, kind: type, **bounds: Any) -> None:
    """Type and range of a number, with the package's wording, as :class:`InvalidParameterError`.

    ``bounds`` are named as :func:`sklearn.utils.check_scalar` names them: ``min_val``,
    ``max_val`` and ``include_boundaries``.
    """
    low, high = bounds.get("min_val"), bounds.get("max_val")
    closed = bounds.get("include_boundaries", "both")
    left = "[" if closed in ("both", "left") and low is not None else "("
    right = "]" if closed in ("both", "right") and high is not None else ")"
    interval = f"{left}{_bound(low, '-inf')}, {_bound(high, 'inf')}{right}"
    what = "an int" if kind is numbers.Integral else "a real number"
    if isinstance(value, bool) or not isinstance(value, kind):
        raise InvalidParameterError(f"{name} must be {what} in {interval}, got {value!r}.")
    above = low is None or (value >= low if left == "[" else value > low)
    below = high is None or (value <= high if right == "]" else value < high)
    if not (math.isfinite(value) and above and below):
        raise InvalidParameterError(f"{name} must be in {interval}, got {value!r}.")


#: Derived seeds are ints in ``[0, MAX_SEED)`` (what every seeded library here accepts).
MAX_SEED = 2**31 - 1
#: The largest ``random_state`` int accepted (numpy's legacy seeding range).
MAX_NUMPY_SEED = 2**32 - 1


def check_int(value: Any, name: str, minimum: int | None = 1, maximum: int | None = None) -> int:
    """``value`` as an int in ``[minimum, maximum]``, else a clear error naming ``name``.

    Examples
    --------
    >>> check_int(3, "n_repeats")
    3
    >>> check_int(0, "n_repeats")
    Traceback (most recent call last):
    ...
    sklearn_gen._validation.InvalidParameterError: n_repeats must be in [1, inf), got 0.
    """
    _scalar(value, name, numbers.Integral, min_val=minimum, max_val=maximum)
    return int(value)


def check_real(
    value: Any,
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    closed: str = "both",
) -> float:
    """``value`` as a finite float in the interval from ``low`` to ``high``.

    ``closed`` is ``"both"``, ``"left"``, ``"right"`` or ``"neither"``: which ends belong
    to the interval (as :func:`sklearn.utils.check_scalar`'s ``include_boundaries``).

    Examples
    --------
    >>> check_real(0.5, "p", 0.0, 1.0)
    0.5
    >>> check_real(0.0, "gamma", 0.0, closed="neither")
    Traceback (most recent call last):
    ...
    sklearn_gen._validation.InvalidParameterError: gamma must be in (0, inf), got 0.0.
    """
    _scalar(value, name, numbers.Real, min_val=low, max_val=high, include_boundaries=closed)
    value = float(value)
    if not math.isfinite(value):
        raise InvalidParameterError(f"{name} must be finite, got {value!r}.")
    return value


def check_bool(value: Any, name: str) -> bool:
    """``value`` as a bool (``True``/``False`` or a numpy bool), else a ``TypeError``.

    Examples
    --------
    >>> check_bool(True, "progress")
    True
    """
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def check_choice(value: Any, name: str, options: Sequence[Any]) -> Any:
    """``value`` if it is one of ``options``, else a ``ValueError`` listing them.

    Examples
    --------
    >>> check_choice("ce", "loss", ("ce", "bce"))
    'ce'
    >>> check_choice("mse", "loss", ("ce", "bce"))
    Traceback (most recent call last):
    ...
    sklearn_gen._validation.InvalidParameterError: loss must be one of 'ce', 'bce'; got 'mse'.
    """
    try:
        ok = value in options
    except TypeError:  # an unhashable value against a set
        ok = False
    if not ok:
        listed = ", ".join(repr(option) for option in options)
        raise InvalidParameterError(f"{name} must be one of {listed}; got {value!r}.")
    return value


def check_image_shape(
    shape: Any, name: str = "input_shape", n_features: int | None = None
) -> tuple[int, int, int]:
    """``shape`` as a channels-first ``(C, H, W)`` tuple, matching ``n_features`` if given.

    The one image-shape check of the package: networks, transformers and studies call it.
    One entry may be -1: it is inferred from ``n_features`` as in :func:`numpy.reshape`
    (and stays -1 when ``n_features`` is None).

    Examples
    --------
    >>> check_image_shape((1, 8, 8), n_features=64)
    (1, 8, 8)
    >>> check_image_shape((3, -1, 32), n_features=3072)
    (3, 32, 32)
    >>> check_image_shape((8, 8))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sklearn_gen._validation.InvalidParameterError: input_shape must be a tuple ...
    """
    values = tuple(shape) if isinstance(shape, (tuple, list)) else ()
    entries_ok = all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and (v >= 1 or v == -1)
        for v in values
    )
    if len(values) != 3 or not entries_ok or sum(v == -1 for v in values) > 1:
        raise InvalidParameterError(
            f"{name} must be a tuple (a sequence) of 3 entries (C, H, W), positive ints (one "
            f"may be -1), channels first; got {shape!r}."
        )
    result = [int(v) for v in values]
    if n_features is None:
        return (result[0], result[1], result[2])
    known = math.prod(v for v in result if v != -1)
    if -1 in result and n_features > 0 and n_features % known == 0:
        result[result.index(-1)] = n_features // known
    if math.prod(result) != n_features:
        raise InvalidParameterError(
            f"{name}={tuple(values)} does not describe the {n_features} features of X: "
            "C*H*W must equal n_features (images travel flat, channels first)."
        )
    return (result[0], result[1], result[2])


def draw_seed(random_state: Any) -> int:
    """One int seed from an sklearn ``random_state``.

    An int (in numpy's range ``[0, 2**32 - 1]``) is validated and returned as it is; a
    :class:`~numpy.random.RandomState` or None draws one in ``[0, MAX_SEED)`` (None: from
    numpy's global state, so not reproducible).

    Examples
    --------
    >>> draw_seed(7)
    7
    >>> draw_seed(np.random.RandomState(0)) == draw_seed(np.random.RandomState(0))
    True
    >>> draw_seed(-1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sklearn_gen._validation.InvalidParameterError: random_state must be an int in ...
    """
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if not 0 <= random_state <= MAX_NUMPY_SEED:
            raise InvalidParameterError(
                "random_state must be an int in [0, 2**32 - 1], a numpy RandomState or "
                f"None; got {random_state!r}."
            )
        return int(random_state)
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return int(check_random_state(random_state).randint(0, MAX_SEED))
    raise InvalidParameterError(
        "random_state must be an int in [0, 2**32 - 1], a numpy RandomState or None; got "
        f"{random_state!r}."
    )


def derive_seed(random_state: Any, *keys: Any) -> int:
    """A seed for one configuration, stable across runs, processes and machines.

    ``random_state`` (an int, or a RandomState/None from which one int is drawn by
    :func:`draw_seed`) is hashed together with ``keys`` (the configuration's values, e.g.
    ``("random labels", 1)``) into an int in ``[0, MAX_SEED)``.

    Examples
    --------
    >>> derive_seed(0, "random labels", 1) == derive_seed(0, "random labels", 1)
    True
    >>> derive_seed(0, "a") != derive_seed(0, "b")
    True
    """
    text = json.dumps([draw_seed(random_state), *[str(k) for k in keys]])
    digest = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
    return (digest & 0x7FFFFFFF) % MAX_SEED


# ------------------------------------------------------------------ declared constraints
class _Constraint:
    """One parameter's declared constraint: ``check(value, name)`` raises
    :class:`InvalidParameterError` naming the parameter; ``bad_value`` is a value it
    refuses (the common test sets it)."""

    none: bool = False
    bad_value: Any = "not a valid value"

    def check(self, value: Any, name: str) -> None:
        if value is None and self.none:
            return
        self._check(value, name)

    def _check(self, value: Any, name: str) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


class Real(_Constraint):
    """A finite real number in an interval (:func:`check_real`); ``none``: None allowed.

    Examples
    --------
    >>> Real(0.0, closed="neither").check(0.1, "lr")
    """

    def __init__(
        self,
        low: float | None = None,
        high: float | None = None,
        closed: str = "both",
        *,
        none: bool = False,
    ) -> None:
        self.low, self.high, self.closed, self.none = low, high, closed, none

    def _check(self, value: Any, name: str) -> None:
        check_real(value, name, self.low, self.high, closed=self.closed)


class Int(_Constraint):
    """An int in ``[low, high]`` (:func:`check_int`); ``none``: None allowed.

    Examples
    --------
    >>> Int(1).check(10, "max_epochs")
    """

    bad_value = 0.5

    def __init__(self, low: int | None = 1, high: int | None = None, *, none: bool = False):
        self.low, self.high, self.none = low, high, none

    def _check(self, value: Any, name: str) -> None:
        check_int(value, name, self.low, self.high)


class Bool(_Constraint):
    """``True`` or ``False`` (:func:`check_bool`); ``none``: None allowed.

    Examples
    --------
    >>> Bool().check(True, "progress")
    """

    def __init__(self, *, none: bool = False) -> None:
        self.none = none

    def _check(self, value: Any, name: str) -> None:
        check_bool(value, name)


class Options(_Constraint):
    """One of the listed values (:func:`check_choice`).

    Examples
    --------
    >>> Options("ce", "bce").check("ce", "loss")
    """

    def __init__(self, *options: Any, none: bool = False) -> None:
        self.options, self.none = options, none

    def _check(self, value: Any, name: str) -> None:
        check_choice(value, name, self.options)


class Custom(_Constraint):
    """A check of its own, ``check(value, name)``, that raises naming the parameter.

    Examples
    --------
    >>> Custom(lambda value, name: check_image_shape(value, name), none=True).check(
    ...     None, "input_shape")
    """

    def __init__(self, check: Any, *, none: bool = False, bad_value: Any = "not valid") -> None:
        self._function, self.none, self.bad_value = check, none, bad_value

    def _check(self, value: Any, name: str) -> None:
        self._function(value, name)


class Seed(_Constraint):
    """An sklearn ``random_state``: an int in numpy's range, a RandomState or None
    (:func:`draw_seed`).

    Examples
    --------
    >>> Seed().check(0, "random_state")
    """

    def _check(self, value: Any, name: str) -> None:
        draw_seed(value)


class ImageShape(_Constraint):
    """A channels-first ``(C, H, W)`` (:func:`check_image_shape`, one entry may be -1).

    Examples
    --------
    >>> ImageShape().check((1, 8, 8), "input_shape")
    """

    bad_value = (8, 8)

    def __init__(self, *, none: bool = False) -> None:
        self.none = none

    def _check(self, value: Any, name: str) -> None:
        check_image_shape(value, name)


#: A parameter that is deliberately not validated here (any value, or one a library
#: underneath validates: skorch's iterators, callbacks, ...).
NO_VALIDATION = "no_validation"


def check_params(estimator: Any) -> None:
    """Check every parameter of ``estimator`` against its declared constraints.

    The package's one validation mechanism for estimators: each class declares
    ``_param_checks``, a dict ``{parameter: check or NO_VALIDATION}`` (one check object
    per parameter), and calls this once, at the start of ``fit``, before any work. The
    error names the parameter, what was given and what to pass. The names differ from
    scikit-learn's on purpose: its ``_parameter_constraints`` holds a *list* of
    constraints per parameter, read by its ``_fit_context`` / ``_validate_params``, which
    must not mistake this dict for one.

    Examples
    --------
    >>> class Toy:
    ...     _param_checks = {"lr": Real(0.0, closed="neither")}
    ...     lr = -1.0
    >>> check_params(Toy())
    Traceback (most recent call last):
    ...
    sklearn_gen._validation.InvalidParameterError: lr must be in (0, inf), got -1.0.
    """
    for name, constraint in type(estimator)._param_checks.items():
        if constraint != NO_VALIDATION:
            constraint.check(getattr(estimator, name), name)
