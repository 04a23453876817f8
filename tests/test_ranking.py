"""The ranking criteria: Psi, conditional mutual information, robust sign-error, intervals.

Each criterion is checked against a reference written out plainly from its paper's
definition (Jiang et al. 2020, Eq. 2 and 4 and Sec. 4; Dziugaite et al. 2020's
environments), on zoos with 2- and 3-level axes, ties, seeds and a string axis.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from sklearn_gen.studies._correlation import measure_correlation
from sklearn_gen.studies._ranking import (
    MIN_BOOTSTRAP_MODELS,
    compare_measures,
    conditional_mutual_information,
    noise_threshold,
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


def _reference_sign_errors(
    frame: pd.DataFrame,
    measure: str,
    axes: list[str],
    min_gap: float = 0.0,
    n_test: float | None = None,
    min_ess: float = 0.0,
) -> list[float]:
    """Dziugaite et al.'s environments written out: every pair of configurations that
    differ in exactly one axis, its models' pairs weighted (1, or ``(p - 1/2)_+`` with
    ``p = 1 - exp(-n dg^2 / 2)``), kept at an effective sample size of ``min_ess``."""
    configurations = list(frame.groupby(axes))
    errors = []
    for (one, rows_one), (two, rows_two) in itertools.combinations(configurations, 2):
        if sum(a != b for a, b in zip(one, two, strict=True)) != 1:
            continue
        weights, wrongs = [], []
        for (_, a), (_, b) in itertools.product(rows_one.iterrows(), rows_two.iterrows()):
            dg, dm = a["gap"] - b["gap"], a[measure] - b[measure]
            if abs(dg) <= min_gap:
                continue
            w = 1.0 if n_test is None else max(1.0 - math.exp(-n_test * dg**2 / 2) - 0.5, 0.0)
            if w == 0:
                continue
            agree = np.sign(dm) * np.sign(dg)
            weights.append(w)
            wrongs.append(0.5 if agree == 0 else float(agree < 0))
        if not weights:
            continue
        if sum(weights) ** 2 / sum(w * w for w in weights) < min_ess:
            continue
        errors.append(float(np.dot(weights, wrongs) / sum(weights)))
    return errors


@pytest.mark.parametrize("measure", ["oracle", "reversed", "noise", "lr_only"])
def test_robust_sign_error_is_the_worst_environment(measure):
    frame = _zoo()
    robust, mean, n = robust_sign_error(frame, measure, "gap", AXES)
    reference = _reference_sign_errors(frame, measure, AXES)
    assert n == len(reference)
    assert robust == pytest.approx(max(reference)) and mean == pytest.approx(np.mean(reference))
    if measure == "oracle":
        assert robust == 0.0
    if measure == "reversed":
        assert robust == 1.0
    if measure == "lr_only":  # a tie within every width or depth environment: one half
        assert robust == 0.5


def test_an_environment_is_one_pair_of_settings_not_every_pair_of_an_axis():
    # the reproducer: 3 learning rates are 3 environments; one is ordered wrong
    frame = pd.DataFrame({"lr": [1, 2, 3], "gap": [0.1, 0.2, 0.3], "measure": [1, 3, 2]})
    robust, mean, n = robust_sign_error(frame, "measure", "gap", ["lr"])
    assert n == 3
    assert robust == pytest.approx(1.0) and mean == pytest.approx(1 / 3)


def test_tau_and_psi_agree_with_measure_correlation():
    frame = _zoo()
    names = ["oracle", "lr_only", "noise"]
    table = rank_measures(frame, names, "gap", AXES, n_bootstrap=0).set_index("measure")
    reference = measure_correlation(frame, names, "gap", AXES).set_index("measure")
    for column in ("kendall_tau", "psi", "psi_lr", "psi_width", "psi_depth"):
        np.testing.assert_allclose(table.loc[names, column], reference.loc[names, column])


def test_rank_measures_orders_by_signed_cmi_with_intervals_that_hold_the_estimate():
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


# ------------------------------------------------------------------------------ Psi
def _reference_tau(x: pd.Series, y: pd.Series, variant: str) -> float:
    """Kendall's tau inside a group: scipy's tau-b (a constant variable counts 0), or
    Jiang et al.'s Eq. 2 (tau-a) by summing over the pairs."""
    if variant == "b":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns on a constant input
            tau = kendalltau(x, y).statistic
        return 0.0 if np.isnan(tau) else float(tau)
    pairs = list(itertools.combinations(range(len(x)), 2))
    signs = [np.sign(x.iloc[i] - x.iloc[j]) * np.sign(y.iloc[i] - y.iloc[j]) for i, j in pairs]
    return float(np.sum(signs) / len(pairs))


