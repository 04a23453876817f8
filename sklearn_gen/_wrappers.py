"""The one walk through sklearn wrappers: the estimator of interest, with the transform before it.

Measures, scorers, label-noise helpers, the studies and the packs all need the same walk:
a search's ``best_estimator_``, a Pipeline's last step (its earlier steps become the input
transform) and a meta-estimator's ``estimator_``, until an object with the wanted property
is found. Before fitting the walk reads the declared parameters instead: a Pipeline's last
step and a meta-estimator's ``estimator``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["find_inner", "innermost", "wrapped_layers"]

Transform = Callable[[Any], Any]

#: A walk longer than this is a cycle, not a stack of wrappers.
_MAX_DEPTH = 32


def _compose(first: Transform | None, second: Transform) -> Transform:
    if first is None:
        return second
    return lambda X: second(first(X))


def _is_pipeline(obj: Any) -> bool:
    return hasattr(obj, "steps") and hasattr(obj, "named_steps")


def _inner(obj: Any, fitted: bool) -> Any | None:
    """What ``obj`` wraps (not a Pipeline), or None."""
    if fitted:
        for attribute in ("best_estimator_", "estimator_"):
            if hasattr(obj, attribute):
                return getattr(obj, attribute)
        return None
    inner = getattr(obj, "estimator", None)
    return inner if hasattr(inner, "get_params") else None


def wrapped_layers(
    estimator: Any, *, fitted: bool = True
) -> Iterator[tuple[Any, Transform | None]]:
    """Every object of a stack of wrappers, outermost first, with the transform before it.

    Parameters
    ----------
    estimator : object
        An estimator, possibly a GridSearchCV, Pipeline or meta-estimator.
    fitted : bool, default=True
        Walk the fitted attributes (``best_estimator_``, the Pipeline's fitted steps,
        ``estimator_``); False: the declared ones (the Pipeline's last step, ``estimator``).
        Before fitting, a Pipeline's transform is its earlier steps' (unfitted) ``transform``,
        or None when they are all ``"passthrough"``.

    Yields
    ------
    (object, transform)
        ``transform`` is what the Pipelines on the way apply to ``X`` before ``object``
        sees it (None: nothing).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.linear_model import LogisticRegression
    >>> pipe = make_pipeline(StandardScaler(), LogisticRegression())
    >>> [type(obj).__name__ for obj, _ in wrapped_layers(pipe, fitted=False)]
    ['Pipeline', 'LogisticRegression']
    """
    transform: Transform | None = None
    current = estimator
    for _ in range(_MAX_DEPTH):
        yield current, transform
        if _is_pipeline(current):
            before = [step for _, step in current.steps[:-1] if step not in (None, "passthrough")]
            if before:
                transform = _compose(transform, current[:-1].transform)
            current = current.steps[-1][1]
            continue
        inner = _inner(current, fitted)
        if inner is None:
            return
        current = inner


def find_inner(
    estimator: Any, wanted: Callable[[Any], bool], *, fitted: bool = True
) -> tuple[Any | None, Transform | None]:
    """The first object (outermost first) for which ``wanted`` holds, and its input transform.

    Parameters
    ----------
    estimator : object
        An estimator, possibly a GridSearchCV, Pipeline or meta-estimator.
    wanted : callable
        ``wanted(obj) -> bool``.
    fitted : bool, default=True
        Walk the fitted attributes or the declared parameters (:func:`wrapped_layers`).

    Returns
    -------
    found : object or None
        None when the walk ends without a match.
    transform : callable or None
        What the Pipelines on the way apply to ``X`` before ``found`` sees it (at the end
        of the walk when nothing matched).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from sklearn.linear_model import LogisticRegression
    >>> pipe = make_pipeline(FunctionTransformer(lambda X: X * 2), LogisticRegression())
    >>> found, transform = find_inner(pipe, lambda e: isinstance(e, LogisticRegression))
    >>> type(found).__name__, transform(3)
    ('LogisticRegression', 6)
    """
    transform: Transform | None = None
    for obj, transform in wrapped_layers(estimator, fitted=fitted):
        if wanted(obj):
            return obj, transform
    return None, transform


def innermost(estimator: Any, *, fitted: bool = True) -> Any:
    """The object at the end of the walk: the estimator all the wrappers wrap.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.linear_model import LogisticRegression
    >>> type(innermost(make_pipeline(StandardScaler(), LogisticRegression()),
    ...                fitted=False)).__name__
    'LogisticRegression'
    """
    *_, (last, _) = wrapped_layers(estimator, fitted=fitted)
    return last
