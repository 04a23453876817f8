"""Scorers built on :mod:`sklearn_gen.measures`, usable as ``scoring=`` anywhere in sklearn."""

from sklearn_gen.metrics._scorers import (
    SCORERS,
    MeasureScorer,
    get_scorer,
    make_measure_scorer,
    make_scoring,
)

__all__ = ["SCORERS", "MeasureScorer", "get_scorer", "make_measure_scorer", "make_scoring"]
