"""Verdicts: a paper's claim, this run's statistic with its uncertainty, and the outcome.

A verdict is a measurement. Each claim states the paper's number, this run's statistic with
its uncertainty over repeats (a t-interval of a mean, a rank-correlation test of a trend) and
one of three outcomes: ``"supported"``, ``"not supported"`` or ``"inconclusive at this
scale"`` (with the reason), from thresholds derived from the data (chance level, the number
of test points), never tuned to the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "INCONCLUSIVE",
    "NOT_SUPPORTED",
    "SUPPORTED",
    "Verdict",
    "bootstrap_interval",
    "chance_band",
    "direction",
    "mean_interval",
    "paired_outcome",
    "rate_interval",
    "slope_interval",
    "trend_outcome",
    "trend_test",
]

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
INCONCLUSIVE = "inconclusive at this scale"


@dataclass(frozen=True)
class Verdict:
    """One claim of a paper and what this run says about it.

    Attributes
    ----------
    claim : str
        The claim, with its place in the paper.
    evidence : str
        This run's statistic and its uncertainty.
    status : {"supported", "not supported", "inconclusive at this scale"}
    paper : str
        The paper's own number for the claim ("" where it states none).
    reason : str
        Why a claim is inconclusive (or how the outcome was decided).

    Examples
    --------
    >>> Verdict("x rises", "slope 0.3 [0.1, 0.5]", SUPPORTED).supported
    True
    """

    claim: str
    evidence: str
    status: str
    paper: str = ""
    reason: str = ""
    level_reached: bool | None = None

    def __post_init__(self) -> None:
        if self.status not in (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE):
            raise ValueError(f"status must be one of the three outcomes, got {self.status!r}.")
        if self.level_reached not in (None, True, False):
            raise ValueError(
                f"level_reached must be None, True or False, got {self.level_reached!r}."
            )

    @property
    def supported(self) -> bool:
        """Whether the outcome is ``"supported"``."""
        return self.status == SUPPORTED

    @property
    def outcome_text(self) -> str:
        """The outcome as the summary states it: where the paper gives a level
        (``level_reached`` not None), a supported claim says whether this run reached it.

        Examples
        --------
        >>> Verdict("e small", "0.15", SUPPORTED, level_reached=False).outcome_text
        "supported in direction; the paper's level not reached at this scale"
        >>> Verdict("e small", "0.005", SUPPORTED, level_reached=True).outcome_text
        "supported, at the paper's level"
        """
        if not self.supported or self.level_reached is None:
            return self.status
        if self.level_reached:
            return f"{SUPPORTED}, at the paper's level"
        return f"{SUPPORTED} in direction; the paper's level not reached at this scale"


def outcome(supported: bool) -> str:
    """``"supported"`` or ``"not supported"``.

    Examples
    --------
    >>> outcome(False)
    'not supported'
    """
    return SUPPORTED if supported else NOT_SUPPORTED


def _finite(values) -> tuple[np.ndarray, tuple[float, float, float] | None]:
    """The finite values, and the (mean, low, high) to return when they hold no spread:
    NaN for none, the value itself for one."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return values, (float("nan"), float("nan"), float("nan"))
    if len(values) < 2:
        mean = float(values.mean())
        return values, (mean, mean, mean)
    return values, None


