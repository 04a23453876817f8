"""The claims of the kernel-interpolation study (Zhang et al. 2017, Sec. 5) and of
Nagarajan & Kolter's three studies, driven through synthetic frames to each outcome
their statistics and rules can give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sklearn_gen.studies._claims import judge_claims
from sklearn_gen.studies._kernel import KERNEL_CLAIMS
from sklearn_gen.studies._linear_example import LINEAR_CLAIMS
from sklearn_gen.studies._runs import RUNS
from sklearn_gen.studies._uniform_convergence import (
    BOUNDS_CLAIMS,
    HYPERSPHERE_CLAIMS,
    slope_statistic,
    weakest_group,
)
from sklearn_gen.studies._verdicts import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED


def _claim(claims, key):
    (claim,) = [c for c in claims if c.key == key]
    return claim


# ------------------------------------------------------------------------ kernel
def kernel_frame(
    *,
    n_repeats: int = 3,
    data: str | None = "digits",
    error=lambda p, repeat: 0.02 + 0.8 * p + 0.002 * repeat,
    ridge_gain=lambda ridge, repeat: 0.0,
    whitened_error=lambda repeat: 0.012 + 0.001 * repeat,
    whitened_norm=lambda repeat: 44.0 + repeat,
    train_accuracy: float = 1.0,
    levels=(0.0, 0.5, 1.0),
    n_test: int = 400,
) -> pd.DataFrame:
    """The kernel study's frame: the interpolant at every ``p`` (unpreprocessed), with
    and without whitening and two ridge terms at the lowest ``p``, and the network."""
    rows = []
    for repeat in range(n_repeats):
        base = {"repeat": repeat, "n_train": 800, "n_test": n_test, "ridge": 0.0}
        for p in levels:
            kernel = dict(base, model="kernel", preprocessing="none", p=p)
            rows.append(kernel | {"test_error": error(p, repeat), "rkhs_norm": 40.0 + repeat})
            rows.append(dict(base, model="network", preprocessing="none", p=p, test_error=0.05))
        prep_errors = {"none": error(levels[0], repeat), "whitening": whitened_error(repeat)}
        rows.append(
            dict(base, model="kernel", preprocessing="whitening", p=levels[0])
            | {"test_error": prep_errors["whitening"], "rkhs_norm": whitened_norm(repeat)}
        )
        for prep, prep_error in prep_errors.items():
            for ridge in (0.01, 0.1):
                rows.append(
                    dict(base, model="kernel ridge", preprocessing=prep, p=levels[0])
                    | {"ridge": ridge, "test_error": prep_error - ridge_gain(ridge, repeat)}
                )
    frame = pd.DataFrame(rows)
    frame["train_accuracy"] = np.where(frame["model"] == "network", 1.0, train_accuracy)
    return frame if data is None else frame.assign(data=data)


def _kernel(key, frame):
    return _claim(KERNEL_CLAIMS, key).verdict(frame)


def test_the_kernel_claims_are_declared_with_the_papers_words_and_scope():
    keys = [c.key for c in KERNEL_CLAIMS]
    assert keys == [
        "kernel-interpolant-generalizes",
        "kernel-norm-not-predictive",
        "kernel-ridge-mnist",
        "kernel-ridge-cifar10",
        "kernel-error-rises-with-label-noise",
    ]
    by_key = {c.key: c for c in KERNEL_CLAIMS}
    assert "220" in by_key["kernel-norm-not-predictive"].quote
    assert "whitening" in by_key["kernel-norm-not-predictive"].tested
    assert "15% error" in by_key["kernel-ridge-cifar10"].quote
    assert "does not improve either model" in by_key["kernel-ridge-mnist"].quote
    noise = by_key["kernel-error-rises-with-label-noise"]
    assert noise.scope == "own check" and "own check" in noise.statement
    # run all judges the declared tuple
    verdicts = RUNS["kernel-interpolation"].verdicts(kernel_frame())
    assert [v.key for v in verdicts] == keys


def test_the_interpolant_generalizes_each_outcome():
    supported = _kernel("kernel-interpolant-generalizes", kernel_frame())
    assert supported.status == SUPPORTED and supported.level_reached is False
    assert "the network on the same splits" in supported.evidence
    at_level = _kernel(
        "kernel-interpolant-generalizes", kernel_frame(error=lambda p, r: 0.008 + 0.001 * r)
    )
    assert at_level.status == SUPPORTED and at_level.level_reached is True
    chance = _kernel(
        "kernel-interpolant-generalizes", kernel_frame(error=lambda p, r: 0.95 + 0.01 * r)
    )
    assert chance.status == NOT_SUPPORTED
    unfit = _kernel("kernel-interpolant-generalizes", kernel_frame(train_accuracy=0.99))
    assert unfit.status == INCONCLUSIVE and "did not interpolate" in unfit.reason
    one = _kernel("kernel-interpolant-generalizes", kernel_frame(n_repeats=1))
    assert one.status == INCONCLUSIVE and "too few repeats" in one.reason
    network_only = kernel_frame().query("model == 'network'")
    assert _kernel("kernel-interpolant-generalizes", network_only) is None


def test_the_minimum_norm_claim_pairs_the_preprocessings_of_each_repeat():
    claim = "kernel-norm-not-predictive"
    supported = _kernel(claim, kernel_frame())
    assert supported.status == SUPPORTED
    # the means over the repeats: 41 -> 45
    assert "RKHS norm 41.0 -> 45.0" in supported.evidence
    smaller_norm = _kernel(claim, kernel_frame(whitened_norm=lambda r: 30.0 + r))
    assert smaller_norm.status == NOT_SUPPORTED
    worse = _kernel(claim, kernel_frame(whitened_error=lambda r: 0.05 + 0.001 * r))
    assert worse.status == NOT_SUPPORTED
    mixed = _kernel(claim, kernel_frame(whitened_error=lambda r: (0.010, 0.030, 0.015)[r]))
    assert mixed.status == INCONCLUSIVE and "holds 0" in mixed.reason
    perfect = _kernel(claim, kernel_frame(error=lambda p, r: 0.0, whitened_error=lambda r: 0.0))
    assert perfect.status == INCONCLUSIVE and "no test error" in perfect.reason
    assert _kernel(claim, kernel_frame().query("preprocessing == 'none'")) is None


def test_the_mnist_ridge_claim_is_an_equivalence_within_the_test_noise():
    claim = "kernel-ridge-mnist"
    same = _kernel(claim, kernel_frame(ridge_gain=lambda ridge, r: 0.001 * (r - 1)))
    assert same.status == SUPPORTED and "standard errors" in same.evidence
    assert "simultaneous over 4" in same.evidence  # 2 ridge terms x 2 preprocessings
    # 0.05 is about five standard errors of a difference at n_test=400
    better = _kernel(claim, kernel_frame(ridge_gain=lambda ridge, r: 0.05 + 0.001 * r))
    assert better.status == NOT_SUPPORTED
    noisy = _kernel(claim, kernel_frame(ridge_gain=lambda ridge, r: (0.0, 0.03, 0.01)[r]))
    assert noisy.status == INCONCLUSIVE and "reaches past" in noisy.reason
    on_cifar = _kernel(claim, kernel_frame(data="cifar10"))
    assert on_cifar.status == INCONCLUSIVE and "digits or mnist" in on_cifar.reason
    unnamed = _kernel(claim, kernel_frame(data=None))
    assert unnamed.status == INCONCLUSIVE and "unnamed" in unnamed.reason
    assert _kernel(claim, kernel_frame().query("model != 'kernel ridge'")) is None


def test_the_cifar_ridge_claim_is_answered_on_cifar10_only():
    claim = "kernel-ridge-cifar10"
    helps = _kernel(
        claim, kernel_frame(data="cifar10", ridge_gain=lambda ridge, r: 20 * ridge * (1 + r / 50))
    )
    assert helps.status == SUPPORTED and helps.level_reached is True  # 2 points at ridge 0.1
    little = _kernel(
        claim, kernel_frame(data="cifar10", ridge_gain=lambda ridge, r: 0.005 + 0.0005 * r)
    )
    assert little.status == SUPPORTED and little.level_reached is False
    hurts = _kernel(
        claim, kernel_frame(data="cifar10", ridge_gain=lambda ridge, r: -0.05 - 0.001 * r)
    )
    assert hurts.status == NOT_SUPPORTED
    on_digits = _kernel(claim, kernel_frame(ridge_gain=lambda ridge, r: 0.05))
    assert on_digits.status == INCONCLUSIVE and "cifar10 data only" in on_digits.reason


def test_the_label_noise_trend_is_the_packages_own_check():
    claim = "kernel-error-rises-with-label-noise"
    rises = _kernel(claim, kernel_frame())
    assert rises.status == SUPPORTED and "p=0.5" in rises.evidence
    falls = _kernel(claim, kernel_frame(error=lambda p, r: 0.9 - 0.8 * p + 0.01 * r))
    assert falls.status == NOT_SUPPORTED
    unfit = _kernel(claim, kernel_frame(train_accuracy=0.9))
    assert unfit.status == INCONCLUSIVE and "did not interpolate" in unfit.reason
    assert _kernel(claim, kernel_frame(levels=(0.0,))) is None


# ------------------------------------------------------------------------ N&K, Fig. 1
SIZES = (100, 200, 400, 800, 1600)


def bounds_frame(
    *, n_repeats: int = 3, sizes=SIZES, bound_exponent: float = 0.3, scale: float = 1e3
) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for repeat in range(n_repeats):
        for m in sizes:
            wobble = float(np.exp(rng.normal(0, 0.02)))
            rows.append(
                {
                    "m": m,
                    "repeat": repeat,
                    "test_error": 2.0 / np.sqrt(m) * wobble,
                    "distance_from_init": 3.0 * m**0.2 * wobble,
                    "spectral_bound": scale * m**bound_exponent * wobble,
                    "pac_bayes_bound": 4 * scale * m**bound_exponent * wobble,
                }
            )
    return pd.DataFrame(rows)


def test_the_bounds_claims_are_declared_with_confirmed_words_only():
    keys = [c.key for c in BOUNDS_CLAIMS]
    assert "nk-spectral-bound-vacuous" in keys and "nk-pac-bayes-bound-vacuous" in keys
    for claim in BOUNDS_CLAIMS:
        assert claim.quote and claim.where
    pac = _claim(BOUNDS_CLAIMS, "nk-pac-bayes-bound-grows")
    assert pac.scope == "derived" and "by construction" in pac.note
    blog = _claim(BOUNDS_CLAIMS, "nk-test-error-falls")
    assert "not available here" in blog.where and "blog" in blog.where


def test_the_bounds_claims_each_outcome():
    verdicts = {v.key: v for v in RUNS["bounds-vs-sample-size"].verdicts(bounds_frame())}
    assert all(v.status == SUPPORTED for v in verdicts.values()), verdicts
    assert "t-interval over the repeats" in verdicts["nk-test-error-falls"].evidence
    falling = judge_claims(BOUNDS_CLAIMS, bounds_frame(bound_exponent=-0.3))
    falling = {v.key: v.status for v in falling}
    assert falling["nk-spectral-bound-grows"] == NOT_SUPPORTED
    assert falling["nk-spectral-bound-vacuous"] == SUPPORTED
    small = {v.key: v for v in judge_claims(BOUNDS_CLAIMS, bounds_frame(scale=1e-3))}
    assert small["nk-spectral-bound-vacuous"].status == NOT_SUPPORTED
    four = judge_claims(BOUNDS_CLAIMS, bounds_frame(sizes=SIZES[:4]))
    assert four[0].status == INCONCLUSIVE and "4 sample sizes" in four[0].reason
    one = judge_claims(BOUNDS_CLAIMS, bounds_frame(n_repeats=1))
    assert {v.status for v in one} == {INCONCLUSIVE}
    assert all("too few repeats" in v.reason for v in one)
    without = judge_claims(BOUNDS_CLAIMS, bounds_frame().drop(columns=["pac_bayes_bound"]))
    assert not any("pac-bayes" in v.key for v in without)


def test_a_bound_near_one_is_inconclusive_about_vacuity():
    frame = bounds_frame(scale=1.0, bound_exponent=0.0)
    frame["spectral_bound"] = np.tile([0.5, 2.0, 1.0], len(SIZES))
    verdict = _claim(BOUNDS_CLAIMS, "nk-spectral-bound-vacuous").verdict(frame)
    assert verdict.status == INCONCLUSIVE and "holds 0" in verdict.reason


def test_slope_statistic_and_weakest_group():
    frame = bounds_frame()
    stat = slope_statistic(frame, "test_error")
    assert stat.value == pytest.approx(-0.5, abs=0.02) and stat.low < -0.5 < stat.high
    assert slope_statistic(frame, "missing") is None
    # the weakest group's interval: low end at 95% per group, high end Bonferroni
    stat = weakest_group([1.0, 1.2, 5.0, 5.2], [1, 1, 2, 2], "x")
    assert stat.value == pytest.approx(1.1) and stat.low < 1.1 < stat.high
    assert stat.high > 1.1 + 12.71 * 0.1  # wider than the 95% t-interval at 2 values


# ------------------------------------------------------------------------ hyperspheres
def _hypersphere_frame(rows):
    return pd.DataFrame(
        [
            {"m": m, "repeat": r, "test_error": t, "projected_error": s, "n_test": 4096}
            for m, r, t, s in rows
        ]
    )


def _hypersphere(frame):
    return judge_claims(HYPERSPHERE_CLAIMS, frame)


def test_the_hypersphere_claim_judges_the_largest_m_and_shows_the_others():
    # S' holds at m = 4096, no longer at 8192 (S' error well below chance there)
    frame = _hypersphere_frame(
        [
            (4096, 0, 0.11, 0.96),
            (4096, 1, 0.12, 0.95),
            (8192, 0, 0.023, 0.10),
            (8192, 1, 0.02, 0.11),
        ]
    )
    (claim,) = _hypersphere(frame)
    assert claim.status == NOT_SUPPORTED
    assert "m=8192: mean test error" in claim.evidence
    assert "m=4096: 0.115 / 0.955" in claim.evidence
    near_chance = _hypersphere_frame([(8192, 0, 0.023, 0.50), (8192, 1, 0.02, 0.52)])
    (claim,) = _hypersphere(near_chance)
    assert claim.status == INCONCLUSIVE
    holds = _hypersphere_frame([(8192, 0, 0.13, 1.0), (8192, 1, 0.14, 0.99)])
    (claim,) = _hypersphere(holds)
    assert claim.status == SUPPORTED and "smaller m" not in claim.evidence
    (claim,) = _hypersphere(holds.iloc[:1])
    assert claim.status == INCONCLUSIVE and "too few repeats" in claim.reason


def test_a_claim_met_in_direction_but_not_in_level_says_so():
    verdict = RUNS["hypersphere-projection"].verdicts
    (direction_only,) = verdict(_hypersphere_frame([(8192, 0, 0.13, 1.0), (8192, 1, 0.14, 0.99)]))
    assert direction_only.status == SUPPORTED and direction_only.level_reached is False
    assert direction_only.outcome_text == (
        "supported in direction; the paper's level not reached at this scale"
    )
    (at_level,) = verdict(_hypersphere_frame([(8192, 0, 0.004, 1.0), (8192, 1, 0.006, 0.995)]))
    assert at_level.level_reached is True
    assert at_level.outcome_text == "supported, at the paper's level"
    # the summary states the level beside the verdict
    from sklearn_gen.studies._report import _verdict_table

    table = _verdict_table([direction_only])
    assert "supported in direction; the paper's level not reached at this scale" in table


# ------------------------------------------------------------------------ linear example
def linear_frame(*, sizes=(16, 32, 64, 128, 256), exponent=-0.3, s_prime=lambda m, r: 1.0):
    return pd.DataFrame(
        [
            {
                "m": m,
                "repeat": r,
                "test_error": 0.9 * m**exponent * (1 + 0.02 * r),
                "s_prime_error": s_prime(m, r),
            }
            for r in range(3)
            for m in sizes
        ]
    )


def test_the_linear_claims_each_outcome():
    generalizes, s_prime = RUNS["linear-example"].verdicts(linear_frame())
    assert generalizes.status == SUPPORTED and s_prime.status == SUPPORTED
    assert s_prime.level_reached is True
    partly = judge_claims(LINEAR_CLAIMS, linear_frame(s_prime=lambda m, r: 0.9 + 0.01 * r))[1]
    assert partly.status == SUPPORTED and partly.level_reached is False
    # S' error below chance at one m: not "at every m"
    one_m = judge_claims(
        LINEAR_CLAIMS, linear_frame(s_prime=lambda m, r: 0.2 + 0.01 * r if m == 64 else 1.0)
    )[1]
    assert one_m.status == NOT_SUPPORTED and "the smallest (64)" in one_m.evidence
    rising = judge_claims(LINEAR_CLAIMS, linear_frame(exponent=0.2))[0]
    assert rising.status == NOT_SUPPORTED
    few = judge_claims(LINEAR_CLAIMS, linear_frame(sizes=(16, 32, 64)))[0]
    assert few.status == INCONCLUSIVE and "3 sample sizes" in few.reason
    noisy = judge_claims(
        LINEAR_CLAIMS, linear_frame(s_prime=lambda m, r: (0.3, 0.9, 0.6)[r] if m == 16 else 1.0)
    )[1]
    assert noisy.status == INCONCLUSIVE
