"""Fragility audit: do small training changes flip a measure's trend with the gap?

Zhang & Louis (2025, "Position: many generalization measures for deep learning are
fragile") show that small changes of training (the learning rate, the SGD variant, the
batch size) that barely move the networks' performance can reverse the trend of a
measure. :func:`fragility_audit` runs that check on a zoo: for every *change* (one step
along one of the audited axes, e.g. lr 0.05 -> 0.1, batch size 32 -> 64, momentum 0 -> 0.9)
and every setting of the other audited axes (the *context*), it computes Kendall's tau of
the measure with the gap over the networks of the context before the change and after it
(each a sub-zoo over the remaining axes: width, depth, weight decay, ...). The change
*flips* the measure when the two taus have opposite signs. A measure's fragility is the
share of its changes that flip it, with a bootstrap interval over networks (a percentile
interval, so it stays inside [0, 1]).

A measure whose trend is weak flips often by chance: read the share beside the measure's
tau (:func:`~sklearn_gen.studies.rank_measures`).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sklearn_gen.studies._correlation import _as_frame, _column, _tau
from sklearn_gen.studies._ranking import (
    _prepare,
    bootstrap_resamples,
    check_resampling,
    percentile_interval,
)

__all__ = ["FRAGILITY_CHANGES", "fragility_audit"]

#: The audited axes: learning rate, momentum on/off, batch size (Zhang & Louis 2025).
FRAGILITY_CHANGES = ("lr", "momentum", "batch_size")


def _changes(keys: pd.DataFrame, axes: Sequence[str]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Every (axis, before, after) pair of model masks: one step along ``axis`` within one
    setting of the other audited axes."""
    out = []
    for axis in axes:
        values = sorted(keys[axis].unique())
        others = [a for a in axes if a != axis]
        contexts = keys[others].drop_duplicates().itertuples(index=False) if others else [()]
        for context in contexts:
            inside = np.ones(len(keys), dtype=bool)
            for other, value in zip(others, context, strict=True):
                inside &= (keys[other] == value).to_numpy()
            for before, after in itertools.pairwise(values):
                out.append(
                    (
                        axis,
                        inside & (keys[axis] == before).to_numpy(),
                        inside & (keys[axis] == after).to_numpy(),
                    )
                )
    return out


def _flips(
    measure: np.ndarray, gap: np.ndarray, changes: list, index: np.ndarray
) -> tuple[dict[str, list[bool]], int]:
    """Per axis, whether each usable change flips the sign of tau (on the rows ``index``)."""
    out: dict[str, list[bool]] = {}
    for axis, before, after in changes:
        rows_before, rows_after = index[before[index]], index[after[index]]
        tau_before = _tau(measure[rows_before], gap[rows_before])
        tau_after = _tau(measure[rows_after], gap[rows_after])
        if not (np.isfinite(tau_before) and np.isfinite(tau_after)):
            continue
        if tau_before == 0 or tau_after == 0:
            continue
        out.setdefault(axis, []).append(bool(tau_before * tau_after < 0))
    return out, sum(len(v) for v in out.values())


def _share(flips: dict[str, list[bool]]) -> float:
    every = [f for found in flips.values() for f in found]
    return float(np.mean(every)) if every else float("nan")


def fragility_audit(
    frame: pd.DataFrame | Mapping[str, Any],
    measures: str | Sequence[str],
    gap: str | tuple[str, str] = "generalization_gap",
    changes: Sequence[str] = FRAGILITY_CHANGES,
    *,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    random_state: Any = None,
) -> pd.DataFrame:
    """The share of one-hyperparameter changes that flip each measure's trend with the gap.

    See the module docstring for the definition. The axes of ``changes`` that the frame
    holds with at least two values are audited (each step between consecutive values is
    one change); the others are skipped.

    Parameters
    ----------
    frame : pandas.DataFrame or mapping
        One row per model (a :func:`~sklearn_gen.studies.measure_ranking` frame, its
        converged rows, or a ``cv_results_``-like frame).
    measures : str or sequence of str
        The measure columns.
    gap : str or (str, str), default="generalization_gap"
        A column, or ``(first, second)`` whose difference is the gap.
    changes : sequence of str, default=FRAGILITY_CHANGES
        The audited axes (columns of ``frame``).
    n_bootstrap : int, default=200
        Resamples of the models for the interval (0: none).
    confidence : float, default=0.95
        The interval's level.
    random_state : int, RandomState instance or None, default=None
        Seeds the resampling.

    Returns
    -------
    pandas.DataFrame
        One row per measure: ``n_changes`` (changes with a defined, nonzero tau on both
        sides), ``n_flips``, ``fragility`` (their share) with ``fragility_low`` /
        ``fragility_high``, and ``fragility_<axis>`` per audited axis; sorted from the
        least fragile. ``table.attrs["audited"]`` lists the audited axes.

    Raises
    ------
    ValueError
        If no axis of ``changes`` varies in the frame.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame([{"lr": lr, "width": w, "seed": s} for lr in (1, 2)
    ...                       for w in (1, 2, 4, 8) for s in range(3)])
    >>> frame["gap"] = 0.1 * frame["width"] + rng.normal(0, 0.01, len(frame))
    >>> frame["steady"] = frame["width"] + rng.normal(0, 0.1, len(frame))
    >>> frame["fragile"] = np.where(frame["lr"] == 1, 1, -1) * frame["steady"]
    >>> table = fragility_audit(frame, ["steady", "fragile"], "gap", ["lr"],
    ...                         n_bootstrap=20, random_state=0)
    >>> table[["measure", "n_changes", "fragility"]].values.tolist()
    [['steady', 1, 0.0], ['fragile', 1, 1.0]]
    """
    measures, n_bootstrap, confidence = check_resampling(measures, n_bootstrap, confidence)
    if isinstance(changes, str) or not isinstance(changes, Sequence):
        raise TypeError(f"changes must be a sequence of column names, got {changes!r}.")
    present = [c for c in changes if c in _as_frame(frame).columns]
    if not present:
        raise ValueError(f"none of the axes {list(changes)} is a column of the frame.")
    data, gap_values, keys = _prepare(frame, gap, present)
    audited = [c for c in keys.columns if keys[c].nunique() > 1]
    if not audited:
        raise ValueError(
            f"none of the axes {list(changes)} varies in the frame: nothing to audit; train "
            "the zoo over two values of at least one of them."
        )
    steps = _changes(keys, audited)
    everyone = np.arange(len(data))
    resamples = [
        np.sort(index)
        for index in bootstrap_resamples(len(data), n_bootstrap, random_state, "fragility_audit")
    ]
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name in measures:
            values = _column(data, name, "measure").to_numpy(dtype=float)
            flips, n_changes = _flips(values, gap_values, steps, everyone)
            draws = [_share(_flips(values, gap_values, steps, index)[0]) for index in resamples]
            low, high = percentile_interval(draws, confidence)
            row: dict[str, Any] = {
                "measure": name,
                "n_changes": n_changes,
                "n_flips": int(sum(sum(f) for f in flips.values())),
                "fragility": _share(flips),
                "fragility_low": float(low),
                "fragility_high": float(high),
            }
            for axis in audited:
                found = flips.get(axis, [])
                row[f"fragility_{axis}"] = float(np.mean(found)) if found else float("nan")
            rows.append(row)
    table = pd.DataFrame(rows).sort_values(
        ["fragility", "n_changes"], ascending=[True, False], na_position="last", kind="stable"
    )
    table = table.reset_index(drop=True)
    table.attrs["audited"] = audited
    return table
