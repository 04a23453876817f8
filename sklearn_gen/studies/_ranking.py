"""Which measure predicts generalization? The ranking criteria of Jiang et al. and Dziugaite et al.

Given a zoo of models (one row each: hyperparameters, measures, generalization gap), every
measure ``mu`` is scored by how well it orders the models by their gap ``g``. Every
criterion reads a larger ``mu`` as predicting a larger gap (a complexity): a column from a
``neg_`` scorer (``mean_train_neg_path_norm``) is the negated measure, and its signs come
out reversed.

* Kendall's ``tau`` over all models and the granulated coefficient ``Psi`` with each axis's
  ``psi_i`` (Jiang et al. 2020, Sec. 3, Eq. 4; :func:`~sklearn_gen.studies.measure_correlation`):
  ``psi_i`` is the mean of the tau within *every* setting of the other axes under which
  axis ``i`` varies, a group where the measure or the gap is constant counting 0, and
  ``Psi`` the mean over the axes. Inside the groups tau is tau-b (scipy's convention;
  ``tau_variant="a"`` is Jiang et al.'s Eq. 2, every pair in the denominator), and the
  repeats of a configuration (seeds) are each one model of their group
  (``repeats="pool"``) or averaged first (``repeats="mean"``).
* the **conditional mutual information** of Jiang et al. (2020, Sec. 4). Over the ordered
  pairs of models ``(theta, theta')`` (each pair in both orders),
  ``V_g = sign(g(theta) - g(theta'))`` and ``V_mu = sign(mu(theta) - mu(theta'))``; for a
  set ``S`` of hyperparameters, ``U_S`` is the pair of values ``(theta_S, theta'_S)``, with
  ``p(U_S)`` the share of the pairs. The normalized conditional mutual information
  ``I(V_mu; V_g | U_S) / H(V_g | U_S)`` is 1 when ``mu`` orders every pair as ``g`` does
  within each ``U_S``, and 0 when its order says nothing once ``U_S`` is known. A measure
  that only tracks one hyperparameter scores 0 once that hyperparameter is conditioned
  on, so the score is the **minimum over all ``S`` with at most ``max_conditioning``
  hyperparameters** (Jiang et al. take ``|S| <= 2``); the minima over ``|S| = 0, 1, 2`` are
  reported too. Pairs of equal gaps are left out; a measure's tie is a value of its own
  (``V_mu = 0``). The information is **blind to the direction**: a measure that orders
  every pair *against* the gap scores 1 too. So :func:`rank_measures` reports
  ``signed_cmi``, the CMI times the sign of ``tau``, ranks by it, and flags
  (``wrong_direction``) a measure with information but a negative ``tau``.
* the **robust sign-error** of Dziugaite et al. (2020): an *environment* is a pair of
  configurations (settings of every hyperparameter) that differ in the value of exactly
  one hyperparameter; its pairs are the models of the one against the models of the
  other (one pair without repeats). The sign-error of ``mu`` in an environment is the
  weighted share of its pairs that ``mu`` orders against the gap (a tie of ``mu`` counts
  one half); the robust sign-error is the **worst environment's** (the maximum), reported
  beside the mean over environments. 0 is perfect, 0.5 is chance, 1 is always wrong.
  A pair's gap difference is measured with noise (the test error is a mean over ``n``
  test points): pairs whose gaps differ by at most ``min_gap_difference`` are left out
  (Dziugaite et al.'s noise threshold ``Delta*``), and ``weights="hoeffding"`` weights a
  pair by ``(p - 1/2)_+``, ``p = 1 - exp(-n dg^2 / 2)`` Hoeffding's lower bound on the
  probability that the observed sign of the gap difference ``dg`` is the true one (zero
  below ``Delta* = sqrt(2 ln 2 / n)``); an environment counts when the effective number
  of its pairs, ``(sum w)^2 / sum w^2``, is at least ``min_ess`` (Dziugaite et al.: 12).

Every criterion comes with a bootstrap interval over models: the models are resampled with
replacement ``n_bootstrap`` times and the criterion recomputed (the percentile interval;
a resample that duplicates a model adds pairs of equal models, which are ties and left
out). Below :data:`MIN_BOOTSTRAP_MODELS` models the resamples are too few and too alike to
say anything: the criteria come without intervals, with a warning.

References
----------
.. [1] Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic
   generalization measures and where to find them", ICLR 2020, Sec. 3-4.
.. [2] G. K. Dziugaite, A. Drouin, B. Neal, N. Rajkumar, E. Caballero, L. Wang,
   I. Mitliagkas and D. M. Roy, "In search of robust measures of generalization",
   NeurIPS 2020.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from sklearn_gen._validation import check_bool, check_choice, check_int, check_real
from sklearn_gen.studies._correlation import (
    REPEATS,
    TAU_VARIANTS,
    _as_frame,
    _column,
    _gap,
    _Grid,
    _hashable_keys,
    _hyperparameters,
    _mean_psi,
    _psi,
    _tau,
    _upper_pairs,
)
from sklearn_gen.studies._pgdl import pgdl_score

__all__ = [
    "compare_measures",
    "conditional_mutual_information",
    "rank_measures",
    "robust_sign_error",
]

#: Below this many models a bootstrap over them says nothing: no intervals, a warning.
MIN_BOOTSTRAP_MODELS = 8
#: The weights of the sign-errors' pairs.
SIGN_ERROR_WEIGHTS = ("uniform", "hoeffding")
#: A CMI above this counts as information (the rest is rounding).
_INFORMATIVE = 1e-12


# ------------------------------------------------------------------------------ pairs
def _pairs(n: int, ordered: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of models: ``i < j``, or every ordered pair ``i != j``."""
    first, second = _upper_pairs(n)
    if ordered:  # both orientations: V_g is +1 and -1 equally often
        return np.concatenate([first, second]), np.concatenate([second, first])
    return first, second


