"""The ranking criteria: conditional mutual information, robust sign-error, bootstrap intervals."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from sklearn_gen.studies._correlation import measure_correlation
from sklearn_gen.studies._ranking import (
    conditional_mutual_information,
    rank_measures,
    robust_sign_error,
)

AXES = ["lr", "width", "depth"]


def _zoo(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        {"lr": lr, "width": w, "depth": d, "seed": s}
        for lr, w, d, s in itertools.product((0.01, 0.1), (8, 32, 128), (1, 2), (0, 1))
    ]
    frame = pd.DataFrame(rows)
    frame["gap"] = 0.3 * np.log10(frame["lr"]) + 0.05 * frame["depth"] + rng.normal(0, 0.03, 24)
    frame["oracle"] = frame["gap"]
    frame["lr_only"] = np.log10(frame["lr"])  # tracks one hyperparameter, nothing else
    frame["noise"] = rng.normal(size=24)
    frame["reversed"] = -frame["gap"]
    return frame


def _naive_cmi(frame: pd.DataFrame, measure: str, subset: tuple[str, ...]) -> float:
    """I(V_mu; V_g | U_S) / H(V_g | U_S) by counting ordered pairs, written out plainly."""
    cells: dict[tuple, Counter] = {}
    rows = frame.to_dict("records")
    for a, b in itertools.permutations(range(len(rows)), 2):
        dg = rows[a]["gap"] - rows[b]["gap"]
        dm = rows[a][measure] - rows[b][measure]
        if dg == 0:
            continue
        u = (tuple(rows[a][k] for k in subset), tuple(rows[b][k] for k in subset))
        cells.setdefault(u, Counter())[(int(np.sign(dm)), dg > 0)] += 1
    total = sum(sum(c.values()) for c in cells.values())
    mi = h = 0.0
    for counter in cells.values():
        n = sum(counter.values())
        pu = n / total
        for (vm, vg), count in counter.items():
            p = count / n
            pm = sum(c for (m, _), c in counter.items() if m == vm) / n
            pg = sum(c for (_, g), c in counter.items() if g == vg) / n
            mi += pu * p * math.log(p / (pm * pg))
        for vg in (False, True):
            pg = sum(c for (_, g), c in counter.items() if g == vg) / n
            if pg > 0:
                h -= pu * pg * math.log(pg)
    return mi / h if h > 1e-12 else float("nan")


@pytest.mark.parametrize("measure", ["oracle", "lr_only", "noise"])
def test_conditional_mutual_information_is_the_minimum_of_the_counted_definition(measure):
    frame = _zoo()
    got = conditional_mutual_information(frame, measure, "gap", AXES, max_conditioning=2)
    for size in range(3):
        naive = [_naive_cmi(frame, measure, s) for s in itertools.combinations(AXES, size)]
        finite = [v for v in naive if np.isfinite(v)]
        assert got[size] == pytest.approx(min(finite), abs=1e-12)


def test_a_measure_that_only_tracks_one_hyperparameter_scores_zero_once_conditioned():
    frame = _zoo()
    oracle = conditional_mutual_information(frame, "oracle", "gap", AXES)
    lr_only = conditional_mutual_information(frame, "lr_only", "gap", AXES)
    assert oracle == {0: pytest.approx(1.0), 1: pytest.approx(1.0), 2: pytest.approx(1.0)}
    assert lr_only[0] > 0.3  # lr drives most of the gap: unconditioned it looks good
    assert lr_only[1] == pytest.approx(0.0, abs=1e-12)  # given lr it says nothing


def _naive_sign_errors(frame: pd.DataFrame, measure: str) -> list[float]:
    errors = []
    for axis in AXES:
        others = [a for a in AXES if a != axis]
        for _, group in frame.groupby(others):
            bad = total = 0.0
            for (_, a), (_, b) in itertools.combinations(group.iterrows(), 2):
                if a[axis] == b[axis] or a["gap"] == b["gap"]:
                    continue
                agree = np.sign(a[measure] - b[measure]) * np.sign(a["gap"] - b["gap"])
                bad += 0.5 if agree == 0 else float(agree < 0)
                total += 1
            if total:
                errors.append(bad / total)
    return errors


@pytest.mark.parametrize("measure", ["oracle", "reversed", "noise", "lr_only"])
def test_robust_sign_error_is_the_worst_environment(measure):
    frame = _zoo()
    robust, mean, n = robust_sign_error(frame, measure, "gap", AXES)
    naive = _naive_sign_errors(frame, measure)
    assert n == len(naive)
    assert robust == pytest.approx(max(naive)) and mean == pytest.approx(np.mean(naive))
    if measure == "oracle":
        assert robust == 0.0
    if measure == "reversed":
        assert robust == 1.0
    if measure == "lr_only":  # a tie within every width or depth environment: one half
        assert robust == 0.5


def test_tau_and_psi_agree_with_measure_correlation():
    frame = _zoo()
    names = ["oracle", "lr_only", "noise"]
    table = rank_measures(frame, names, "gap", AXES, n_bootstrap=0).set_index("measure")
    reference = measure_correlation(frame, names, "gap", AXES).set_index("measure")
    for column in ("kendall_tau", "psi", "psi_lr", "psi_width", "psi_depth"):
        np.testing.assert_allclose(table.loc[names, column], reference.loc[names, column])


def test_rank_measures_orders_by_cmi_with_intervals_that_hold_the_estimate():
    frame = _zoo()
    measures = ["noise", "lr_only", "oracle", "reversed"]
    table = rank_measures(frame, measures, "gap", AXES, n_bootstrap=60, random_state=0)
    assert list(table["measure"][:1]) == ["oracle"]
    assert set(table["measure"]) == set(measures)
    again = rank_measures(frame, measures, "gap", AXES, n_bootstrap=60, random_state=0)
    pd.testing.assert_frame_equal(table, again)  # the same resamples: the same numbers
    oracle = table.set_index("measure").loc["oracle"]
    assert oracle["kendall_tau"] == pytest.approx(1.0) and oracle["robust_sign_error"] == 0.0
    for criterion in ("kendall_tau", "psi", "robust_sign_error"):
        low, high = table[f"{criterion}_low"], table[f"{criterion}_high"]
        assert np.all(low <= high)
    noise = table.set_index("measure").loc["noise"]
    assert noise["kendall_tau_low"] < 0 < noise["kendall_tau_high"]  # chance: 0 inside
    for column in ("psi_lr", "psi_width", "psi_depth", "cmi_0", "cmi_1", "cmi_2"):
        assert column in table.columns


def test_rank_measures_reads_cv_results_and_checks_its_arguments():
    frame = _zoo().rename(columns={a: f"param_{a}" for a in AXES})
    table = rank_measures(frame, "oracle", "gap", n_bootstrap=0)
    assert np.isnan(table["kendall_tau_low"].iloc[0])  # no resamples, no interval
    with pytest.raises(ValueError, match="n_bootstrap"):
        rank_measures(frame, "oracle", "gap", n_bootstrap=-1)
    with pytest.raises(ValueError, match="confidence"):
        rank_measures(frame, "oracle", "gap", confidence=1.5)
    with pytest.raises(ValueError, match="hyperparameters"):
        rank_measures(frame.drop(columns=[f"param_{a}" for a in AXES]), "oracle", "gap")
    with pytest.raises(ValueError, match="not a column"):
        rank_measures(frame, "missing", "gap")


def test_sign_errors_leave_out_gap_differences_within_the_noise():
    frame = _zoo()
    robust, mean, n = robust_sign_error(frame, "noise", "gap", AXES, min_gap_difference=10.0)
    assert n == 0 and np.isnan(robust) and np.isnan(mean)
    small = 0.06  # the depth effect (0.05) and the seed noise fall below it, lr's 0.3 not
    _, _, kept = robust_sign_error(frame, "oracle", "gap", AXES, min_gap_difference=small)
    _, _, every = robust_sign_error(frame, "oracle", "gap", AXES)
    assert 0 < kept < every
