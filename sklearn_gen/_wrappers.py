"""Find the estimator of interest inside sklearn wrappers, with the transform before it.

Measures, scorers and label-noise helpers all need the same walk: a search's
``best_estimator_``, a Pipeline's last step (its earlier steps become the input transform)
and a meta-estimator's ``estimator_``, until an object with the wanted property is found.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["find_inner"]

Transform = Callable[[Any], Any]


def _compose(first: Transform | None, second: Transform) -> Transform:
    if first is None:
        return second
    return lambda X: second(first(X))


def find_inner(
    estimator: Any, wanted: Callable[[Any], bool]
) -> tuple[Any | None, Transform | None]:
    """The first object (outermost first) for which ``wanted`` holds, and its input transform.

    Parameters
    ----------
    estimator : object
        A fitted estimator, possibly a GridSearchCV, Pipeline or meta-estimator.
    wanted : callable
        ``wanted(obj) -> bool``.

    Returns
    -------
    found : object or None
        None when the walk ends without a match.
    transform : callable or None
        What the Pipelines on the way apply to ``X`` before ``found`` sees it.

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
    current = estimator
    for _ in range(32):
        if wanted(current):
            return current, transform
        if hasattr(current, "best_estimator_"):
            current = current.best_estimator_
        elif hasattr(current, "steps") and hasattr(current, "named_steps"):
            if len(current.steps) > 1:
                transform = _compose(transform, current[:-1].transform)
            current = current.steps[-1][1]
        elif hasattr(current, "estimator_"):
            current = current.estimator_
        else:
            break
    return None, transform
