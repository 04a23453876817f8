"""The verdicts' statistics on frames whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sklearn_gen.studies._runs import RUNS
from sklearn_gen.studies._verdicts import (
    NOT_SUPPORTED,
    SUPPORTED,
    Verdict,
    chance_band,
    mean_interval,
    rate_interval,
    trend_test,
)


def test_the_zhang_runs_judge_the_claims_their_studies_declare():
    # the claims themselves: tests/test_claims_zhang.py
    frame = pd.DataFrame(
        {"n": [100, 100], "d": 5, "repeat": [0, 1], "n_params": 205, "train_accuracy": 1.0}
    )
    (verdict,) = RUNS["expressivity"].verdicts(frame)
    assert verdict.key == "finite-sample-expressivity" and verdict.status == SUPPORTED
    curves = pd.DataFrame(
        {
            "panel": "curves",
            "condition": "random labels",
            "repeat": [0, 1],
            "epoch": 1,
            "train_accuracy": 1.0,
            "epochs_to_fit": 30,
            "converged": True,
        }
    )
    keys = [v.key for v in RUNS["randomization-test"].verdicts(curves)]
    assert keys == ["random-labels-fitted", "rademacher-trivial-bound"]
    ablation = pd.DataFrame(
        {
            "setting": "baseline",
            "p": 0.0,
            "repeat": [0, 1],
            "test_accuracy": [0.9, 0.92],
            "n_test": 450,
            "n_classes": 10,
        }
    )
    keys = [v.key for v in RUNS["regularization-ablation"].verdicts(ablation)]
    assert keys == ["regularizers-not-necessary", "alexnet-weight-decay-fails"]


def test_statistics():
    mean, low, high = mean_interval([0.9, 1.0, 1.1])
    assert mean == pytest.approx(1.0) and low < 1.0 < high
    mean, low, high = mean_interval([2.0])  # one repeat: no interval
    assert mean == 2.0 and np.isnan(low) and np.isnan(high)
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
    assert low == 0.0 < mean < high <= 1.0
    assert rate_interval([1.0, 1.0, 1.0]) == (1.0, 1.0, 1.0)
    # with the test size, equal rates still get the binomial noise of their test points
    mean, low, high = rate_interval([1.0, 1.0, 1.0], n_test=100)
    assert 0.95 < low < high == 1.0
    assert np.isnan(rate_interval([0.3])[1])
    assert np.isnan(rate_interval([np.nan])[0])


# ------------------------------------------------------------------ the claims of issue 25
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
                        "normalized_test_loss": 0.5 + slope * (x - 2.3) + rng.normal(0, 1e-5),
                    }
                )
    return pd.DataFrame(rows)


def test_the_normalized_loss_run_judges_the_claims_its_study_declares():
    # the claims themselves: tests/test_claims_liao.py
    def judged(second_slope: float) -> dict:
        verdicts = RUNS["normalized-loss-study"].verdicts(_normalized(second_slope))
        return {v.key: v for v in verdicts}

    same = judged(second_slope=1.0)
    assert "liao-random-labels" not in same  # no random-label network in this frame
    assert same["liao-init-worse"].status == SUPPORTED
    assert same["liao-one-line"].status == SUPPORTED
    assert judged(second_slope=-2.0)["liao-one-line"].status == NOT_SUPPORTED
