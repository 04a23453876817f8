"""The PGDL competition's score: its conditional mutual information, with its conventions.

The NeurIPS 2020 competition "Predicting Generalization in Deep Learning" (PGDL; Jiang,
Foret, Yak, Roy, Mobahi, Dziugaite, Bengio, Gunasekar, Guyon and Neyshabur, PMLR 133,
2021) scored a complexity measure on each task (a complete grid of trained networks) by
a conditional mutual information in the spirit of Jiang et al. (2020, Sec. 4), with
conventions of its own, read from the competition's scoring program
(``scoring_program/mutual_information.py`` and ``score.py`` of the public starting kit,
e.g. as copied in the GitHub repository ``cadurosar/pgdl``). :func:`pgdl_score`
reimplements that score so that a zoo can be set beside the competition's numbers; the
package's own criterion is :func:`~sklearn_gen.studies.conditional_mutual_information`.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sklearn_gen.studies._correlation import (
    _as_frame,
    _codes,
    _column,
    _gap,
    _hashable_keys,
    _hyperparameters,
)

__all__ = ["pgdl_score"]


def _check_task(keys: pd.DataFrame) -> None:
    """The competition's task: at least two hyperparameters, and a complete grid with
    exactly one model per configuration (the scoring program refuses anything else)."""
    axes = list(keys.columns)
    if len(axes) < 2:
        raise ValueError(
            "pgdl_score conditions on every pair of hyperparameters: it needs at least two "
            f"hyperparameter columns, got {axes}."
        )
    configurations = _codes(keys, axes)
    n_configurations = int(configurations.max()) + 1
    if n_configurations < len(keys):
        raise ValueError(
            f"pgdl_score needs one model per configuration (the competition's tasks have "
            f"no repeats): {len(keys)} models hold {n_configurations} configurations. "
            "Average the seeds of each configuration first, e.g. "
            "frame.groupby(hyperparameters, as_index=False).mean(numeric_only=True)."
        )
    expected = int(np.prod([keys[a].nunique() for a in axes]))
    if n_configurations != expected:
        raise ValueError(
            f"pgdl_score needs a complete grid (every combination of the hyperparameters' "
            f"values, as the competition's tasks): {n_configurations} of the {expected} "
            "configurations are present."
        )


def _pgdl_cmi(measure: np.ndarray, gap: np.ndarray, first: np.ndarray, second: np.ndarray) -> float:
    """The normalized CMI of one pair of hyperparameters, given each model's code of its
    values of the first and of the second one (``0 .. L-1``)."""
    n = len(gap)
    i, j = np.repeat(np.arange(n), n), np.tile(np.arange(n), n)  # every ordered pair, i == j too
    v_g = (gap[i] > gap[j]).astype(np.int64)  # 1: larger, 0: smaller or equal
    v_mu = (measure[i] > measure[j]).astype(np.int64)
    n_first, n_second = int(first.max()) + 1, int(second.max()) + 1
    cell = ((first[i] * n_first + first[j]) * n_second + second[i]) * n_second + second[j]
    n_cells = n_first**2 * n_second**2
    table = np.bincount(cell * 4 + v_g * 2 + v_mu, minlength=4 * n_cells)
    table = table.reshape(n_cells, 2, 2).astype(float)
    table /= table.sum(axis=(1, 2), keepdims=True)  # complete grid: no cell is empty

    def entropy(p: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return -np.where(p > 0, p * np.log2(p), 0.0).reshape(len(p), -1).sum(axis=1)

    h_gap = entropy(table.sum(axis=2))
    information = h_gap + entropy(table.sum(axis=1)) - entropy(table)
    total = float(h_gap.sum())  # each cell weighs the same: the mean over cells
    return float(information.sum() / total) if total > 1e-12 else float("nan")


def _degenerate_warning(pairs: list[tuple[str, str]]) -> None:
    warnings.warn(
        f"pgdl_score: once {pairs} are known, every cell fixes the order of the gaps (no "
        "conditional entropy left: only two hyperparameters vary, or the gap depends on "
        "these two alone, or it is constant); the competition's scoring program scores "
        "such a pair 0, and so does this function.",
        UserWarning,
        stacklevel=3,
    )


def pgdl_score(
    frame: pd.DataFrame | Mapping[str, Any],
    measure: str,
    gap: str | tuple[str, str] = "generalization_gap",
    hyperparameters: Sequence[str] | None = None,
) -> float:
    """Score a measure on one task as the PGDL competition does.

    The score is the measure's conditional mutual information with the gap, by the
    competition's conventions.

    For each *pair* of distinct hyperparameters ``S = {a, b}``: over every ordered pair
    of models ``(theta, theta')``, **including each model paired with itself** (``n^2``
    pairs), ``V_g = [g(theta) > g(theta')]`` and ``V_mu = [mu(theta) > mu(theta')]`` are
    *binary*: a tie counts as "not larger", like a smaller value, and no pair is left out.
    ``U_S`` is the four values ``(theta_a, theta'_a, theta_b, theta'_b)``: one cell for
    each of the ``L_a^2 L_b^2`` combinations of the axes' values. The pair's score is
    the mean over the cells of ``I(V_mu; V_g)`` divided by the mean over the cells of
    ``H(V_g)`` (each cell's distribution over its pairs); the task's score is the
    **minimum over the pairs of hyperparameters**. 1 when the measure orders every pair
    as the gap does (a measure equal to the gap), 0 when its order says nothing within
    the cells (a constant measure, or one that tracks a single hyperparameter). Like
    every mutual information it is blind to the direction: a measure that orders every
    untied pair against the gap scores high too.

    Where it differs from the package's
    :func:`~sklearn_gen.studies.conditional_mutual_information`:

    * pairs: the competition's counts each model with itself and keeps pairs with equal
      gaps (``V_g`` "not larger"); the package's takes the pairs of distinct models with
      unequal gaps.
    * ties: the competition's signs are binary (a tie is "not larger"); the package's
      measure sign is ternary (a tie is a value of its own).
    * conditioning sets: exactly the pairs of hyperparameters (``|S| = 2``; at least two
      are needed), where the package's takes the minimum over ``|S| <= 2``, the empty
      set included.
    * grid: one model per configuration of a complete grid, as the competition's tasks
      (its scoring program refuses anything else; so does this function), where every
      cell holds the same number of pairs and the plain mean over the cells is the
      ``p(U_S)``-weighted one the package uses on any zoo. Average the seeds of each
      configuration first.
    * the scoring program adds ``1e-12`` inside the logarithm of its entropies (a bias of
      order ``1e-12``, left out here); its logarithms are base 2 (the ratio does not
      depend on the base).
    * the leaderboard's number is **100 times the mean of this score over the tasks**
      (``score.py``): the winning 22.92 is a mean score of 0.2292.

    Parameters
    ----------
    frame : pandas.DataFrame or mapping
        One row per model (a study's frame or ``cv_results_``): one model per
        configuration of a complete grid.
    measure : str
        The measure's column (larger = predicts a larger gap).
    gap : str or (str, str), default="generalization_gap"
        A column, or ``(first, second)`` whose difference is the gap (the competition's
        is train accuracy minus test accuracy).
    hyperparameters : sequence of str, optional
        The grid's columns, at least two (default: the ``param_*`` columns).

    Returns
    -------
    float
        The score in ``[0, 1]``. A pair of hyperparameters that leaves no entropy in the
        gap's order (each cell's pairs all larger, or all not larger: with two varying
        hyperparameters and one model per configuration every cell holds one pair)
        scores 0, as in the competition's program (its ratio is then 0 over the ``1e-12``
        bias of its entropy), with a warning.

    Raises
    ------
    ValueError
        When a column is missing or not numeric, a measure or gap is not finite, fewer
        than two hyperparameters are given, or the models are not one per configuration
        of a complete grid.

    References
    ----------
    .. [1] Y. Jiang, P. Foret, S. Yak, D. M. Roy, H. Mobahi, G. K. Dziugaite, S. Bengio,
       S. Gunasekar, I. Guyon and B. Neyshabur, "NeurIPS 2020 Competition: Predicting
       Generalization in Deep Learning", arXiv:2012.07976; scoring program
       ``scoring_program/mutual_information.py`` of the competition's starting kit
       (GitHub: ``cadurosar/pgdl``).

    Examples
    --------
    >>> import itertools, pandas as pd
    >>> frame = pd.DataFrame(list(itertools.product((0.01, 0.1), (8, 32), (1, 2, 3))),
    ...                      columns=["lr", "width", "depth"])
    >>> frame["gap"] = 2 * frame["lr"] + 0.01 * frame["depth"] - 0.001 * frame["width"]
    >>> frame["same"], frame["lr_only"] = frame["gap"], frame["lr"]
    >>> frame["noisy"] = frame["gap"] + 0.005 * (-1) ** frame.index
    >>> axes = ["lr", "width", "depth"]
    >>> pgdl_score(frame, "same", "gap", axes), pgdl_score(frame, "lr_only", "gap", axes)
    (1.0, 0.0)
    >>> round(pgdl_score(frame, "noisy", "gap", axes), 4)
    0.4228
    """
    data = _as_frame(frame)
    if len(data) < 2:
        raise ValueError(f"frame needs at least two models (rows), got {len(data)}.")
    gap_values = _gap(data, gap).to_numpy(dtype=float)
    values = _column(data, measure, "measure").to_numpy(dtype=float)
    for name, column in (("measure", values), ("gap", gap_values)):
        if not np.all(np.isfinite(column)):
            raise ValueError(
                f"pgdl_score needs a finite {name} for every model: "
                f"{int(np.sum(~np.isfinite(column)))} of {len(column)} are not."
            )
    keys = _hashable_keys(data, _hyperparameters(data, hyperparameters))
    _check_task(keys)
    codes = {axis: _codes(keys, [axis]) for axis in keys.columns}
    scores = [
        _pgdl_cmi(values, gap_values, codes[a], codes[b])
        for a, b in itertools.combinations(keys.columns, 2)
    ]
    degenerate = [
        pair
        for pair, score in zip(itertools.combinations(keys.columns, 2), scores, strict=True)
        if not np.isfinite(score)
    ]
    if degenerate:
        _degenerate_warning(degenerate)
    return float(min(0.0 if not np.isfinite(s) else s for s in scores))
