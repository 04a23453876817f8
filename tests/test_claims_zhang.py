"""Zhang et al.'s claims (randomization test, regularization ablation, expressivity),
each driven through synthetic frames to every outcome it can give."""

from __future__ import annotations

import pandas as pd
import pytest

from sklearn_gen.studies._claims import judge_claims
from sklearn_gen.studies._randomization import (
    ABLATION_CLAIMS,
    EXPRESSIVITY_CLAIMS,
    RANDOMIZATION_CLAIMS,
)
from sklearn_gen.studies._verdicts import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED

PIXELS = ("shuffled pixels", "random pixels", "gaussian")


def judged(claims, frame: pd.DataFrame) -> dict:
    return {v.key: v for v in judge_claims(claims, frame)}


# ------------------------------------------------------------------ randomization test
def _curve(condition: str, repeat: int, *, half: int, final: float, converged: bool) -> list:
    """A fit whose training accuracy reaches 0.5 at epoch ``half`` and ends at ``final``."""
    epochs = 2 * half
    return [
        {
            "panel": "curves",
            "condition": condition,
            "p": 1.0 if condition == "random labels" else 0.0,
            "repeat": repeat,
            "epoch": epoch,
            "end_of_epoch_train_accuracy": min(final, epoch / epochs),
            "train_accuracy": final,
            "epochs_to_fit": epochs,
            "converged": converged,
        }
        for epoch in range(1, epochs + 1)
    ]


def randomization_frame(
    n_repeats: int = 2,  # 6 fits of 3 levels: an exact trend test, quick
    levels=(0.0, 0.5, 1.0),
    *,
    error=lambda p: 0.05 + 0.8 * p,
    epochs=lambda p: 20 * (1 + 2 * p),
    random_fit: float = 1.0,
    random_half: int = 30,
    pixel_half: int = 8,
    converged: bool = True,
) -> pd.DataFrame:
    rows = []
    for repeat in range(n_repeats):
        for p in levels:
            rows.append(
                {
                    "panel": "corruption",
                    "condition": "corrupted labels",
                    "p": p,
                    "repeat": repeat,
                    "test_error": error(p) + 0.01 * repeat,
                    "epochs_to_fit": epochs(p) + repeat,
                    "converged": converged,
                    "train_accuracy": 1.0,
                }
            )
        rows += _curve(
            "random labels",
            repeat,
            half=random_half + repeat,
            final=random_fit,
            converged=converged,
        )
        for condition in PIXELS:
            rows += _curve(condition, repeat, half=pixel_half, final=1.0, converged=True)
    return pd.DataFrame(rows)


def test_the_randomization_claims_supported_with_repeats():
    verdicts = judged(RANDOMIZATION_CLAIMS, randomization_frame())
    assert {k: v.status for k, v in verdicts.items()} == dict.fromkeys(
        (c.key for c in RANDOMIZATION_CLAIMS), SUPPORTED
    )
    assert verdicts["random-labels-fitted"].level_reached is True
    assert "Spearman rho" in verdicts["corruption-test-error-rises"].evidence
    factor = verdicts["small-constant-factor"]
    assert "geometric mean over 2 repeats" in factor.evidence and factor.paper
    faster = verdicts["random-pixels-converge-faster"]
    assert "random labels / random pixels" in faster.evidence
    assert '"random pixels" and "Gaussian"' in faster.claim


def test_the_rademacher_claim_is_derived_from_the_random_label_fits():
    (claim,) = [c for c in RANDOMIZATION_CLAIMS if c.key == "rademacher-trivial-bound"]
    assert claim.scope == "derived" and "random-labels-fitted" in claim.note
    verdicts = judged(RANDOMIZATION_CLAIMS, randomization_frame())
    assert "not independent evidence" in verdicts["rademacher-trivial-bound"].claim
    # fits that stop (their rule met) at 60% of random labels: 2a - 1 = 0.2, far from 1
    half = judged(RANDOMIZATION_CLAIMS, randomization_frame(random_fit=0.6))
    assert half["rademacher-trivial-bound"].status == NOT_SUPPORTED
    assert half["random-labels-fitted"].status == NOT_SUPPORTED


def test_the_randomization_claims_inconclusive_at_small_scale():
    # one repeat of three levels: no interval, too few fits for the trend tests
    verdicts = judged(RANDOMIZATION_CLAIMS, randomization_frame(n_repeats=1))
    assert {v.status for v in verdicts.values()} == {INCONCLUSIVE}
    assert "too few repeats" in verdicts["random-labels-fitted"].reason
    assert "too few" in verdicts["corruption-test-error-rises"].reason
    # random labels not fitted within the budget: inconclusive, with the reason
    unfit = judged(RANDOMIZATION_CLAIMS, randomization_frame(random_fit=0.4, converged=False))
    for key in ("random-labels-fitted", "rademacher-trivial-bound"):
        assert unfit[key].status == INCONCLUSIVE and "epoch budget" in unfit[key].reason
    for key in ("corruption-slows-fitting", "small-constant-factor"):
        assert unfit[key].status == INCONCLUSIVE and "censored" in unfit[key].reason
    never = unfit["random-pixels-converge-faster"]  # random labels never reach half
    assert never.status == INCONCLUSIVE and "never reached" in never.reason