def _reference_psi(
    frame: pd.DataFrame, measure: str, axes: list[str], variant: str = "b", repeats="pool"
) -> dict[str, float]:
    """Jiang et al.'s Eq. 4: psi_i the mean tau over every setting of the other axes under
    which axis i varies (a constant group counts 0), Psi the mean over the axes."""
    if repeats == "mean":
        frame = frame.groupby(axes, as_index=False)[[measure, "gap"]].mean()
    out = {}
    for axis in axes:
        others = [a for a in axes if a != axis]
        groups = [group for _, group in frame.groupby(others)] if others else [frame]
        taus = [
            _reference_tau(group[measure], group["gap"], variant)
            for group in groups
            if group[axis].nunique() >= 2
        ]
        out[axis] = float(np.mean(taus)) if taus else float("nan")
    out["psi"] = float(np.nanmean([out[a] for a in axes]))
    return out


def _zoo_three_levels(seed: int = 1, n_seeds: int = 2) -> pd.DataFrame:
    """3 x 3 x 2 configurations, a string axis, coarse measures with ties."""
    rng = np.random.default_rng(seed)
    rows = [
        {"lr": lr, "width": w, "opt": o, "seed": s}
        for lr, w, o, s in itertools.product(
            (0.01, 0.03, 0.1), (16, 32, 64), ("sgd", "adam"), range(n_seeds)
        )
    ]
    frame = pd.DataFrame(rows)
    n = len(frame)
    frame["gap"] = np.round(
        0.2 * np.log10(frame["lr"]) + 0.02 * np.log2(frame["width"]) + rng.normal(0, 0.02, n),
        2,  # rounded: ties in the gap, as test accuracies have
    )
    frame["oracle"] = frame["gap"]
    frame["coarse"] = np.round(frame["gap"] * 5)  # few values: many ties
    frame["lr_only"] = np.log10(frame["lr"])
    frame["noise"] = rng.normal(size=n)
    return frame


THREE_AXES = ["lr", "width", "opt"]


@pytest.mark.parametrize(
    "zoo, axes",
    [
        (_zoo, AXES),
        (lambda: _zoo_three_levels(1), THREE_AXES),
        (lambda: _zoo_three_levels(2, n_seeds=1), THREE_AXES),
    ],
    ids=["2-3-2 levels, 2 seeds", "3-3-2 levels, 2 seeds", "3-3-2 levels, 1 seed"],
)
@pytest.mark.parametrize("variant", ["b", "a"])
@pytest.mark.parametrize("repeats", ["pool", "mean"])
def test_psi_is_jiangs_definition(zoo, axes, variant, repeats):
    frame = zoo()
    names = [m for m in ("oracle", "coarse", "lr_only", "noise") if m in frame]
    table = measure_correlation(
        frame, names, "gap", axes, tau_variant=variant, repeats=repeats
    ).set_index("measure")
    ranked = rank_measures(
        frame, names, "gap", axes, tau_variant=variant, repeats=repeats, n_bootstrap=0
    ).set_index("measure")
    for name in names:
        reference = _reference_psi(frame, name, axes, variant, repeats)
        for axis in axes:
            assert table.loc[name, f"psi_{axis}"] == pytest.approx(reference[axis], abs=1e-12)
        assert table.loc[name, "psi"] == pytest.approx(reference["psi"], abs=1e-12)
        assert ranked.loc[name, "psi"] == pytest.approx(reference["psi"], abs=1e-12)
    # a measure that only tracks lr is constant along the other axes: 0 there, not left out
    assert table.loc["lr_only", "psi_width"] == 0.0
    assert table.loc["lr_only", "psi"] < 0.5


