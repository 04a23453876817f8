"""``--n-train`` / ``--n-test`` are row counts, exactly, on data with and without an
official split (issue 29: ``--n-train 200`` used to train on 320 rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sklearn_gen.cli import main
from sklearn_gen.datasets import load_dataset
from sklearn_gen.studies._runs import Settings, _subset


def _train_test(data, test_size) -> tuple[int, int]:
    """The training and test rows a study gets from ``_subset``'s answer."""
    if data.is_test is not None:
        return int((~data.is_test).sum()), int(data.is_test.sum())
    if isinstance(test_size, float):
        n_test = int(np.ceil(test_size * len(data.y)))  # scikit-learn's rounding
        return len(data.y) - n_test, n_test
    return len(data.y) - test_size, test_size


# the (quick, full, test fraction) sizes of the studies that draw rows from --data
STUDY_SIZES = [(600, 5000, 0.25), (1000, 10000, 0.2), (400, 2000, 0.5), (None, None, 0.25),
               (600, None, 0.5)]  # fmt: skip


@pytest.mark.parametrize("quick, full, fraction", STUDY_SIZES)
@pytest.mark.parametrize("quick_run", [True, False])
@pytest.mark.parametrize("n_train, n_test", [(200, None), (None, 100), (150, 90), (3, 300)])
def test_the_counts_asked_for_are_the_rows_used_without_an_official_split(
    quick, full, fraction, quick_run, n_train, n_test
):
    digits = load_dataset("digits")  # 1,797 rows, no official split
    settings = Settings(quick=quick_run, n_train=n_train, n_test=n_test)
    data, test_size = _subset(digits, settings, quick, full, test_size=fraction)
    train_rows, test_rows = _train_test(data, test_size)
    if n_train is not None:
        assert train_rows == n_train
    if n_test is not None:
        assert test_rows == n_test
    assert train_rows + test_rows == len(data.y) <= len(digits.y)


def test_the_studys_own_sizes_stand_when_no_count_is_asked_for():
    digits = load_dataset("digits")
    data, test_size = _subset(digits, Settings(quick=True), 600, 5000)
    assert len(data.y) == 600 and test_size == 0.25


def test_counts_past_the_pool_are_one_clear_error():
    digits = load_dataset("digits")
    with pytest.raises(ValueError, match="need 2000 rows; digits has 1797"):
        _subset(digits, Settings(n_train=1000, n_test=1000), None, None)


def test_with_an_official_split_each_count_comes_from_its_own_side():
    rng = np.random.default_rng(0)
    is_test = np.zeros(500, dtype=bool)
    is_test[400:] = True
    data = load_dataset("digits")
    from dataclasses import replace

    split = replace(data, X=rng.normal(size=(500, 64)), y=rng.integers(0, 10, 500),
                    is_test=is_test)  # fmt: skip
    chosen, test_size = _subset(split, Settings(n_train=120, n_test=30), 600, 5000)
    assert _train_test(chosen, test_size) == (120, 30)


def test_a_study_run_trains_on_exactly_the_rows_asked_for(tmp_path):
    # end to end, on the study the issue names: the kernel study's quick run
    out = tmp_path / "kernel"
    argv = ["run", "kernel-interpolation", "--quick", "--quiet", "--threads", "1",
            "--n-train", "120", "--n-test", "60", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    frame = pd.read_csv(out / "results.csv")
    assert set(frame["n_train"]) == {120} and set(frame["n_test"]) == {60}
    assert "rows used (training / test): 120 / 60" in (out / "summary.md").read_text()
