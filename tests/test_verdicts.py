"""The verdicts' statistics on frames whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sklearn_gen.studies._runs import RUNS
from sklearn_gen.studies._verdicts import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Verdict,
    chance_band,
    mean_interval,
    rate_interval,
    trend_test,
)


def randomization_frame(n_repeats: int, levels, error_of_p, random_fit=1.0, converged=True):
    rows = []
    for repeat in range(n_repeats):
        for p in levels:
            rows.append(
                {
                    "panel": "corruption",
                    "condition": "corrupted labels",
                    "p": p,
                    "repeat": repeat,
                    "test_error": error_of_p(p) + 0.01 * repeat,
                    "epochs_to_fit": 20 * (1 + 2 * p) + repeat,
                    "converged": converged,
                    "train_accuracy": 1.0,
                }
            )
        for epoch in range(3):
            rows.append(
                {
                    "panel": "curves",
                    "condition": "random labels",
                    "p": 1.0,
                    "repeat": repeat,
                    "epoch": epoch + 1,
                    "train_accuracy": random_fit,
                    "epochs_to_fit": 60,
                    "converged": converged,
                }
            )
    return pd.DataFrame(rows)


def test_randomization_claims_supported_with_repeats():
    frame = randomization_frame(3, (0.0, 0.5, 1.0), lambda p: 0.05 + 0.8 * p)
    verdicts = RUNS["randomization-test"].verdicts(frame)
    assert [v.status for v in verdicts] == [SUPPORTED] * 4
    assert "Rademacher" in verdicts[3].claim  # the random-label fits' bound, last
    assert "Spearman rho" in verdicts[1].evidence and verdicts[1].paper
    assert "[" in verdicts[2].evidence  # the factor carries its interval


def test_randomization_claims_inconclusive_at_small_scale():
    # one repeat of three levels: too few fits for the trend test, no interval
    frame = randomization_frame(1, (0.0, 0.5, 1.0), lambda p: 0.05 + 0.8 * p)
    verdicts = RUNS["randomization-test"].verdicts(frame)
    assert verdicts[0].status == SUPPORTED
    assert verdicts[1].status == INCONCLUSIVE and "too few" in verdicts[1].reason
    assert verdicts[2].status == INCONCLUSIVE
    # random labels not fitted within the budget: inconclusive, with the reason
    unfit = randomization_frame(3, (0.0, 1.0), lambda p: 0.1, random_fit=0.8, converged=False)
    first = RUNS["randomization-test"].verdicts(unfit)[0]
    assert first.status == INCONCLUSIVE and "epoch budget" in first.reason


def test_flat_test_error_is_not_supported():
    frame = randomization_frame(3, (0.0, 0.5, 1.0), lambda p: 0.5 - 0.1 * p)
    assert RUNS["randomization-test"].verdicts(frame)[1].status == NOT_SUPPORTED


def ablation_frame(base_accuracy: float, noisy_accuracy: float, noisy_fit: float = 1.0):
    rows = []
    for repeat in range(3):
        for setting in ("baseline", "+weight_decay", "+dropout"):
            for p, accuracy, fit in ((0.0, base_accuracy, 1.0), (1.0, noisy_accuracy, noisy_fit)):
                rows.append(
                    {
                        "setting": setting,
                        "p": p,
                        "repeat": repeat,
                        "test_accuracy": accuracy + 0.002 * repeat,
                        "train_accuracy": fit,
                        "n_test": 450,
                        "n_classes": 10,
                    }
                )
    return pd.DataFrame(rows)


def test_regularization_claims():
    verdicts = RUNS["regularization-ablation"].verdicts(ablation_frame(0.97, 0.10))
    assert [v.status for v in verdicts] == [SUPPORTED, SUPPORTED]
    assert "85.75%" in verdicts[0].paper and "chance band" in verdicts[0].evidence
    near_chance = RUNS["regularization-ablation"].verdicts(ablation_frame(0.11, 0.10))
    assert near_chance[0].status == NOT_SUPPORTED
    unfit = RUNS["regularization-ablation"].verdicts(ablation_frame(0.97, 0.10, noisy_fit=0.6))
    assert unfit[1].status == INCONCLUSIVE


def test_statistics():
    mean, low, high = mean_interval([0.9, 1.0, 1.1])
    assert mean == pytest.approx(1.0) and low < 1.0 < high
    assert mean_interval([2.0]) == (2.0, 2.0, 2.0)
    assert np.isnan(mean_interval([np.nan])[0])
    rho, p_value = trend_test([0, 1, 2, 3, 4], [1, 2, 3, 4, 5])
    assert rho == pytest.approx(1.0) and p_value < 0.05
    low, high = chance_band(10, 10_000)
    assert low < 0.1 < high and high - low < 0.02
    with pytest.raises(ValueError, match="status must be one of"):
        Verdict("claim", "evidence", "yes")


# the hypersphere, minimum-norm and ridge claims: tests/test_claims_kernel_nk.py


def test_error_rates_get_intervals_inside_zero_one():
    # the kernel study's case: three test errors near 0, whose t-interval reaches below 0
    errors = [0.0, 0.02, 0.016]
    assert mean_interval(errors)[1] < 0.0
    mean, low, high = rate_interval(errors)
    assert mean == pytest.approx(0.012)
    assert 0.0 <= low < mean < high <= 0.02
    assert rate_interval([1.0, 1.0, 1.0]) == (1.0, 1.0, 1.0)
    assert rate_interval([0.3]) == (0.3, 0.3, 0.3)
    assert np.isnan(rate_interval([np.nan])[0])


# ------------------------------------------------------------------ the claims of issue 25
def test_rademacher_bound_from_the_random_label_fits():
    from sklearn_gen.studies._runs import _rademacher_verdict

    fitted = _rademacher_verdict(pd.Series([1.0, 1.0, 0.995]))
    assert fitted.status == SUPPORTED and "0.990" in fitted.evidence  # lowest 2a - 1
    half = _rademacher_verdict(pd.Series([0.6, 0.55, 0.62]))
    assert half.status == NOT_SUPPORTED


def _ablation(aug: list[float], wd: list[float], bn: list[float]) -> pd.DataFrame:
    rows = []
    for repeat, (a, w, b) in enumerate(zip(aug, wd, bn, strict=True)):
        for setting, acc in (
            ("baseline", 0.90),
            ("+augment", a),
            ("+weight_decay", w),
            ("+batch_norm", b),
        ):
            rows.append({"repeat": repeat, "setting": setting, "p": 0.0, "test_accuracy": acc})
    return pd.DataFrame(rows)


def test_augmentation_against_weight_decay_and_batch_norm_paired_over_repeats():
    from sklearn_gen.studies._runs import _regularizer_comparisons

    aug_wins = _regularizer_comparisons(
        _ablation([0.94, 0.95, 0.93], [0.905, 0.90, 0.91], [0.905, 0.895, 0.90])
    )
    assert [v.status for v in aug_wins] == [SUPPORTED, SUPPORTED]
    assert "89.31%" in aug_wins[0].paper
    wd_wins = _regularizer_comparisons(
        _ablation([0.90, 0.905, 0.90], [0.93, 0.94, 0.935], [0.96, 0.95, 0.97])
    )
    assert [v.status for v in wd_wins] == [NOT_SUPPORTED, NOT_SUPPORTED]
    mixed = _regularizer_comparisons(_ablation([0.93, 0.89, 0.91], [0.91, 0.92, 0.90], [0.9] * 3))
    assert mixed[0].status == INCONCLUSIVE and "holds 0" in mixed[0].reason


def _normalized(second_slope: float) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for factor, levels, slope in (
        ("pretraining", (0.0, 0.5, 1.0), 1.0),
        ("init_scale", (1.0, 2.0, 3.0), second_slope),
    ):
        for repeat in range(2):
            for i, level in enumerate(levels):
                x = 2.30 + 0.01 * i + 0.002 * repeat + (0.03 if factor == "init_scale" else 0)
                rows.append(
                    {
                        "factor": factor,
                        "level": level,
                        "repeat": repeat,
                        "converged": True,
                        "train_loss": 0.01,
                        "test_loss": 0.3 + 0.1 * i + 0.01 * repeat,
                        "normalized_train_loss": x,
                        "normalized_test_loss": 0.5 + slope * (x - 2.3) + rng.normal(0, 1e-4),
                    }
                )
    return pd.DataFrame(rows)


def test_initialization_claims_judge_the_trend_and_one_line_for_both_factors():
    verdicts = RUNS["normalized-loss-study"].verdicts(_normalized(second_slope=1.0))
    init, line = verdicts[-2], verdicts[-1]
    assert "larger initialization" in init.claim and init.status == SUPPORTED
    assert "One line" in line.claim and line.status == SUPPORTED
    two_lines = RUNS["normalized-loss-study"].verdicts(_normalized(second_slope=-2.0))[-1]
    assert two_lines.status == NOT_SUPPORTED and "F-test" in two_lines.reason


def test_early_stopping_gain_against_the_held_out_noise():
    from sklearn_gen.studies._runs import _early_stopping_verdict

    def frame(best: list[float], final: list[float]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "setting": "baseline, held out",
                "p": 0.0,
                "repeat": range(3),
                "n_train": 1000,
                "heldout_best_accuracy": best,
                "heldout_final_accuracy": final,
                "heldout_best_epoch": [5, 6, 7],
                "epochs": [40, 40, 40],
            }
        )

    (helps,) = _early_stopping_verdict(frame([0.95, 0.96, 0.95], [0.80, 0.82, 0.81]))
    assert helps.status == SUPPORTED and "5/40" in helps.evidence
    (never,) = _early_stopping_verdict(frame([0.9, 0.9, 0.9], [0.9, 0.9, 0.9]))
    assert never.status == NOT_SUPPORTED