def test_psi_of_a_measure_constant_along_an_axis_is_not_rewarded():
    # the reproducer: the measure is lr itself; along width it is constant
    frame = pd.DataFrame({"lr": [1, 1, 2, 2], "width": [1, 2, 1, 2], "gap": [0.1, 0.2, 0.3, 0.4]})
    frame["measure"] = frame["lr"].astype(float)
    row = measure_correlation(frame, "measure", "gap", ["lr", "width"]).iloc[0]
    assert (row["psi_lr"], row["psi_width"]) == (1.0, 0.0)
    assert row["psi"] == pytest.approx(0.5)
    ranked = rank_measures(frame, "measure", "gap", ["lr", "width"], n_bootstrap=0)
    assert ranked["psi"].iloc[0] == pytest.approx(0.5)


def test_kendall_tau_is_scipys_tau_b_or_jiangs_tau_a():
    frame = _zoo_three_levels(3)
    for name in ("oracle", "coarse", "noise"):
        b = rank_measures(frame, name, "gap", THREE_AXES, n_bootstrap=0)["kendall_tau"].iloc[0]
        a = rank_measures(frame, name, "gap", THREE_AXES, tau_variant="a", n_bootstrap=0)
        assert b == pytest.approx(kendalltau(frame[name], frame["gap"]).statistic, abs=1e-12)
        assert a["kendall_tau"].iloc[0] == pytest.approx(
            _reference_tau(frame[name], frame["gap"], "a"), abs=1e-12
        )
    # with ties tau-a is smaller in size than tau-b
    assert abs(a["kendall_tau"].iloc[0]) <= abs(b) + 1e-12


def test_complete_groups_leave_out_the_groups_a_dropped_model_unbalanced():
    frame = _zoo_three_levels(4)
    dropped = frame.drop(index=[0, 7]).reset_index(drop=True)  # two models missed the rule
    names = ["oracle", "noise"]
    full = rank_measures(dropped, names, "gap", THREE_AXES, n_bootstrap=0).set_index("measure")
    complete = rank_measures(
        dropped, names, "gap", THREE_AXES, complete_groups=True, n_bootstrap=0
    ).set_index("measure")
    configuration = dropped.groupby(THREE_AXES).size()
    repeats = configuration.max()
    for name in names:
        psis = []
        for axis in THREE_AXES:
            others = [a for a in THREE_AXES if a != axis]
            n_values = dropped[axis].nunique()
            taus = [
                _reference_tau(group[name], group["gap"], "b")
                for _, group in dropped.groupby(others)
                if group[axis].nunique() == n_values and len(group) == n_values * repeats
            ]
            assert complete.loc[name, f"psi_{axis}"] == pytest.approx(np.mean(taus))
            psis.append(np.mean(taus))
        assert complete.loc[name, "psi"] == pytest.approx(np.mean(psis))
        assert full.loc[name, "psi"] == pytest.approx(
            _reference_psi(dropped, name, THREE_AXES)["psi"]
        )


# ------------------------------------------------------------------------------ sign-errors
@pytest.mark.parametrize("n_seeds", [1, 2, 4])
@pytest.mark.parametrize("measure", ["oracle", "coarse", "noise"])
def test_sign_errors_agree_with_dziugaites_environments_weights_and_ess(n_seeds, measure):
    frame = _zoo_three_levels(5, n_seeds=n_seeds)
    n_test = 500
    for kwargs, reference_kwargs in [
        ({}, {}),
        ({"min_gap_difference": 0.03}, {"min_gap": 0.03}),
        ({"weights": "hoeffding", "n_test": n_test}, {"n_test": n_test}),
        (
            {"weights": "hoeffding", "n_test": n_test, "min_ess": 3},
            {"n_test": n_test, "min_ess": 3},
        ),
    ]:
        robust, mean, n = robust_sign_error(frame, measure, "gap", THREE_AXES, **kwargs)
        reference = _reference_sign_errors(frame, measure, THREE_AXES, **reference_kwargs)
        assert n == len(reference)
        if reference:
            assert robust == pytest.approx(max(reference), abs=1e-12)
            assert mean == pytest.approx(np.mean(reference), abs=1e-12)
        else:
            assert np.isnan(robust) and np.isnan(mean)