def _entropies(counts: np.ndarray) -> np.ndarray:
    """The entropy (nats) of each row of a table of counts (0 for an empty row)."""
    totals = counts.sum(axis=1, keepdims=True)
    p = counts / np.where(totals > 0, totals, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=1)


def _normalized_cmi(v_mu: np.ndarray, v_g: np.ndarray, groups: np.ndarray) -> float:
    """``I(V_mu; V_g | U) / H(V_g | U)`` from the pairs' signs and group codes."""
    if len(v_g) == 0:
        return float("nan")
    cell = (v_mu.astype(np.int64) + 1) * 2 + (v_g > 0).astype(np.int64)  # 6 cells
    _, group_index = np.unique(groups, return_inverse=True)
    n_groups = int(group_index.max()) + 1
    table = np.bincount(group_index * 6 + cell, minlength=6 * n_groups).reshape(n_groups, 6)
    table = table.astype(float)
    weight = table.sum(axis=1) / len(v_g)  # p(U)
    by_cell = table.reshape(n_groups, 3, 2)
    h_g = _entropies(by_cell.sum(axis=1))
    mi = _entropies(by_cell.sum(axis=2)) + h_g - _entropies(table)
    h = float(weight @ h_g)
    return float(weight @ mi / h) if h > 1e-12 else float("nan")


def _cmi_by_size(
    measure: np.ndarray, gap: np.ndarray, codes: dict, grid: _Grid
) -> dict[int, float]:
    """The minimum normalized CMI over the sets ``S`` of each size."""
    first, second = _pairs(len(gap), ordered=True)
    d_mu, d_g = measure[first] - measure[second], gap[first] - gap[second]
    keep = np.isfinite(d_mu) & np.isfinite(d_g) & (d_g != 0)
    first, second = first[keep], second[keep]
    v_mu, v_g = np.sign(d_mu[keep]), np.sign(d_g[keep])
    values: dict[int, list[float]] = {}
    for subset in grid.subsets:
        model_codes = codes[subset]
        n_codes = int(model_codes.max()) + 1 if len(model_codes) else 1
        groups = model_codes[first] * n_codes + model_codes[second]  # U_S: both models'
        values.setdefault(len(subset), []).append(_normalized_cmi(v_mu, v_g, groups))
    return {
        size: float(min(v for v in found if np.isfinite(v)))
        if any(np.isfinite(v) for v in found)
        else float("nan")
        for size, found in values.items()
    }


@dataclass(frozen=True)
class _Options:
    """The conventions of the criteria, checked once (see :func:`_options`)."""

    tau_variant: str = "b"
    repeats: str = "pool"
    complete_groups: bool = False
    min_gap: float = 0.0
    weights: str = "uniform"
    min_ess: float = 0.0


