"""Verdicts: a paper's claim, this run's statistic with its uncertainty, and the outcome.

A verdict is a measurement. Each claim states the paper's number, this run's statistic with
its uncertainty over repeats (a t-interval of a mean, a rank-correlation test of a trend) and
one of three outcomes: ``"supported"``, ``"not supported"`` or ``"inconclusive at this
scale"`` (with the reason), from thresholds derived from the data (chance level, the number
of test points), never tuned to the answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "INCONCLUSIVE",
    "NOT_SUPPORTED",
    "SUPPORTED",
    "Verdict",
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
    level_reached : bool or None
        Where the paper gives a level: whether a supported claim reached it.
    key : str
        The claim's key (:class:`~sklearn_gen.studies._claims.Claim`).
    rule : str
        The decision rule in words, as declared before the data.

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
    key: str = ""
    rule: str = ""

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
    NaN for none; for one value the value and no interval (NaN bounds): one repeat
    measures no spread, and a verdict that needs an interval says "too few repeats"."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return values, (float("nan"), float("nan"), float("nan"))
    if len(values) < 2:
        return values, (float(values.mean()), float("nan"), float("nan"))
    return values, None


def mean_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t interval of the mean over repeats.

    The package's interval policy (``docs/reproduced.rst``): every statistic the studies
    judge is a mean over independent repeats (each repeat its own split, initialization
    and batches) or a paired difference of two settings within each repeat, and its
    interval is the t-interval over the repeats' values, ``mean ± t(n-1) * s / sqrt(n)``.
    At the 2 to 5 repeats the studies run, a percentile bootstrap of the mean covers the
    true mean in only 50-88% of draws; the t-interval holds its level (a test simulates
    it, ``tests/test_verdicts.py``). With one value there is no interval (NaN bounds).

    Examples
    --------
    >>> mean, low, high = mean_interval([1.0, 2.0, 3.0])
    >>> mean, round(low, 3), round(high, 3)
    (2.0, -0.484, 4.484)
    >>> mean_interval([2.0])
    (2.0, nan, nan)
    """
    values, point = _finite(values)
    if point is not None:
        return point
    mean = float(values.mean())
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * stats.sem(values)
    return mean, mean - float(half), mean + float(half)


def rate_interval(
    values, level: float = 0.95, *, n_test: int | None = None
) -> tuple[float, float, float]:
    """Mean of a rate (an error or an accuracy) over repeats, with its t-interval clipped
    to [0, 1], widened to the Wilson interval of the pooled test points.

    The rate's true mean lies in [0, 1], so clipping the t-interval of
    :func:`mean_interval` there loses none of its coverage. A rate near 0 or 1 on a few
    hundred test points can come out the same in every repeat (e.g. 4 errors of 360
    twice), and the t-interval then has width 0 although the binomial noise of the test
    set is there; with ``n_test`` (the test points of each repeat) the interval is the
    union of the t-interval and the Wilson score interval of the ``n_test * n_repeats``
    pooled test points (:meth:`scipy.stats.binomtest`), so each source of noise is
    covered (a test simulates it).

    Examples
    --------
    >>> mean, low, high = rate_interval([0.0, 0.02, 0.016])
    >>> round(mean, 3), low, round(high, 3)
    (0.012, 0.0, 0.038)
    >>> mean, low, high = rate_interval([0.011, 0.011], n_test=360)
    >>> round(low, 4), round(high, 4)  # the t-interval alone would be [0.011, 0.011]
    (0.0056, 0.0218)
    """
    mean, low, high = mean_interval(values, level)
    if not np.isfinite(mean):
        return mean, low, high
    if n_test is not None:
        finite = np.asarray(values, dtype=float)
        total = int(n_test) * int(np.isfinite(finite).sum())
        errors = round(mean * total)
        wilson = stats.binomtest(errors, total).proportion_ci(level, method="wilson")
        low = wilson.low if not np.isfinite(low) else min(low, wilson.low)
        high = wilson.high if not np.isfinite(high) else max(high, wilson.high)
    if not np.isfinite(low):
        return mean, low, high
    return mean, float(np.clip(low, 0.0, 1.0)), float(np.clip(high, 0.0, 1.0))


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
    """``"0.123 [0.100, 0.150]"``; a value without an interval (one repeat) says so.

    Examples
    --------
    >>> format_interval(0.5, 0.4, 0.6)
    '0.500 [0.400, 0.600]'
    >>> format_interval(0.5, float("nan"), float("nan"))
    '0.500 (one value: no interval)'
    """
    if np.isfinite(mean) and not (np.isfinite(low) and np.isfinite(high)):
        return f"{mean:.{digits}f} (one value: no interval)"
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
    x_ranks = stats.rankdata(x)
    x_ranks = (x_ranks - x_ranks.mean()) / (np.linalg.norm(x_ranks - x_ranks.mean()) or 1.0)

    def rho(y_perm, axis=-1):
        # Spearman's rho, vectorized over permutations: Pearson's r of the ranks
        ranks = stats.rankdata(y_perm, axis=axis)
        ranks = ranks - ranks.mean(axis=axis, keepdims=True)
        norm = np.linalg.norm(ranks, axis=axis)
        return np.where(norm > 0, (ranks @ x_ranks) / np.where(norm > 0, norm, 1.0), 0.0)

    result = stats.permutation_test(
        (y,),
        rho,
        permutation_type="pairings",
        vectorized=True,
        alternative="greater",
        n_resamples=n_resamples,
        random_state=0,
    )
    return float(result.statistic), float(result.pvalue)