def test_the_randomization_claims_not_supported():
    verdicts = judged(
        RANDOMIZATION_CLAIMS,
        randomization_frame(
            error=lambda p: 0.5 - 0.1 * p,  # test error falls with p
            epochs=lambda p: 40 - 10 * p if p < 1 else 800,  # 20x slower, and faster at 0.5
            random_half=4,  # random labels start converging before random pixels
            pixel_half=30,
        ),
    )
    assert verdicts["corruption-test-error-rises"].status == NOT_SUPPORTED
    assert verdicts["small-constant-factor"].status == NOT_SUPPORTED
    assert verdicts["random-pixels-converge-faster"].status == NOT_SUPPORTED
    assert verdicts["gaussian-converge-faster"].status == NOT_SUPPORTED
    flat = judged(RANDOMIZATION_CLAIMS, randomization_frame(epochs=lambda p: 150 - 100 * p))
    assert flat["corruption-slows-fitting"].status == NOT_SUPPORTED


def test_a_frame_without_a_panel_answers_none_of_its_claims():
    only_curves = randomization_frame(levels=(0.0,))
    keys = set(judged(RANDOMIZATION_CLAIMS, only_curves))
    assert "corruption-test-error-rises" not in keys and "random-labels-fitted" in keys
    assert judged(RANDOMIZATION_CLAIMS, pd.DataFrame({"p": [0.0], "repeat": [0]})) == {}


# ---------------------------------------------------------------- regularization ablation
SETTINGS = ("baseline", "+weight_decay", "+augment", "+dropout", "+batch_norm")


def ablation_frame(
    accuracy: dict | None = None,
    *,
    n_repeats: int = 3,
    random_fit: float = 1.0,
    heldout: tuple[float, float] | None = (0.95, 0.95),
) -> pd.DataFrame:
    """Test accuracy per setting (``accuracy``, one value or one per repeat: the
    baseline's 0.90 otherwise), random
    labels at p=1 fitted to ``random_fit``, the held-out baseline's (best, last)."""
    accuracy = {"baseline": 0.90, **(accuracy or {})}
    rows = []
    for repeat in range(n_repeats):
        jitter = 0.004 * (repeat - 1)
        for setting in SETTINGS:
            clean = accuracy.get(setting, accuracy["baseline"])
            clean = (clean[repeat] if isinstance(clean, list) else clean) + jitter
            for p, test, fit in ((0.0, clean, 1.0), (1.0, 0.1 + jitter, random_fit)):
                rows.append(
                    {
                        "setting": setting,
                        "p": p,
                        "repeat": repeat,
                        "test_accuracy": test,
                        "train_accuracy": fit,
                        "interpolated": fit == 1.0,
                        "epochs": 40,
                        "n_train": 1000,
                        "n_test": 450,
                        "n_classes": 10,
                    }
                )
        if heldout is not None:
            best, last = heldout
            rows.append(
                {
                    "setting": "baseline, held out",
                    "p": 0.0,
                    "repeat": repeat,
                    "n_train": 1000,
                    "n_test": 450,
                    "n_classes": 10,
                    "heldout_best_accuracy": best + jitter,
                    "heldout_final_accuracy": last + jitter * (1 + repeat),
                    "heldout_best_epoch": 5 + repeat,
                    "epochs": 40,
                }
            )
    return pd.DataFrame(rows)


def test_the_ablation_claims_supported():
    frame = ablation_frame({"+augment": 0.95, "+weight_decay": 0.91, "+batch_norm": 0.92})
    verdicts = judged(ABLATION_CLAIMS, frame)
    assert {k: v.status for k, v in verdicts.items() if k != "alexnet-weight-decay-fails"} == {
        "regularizers-not-necessary": SUPPORTED,
        "augmentation-over-weight-decay": SUPPORTED,
        "batch-norm-small-impact": SUPPORTED,
        "early-stopping-cifar10": SUPPORTED,
        "weight-decay-fits-random-labels": SUPPORTED,
        "dropout-fits-random-labels": SUPPORTED,
    }
    assert "chance band" in verdicts["regularizers-not-necessary"].evidence
    augment = verdicts["augmentation-over-weight-decay"]
    assert augment.level_reached is True and "89.31%" in augment.paper
    assert "ImageNet" in augment.claim and "Table 1" in augment.claim
    assert "3∼4%" in verdicts["batch-norm-small-impact"].claim
    early = verdicts["early-stopping-cifar10"]
    assert "rule changed after a run" in early.claim and "CIFAR10" in early.claim
    assert "5/40" in early.evidence and "in units of the noise" in early.evidence