def _options(
    tau_variant: Any = "b",
    repeats: Any = "pool",
    complete_groups: Any = False,
    min_gap_difference: Any = 0.0,
    weights: Any = "uniform",
    min_ess: Any = 0.0,
) -> _Options:
    return _Options(
        check_choice(tau_variant, "tau_variant", TAU_VARIANTS),
        check_choice(repeats, "repeats", REPEATS),
        check_bool(complete_groups, "complete_groups"),
        check_real(min_gap_difference, "min_gap_difference", 0.0),
        check_choice(weights, "weights", SIGN_ERROR_WEIGHTS),
        check_real(min_ess, "min_ess", 0.0),
    )


def noise_threshold(n_test: float) -> float:
    """``Delta* = sqrt(2 ln 2 / n)``: below it Hoeffding's bound cannot say that the sign
    of a difference of two test accuracies over ``n`` points each is right with
    probability above one half (the pair's ``weights="hoeffding"`` weight is 0).

    Examples
    --------
    >>> round(noise_threshold(899), 4)
    0.0393
    """
    n_test = check_real(n_test, "n_test", 0.0, closed="neither")
    return math.sqrt(2.0 * math.log(2.0) / n_test)


def _pair_weights(d_g: np.ndarray, n: np.ndarray, options: _Options) -> np.ndarray:
    """Each pair's weight: 1 (uniform) or ``(p - 1/2)_+``, ``p = 1 - exp(-n dg^2 / 2)``;
    0 where the gaps differ by at most ``min_gap``."""
    if options.weights == "hoeffding":
        weights = np.maximum(0.5 - np.exp(-n * d_g**2 / 2.0), 0.0)
    else:
        weights = np.ones_like(d_g)
    return np.where(np.abs(d_g) > options.min_gap, weights, 0.0)


def _sign_errors(
    measure: np.ndarray,
    gap: np.ndarray,
    n_test: np.ndarray,
    codes: dict[tuple[str, ...], np.ndarray],
    grid: _Grid,
    options: _Options,
) -> np.ndarray:
    """The sign-error of every environment (a pair of configurations that differ in one
    axis's value) with a positive total weight and an effective sample size of at least
    ``options.min_ess``."""
    first, second = _pairs(len(gap))
    d_mu, d_g = measure[first] - measure[second], gap[first] - gap[second]
    finite = np.isfinite(d_mu) & np.isfinite(d_g)
    d_mu, d_g = np.where(finite, d_mu, 0.0), np.where(finite, d_g, 0.0)
    weights = np.where(
        finite, _pair_weights(d_g, np.minimum(n_test[first], n_test[second]), options), 0.0
    )
    agree = np.sign(d_mu) * np.sign(d_g)
    wrong = np.where(agree == 0, 0.5, (agree < 0).astype(float))
    errors = []
    for axis in grid.axes:
        others, values = codes[grid.others(axis)], codes[(axis,)]
        chosen = (
            (weights > 0) & (others[first] == others[second]) & (values[first] != values[second])
        )
        if not chosen.any():
            continue
        low = np.minimum(values[first], values[second])[chosen]
        high = np.maximum(values[first], values[second])[chosen]
        environment = np.stack([others[first][chosen], low, high], axis=1)
        _, index = np.unique(environment, axis=0, return_inverse=True)
        index = index.ravel()
        w = weights[chosen]
        total = np.bincount(index, weights=w)
        ess = total**2 / np.bincount(index, weights=w**2)
        error = np.bincount(index, weights=w * wrong[chosen]) / total
        errors.extend(error[ess >= options.min_ess - 1e-9].tolist())
    return np.asarray(errors, dtype=float)


# ------------------------------------------------------------------------------ public
def check_resampling(
    measures: str | Sequence[str], n_bootstrap: Any, confidence: Any
) -> tuple[list[str], int, float]:
    """The measure columns as a non-empty list, ``n_bootstrap`` and ``confidence`` checked:
    the arguments every criterion with bootstrap intervals takes."""
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", 0)
    confidence = check_real(confidence, "confidence", 0.0, 1.0, closed="neither")
    measures = [measures] if isinstance(measures, str) else list(measures)
    if not measures:
        raise ValueError("measures must name at least one column.")
    return measures, n_bootstrap, confidence


