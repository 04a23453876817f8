"""The claims of Liao et al. (2018) on synthetic normalized-loss frames whose answer is known.

Every claim of ``NORMALIZED_LOSS_CLAIMS`` is driven to each outcome it can give: the frames
are built from exact lines (the normalized losses), a raw line or none (the raw losses: the
training losses of a pretraining repeat are symmetric in the level, so a raw line through
them has R^2 = 0), and paired test-loss effects.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sklearn_gen.studies._claims import judge_claims
from sklearn_gen.studies._normalized_loss import NORMALIZED_LOSS_CLAIMS, fit_line
from sklearn_gen.studies._verdicts import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED

CLAIMS = {claim.key: claim for claim in NORMALIZED_LOSS_CLAIMS}
LEVELS = {"pretraining": (0.0, 0.25, 0.5, 0.75, 1.0), "init_scale": (1.0, 1.5, 2.0, 2.5)}


def _row(factor, level, repeat, x, y, *, train, test, converged, norms):
    row = {
        "factor": factor,
        "level": level,
        "repeat": repeat,
        "converged": converged,
        "train_loss": train,
        "test_loss": test,
        "normalized_train_loss": x,
        "normalized_test_loss": y,
    }
    for name, slope in norms.items():
        row[f"normalized_train_loss_{name}"] = 2.3 - (2.3 - x) / 50
        row[f"normalized_test_loss_{name}"] = 2.3 - slope * (2.3 - x) / 50
    return row


def liao_frame(
    n_repeats: int = 3,
    *,
    slope: float = 0.85,
    init_slope: float | None = None,
    bend: float = 0.0,
    raw_line: bool = False,
    effect: float = 0.05,
    converged: bool = True,
    random_offset: float | None = 0.0,
    norms: dict | None = None,
) -> pd.DataFrame:
    """Normalized test loss ``0.35 + slope * x (+ bend * a centred square)`` per factor;
    test loss ``0.1 + effect * step`` (step 0, 1, ... by level); the random-label network
    at ``x = 2.30``, ``random_offset`` above the pretraining line (None: none)."""
    norms = {"l1": slope, "linf": slope} if norms is None else norms
    rows = []
    for repeat in range(n_repeats):
        jitter = 0.001 * (repeat - 1)
        for factor, levels in LEVELS.items():
            factor_slope = slope if factor == "pretraining" or init_slope is None else init_slope
            for i, level in enumerate(levels):
                x = 2.20 + 0.015 * i + 0.002 * repeat + (0.005 if factor == "init_scale" else 0)
                y = 0.35 + factor_slope * x + bend * ((i - 2) ** 2 - 2) + jitter
                train = 0.008 + (0.0002 * i if raw_line else 0.0002 * (i - 2) ** 2)
                test = 0.1 + effect * i + (train - 0.008) * (50 if raw_line else 0) + jitter
                rows.append(
                    _row(factor, level, repeat, x, y, train=train, test=test,
                         converged=converged, norms=norms)
                )  # fmt: skip
        if random_offset is not None:
            y = 0.35 + slope * 2.30 + random_offset
            rows.append(
                _row("random_labels", 1.0, repeat, 2.30, y, train=0.009, test=5.0,
                     converged=True, norms=norms)
            )  # fmt: skip
    return pd.DataFrame(rows)


def verdict(key: str, frame: pd.DataFrame):
    return CLAIMS[key].verdict(frame)


def status(key: str, frame: pd.DataFrame) -> str:
    return verdict(key, frame).status


def test_every_claim_is_declared_with_a_quote_a_place_and_a_rule():
    assert len(CLAIMS) == len(NORMALIZED_LOSS_CLAIMS) == 9
    for claim in NORMALIZED_LOSS_CLAIMS:
        assert claim.paper == "Liao et al. 2018" and claim.quote and claim.where
        assert claim.key.startswith("liao-") and claim.rule.describe()


def test_a_full_frame_answers_every_claim():
    verdicts = judge_claims(NORMALIZED_LOSS_CLAIMS, liao_frame())
    assert [v.key for v in verdicts] == list(CLAIMS)
    assert {v.status for v in verdicts} == {SUPPORTED}


def test_fit_line_is_exact_on_a_line_and_undefined_below_three_networks():
    part = pd.DataFrame({"a": [1.0, 2.0, 4.0], "b": [3.0, 5.0, 9.0]})
    slope, r2 = fit_line(part, ("a", "b"))
    assert slope == pytest.approx(2.0) and r2 == pytest.approx(1.0)
    assert np.isnan(fit_line(part.head(2), ("a", "b"))).all()
    assert np.isnan(fit_line(part, ("a", "missing"))).all()


# ------------------------------------------------------------------ the line and its contrast
def test_linear_relation_is_judged_against_the_raw_losses():
    supported = verdict("liao-linear-relation", liao_frame())
    assert supported.status == SUPPORTED
    assert "R^2 normalized 1.0000, raw 0.0000" in supported.evidence
    # the raw losses on a line, the normalized ones bent: the contrast fails
    assert status("liao-linear-relation", liao_frame(bend=0.01, raw_line=True)) == NOT_SUPPORTED
    one = verdict("liao-linear-relation", liao_frame(n_repeats=1))
    assert one.status == INCONCLUSIVE and "too few repeats" in one.reason


def test_a_line_needs_three_networks_per_repeat():
    frame = liao_frame()
    two = frame[frame["level"].isin([0.0, 1.0, 2.5, 1.5]) | (frame["factor"] == "random_labels")]
    for key in ("liao-linear-relation", "liao-line-slope", "liao-raw-no-line", "liao-one-line"):
        result = verdict(key, two)
        assert result.status == INCONCLUSIVE and "3 networks" in result.reason, key


def test_line_slope_is_compared_with_the_papers_level():
    at_level = verdict("liao-line-slope", liao_frame(slope=0.85))
    assert at_level.outcome_text == "supported, at the paper's level"
    assert "0.8358 (Fig. 4)" in at_level.evidence
    below = verdict("liao-line-slope", liao_frame(slope=0.5))
    assert below.supported and below.level_reached is False
    assert status("liao-line-slope", liao_frame(slope=-0.5)) == NOT_SUPPORTED


def test_raw_losses_show_no_line():
    assert status("liao-raw-no-line", liao_frame()) == SUPPORTED
    assert status("liao-raw-no-line", liao_frame(raw_line=True)) == NOT_SUPPORTED
    mixed = pd.concat([liao_frame(n_repeats=2), liao_frame(raw_line=True).assign(repeat=5)])
    assert status("liao-raw-no-line", mixed) == INCONCLUSIVE


# ------------------------------------------------------------------------------ Lp norms
@pytest.mark.parametrize("key, norm", [("liao-lp-norm-l1", "l1"), ("liao-lp-norm-linf", "linf")])
def test_the_lp_norm_lines_are_compared_by_their_slopes(key, norm):
    assert status(key, liao_frame()) == SUPPORTED
    steeper = liao_frame(norms={"l1": 1.5, "linf": 1.5})
    result = verdict(key, steeper)
    assert result.status == NOT_SUPPORTED and "1.5000 and 0.8500" in result.evidence
    loose = liao_frame()  # one repeat 0.2 steeper: the interval reaches past the margin
    first = loose["repeat"] == 0
    distance = 2.3 - loose.loc[first, f"normalized_train_loss_{norm}"]
    loose.loc[first, f"normalized_test_loss_{norm}"] -= 0.2 * distance
    assert status(key, loose) == INCONCLUSIVE
    older = liao_frame().drop(columns=[f"normalized_test_loss_{norm}"])
    assert CLAIMS[key].verdict(older) is None


# ---------------------------------------------------------------------------- random labels
def test_the_random_label_network_is_judged_by_the_lines_r2_with_it():
    on = verdict("liao-random-labels", liao_frame(random_offset=0.0))
    assert on.outcome_text == "supported, at the paper's level"
    assert "fitted its random labels in 3 of 3 repeats" in on.evidence
    assert status("liao-random-labels", liao_frame(random_offset=-0.2)) == NOT_SUPPORTED
    one_off = liao_frame(random_offset=0.0)  # off the line in one repeat only
    random_0 = (one_off["factor"] == "random_labels") & (one_off["repeat"] == 0)
    one_off.loc[random_0, "normalized_test_loss"] -= 0.2
    assert status("liao-random-labels", one_off) == INCONCLUSIVE
    unfitted = liao_frame(random_offset=0.0)
    unfitted.loc[unfitted["factor"] == "random_labels", "converged"] = False
    result = verdict("liao-random-labels", unfitted)
    assert result.status == INCONCLUSIVE and "did not fit its labels" in result.reason
    assert CLAIMS["liao-random-labels"].verdict(liao_frame(random_offset=None)) is None


# ------------------------------------------------------------------ equal training loss, worse test
@pytest.mark.parametrize("key", ["liao-pretraining-worse", "liao-init-worse"])
def test_worse_test_loss_is_a_paired_difference_at_equal_training_loss(key):
    worse = verdict(key, liao_frame(effect=0.05))
    assert worse.status == SUPPORTED and "training loss difference" in worse.evidence
    assert status(key, liao_frame(effect=-0.05)) == NOT_SUPPORTED
    unequal = verdict(key, liao_frame(converged=False))
    assert unequal.status == INCONCLUSIVE and "common training loss" in unequal.reason
    assert status(key, liao_frame(n_repeats=1)) == INCONCLUSIVE


def test_paired_difference_holding_zero_is_inconclusive():
    frame = liao_frame(effect=0.0)
    top = frame["level"] == 1.0
    frame.loc[top, "test_loss"] += np.where(frame.loc[top, "repeat"] == 0, 0.05, -0.02)
    assert status("liao-pretraining-worse", frame) == INCONCLUSIVE


def test_a_frame_without_the_factor_leaves_its_claims_out():
    pretraining = liao_frame()
    pretraining = pretraining[pretraining["factor"] == "pretraining"]
    keys = [v.key for v in judge_claims(NORMALIZED_LOSS_CLAIMS, pretraining)]
    assert "liao-init-worse" not in keys and "liao-one-line" not in keys
    assert "liao-random-labels" not in keys and "liao-linear-relation" in keys


# ------------------------------------------------------------------------------- one line
def test_one_line_compares_the_slopes_of_the_two_factors():
    assert status("liao-one-line", liao_frame(init_slope=0.86)) == SUPPORTED
    assert status("liao-one-line", liao_frame(init_slope=-2.0)) == NOT_SUPPORTED
    frame = liao_frame(init_slope=0.85)
    init0 = (frame["factor"] == "init_scale") & (frame["repeat"] == 0)
    frame.loc[init0, "normalized_test_loss"] += 0.2 * (frame.loc[init0, "level"] - 1.0) * 0.015
    assert status("liao-one-line", frame) == INCONCLUSIVE