def test_the_ablation_claims_not_supported():
    frame = ablation_frame(
        {"baseline": 0.11, "+augment": 0.10, "+weight_decay": 0.16, "+batch_norm": 0.20},
        heldout=(0.95, 0.80),  # the best epoch far above the last
    )
    verdicts = judged(ABLATION_CLAIMS, frame)
    for key in (
        "regularizers-not-necessary",  # at chance without regularizers
        "augmentation-over-weight-decay",
        "batch-norm-small-impact",  # 9 points, beyond the paper's 4
        "early-stopping-cifar10",
    ):
        assert verdicts[key].status == NOT_SUPPORTED, key


def test_a_small_gain_is_supported_in_direction_and_noisy_ones_are_inconclusive():
    small = judged(ABLATION_CLAIMS, ablation_frame({"+augment": 0.91, "+weight_decay": 0.90}))
    augment = small["augmentation-over-weight-decay"]
    assert augment.status == SUPPORTED and augment.level_reached is False
    assert augment.outcome_text.startswith("supported in direction")
    # the batch-norm change, 0.04 on average, straddles the margin; a gain at the noise
    edge = judged(
        ABLATION_CLAIMS,
        ablation_frame({"+batch_norm": [0.92, 0.96, 0.94]}, heldout=(0.95, 0.88)),
    )
    assert edge["batch-norm-small-impact"].status == INCONCLUSIVE
    assert edge["early-stopping-cifar10"].status == INCONCLUSIVE
    one = judged(ABLATION_CLAIMS, ablation_frame({"+augment": 0.95}, n_repeats=1))
    assert {v.status for v in one.values()} == {INCONCLUSIVE}


def test_random_labels_with_regularizers_unfitted_within_the_budget_are_inconclusive():
    verdicts = judged(ABLATION_CLAIMS, ablation_frame(random_fit=0.6))
    for key in ("weight-decay-fits-random-labels", "dropout-fits-random-labels"):
        assert verdicts[key].status == INCONCLUSIVE and "epoch budget" in verdicts[key].reason


def test_the_alexnet_claim_needs_an_alexnet():
    verdicts = judged(ABLATION_CLAIMS, ablation_frame())
    alexnet = verdicts["alexnet-weight-decay-fails"]
    assert alexnet.status == INCONCLUSIVE and "trains no AlexNet" in alexnet.reason

    def with_alexnet(fit: float) -> pd.DataFrame:
        frame = ablation_frame(random_fit=fit).assign(architecture="small_alexnet")
        return pd.concat([ablation_frame().assign(architecture="mlp"), frame])

    fails = judged(ABLATION_CLAIMS, with_alexnet(0.2))["alexnet-weight-decay-fails"]
    assert fails.status == SUPPORTED
    fits = judged(ABLATION_CLAIMS, with_alexnet(1.0))["alexnet-weight-decay-fails"]
    assert fits.status == NOT_SUPPORTED


def test_a_frame_without_a_setting_leaves_its_claim_out():
    frame = ablation_frame(heldout=None)
    frame = frame[~frame["setting"].isin(["+augment", "+batch_norm"])]
    keys = set(judged(ABLATION_CLAIMS, frame))
    assert keys.isdisjoint(
        {"augmentation-over-weight-decay", "batch-norm-small-impact", "early-stopping-cifar10"}
    )
    assert "regularizers-not-necessary" in keys


# --------------------------------------------------------------------------- expressivity
def expressivity_frame(accuracy: float = 1.0, n_repeats: int = 3, extra: int = 0):
    return pd.DataFrame(
        [
            {
                "n": n,
                "d": 50,
                "repeat": repeat,
                "n_params": 2 * n + 50 + extra,
                "train_accuracy": 1.0 if n < 1000 else accuracy,
            }
            for n in (100, 300, 1000)
            for repeat in range(n_repeats)
        ]
    )


@pytest.mark.parametrize(
    "frame, status",
    [
        (expressivity_frame(), SUPPORTED),
        (expressivity_frame(accuracy=0.5), NOT_SUPPORTED),
        (expressivity_frame(n_repeats=1), INCONCLUSIVE),
        (expressivity_frame(extra=1), INCONCLUSIVE),
    ],
)
def test_the_expressivity_claim(frame, status):
    (verdict,) = judge_claims(EXPRESSIVITY_CLAIMS, frame)
    assert verdict.status == status
    assert "n=1000:" in verdict.evidence and "Theorem 1" in verdict.claim


def test_the_claims_are_declared_once_with_the_papers_words():
    claims = RANDOMIZATION_CLAIMS + ABLATION_CLAIMS + EXPRESSIVITY_CLAIMS
    keys = [c.key for c in claims]
    assert len(keys) == len(set(keys))
    assert all(c.paper == "Zhang et al. 2017" and c.quote and c.where for c in claims)
    assert [c.key for c in claims if c.rule_changed] == ["early-stopping-cifar10"]
