"""The interval policy and the decision rules of the claims, checked as a referee would.

Coverage: each interval function the studies use is simulated at the repeat counts the
studies run (2, 3, 5) and must hold the true value in at least 93% of draws at a nominal
95% (1,000 draws: the binomial standard error of a 95% coverage is 0.7%, so 0.93 is about
three standard errors below it). Rules: every rule is driven through synthetic statistics
to every outcome it can give.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sklearn_gen.studies._claims import (
    Claim,
    Equivalence,
    Interval,
    Statistic,
    Trend,
    interval_statistic,
    judge_claims,
    trend_statistic,
)
from sklearn_gen.studies._verdicts import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    mean_interval,
    rate_interval,
    slope_interval,
)

DRAWS = 1000
NOMINAL = 0.95
FLOOR = 0.93


def _coverage(draw, interval, truth: float, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(DRAWS):
        _, low, high = interval(draw(rng))
        hits += bool(low <= truth <= high)
    return hits / DRAWS


@pytest.mark.parametrize("n_repeats", [2, 3, 5])
def test_the_mean_interval_covers_at_the_studies_repeat_counts(n_repeats):
    # repeat means around 0.10 (a test error) with a spread of 0.02
    coverage = _coverage(
        lambda rng: rng.normal(0.10, 0.02, n_repeats), mean_interval, 0.10, n_repeats
    )
    assert coverage >= FLOOR, coverage


@pytest.mark.parametrize("n_repeats", [2, 3, 5])
@pytest.mark.parametrize("rate, n_test", [(0.012, 360), (0.10, 400), (0.5, 1000)])
def test_the_rate_interval_covers_binomial_error_rates(n_repeats, rate, n_test):
    # the kernel study's case among them: errors near 0 on a few hundred test points
    coverage = _coverage(
        lambda rng: rng.binomial(n_test, rate, n_repeats) / n_test,
        lambda values: rate_interval(values, n_test=n_test),
        rate,
        n_repeats + int(1000 * rate),
    )
    assert coverage >= FLOOR, coverage


def test_without_the_test_size_a_rare_error_rate_can_get_an_empty_interval():
    # why rate_interval takes n_test: two repeats with the same count of 4 errors in 360
    assert rate_interval([4 / 360, 4 / 360])[1:] == (4 / 360, 4 / 360)
    low, high = rate_interval([4 / 360, 4 / 360], n_test=360)[1:]
    assert low < 4 / 360 < high


@pytest.mark.parametrize("n_repeats", [2, 3, 5])
def test_a_paired_difference_interval_covers(n_repeats):
    # two settings sharing each repeat's split: a shared repeat effect cancels in the pair
    def draw(rng):
        shared = rng.normal(0.0, 0.05, n_repeats)
        a = 0.90 + shared + rng.normal(0, 0.01, n_repeats)
        b = 0.88 + shared + rng.normal(0, 0.01, n_repeats)
        return a - b

    assert _coverage(draw, mean_interval, 0.02, 10 + n_repeats) >= FLOOR


@pytest.mark.parametrize("n_repeats", [2, 3, 5])
def test_the_slope_interval_covers_with_the_repeats_as_units(n_repeats):
    # log-log slope 0.5 over 6 sizes; each repeat shifts all of its points (its own split)
    m = np.geomspace(100, 8000, 6)
    groups = np.repeat(np.arange(n_repeats), len(m))
    x = np.tile(m, n_repeats)

    def draw(rng):
        shift = np.repeat(rng.normal(0, 0.3, n_repeats), len(m))
        slope = np.repeat(rng.normal(0.5, 0.05, n_repeats), len(m))
        log_y = slope * np.log(x) + shift + rng.normal(0, 0.05, len(x))
        return np.exp(log_y)

    coverage = _coverage(
        lambda rng: draw(rng), lambda y: slope_interval(x, y, groups=groups), 0.5, 20 + n_repeats
    )
    assert coverage >= FLOOR, coverage


def test_one_repeat_gives_no_interval_and_the_rules_say_too_few_repeats():
    assert np.isnan(mean_interval([0.3])[1]) and np.isnan(rate_interval([0.3])[2])
    stat = interval_statistic([0.3], "gain")
    assert "no interval" in stat.text
    status, reason, _ = Interval("above", 0.0).decide(stat)
    assert status == INCONCLUSIVE and "too few repeats" in reason
    assert Equivalence(0.1).decide(stat)[0] == INCONCLUSIVE


# ------------------------------------------------------------------------ the rules
@pytest.mark.parametrize(
    "low, high, expected",
    [(0.01, 0.03, SUPPORTED), (-0.03, -0.01, NOT_SUPPORTED), (-0.01, 0.03, INCONCLUSIVE)],
)
def test_the_interval_rule_gives_each_outcome(low, high, expected):
    stat = Statistic((low + high) / 2, low, high, 3)
    assert Interval("above", 0.0).decide(stat)[0] == expected
    mirrored = Statistic(-stat.value, -high, -low, 3)
    assert Interval("below", 0.0).decide(mirrored)[0] == expected


def test_the_interval_rule_states_the_papers_level():
    rule = Interval("below", 0.5, level=0.01)
    assert rule.decide(Statistic(0.005, 0.001, 0.009, 3)) == (SUPPORTED, "", True)
    assert rule.decide(Statistic(0.1, 0.05, 0.15, 3)) == (SUPPORTED, "", False)
    assert "the paper's level" in rule.describe()
    with pytest.raises(ValueError, match="side must be"):
        Interval("beside")


@pytest.mark.parametrize(
    "low, high, expected",
    [
        (-0.01, 0.02, SUPPORTED),
        (0.04, 0.08, NOT_SUPPORTED),
        (-0.08, -0.04, NOT_SUPPORTED),
        (0.0, 0.05, INCONCLUSIVE),
    ],
)
def test_the_equivalence_rule_gives_each_outcome(low, high, expected):
    assert Equivalence(0.03).decide(Statistic(0.0, low, high, 3))[0] == expected


def test_the_trend_rule_gives_each_outcome():
    up = trend_statistic(np.repeat([0, 0.5, 1], 3), [1, 1.1, 1.2, 2, 2.1, 2.2, 3, 3.1, 3.2], "y")
    down = trend_statistic(np.repeat([0, 0.5, 1], 3), [3, 3.1, 3.2, 2, 2.1, 2.2, 1, 1.1, 1], "y")
    flat = trend_statistic(np.repeat([0, 0.5, 1], 3), [1, 2, 3, 3, 1, 2, 2, 3, 1], "y")
    few = trend_statistic([0, 0.5, 1], [1, 2, 3], "y")
    assert Trend().decide(up)[0] == SUPPORTED
    assert Trend().decide(down)[0] == NOT_SUPPORTED
    assert Trend().decide(flat)[0] == INCONCLUSIVE
    status, reason, _ = Trend().decide(few)
    assert status == INCONCLUSIVE and "too few" in reason


def test_the_trend_test_keeps_its_level_under_no_trend():
    # the permutation test's false-positive rate under exchangeable noise stays at 5%
    rng = np.random.default_rng(0)
    x = np.repeat([0.0, 0.5, 1.0], 3)
    rejections = sum(
        Trend().decide(trend_statistic(x, rng.normal(size=9), "y"))[0] == SUPPORTED
        for _ in range(200)
    )
    assert rejections / 200 <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 200)


def test_an_undecided_statistic_is_inconclusive_with_its_reason():
    stat = Statistic(0.5, 0.4, 0.6, 3, undecided="the epoch budget ran out")
    for rule in (Interval("above", 0.0), Equivalence(1.0), Trend()):
        assert rule.decide(stat)[:2] == (INCONCLUSIVE, "the epoch budget ran out")


# ------------------------------------------------------------------------ claims
def _claim(**kwargs):
    def stat(frame, shift=0.0):
        if frame.empty:
            return None
        return interval_statistic(frame["gain"] + shift, "gain")

    defaults = dict(
        key="k",
        paper="A et al. 2020",
        quote="it helps",
        where="Sec. 1",
        number="2%",
        statistic=stat,
        rule=Interval("above", 0.0),
    )
    return Claim(**{**defaults, **kwargs})


def test_a_claim_states_the_quote_the_rule_and_its_scope():
    frame = pd.DataFrame({"gain": [0.019, 0.02, 0.021]})
    (verdict,) = judge_claims((_claim(),), frame)
    assert verdict.status == SUPPORTED and verdict.key == "k" and verdict.paper == "2%"
    assert verdict.claim.startswith("“it helps” (A et al. 2020, Sec. 1)")
    assert "95% interval lies above 0" in verdict.rule
    own = _claim(scope="own check", rule_changed="docs/rule_changes.rst, k").statement
    assert own.startswith("[this package's own check") and "rule changed" in own
    # thresholds declared as keyword arguments reach the statistic
    (shifted,) = judge_claims((_claim(params={"shift": -0.1}),), frame)
    assert shifted.status == NOT_SUPPORTED
    # a frame that cannot answer a claim leaves it out
    assert judge_claims((_claim(),), pd.DataFrame({"gain": []})) == []
    with pytest.raises(ValueError, match="scope must be"):
        _claim(scope="maybe")
