"""The PGDL competition's score: checked against a reference written out plainly from the
competition's conventions (every ordered pair of models, each model with itself too; binary
signs, a tie counting as "not larger"; the cells of every pair of hyperparameters; the
minimum over the pairs), on complete grids with 2- and 3-level axes, ties and a string axis.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from sklearn_gen.studies import pgdl_score, rank_measures

AXES = ["lr", "width", "depth", "optimizer"]


def _zoo(seed: int = 0) -> pd.DataFrame:
    """A complete grid, one model per configuration: 2, 3, 2 and 2 levels (widths 1, 11
    and 111 would collide if the values were joined as strings), gaps and measures with
    ties."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        list(itertools.product((0.01, 0.1), (1, 11, 111), (2, 3), ("sgd", "adam"))),
        columns=AXES,
    )
    n = len(frame)
    frame["gap"] = np.round(
        0.3 * np.log10(frame["lr"]) + 0.05 * frame["depth"] + rng.normal(0, 0.05, n), 1
    )
    frame["noisy"] = np.round(frame["gap"] + rng.normal(0, 0.1, n), 1)
    frame["coarse"] = rng.integers(0, 3, n).astype(float)
    frame["reversed"] = -frame["gap"]
    frame["width_only"] = np.log(frame["width"].astype(float))
    frame["lr_depth"] = frame["lr"] * 10 + frame["depth"]
    return frame


def _reference(frame: pd.DataFrame, measure: str, gap: str, axes: list[str]) -> float:
    """The competition's score, written out with dictionaries: for each pair of axes,
    ``sum_U p(U) [H(V_g | U) - H(V_g | V_mu, U)] / sum_U p(U) H(V_g | U)`` in nats over the
    n^2 ordered pairs, and the minimum over the pairs of axes."""
    rows = frame.to_dict("records")

    def entropy(counter: Counter) -> float:
        total = sum(counter.values())
        return -sum(c / total * math.log(c / total) for c in counter.values() if c)

    scores = []
    for a, b in itertools.combinations(axes, 2):
        by_cell: dict[tuple, list[tuple[bool, bool]]] = {}
        for x in rows:
            for y in rows:
                cell = (x[a], y[a], x[b], y[b])
                by_cell.setdefault(cell, []).append((x[gap] > y[gap], x[measure] > y[measure]))
        n_pairs = len(rows) ** 2
        information = entropy_gap = 0.0
        for pairs in by_cell.values():
            p_cell = len(pairs) / n_pairs
            h_g = entropy(Counter(g for g, _ in pairs))
            h_g_given_mu = 0.0
            for value in (False, True):
                given = [g for g, m in pairs if m == value]
                if given:
                    h_g_given_mu += len(given) / len(pairs) * entropy(Counter(given))
            information += p_cell * (h_g - h_g_given_mu)
            entropy_gap += p_cell * h_g
        scores.append(information / entropy_gap if entropy_gap > 0 else 0.0)
    return min(scores)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("measure", ["noisy", "coarse", "reversed", "width_only", "lr_depth"])
def test_agrees_with_the_reference(seed: int, measure: str) -> None:
    frame = _zoo(seed)
    assert frame["gap"].duplicated().any() and frame[measure].duplicated().any()  # ties
    expected = _reference(frame, measure, "gap", AXES)
    assert pgdl_score(frame, measure, "gap", AXES) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("fixed", "axes"),
    [
        (("optimizer", "sgd"), ["lr", "width", "depth"]),
        (("lr", 0.01), ["width", "depth", "optimizer"]),
    ],
)
def test_agrees_on_three_axes(fixed: tuple[str, object], axes: list[str]) -> None:
    """A sub-grid of three axes: the zoo at one value of the fourth."""
    frame = _zoo(3)
    frame = frame[frame[fixed[0]] == fixed[1]].reset_index(drop=True)
    for measure in ("noisy", "coarse", "lr_depth"):
        expected = _reference(frame, measure, "gap", axes)
        assert pgdl_score(frame, measure, "gap", axes) == pytest.approx(expected, abs=1e-12)


def test_the_gap_itself_scores_the_maximum() -> None:
    frame = _zoo(0)
    frame["same"] = frame["gap"]
    assert pgdl_score(frame, "same", "gap", AXES) == pytest.approx(1.0, abs=1e-12)


def test_a_constant_measure_scores_zero() -> None:
    frame = _zoo(0)
    frame["constant"] = 3.0
    assert pgdl_score(frame, "constant", "gap", AXES) == 0.0


def test_a_measure_that_tracks_one_hyperparameter_scores_zero() -> None:
    frame = _zoo(1)
    assert pgdl_score(frame, "width_only", "gap", AXES) == pytest.approx(0.0, abs=1e-12)


def test_the_gap_column_pair_and_param_columns() -> None:
    frame = _zoo(0)
    frame["train"], frame["test"] = 1.0, 1.0 - frame["gap"]
    renamed = frame.rename(columns={a: f"param_{a}" for a in AXES})
    expected = pgdl_score(frame, "noisy", "gap", AXES)
    assert pgdl_score(renamed, "noisy", ("train", "test")) == pytest.approx(expected, abs=1e-12)


def test_two_hyperparameters_score_zero_with_a_warning() -> None:
    """Conditioning on both of two hyperparameters leaves one pair per cell: no entropy
    left, and the competition's program scores 0."""
    frame = _zoo(0)
    frame = frame[(frame["depth"] == 2) & (frame["optimizer"] == "sgd")]
    with pytest.warns(UserWarning, match="no conditional entropy"):
        assert pgdl_score(frame, "noisy", "gap", ["lr", "width"]) == 0.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.iloc[:-1], "complete grid"),
        (lambda f: pd.concat([f, f]), "one model per configuration"),
        (lambda f: f.assign(noisy=f["noisy"].where(f.index > 0)), "finite measure"),
        (lambda f: f.assign(gap=f["gap"].where(f.index > 0)), "finite gap"),
        (lambda f: f.iloc[:1], "at least two models"),
    ],
)
def test_refuses_what_the_competition_refuses(change, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pgdl_score(change(_zoo(0)), "noisy", "gap", AXES)


def test_refuses_bad_columns() -> None:
    frame = _zoo(0)
    with pytest.raises(ValueError, match="at least two hyperparameter"):
        pgdl_score(frame, "noisy", "gap", ["lr"])
    with pytest.raises(ValueError, match="not a column"):
        pgdl_score(frame, "missing", "gap", AXES)
    with pytest.raises(ValueError, match="not columns"):
        pgdl_score(frame, "noisy", "gap", ["lr", "missing"])


def test_rank_measures_option() -> None:
    frame = _zoo(0)
    names = ["noisy", "coarse", "width_only"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = rank_measures(frame, names, "gap", AXES, n_bootstrap=0)
        table = rank_measures(frame, names, "gap", AXES, n_bootstrap=0, pgdl=True)
    assert "pgdl_score" not in plain.columns
    for name, value in zip(table["measure"], table["pgdl_score"], strict=True):
        assert value == pgdl_score(frame, name, "gap", AXES)
    pd.testing.assert_frame_equal(table.drop(columns="pgdl_score"), plain)
    with pytest.raises(ValueError, match="one model per configuration"):
        rank_measures(pd.concat([frame, frame]), names, "gap", AXES, n_bootstrap=5, pgdl=True)
    with pytest.raises(ValueError, match="pgdl"):
        rank_measures(frame, names, "gap", AXES, n_bootstrap=0, pgdl="yes")