def mean_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t interval of the mean over repeats.

    With one value the interval is the value itself (no spread can be measured).

    Examples
    --------
    >>> mean, low, high = mean_interval([1.0, 2.0, 3.0])
    >>> mean, round(low, 3), round(high, 3)
    (2.0, -0.484, 4.484)
    """
    values, point = _finite(values)
    if point is not None:
        return point
    mean = float(values.mean())
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * stats.sem(values)
    return mean, mean - float(half), mean + float(half)


def bootstrap_interval(
    values, level: float = 0.95, n_resamples: int = 2000
) -> tuple[float, float, float]:
    """Mean over repeats, with the percentile bootstrap interval of the mean (seeded).

    The repeats are resampled with replacement; the interval stays inside the range of
    the values, so an error rate's stays inside [0, 1] (:func:`rate_interval`), and a
    paired difference's inside the differences seen. With one value the interval is the
    value itself.

    Examples
    --------
    >>> mean, low, high = bootstrap_interval([0.01, 0.03, 0.02])
    >>> round(mean, 3), 0.01 <= low <= mean <= high <= 0.03
    (0.02, True)
    """
    values, point = _finite(values)
    if point is not None:
        return point
    mean = float(values.mean())
    rng = np.random.default_rng(0)
    means = values[rng.integers(0, len(values), (n_resamples, len(values)))].mean(axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return mean, float(low), float(high)


def rate_interval(
    values, level: float = 0.95, n_resamples: int = 2000
) -> tuple[float, float, float]:
    """Mean of a rate (an error or an accuracy) over repeats, with a bootstrap interval.

    :func:`bootstrap_interval`: the percentile interval of the resampled means stays inside
    [0, 1], where a t-interval of a few error rates near 0 reaches below 0.

    Examples
    --------
    >>> mean, low, high = rate_interval([0.0, 0.02, 0.016])
    >>> round(mean, 3), 0.0 <= low <= mean <= high <= 0.02
    (0.012, True)
    >>> mean_interval([0.0, 0.02, 0.016])[1] < 0  # the t-interval leaves [0, 1]
    True
    """
    return bootstrap_interval(values, level, n_resamples)


def paired_outcome(low: float, high: float, n_repeats: int) -> tuple[str, str]:
    """The verdict of a paired difference that the claim says is positive: supported when
    its interval (over ``n_repeats`` repeats) is above 0, not supported when below, else
    inconclusive (with why).

    Examples
    --------
    >>> paired_outcome(0.01, 0.03, 3)
    ('supported', '')
    """
    if n_repeats < 2 or not (np.isfinite(low) and np.isfinite(high)):
        return INCONCLUSIVE, "one repeat: no interval for the paired difference"
    if low > 0:
        return SUPPORTED, ""
    if high < 0:
        return NOT_SUPPORTED, ""
    return INCONCLUSIVE, "the interval of the paired difference holds 0"


def format_interval(mean: float, low: float, high: float, digits: int = 3) -> str:
    """``"0.123 [0.100, 0.150]"`` (the interval left out when it is a point).

    Examples
    --------
    >>> format_interval(0.5, 0.4, 0.6)
    '0.500 [0.400, 0.600]'
    """
    if low == high:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def trend_test(x, y, n_resamples: int = 9999) -> tuple[float, float]:
    """Spearman rank correlation of ``y`` with ``x`` and its one-sided permutation p-value.

    The p-value (alternative: ``y`` increases with ``x``) comes from
    :func:`scipy.stats.permutation_test` over pairings, exact when there are few points
    (with ``n`` points it cannot go below ``1 / n!``) and seeded otherwise, so it is valid
    at the handful of points a run has, where the usual t approximation is not.

    Examples
    --------
    >>> rho, p = trend_test([0, 0.5, 1, 0, 0.5, 1], [0.1, 0.5, 0.9, 0.2, 0.4, 0.8])
    >>> round(rho, 3), p < 0.05
    (0.956, True)
    >>> trend_test([0, 0.5, 1], [0.1, 0.5, 0.9])[1] > 0.05  # 3 points: at best 1/6
    True
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)

    def rho(y_perm):
        return stats.spearmanr(x, y_perm).statistic

    result = stats.permutation_test(
        (y,),
        rho,
        permutation_type="pairings",
        alternative="greater",
        n_resamples=n_resamples,
        random_state=0,
    )
    return float(result.statistic), float(result.pvalue)