def test_a_single_seed_zoo_has_no_environment_at_dziugaites_effective_sample_size():
    frame = _zoo_three_levels(6, n_seeds=1)
    robust, mean, n = robust_sign_error(frame, "oracle", "gap", THREE_AXES, min_ess=12)
    assert n == 0 and np.isnan(robust) and np.isnan(mean)
    # the test sizes may be a column, as in a study's frame
    frame["n_test"] = 400
    by_column = robust_sign_error(
        frame, "noise", "gap", THREE_AXES, weights="hoeffding", n_test="n_test"
    )
    by_int = robust_sign_error(frame, "noise", "gap", THREE_AXES, weights="hoeffding", n_test=400)
    assert by_column == by_int
    with pytest.raises(ValueError, match="n_test is required"):
        robust_sign_error(frame, "noise", "gap", THREE_AXES, weights="hoeffding")
    with pytest.raises(ValueError, match="weights"):
        robust_sign_error(frame, "noise", "gap", THREE_AXES, weights="dziugaite")
    with pytest.raises(ValueError, match="min_ess"):
        robust_sign_error(frame, "noise", "gap", THREE_AXES, min_ess=-1)


def test_the_hoeffding_weight_vanishes_at_the_noise_threshold():
    n = 899
    threshold = noise_threshold(n)
    assert 1.0 - math.exp(-n * threshold**2 / 2) == pytest.approx(0.5)
    frame = pd.DataFrame({"lr": [1, 2], "gap": [0.0, 0.99 * threshold], "m": [1.0, 0.0]})
    assert robust_sign_error(frame, "m", "gap", ["lr"], weights="hoeffding", n_test=n)[2] == 0
    frame["gap"] = [0.0, 1.01 * threshold]
    assert robust_sign_error(frame, "m", "gap", ["lr"], weights="hoeffding", n_test=n) == (
        1.0,
        1.0,
        1,
    )


# ------------------------------------------------------------------------------ the sign of CMI
def test_signed_cmi_flags_a_measure_informative_the_wrong_way():
    frame = _zoo()
    table = rank_measures(
        frame, ["reversed", "noise", "oracle"], "gap", AXES, n_bootstrap=0
    ).set_index("measure")
    assert table.loc["reversed", "cmi"] == pytest.approx(1.0)  # blind to the direction
    assert table.loc["reversed", "signed_cmi"] == pytest.approx(-1.0)
    assert table.loc["reversed", "wrong_direction"]
    assert not table.loc["oracle", "wrong_direction"]
    for name in table.index:
        sign = np.sign(table.loc[name, "kendall_tau"])
        assert table.loc[name, "signed_cmi"] == pytest.approx(sign * table.loc[name, "cmi"])
    order = rank_measures(frame, ["reversed", "noise", "oracle"], "gap", AXES, n_bootstrap=0)
    assert list(order["measure"]) == ["oracle", "noise", "reversed"]


# ------------------------------------------------------------------------------ rough edges
def test_too_few_models_give_no_interval_and_say_so():
    frame = pd.DataFrame({"lr": [1, 2], "gap": [0.1, 0.2], "m": [1.0, 2.0]})
    with pytest.warns(UserWarning, match="too few for a bootstrap interval"):
        table = rank_measures(frame, "m", "gap", ["lr"], n_bootstrap=50, random_state=0)
    assert table["kendall_tau"].iloc[0] == 1.0
    assert table[["kendall_tau_low", "kendall_tau_high"]].isna().all(axis=None)
    with pytest.warns(UserWarning, match="too few"):
        _, low, high = compare_measures(frame, "m", "m", "gap", ["lr"], random_state=0)
    assert np.isnan(low) and np.isnan(high)
    enough = _zoo().iloc[:MIN_BOOTSTRAP_MODELS]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        table = rank_measures(enough, "oracle", "gap", AXES, n_bootstrap=20, random_state=0)
    assert np.isfinite(table["kendall_tau_low"].iloc[0])


def test_the_options_are_checked_before_any_work():
    frame = _zoo()
    with pytest.raises(ValueError, match="tau_variant"):
        rank_measures(frame, "oracle", "gap", AXES, tau_variant="c")
    with pytest.raises(ValueError, match="repeats"):
        measure_correlation(frame, "oracle", "gap", AXES, repeats="median")
    with pytest.raises(ValueError, match="complete_groups"):
        rank_measures(frame, "oracle", "gap", AXES, complete_groups="yes")
    with pytest.raises(ValueError, match="criterion"):
        compare_measures(frame, "oracle", "noise", "gap", AXES, criterion="auc")
    with pytest.raises(ValueError, match="n_test"):
        rank_measures(frame, "oracle", "gap", AXES, weights="hoeffding", n_test=0)
