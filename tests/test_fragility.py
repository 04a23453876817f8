"""The fragility audit: the share of one-hyperparameter changes that flip a measure's trend."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from sklearn_gen.studies import fragility_audit


def _zoo(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        {"lr": lr, "momentum": m, "width": w, "seed": s}
        for lr, m, w, s in itertools.product((0.05, 0.1), (0.0, 0.9), (8, 16, 32, 64), (0, 1))
    ]
    frame = pd.DataFrame(rows)
    frame["gap"] = 0.1 * np.log2(frame["width"]) + rng.normal(0, 0.02, len(frame))
    frame["steady"] = np.log2(frame["width"]) + rng.normal(0, 0.1, len(frame))
    # reverses its trend whenever momentum is on: every momentum change flips it
    frame["momentum_fragile"] = np.where(frame["momentum"] > 0, -1, 1) * frame["steady"]
    frame["noise"] = rng.normal(size=len(frame))
    return frame


def _naive(frame: pd.DataFrame, measure: str, axes: list[str]) -> tuple[int, int]:
    """Flips and usable changes, with scipy's tau-b on each sub-zoo, written out plainly."""
    flips = usable = 0
    for axis in axes:
        others = [a for a in axes if a != axis]
        for _, context in frame.groupby(others):
            values = sorted(context[axis].unique())
            for before, after in itertools.pairwise(values):
                taus = [
                    kendalltau(part[measure], part["gap"]).statistic
                    for part in (context[context[axis] == before], context[context[axis] == after])
                ]
                if all(np.isfinite(t) and t != 0 for t in taus):
                    usable += 1
                    flips += int(taus[0] * taus[1] < 0)
    return flips, usable


@pytest.mark.parametrize("measure", ["steady", "momentum_fragile", "noise"])
def test_the_share_of_flips_is_the_counted_definition(measure):
    frame = _zoo()
    table = fragility_audit(frame, measure, "gap", ["lr", "momentum"], n_bootstrap=0)
    flips, usable = _naive(frame, measure, ["lr", "momentum"])
    row = table.iloc[0]
    assert (row["n_flips"], row["n_changes"]) == (flips, usable)
    assert row["fragility"] == pytest.approx(flips / usable)


def test_a_steady_measure_is_not_fragile_and_a_reversing_one_is():
    table = fragility_audit(
        _zoo(), ["momentum_fragile", "steady"], "gap", ["lr", "momentum"], random_state=0
    ).set_index("measure")
    assert table.attrs["audited"] == ["lr", "momentum"]
    assert table.loc["steady", "fragility"] == 0.0
    # 2 lr contexts x 1 momentum step: both momentum changes flip; the lr changes do not
    assert table.loc["momentum_fragile", "fragility_momentum"] == 1.0
    assert table.loc["momentum_fragile", "fragility_lr"] == 0.0
    assert table.loc["momentum_fragile", "fragility"] == pytest.approx(0.5)
    for _, row in table.iterrows():  # percentile intervals: inside [0, 1], around the share
        assert 0.0 <= row["fragility_low"] <= row["fragility_high"] <= 1.0
    assert table.loc["steady", "fragility_high"] < 0.5


def test_axes_that_do_not_vary_are_skipped_and_none_varying_is_refused():
    frame = _zoo()
    frame["batch_size"] = 32
    table = fragility_audit(frame, "steady", "gap", ["lr", "batch_size"], n_bootstrap=0)
    assert table.attrs["audited"] == ["lr"]
    assert "fragility_batch_size" not in table.columns
    with pytest.raises(ValueError, match="varies in the frame"):
        fragility_audit(frame, "steady", "gap", ["batch_size"])
    with pytest.raises(ValueError, match="is a column"):
        fragility_audit(frame, "steady", "gap", ["optimizer"])
    with pytest.raises(TypeError, match="changes must be a sequence"):
        fragility_audit(frame, "steady", "gap", "lr")
    with pytest.raises(ValueError, match="n_bootstrap"):
        fragility_audit(frame, "steady", "gap", ["lr"], n_bootstrap=-1)