def chance_band(n_classes: int, n_test: int, width: float = 3.0) -> tuple[float, float]:
    """Accuracies a chance-level classifier reaches on ``n_test`` points: ``1/k ± width·σ``.

    ``σ`` is the binomial standard error of an accuracy of ``1/k`` on ``n_test`` points.

    Examples
    --------
    >>> low, high = chance_band(10, 400)
    >>> round(low, 3), round(high, 3)
    (0.055, 0.145)
    """
    chance = 1.0 / n_classes
    sigma = float(np.sqrt(chance * (1 - chance) / n_test))
    return chance - width * sigma, chance + width * sigma


def slope_interval(
    x, y, *, log: bool = True, level: float = 0.95, n_resamples: int = 2000
) -> tuple[float, float, float]:
    """Least-squares slope of ``y`` on ``x`` (log-log by default) and its bootstrap interval.

    Every (x, y) point (one per size and repeat) is a unit of the pairs bootstrap: points
    are resampled with replacement (seeded), resamples with fewer than two distinct ``x``
    are redrawn, and the interval is the percentile interval of the refitted slopes.
    Non-positive values are dropped before the logarithm.

    Examples
    --------
    >>> m = [100, 200, 400, 800, 1600] * 3
    >>> noise = np.tile([1.0, 1.1, 0.9], 5)
    >>> slope, low, high = slope_interval(m, np.sqrt(m) * noise)
    >>> round(slope, 2), bool(0.3 < low < 0.5 < high < 0.7)
    (0.5, True)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    if log:
        keep &= (x > 0) & (y > 0)
    x, y = x[keep], y[keep]
    if log:
        x, y = np.log(x), np.log(y)
    if len(np.unique(x)) < 2:
        return float("nan"), float("nan"), float("nan")
    slope = float(np.polyfit(x, y, 1)[0])
    rng = np.random.default_rng(0)
    slopes = []
    while len(slopes) < n_resamples:
        index = rng.integers(0, len(x), len(x))
        if len(np.unique(x[index])) >= 2:
            slopes.append(np.polyfit(x[index], y[index], 1)[0])
    low, high = np.quantile(slopes, [0.5 - level / 2, 0.5 + level / 2])
    return slope, float(low), float(high)


def direction(low: float, high: float, sign: int) -> str:
    """The outcome of "the interval lies on the ``sign`` side of 0".

    Supported when it does, not supported when it lies on the other side, inconclusive
    when it contains 0.

    Examples
    --------
    >>> direction(0.1, 0.3, +1), direction(-0.2, 0.1, +1), direction(-0.3, -0.1, +1)
    ('supported', 'inconclusive at this scale', 'not supported')
    """
    if not (np.isfinite(low) and np.isfinite(high)):
        return INCONCLUSIVE
    if sign * low > 0 and sign * high > 0:
        return SUPPORTED
    if sign * low < 0 and sign * high < 0:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def trend_outcome(x, y, level: float = 0.05) -> tuple[float, float, str]:
    """Spearman rho, its one-sided p-value and the outcome of "``y`` rises with ``x``".

    Supported when the rise is significant at ``level``; not supported when the *fall* is
    (the opposite trend); inconclusive otherwise -- no significant trend either way, which
    at a handful of points says too little to reject the claim.

    Examples
    --------
    >>> trend_outcome([0, 0.5, 1] * 3, [0.1, 0.5, 0.9, 0.2, 0.4, 0.8, 0.1, 0.6, 0.9])[2]
    'supported'
    >>> trend_outcome([0, 0.5, 1] * 3, [0.9, 0.5, 0.1, 0.8, 0.4, 0.2, 0.9, 0.6, 0.1])[2]
    'not supported'
    """
    rho, p_up = trend_test(x, y)
    if p_up < level:
        return rho, p_up, SUPPORTED
    _, p_down = trend_test(x, -np.asarray(y, dtype=float))
    return rho, p_up, NOT_SUPPORTED if p_down < level else INCONCLUSIVE