def bootstrap_resamples(
    n_models: int, n_bootstrap: int, random_state: Any, caller: str
) -> list[np.ndarray]:
    """``n_bootstrap`` resamples (with replacement) of ``n_models`` models; none, with a
    warning, below :data:`MIN_BOOTSTRAP_MODELS` models (their intervals would be a few
    repeated values shown as certainty: on 2 models, tau 1.0 in [1.0, 1.0])."""
    rng = check_random_state(random_state)
    if n_bootstrap and n_models < MIN_BOOTSTRAP_MODELS:
        warnings.warn(
            f"{caller}: {n_models} models are too few for a bootstrap interval (it needs at "
            f"least {MIN_BOOTSTRAP_MODELS}); the criteria come without intervals (NaN).",
            UserWarning,
            stacklevel=3,
        )
        return []
    return [rng.randint(0, n_models, n_models) for _ in range(n_bootstrap)]


def percentile_interval(draws: Sequence[float], confidence: float) -> tuple[float, float]:
    """The percentile interval of the finite bootstrap draws (NaN when none is finite)."""
    finite = np.asarray([d for d in draws if np.isfinite(d)], dtype=float)
    if not len(finite):
        return float("nan"), float("nan")
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return float(low), float(high)


def _prepare(
    frame: Any, gap: Any, hyperparameters: Sequence[str] | None
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    data = _as_frame(frame)
    if len(data) < 2:
        raise ValueError(f"frame needs at least two models (rows), got {len(data)}.")
    gap_values = _gap(data, gap).to_numpy(dtype=float)
    hyperparameters = _hyperparameters(data, hyperparameters)
    if not hyperparameters:
        raise ValueError(
            "hyperparameters must name the columns that define the grid (none given and no "
            "param_* columns found)."
        )
    return data, gap_values, _hashable_keys(data, hyperparameters)


def _test_sizes(data: pd.DataFrame, n_test: Any, options: _Options) -> np.ndarray:
    """Each model's number of test points (an int or a column), needed by the Hoeffding
    weights; ones otherwise."""
    if n_test is None:
        if options.weights == "hoeffding":
            raise ValueError(
                "n_test is required with weights='hoeffding': the number of test points "
                "(an int, or the column that holds it per model)."
            )
        return np.ones(len(data))
    if isinstance(n_test, str):
        sizes = _column(data, n_test, "n_test").to_numpy(dtype=float)
    else:
        sizes = np.full(len(data), check_real(n_test, "n_test", 0.0, closed="neither"))
    if not (np.all(np.isfinite(sizes)) and np.all(sizes > 0)):
        raise ValueError(f"n_test must be positive for every model, got {n_test!r}.")
    return sizes


def conditional_mutual_information(
    frame: pd.DataFrame | Mapping[str, Any],
    measure: str,
    gap: str | tuple[str, str] = "generalization_gap",
    hyperparameters: Sequence[str] | None = None,
    max_conditioning: int = 2,
) -> dict[int, float]:
    """Jiang et al.'s normalized conditional mutual information of a measure and the gap.

    See the module docstring. Returns the minimum of ``I(V_mu; V_g | U_S) / H(V_g | U_S)``
    over the hyperparameter sets ``S`` of each size ``0, 1, ..., max_conditioning``; the
    measure's score is the smallest of them.

    Parameters
    ----------
    frame : pandas.DataFrame or mapping
        One row per model (an experiment's frame or ``cv_results_``).
    measure : str
        The column holding the measure.
    gap : str or (str, str), default="generalization_gap"
        A column, or ``(first, second)`` whose difference is the gap.
    hyperparameters : sequence of str, optional
        The grid's columns (default: the ``param_*`` columns).
    max_conditioning : int, default=2
        The largest ``|S|``.

    Returns
    -------
    dict of int to float
        ``{size: minimum over the sets of that size}``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"lr": [1, 1, 2, 2], "width": [1, 2, 1, 2],
    ...                       "gap": [0.1, 0.2, 0.3, 0.4], "mu": [1.0, 2.0, 3.0, 4.0]})
    >>> cmi = conditional_mutual_information(frame, "mu", "gap", ["lr", "width"])
    >>> {size: round(value, 3) for size, value in cmi.items()}
    {0: 1.0, 1: 1.0, 2: nan}
    """
    max_conditioning = check_int(max_conditioning, "max_conditioning", 0)
    data, gap_values, keys = _prepare(frame, gap, hyperparameters)
    values = _column(data, measure, "measure").to_numpy(dtype=float)
    grid = _Grid(keys, max_conditioning)
    return _cmi_by_size(values, gap_values, grid.codes, grid)


def robust_sign_error(
    frame: pd.DataFrame | Mapping[str, Any],
    measure: str,
    gap: str | tuple[str, str] = "generalization_gap",
    hyperparameters: Sequence[str] | None = None,
    min_gap_difference: float = 0.0,
    *,
    weights: str = "uniform",
    n_test: int | str | None = None,
    min_ess: float = 0.0,
) -> tuple[float, float, int]:
    """Dziugaite et al.'s robust sign-error of a measure: its worst environment's.

    An environment is a pair of configurations that differ in the value of one
    hyperparameter (on an axis of 3 values, 3 environments per setting of the others);
    its sign-error is the weighted share of the pairs of its models that the measure
    orders against the gap, a tie of the measure counting one half. See the module
    docstring.

    Parameters
    ----------
    frame : pandas.DataFrame or mapping
        One row per model (an experiment's frame or ``cv_results_``).
    measure : str
        The column holding the measure (larger = predicts a larger gap).
    gap : str or (str, str), default="generalization_gap"
        A column, or ``(first, second)`` whose difference is the gap.
    hyperparameters : sequence of str, optional
        The grid's columns (default: the ``param_*`` columns).
    min_gap_difference : float, default=0.0
        The noise threshold ``Delta*`` of Dziugaite et al.: pairs whose gaps differ by at
        most this are left out. With 0 every pair with unequal gaps counts, and on a zoo
        with many environments the worst one is almost surely a pair of models whose
        gaps differ by noise, ordered the wrong way: the robust sign-error is then 1 for
        nearly every measure. Pass the noise of the test accuracies, e.g.
        ``noise_threshold(n_test)`` (``sqrt(2 ln 2 / n)``, Hoeffding's), or use
        ``weights="hoeffding"``.
    weights : {"uniform", "hoeffding"}, default="uniform"
        ``"hoeffding"`` (Dziugaite et al.'s choice) weights each pair by ``(p - 1/2)_+``,
        ``p = 1 - exp(-n dg^2 / 2)`` the Hoeffding lower bound on the probability that
        the observed sign of the gap difference ``dg`` is right (``n`` the pair's smaller
        test size), so pairs closer than ``sqrt(2 ln 2 / n)`` weigh nothing.
    n_test : int or str, optional
        The number of test points behind each gap, or the column holding it: required
        with ``weights="hoeffding"``.
    min_ess : float, default=0.0
        Keep an environment only when the effective sample size of its pairs,
        ``(sum w)^2 / sum w^2``, is at least this (Dziugaite et al. use 12; with uniform
        weights it is the number of pairs, so a zoo with one model per configuration has
        no environment left above 1: the robust sign-error is then undefined, NaN).

    Returns
    -------
    robust : float
        The largest sign-error over the environments (NaN without environments).
    mean : float
        The mean sign-error over the environments.
    n_environments : int

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"lr": [1, 1, 2, 2], "width": [1, 2, 1, 2],
    ...                       "gap": [0.1, 0.2, 0.3, 0.4], "mu": [1.0, 2.0, 3.0, 1.5]})
    >>> robust_sign_error(frame, "mu", "gap", ["lr", "width"])
    (1.0, 0.5, 4)

    Three learning rates are three environments (1-2, 1-3, 2-3); the measure orders one
    of them the wrong way:

    >>> frame = pd.DataFrame({"lr": [1, 2, 3], "gap": [0.1, 0.2, 0.3], "mu": [1, 3, 2]})
    >>> robust, mean, n = robust_sign_error(frame, "mu", "gap", ["lr"])
    >>> robust, round(mean, 3), n
    (1.0, 0.333, 3)
    """
    options = _options(min_gap_difference=min_gap_difference, weights=weights, min_ess=min_ess)
    data, gap_values, keys = _prepare(frame, gap, hyperparameters)
    values = _column(data, measure, "measure").to_numpy(dtype=float)
    sizes = _test_sizes(data, n_test, options)
    grid = _Grid(keys, 0)
    errors = _sign_errors(values, gap_values, sizes, grid.codes, grid, options)
    if len(errors) == 0:
        return float("nan"), float("nan"), 0
    return float(errors.max()), float(errors.mean()), len(errors)


def _criteria(
    measure: np.ndarray,
    gap: np.ndarray,
    sizes: np.ndarray,
    codes: dict[tuple[str, ...], np.ndarray],
    grid: _Grid,
    options: _Options,
) -> dict[str, float]:
    psi = _psi(
        measure,
        gap,
        codes,
        grid,
        variant=options.tau_variant,
        repeats=options.repeats,
        complete=options.complete_groups,
    )
    cmi = _cmi_by_size(measure, gap, codes, grid)
    finite = [v for v in cmi.values() if np.isfinite(v)]
    smallest = float(min(finite)) if finite else float("nan")
    tau = _tau(measure, gap, options.tau_variant)
    errors = _sign_errors(measure, gap, sizes, codes, grid, options)
    return {
        "kendall_tau": tau,
        "psi": _mean_psi(psi),
        **{f"psi_{axis}": value for axis, value in psi.items()},
        "cmi": smallest,
        **{f"cmi_{size}": value for size, value in cmi.items()},
        "signed_cmi": smallest * (float(np.sign(tau)) if np.isfinite(tau) else 0.0),
        "wrong_direction": bool(smallest > _INFORMATIVE and tau < 0),
        "robust_sign_error": float(errors.max()) if len(errors) else float("nan"),
        "mean_sign_error": float(errors.mean()) if len(errors) else float("nan"),
        "n_environments": len(errors),
    }


#: The criteria that get a bootstrap interval.
INTERVAL_CRITERIA = ("kendall_tau", "psi", "cmi", "signed_cmi", "robust_sign_error")
#: The criteria :func:`compare_measures` compares.
COMPARED_CRITERIA = (
    "kendall_tau",
    "psi",
    "cmi",
    "signed_cmi",
    "robust_sign_error",
    "mean_sign_error",
)


def rank_measures(
    frame: pd.DataFrame | Mapping[str, Any],
    measures: str | Sequence[str],
    gap: str | tuple[str, str] = "generalization_gap",
    hyperparameters: Sequence[str] | None = None,
    *,
    max_conditioning: int = 2,
    tau_variant: str = "b",
    repeats: str = "pool",
    complete_groups: bool = False,
    min_gap_difference: float = 0.0,
    weights: str = "uniform",
    n_test: int | str | None = None,
    min_ess: float = 0.0,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    random_state: Any = None,
    pgdl: bool = False,
) -> pd.DataFrame:
    """Every ranking criterion of every measure, with bootstrap intervals over models.

    See the module docstring for the criteria: Kendall's ``tau``, ``Psi`` and each axis's
    ``psi_i`` (Jiang et al. 2020, Sec. 3), the conditional mutual information (their
    Sec. 4: the minimum over ``|S| <= max_conditioning``, and per size) and its signed
    form, and the robust and mean sign-errors over Dziugaite et al.'s (2020) environments.
    ``kendall_tau``, ``psi``, ``cmi``, ``signed_cmi`` and ``robust_sign_error`` get
    ``<criterion>_low`` / ``<criterion>_high``: the percentile interval over
    ``n_bootstrap`` resamples of the models (none, with a warning, below
    :data:`MIN_BOOTSTRAP_MODELS` models).

    Every criterion reads a larger measure as predicting a larger gap. A column from a
    ``neg_`` scorer (``mean_train_neg_path_norm``) is the negated measure: its ``tau``,
    ``Psi`` and ``signed_cmi`` come out with the opposite sign, and its
    ``wrong_direction`` flag means the right one; negate such a column first.

    Parameters
    ----------
    frame : pandas.DataFrame or mapping
        One row per model: a study's frame or ``GridSearchCV(...).cv_results_``.
    measures : str or sequence of str
        The measure columns.
    gap : str or (str, str), default="generalization_gap"
        A column, or ``(first, second)`` whose difference is the gap.
    hyperparameters : sequence of str, optional
        The grid's columns (default: the ``param_*`` columns).
    max_conditioning : int, default=2
        The largest conditioning set of the mutual information.
    tau_variant : {"b", "a"}, default="b"
        Kendall's tau over all models and inside the ``Psi`` groups: tau-b (scipy's), or
        tau-a (Jiang et al.'s Eq. 2); see :func:`~sklearn_gen.studies.measure_correlation`.
    repeats : {"pool", "mean"}, default="pool"
        How the models of one configuration (seeds) enter ``Psi``: each one member of its
        group, or averaged first (seed-mates differ only by noise, and pooled they pull
        ``Psi`` toward 0).
    complete_groups : bool, default=False
        ``Psi`` over the *complete* groups only: the settings of the other axes under which
        the frame holds every value of the axis, each with as many models as its most
        repeated configuration (the groups a dropped model did not unbalance).
    min_gap_difference : float, default=0.0
        The sign-errors leave out the pairs whose gaps differ by at most this (Dziugaite
        et al.'s noise threshold ``Delta*``; see :func:`robust_sign_error`, and note that
        at 0 the robust sign-error of a large zoo is 1 for nearly every measure).
    weights : {"uniform", "hoeffding"}, default="uniform"
        The sign-errors' pair weights (see :func:`robust_sign_error`).
    n_test : int or str, optional
        Test points per model (or their column): required with ``weights="hoeffding"``.
    min_ess : float, default=0.0
        The smallest effective sample size of an environment (Dziugaite et al.: 12).
    n_bootstrap : int, default=200
        Resamples of the models for the intervals (0: no intervals).
    confidence : float, default=0.95
        The intervals' level.
    random_state : int, RandomState instance or None, default=None
        Seeds the resampling.
    pgdl : bool, default=False
        Add ``pgdl_score``: the PGDL competition's conditional mutual information, by its
        conventions (:func:`~sklearn_gen.studies.pgdl_score`; no interval). It needs one
        model per configuration of a complete grid (average the seeds first), and raises
        a ``ValueError`` otherwise.

    Returns
    -------
    pandas.DataFrame
        One row per measure with ``n_models`` and the criteria, among them ``signed_cmi``
        (the CMI times the sign of ``kendall_tau``), ``wrong_direction`` (a positive CMI
        with a negative ``kendall_tau``: informative, the wrong way round) and
        ``n_environments``; sorted by ``signed_cmi`` (best first, so a measure informative
        the wrong way ranks below one without information; ``kendall_tau`` breaks ties).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame([{"lr": lr, "width": w} for lr in (1, 2, 4) for w in (1, 2, 4)])
    >>> frame["gap"] = frame["lr"] * 0.1 + rng.normal(0, 0.01, len(frame))
    >>> frame["good"] = frame["gap"] + rng.normal(0, 0.001, len(frame))
    >>> frame["reversed"] = -frame["good"]
    >>> frame["width_only"] = frame["width"].astype(float)
    >>> table = rank_measures(frame, ["reversed", "good", "width_only"], "gap",
    ...                       ["lr", "width"], n_bootstrap=20, random_state=0)
    >>> table[["measure", "signed_cmi", "wrong_direction"]].values.tolist()
    [['good', 1.0, False], ['width_only', 0.0, False], ['reversed', -1.0, True]]
    """
    max_conditioning = check_int(max_conditioning, "max_conditioning", 0)
    options = _options(tau_variant, repeats, complete_groups, min_gap_difference, weights, min_ess)
    measures, n_bootstrap, confidence = check_resampling(measures, n_bootstrap, confidence)
    pgdl = check_bool(pgdl, "pgdl")
    data, gap_values, keys = _prepare(frame, gap, hyperparameters)
    sizes = _test_sizes(data, n_test, options)
    columns = {name: _column(data, name, "measure").to_numpy(dtype=float) for name in measures}
    competition = {  # first: a zoo the competition's score refuses fails before the bootstrap
        name: pgdl_score(data, name, gap, list(keys.columns)) for name in measures if pgdl
    }
    grid = _Grid(keys, max_conditioning)
    resamples = bootstrap_resamples(len(data), n_bootstrap, random_state, "rank_measures")
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, values in columns.items():
            row: dict[str, Any] = {
                "measure": name,
                "n_models": int(np.sum(np.isfinite(values) & np.isfinite(gap_values))),
            }
            row.update(_criteria(values, gap_values, sizes, grid.codes, grid, options))
            draws: dict[str, list[float]] = {c: [] for c in INTERVAL_CRITERIA}
            for index in resamples:  # the same resamples for every measure
                boot = _criteria(
                    values[index],
                    gap_values[index],
                    sizes[index],
                    grid.take(index),
                    grid,
                    options,
                )
                for criterion in INTERVAL_CRITERIA:
                    draws[criterion].append(boot[criterion])
            for criterion in INTERVAL_CRITERIA:
                low, high = percentile_interval(draws[criterion], confidence)
                row[f"{criterion}_low"], row[f"{criterion}_high"] = low, high
            if pgdl:
                row["pgdl_score"] = competition[name]
            rows.append(row)
    table = pd.DataFrame(rows)
    return table.sort_values(
        ["signed_cmi", "kendall_tau"], ascending=False, na_position="last", kind="stable"
    ).reset_index(drop=True)


def compare_measures(
    frame: pd.DataFrame | Mapping[str, Any],
    first: str,
    second: str,
    gap: str | tuple[str, str] = "generalization_gap",
    hyperparameters: Sequence[str] | None = None,
    *,
    criterion: str = "psi",
    max_conditioning: int = 2,
    tau_variant: str = "b",
    repeats: str = "pool",
    complete_groups: bool = False,
    min_gap_difference: float = 0.0,
    weights: str = "uniform",
    n_test: int | str | None = None,
    min_ess: float = 0.0,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    random_state: Any = None,
) -> tuple[float, float, float]:
    """The difference of two measures' ``criterion``, with a paired bootstrap interval.

    Both measures are scored on the same resamples of the models, so the interval is that
    of the difference (``first - second``), not of two separate estimates.

    Parameters
    ----------
    frame : pandas.DataFrame or mapping
        As for :func:`rank_measures`.
    first, second : str
        The measure columns.
    gap, hyperparameters
        As for :func:`rank_measures`.
    criterion : str, default="psi"
        ``"kendall_tau"``, ``"psi"``, ``"cmi"``, ``"signed_cmi"``, ``"robust_sign_error"``
        or ``"mean_sign_error"``.
    max_conditioning, tau_variant, repeats, complete_groups, min_gap_difference, weights, \
n_test, min_ess, n_bootstrap, confidence, random_state
        As for :func:`rank_measures` (no interval, with a warning, below
        :data:`MIN_BOOTSTRAP_MODELS` models).

    Returns
    -------
    (difference, low, high) : tuple of float

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame([{"lr": lr, "width": w} for lr in (1, 2, 4) for w in (1, 2, 4)])
    >>> frame["gap"] = frame["lr"] * 0.1 + rng.normal(0, 0.01, len(frame))
    >>> frame["good"], frame["bad"] = frame["gap"], -frame["gap"]
    >>> diff, low, high = compare_measures(frame, "good", "bad", "gap", ["lr", "width"],
    ...                                    criterion="kendall_tau", n_bootstrap=50,
    ...                                    random_state=0)
    >>> diff, bool(low > 0)
    (2.0, True)
    """
    check_choice(criterion, "criterion", COMPARED_CRITERIA)
    max_conditioning = check_int(max_conditioning, "max_conditioning", 0)
    options = _options(tau_variant, repeats, complete_groups, min_gap_difference, weights, min_ess)
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", 0)
    confidence = check_real(confidence, "confidence", 0.0, 1.0, closed="neither")
    data, gap_values, keys = _prepare(frame, gap, hyperparameters)
    sizes = _test_sizes(data, n_test, options)
    grid = _Grid(keys, max_conditioning)
    a = _column(data, first, "measure").to_numpy(dtype=float)
    b = _column(data, second, "measure").to_numpy(dtype=float)
    resamples = bootstrap_resamples(len(data), n_bootstrap, random_state, "compare_measures")

    def difference(index: np.ndarray) -> float:
        codes = grid.take(index)
        one = _criteria(a[index], gap_values[index], sizes[index], codes, grid, options)
        two = _criteria(b[index], gap_values[index], sizes[index], codes, grid, options)
        return float(one[criterion] - two[criterion])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        point = difference(np.arange(len(data)))
        draws = [difference(index) for index in resamples]
    return (point, *percentile_interval(draws, confidence))
