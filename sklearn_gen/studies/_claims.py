"""Claims declared before the data: the paper's words, a statistic and a decision rule.

A study module declares its claims as data (a tuple of :class:`Claim`): the paper's own
words (a short quote), where they stand (section, figure, table), the paper's number,
the statistic this run computes from the study's frame, and the rule that turns the
statistic into an outcome, with its thresholds as keyword arguments. The rules are a
small fixed set (:class:`Interval`, :class:`Equivalence`, :class:`Trend`), each tested on
synthetic statistics for every outcome it can give (``tests/test_claims.py``); a claim
never computes its own outcome.

A rule changed after a run had been seen is logged in ``docs/rule_changes.rst`` (date,
old rule, new rule, the outcome under each) and the claim's ``rule_changed`` names the
entry, which the ledger shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sklearn_gen.studies._verdicts import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Verdict,
    format_interval,
    mean_interval,
    rate_interval,
    trend_test,
)

__all__ = [
    "Claim",
    "Equivalence",
    "Interval",
    "Statistic",
    "Trend",
    "interval_statistic",
    "judge_claims",
    "trend_statistic",
]

_NAN = float("nan")


@dataclass(frozen=True)
class Statistic:
    """What a run measured for one claim.

    Attributes
    ----------
    value : float
        The estimate (a mean over repeats, a paired difference, a slope, Spearman's rho).
    low, high : float
        Its 95% interval (NaN: none, e.g. one repeat).
    n : int
        The independent units behind the interval (repeats, or points of a trend test).
    text : str
        The evidence as the ledger states it.
    p_value, p_opposite : float
        For a :class:`Trend`: the one-sided p-values in the claimed and the opposite
        direction.
    undecided : str
        Set when the run cannot answer whatever the numbers (e.g. the epoch budget ran out
        before a fit): the outcome is "inconclusive" with this reason.

    Examples
    --------
    >>> Statistic(0.02, 0.01, 0.03, 3, "gain 0.02 [0.01, 0.03]").n
    3
    """

    value: float
    low: float = _NAN
    high: float = _NAN
    n: int = 0
    text: str = ""
    p_value: float = _NAN
    p_opposite: float = _NAN
    undecided: str = ""


def _check_undecided(stat: Statistic, min_n: int) -> str:
    """The reason no outcome can be given, or ""."""
    if stat.undecided:
        return stat.undecided
    if stat.n < min_n or not (np.isfinite(stat.low) and np.isfinite(stat.high)):
        return f"too few repeats for an interval ({stat.n}; the rule needs {min_n})"
    return ""


@dataclass(frozen=True)
class Interval:
    """The statistic lies above (``side="above"``) or below ``threshold``.

    Supported when the whole 95% interval is on the claimed side, not supported when it
    is wholly on the other side, inconclusive when it holds the threshold. ``level``, the
    paper's own level where it gives one: a supported claim then says whether the
    estimate reached it (beyond ``level`` on the claimed side).

    Examples
    --------
    >>> rule = Interval("above", 0.0)
    >>> rule.decide(Statistic(0.02, 0.01, 0.03, 3))[0]
    'supported'
    >>> rule.decide(Statistic(0.02, -0.01, 0.05, 3))[0]
    'inconclusive at this scale'
    """

    side: str
    threshold: float = 0.0
    level: float | None = None
    min_n: int = 2

    def __post_init__(self) -> None:
        if self.side not in ("above", "below"):
            raise ValueError(f"side must be 'above' or 'below', got {self.side!r}.")

    def describe(self) -> str:
        """The rule in words."""
        text = (
            f"supported when the 95% interval lies {self.side} {self.threshold:g}, not "
            f"supported when it lies wholly on the other side, else inconclusive"
        )
        if self.level is not None:
            text += f"; the paper's level: estimate {self.side} {self.level:g}"
        return text

    def decide(self, stat: Statistic) -> tuple[str, str, bool | None]:
        """``(status, reason, level_reached)``."""
        why = _check_undecided(stat, self.min_n)
        if why:
            return INCONCLUSIVE, why, None
        sign = 1.0 if self.side == "above" else -1.0
        low, high = sign * (stat.low - self.threshold), sign * (stat.high - self.threshold)
        low, high = min(low, high), max(low, high)
        if low > 0:
            reached = None
            if self.level is not None:
                reached = bool(sign * (stat.value - self.level) >= 0)
            return SUPPORTED, "", reached
        if high < 0:
            return (
                NOT_SUPPORTED,
                f"the interval lies wholly on the other side of {self.threshold:g}",
                None,
            )
        return INCONCLUSIVE, f"the interval holds {self.threshold:g}", None


@dataclass(frozen=True)
class Equivalence:
    """ "No effect": the statistic lies within ``±margin`` (the noise of the comparison).

    Supported when the whole 95% interval lies inside ``[-margin, margin]``, not
    supported when it lies wholly outside (an effect larger than the noise, either way),
    inconclusive otherwise. The margin is a threshold of the claim's declaration (e.g.
    two binomial standard errors of a difference of two test errors, computed from the
    study's sizes before the data), never chosen from the outcome.

    Examples
    --------
    >>> rule = Equivalence(0.03)
    >>> rule.decide(Statistic(0.004, -0.01, 0.02, 3))[0]
    'supported'
    >>> rule.decide(Statistic(0.06, 0.04, 0.08, 3))[0]
    'not supported'
    """

    margin: float
    min_n: int = 2

    def describe(self) -> str:
        """The rule in words."""
        return (
            f"supported when the 95% interval lies within ±{self.margin:g}, not supported "
            "when it lies wholly outside, else inconclusive"
        )

    def decide(self, stat: Statistic) -> tuple[str, str, bool | None]:
        """``(status, reason, level_reached)``."""
        why = _check_undecided(stat, self.min_n)
        if why:
            return INCONCLUSIVE, why, None
        if -self.margin <= stat.low and stat.high <= self.margin:
            return SUPPORTED, "", None
        if stat.low > self.margin or stat.high < -self.margin:
            return NOT_SUPPORTED, f"the interval lies wholly outside ±{self.margin:g}", None
        return INCONCLUSIVE, f"the interval reaches past ±{self.margin:g}", None


@dataclass(frozen=True)
class Trend:
    """A one-sided rank-correlation (permutation) test of a monotone trend.

    Supported when the trend in the claimed direction is significant at ``alpha``, not
    supported when the opposite trend is, inconclusive otherwise, or when the points are
    too few for an exact permutation test to reach ``alpha`` (``n! <= 1 / alpha``).

    Examples
    --------
    >>> Trend().decide(Statistic(0.9, n=9, p_value=0.001, p_opposite=0.999))[0]
    'supported'
    >>> Trend().decide(Statistic(0.9, n=3, p_value=0.17, p_opposite=0.99))[0]
    'inconclusive at this scale'
    """

    alpha: float = 0.05

    def describe(self) -> str:
        """The rule in words."""
        return (
            f"one-sided Spearman permutation test: supported at p < {self.alpha:g}, not "
            f"supported when the opposite trend has p < {self.alpha:g}, else inconclusive"
        )

    def decide(self, stat: Statistic) -> tuple[str, str, bool | None]:
        """``(status, reason, level_reached)``."""
        if stat.undecided:
            return INCONCLUSIVE, stat.undecided, None
        if stat.n < 2 or math.factorial(stat.n) * self.alpha <= 1.0:
            return INCONCLUSIVE, f"{stat.n} points are too few for the trend test", None
        if stat.p_value < self.alpha:
            return SUPPORTED, "", None
        if stat.p_opposite < self.alpha:
            return NOT_SUPPORTED, "the opposite trend is significant", None
        return INCONCLUSIVE, "no significant trend either way", None


Rule = Interval | Equivalence | Trend


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, declared before the data.

    Attributes
    ----------
    key : str
        A short, stable name (the ledger and the rule-change log use it).
    paper : str
        ``"Zhang et al. 2017"``, ...
    quote : str
        The paper's own words (short; ``...`` where cut).
    where : str
        Section, figure or table.
    number : str
        The paper's number for the claim (``""``: the paper states none).
    statistic : callable
        ``statistic(frame, **params) -> Statistic | None`` (None: the frame cannot
        answer the claim, e.g. a quick run without the setting; the claim is left out).
    rule : Interval, Equivalence or Trend
        The decision rule, with its thresholds.
    tested : str
        What this run tests, in words, where it differs from the quote (the scale, the
        package's reading of the claim).
    params : mapping
        Keyword arguments of ``statistic``.
    scope : {"paper", "own check", "derived"}
        ``"own check"``: a check this package adds, not the paper's claim; ``"derived"``:
        computed from another claim's fits, not independent evidence (``note`` says which).
    note : str
        Said beside the claim in the ledger.
    rule_changed : str
        The ``docs/rule_changes.rst`` entry when the rule changed after a run was seen.

    Examples
    --------
    >>> import pandas as pd
    >>> def gain(frame):
    ...     return Statistic(0.02, 0.01, 0.03, 3, "gain 0.020 [0.010, 0.030]")
    >>> claim = Claim("gain", "A et al.", "it helps", "Sec. 1", "", gain,
    ...               Interval("above", 0.0))
    >>> claim.verdict(pd.DataFrame()).status
    'supported'
    """

    key: str
    paper: str
    quote: str
    where: str
    number: str
    statistic: Callable[..., Statistic | None]
    rule: Rule
    tested: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    scope: str = "paper"
    note: str = ""
    rule_changed: str = ""

    def __post_init__(self) -> None:
        if self.scope not in ("paper", "own check", "derived"):
            raise ValueError(
                f"scope must be 'paper', 'own check' or 'derived', got {self.scope!r}."
            )

    @property
    def statement(self) -> str:
        """The claim as the ledger states it: the quote, where, and what is tested."""
        text = f"“{self.quote}” ({self.paper}, {self.where})"
        if self.tested:
            text += f"; tested here: {self.tested}"
        if self.scope == "own check":
            text = f"[this package's own check, not in the paper] {text}"
        if self.note:
            text += f" [{self.note}]"
        if self.rule_changed:
            text += f" [rule changed after a run: {self.rule_changed}]"
        return text

    def verdict(self, frame: pd.DataFrame) -> Verdict | None:
        """The verdict of this claim on ``frame`` (None: the frame cannot answer it)."""
        stat = self.statistic(frame, **self.params)
        if stat is None:
            return None
        status, reason, reached = self.rule.decide(stat)
        return Verdict(
            self.statement,
            stat.text,
            status,
            self.number,
            reason,
            level_reached=reached,
            key=self.key,
            rule=self.rule.describe(),
        )


def judge_claims(claims: tuple[Claim, ...], frame: pd.DataFrame) -> list[Verdict]:
    """The verdict of every claim the frame can answer, in declaration order.

    Examples
    --------
    >>> judge_claims((), pd.DataFrame())
    []
    """
    verdicts = (claim.verdict(frame) for claim in claims)
    return [v for v in verdicts if v is not None]


def interval_statistic(
    values,
    label: str,
    *,
    rate: bool = False,
    n_test: int | None = None,
    digits: int = 3,
    undecided: str = "",
) -> Statistic:
    """The mean of ``values`` over repeats with its t-interval (:func:`mean_interval`;
    for a rate :func:`rate_interval`, with the Wilson interval of the pooled ``n_test``
    test points of each repeat where given), as a :class:`Statistic` whose text reads
    ``"<label> mean [low, high] over n repeats"``.

    Examples
    --------
    >>> interval_statistic([0.01, 0.02, 0.03], "gain").text
    'gain 0.020 [-0.005, 0.045] over 3 repeats'
    """
    values = np.asarray(values, dtype=float)
    n = int(np.isfinite(values).sum())
    if rate:
        mean, low, high = rate_interval(values, n_test=n_test)
    else:
        mean, low, high = mean_interval(values)
    text = f"{label} {format_interval(mean, low, high, digits)} over {n} repeats"
    return Statistic(mean, low, high, n, text, undecided=undecided)


def trend_statistic(x, y, label: str, *, undecided: str = "") -> Statistic:
    """Spearman's rho of ``y`` with ``x`` and both one-sided permutation p-values
    (:func:`trend_test`), as a :class:`Statistic` for a :class:`Trend` rule.

    Examples
    --------
    >>> stat = trend_statistic([0, 1, 2, 3, 4], [1, 2, 3, 4, 5], "error vs p")
    >>> round(stat.value, 2), stat.p_value < 0.05, stat.n
    (1.0, True, 5)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    rho, p_up = trend_test(x, y)
    _, p_down = trend_test(x, -y)
    text = (
        f"{label}: Spearman rho {rho:.2f}, one-sided permutation p = {p_up:.2g} over "
        f"{len(x)} points"
    )
    return Statistic(rho, n=len(x), text=text, p_value=p_up, p_opposite=p_down, undecided=undecided)