def difference_se(rate: float, n_points: int) -> float:
    """Binomial standard error of a difference of two rates near ``rate``, each on
    ``n_points`` points: ``sqrt(2 r (1 - r) / n)``, with ``r`` kept a point away from 0
    and 1 (a rate of exactly 0 still has the noise of one point).

    Examples
    --------
    >>> round(difference_se(0.1, 400), 4)
    0.0212
    >>> difference_se(0.0, 100) == difference_se(0.01, 100)
    True
    """
    rate = min(max(float(rate), 1.0 / n_points), 1.0 - 1.0 / n_points)
    return math.sqrt(2.0 * rate * (1.0 - rate) / n_points)


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
    x, y, *, groups=None, log: bool = True, level: float = 0.95
) -> tuple[float, float, float]:
    """Least-squares slope of ``y`` on ``x`` (log-log by default) and its t-interval.

    With ``groups`` (the repeat of each point: each repeat is one run over every ``x``,
    and its points share its split and seed, so they are not independent), the slope is
    fitted within each repeat and the interval is :func:`mean_interval` of the repeats'
    slopes: the repeats are the independent units, as everywhere in the studies. Without
    ``groups`` every point is independent and the interval is the ordinary least-squares
    one, ``slope ± t(n-2) * se``. Non-positive values are dropped before the logarithm;
    a repeat with fewer than two distinct ``x`` gives no slope.

    Examples
    --------
    >>> m = [100, 200, 400, 800, 1600] * 3
    >>> repeat = np.repeat([0, 1, 2], 5)
    >>> noise = np.exp(np.random.default_rng(0).normal(0, 0.05, 15))
    >>> slope, low, high = slope_interval(m, np.sqrt(m) * noise, groups=repeat)
    >>> round(slope, 1), bool(0.4 < low < slope < high < 0.6)
    (0.5, True)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    g = np.zeros(len(x)) if groups is None else np.asarray(groups)
    keep = np.isfinite(x) & np.isfinite(y)
    if log:
        keep &= (x > 0) & (y > 0)
    x, y, g = x[keep], y[keep], g[keep]
    if log:
        x, y = np.log(x), np.log(y)
    nan = (float("nan"), float("nan"), float("nan"))
    if groups is not None:
        slopes = [
            np.polyfit(x[g == k], y[g == k], 1)[0]
            for k in np.unique(g)
            if len(np.unique(x[g == k])) >= 2
        ]
        return mean_interval(slopes, level) if slopes else nan
    if len(np.unique(x)) < 2:
        return nan
    fit = stats.linregress(x, y)
    if len(x) < 3:
        return float(fit.slope), float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, len(x) - 2) * fit.stderr
    return float(fit.slope), float(fit.slope - half), float(fit.slope + half)


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
