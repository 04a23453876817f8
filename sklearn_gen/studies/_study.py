"""A study as data, and the one runner that executes every study.

A :class:`Study` declares what a paper's experiment is: the estimator (composed from the
public objects: ``Pipeline``, ``LabelNoise``, ``PixelShuffle``, ``NetworkClassifier``, ...),
the parameter grid, the repeats, the scoring (the package's scorers) and, for data drawn
anew per configuration (hyperspheres, Gaussian points), a data generator. :func:`run_study`
executes it the same way for every study:

1. every (repeat, grid point) of :class:`~sklearn.model_selection.ParameterGrid` is one
   configuration, with seeds from :func:`~sklearn_gen._validation.derive_seed` (the run's
   ``random_state`` and the configuration's own values), so results do not depend on the
   order or the place in which configurations run;
2. each configuration clones the estimator, sets the grid point's parameters and every
   ``random_state`` inside it, and fits and scores it with
   :func:`~sklearn.model_selection.cross_validate` on the repeat's split (the data's
   official split when it has one) -- further evaluation sets (the hypersphere study's
   projected training set) are scored with the same scorers;
3. the configurations run through
   :func:`~sklearn_gen.studies._common.run_configurations`: joblib (``n_jobs``, a Dask
   backend), :class:`joblib.Memory` (``cache_dir``: resume), a progress bar, and threads
   shared among the workers.

The result is one tidy row per configuration (or one per epoch, for studies that record
the training curve), which each public study function (``randomization_test(...)``)
renames into its documented columns.

Parameters every study function shares
--------------------------------------
n_jobs : int or None, default=None
    joblib's ``n_jobs`` over configurations (None: one, or the active backend's default,
    e.g. Dask's workers).
random_state : int, RandomState or None, default=0
    Every configuration's seeds (split, initialization, label noise, batches) come from it
    and the configuration's own values.
progress : bool, default=False
    Show a progress bar over configurations.
cache_dir : str, path or None, default=None
    A :class:`joblib.Memory` folder: finished configurations are stored there as they
    finish and read back on the next run, so an interrupted study resumes where it stopped
    (and a study rerun with more repeats computes only the new ones).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid, PredefinedSplit, cross_validate
from sklearn.pipeline import Pipeline

from sklearn_gen._validation import check_int, derive_seed, draw_seed
from sklearn_gen._wrappers import find_inner
from sklearn_gen.studies._common import run_configurations
from sklearn_gen.studies._validation import split_indices

__all__ = ["Study", "StudyData", "configuration_packs", "run_study", "seed_estimator"]

#: The pack size of :func:`configuration_packs` (None: packs of any size).
_PACK_SIZE: ContextVar[int | None] = ContextVar("sklearn_gen_pack_size", default=None)

#: Grid keys with this prefix are data parameters (of ``Study.data``, or ``train_size``).
DATA_PREFIX = "data__"


class StudyData(NamedTuple):
    """Data of one configuration: the rows, the training rows, the evaluation sets.

    ``evaluations`` maps a set's name to its rows; ``"test"`` is the held-out set that
    :func:`~sklearn.model_selection.cross_validate` scores, the others are scored after it.
    """

    X: np.ndarray
    y: np.ndarray
    train: np.ndarray
    evaluations: dict[str, np.ndarray]


@dataclass(frozen=True)
class Study:
    """One paper's experiment, declared.

    Parameters
    ----------
    name : str
        Names the study (its rows' ``study`` column, its progress bar, its seeds).
    estimator : estimator
        The template, cloned for every configuration.
    grid : dict or list of dict
        Its :class:`~sklearn.model_selection.ParameterGrid`. Keys are ``estimator``
        parameters (``set_params`` names), except the ``labels`` (columns only, e.g. a
        condition's name) and keys starting with ``data__`` (passed to ``data``; with
        fixed data, ``data__train_size`` draws that many training rows, nested across
        sizes within a repeat).
    scoring : dict
        ``{name: scorer}`` for :func:`~sklearn.model_selection.cross_validate`; each row
        gets ``train_<name>``, ``test_<name>`` and ``<set>_<name>`` for every further
        evaluation set.
    n_repeats : int, default=1
        Repeats of the whole grid, each with its own split and seeds.
    labels : tuple of str, default=()
        Grid keys that only label rows.
    seed_by : tuple of str or None, default=None
        The grid keys the estimator's seeds depend on (with the repeat); None: all keys.
        ``()`` gives every grid point of a repeat the same initialization, as an ablation
        of one network's regularizers needs.
    data : callable or None, default=None
        ``data(random_state=seed, **data_params) -> StudyData`` for studies whose data is
        drawn per configuration; None: the ``X, y`` given to :func:`run_study`, split by
        its ``test_size``.
    summary : callable or None, default=None
        ``summary(fitted) -> dict`` of extra columns read off the fitted estimator
        (epochs trained, stopping rule met, ...).
    records : callable or None, default=None
        ``records(fitted, params) -> list of dict``: one row per epoch (the training
        curve); an empty list gives the configuration's single row.
    train_scores : bool, default=True
        Whether to score the training rows too (``return_train_score``).
    train_scoring : dict, default={}
        ``{name: scorer}`` scored on the training rows only, as ``train_<name>`` (the
        measures of a fitted model on its sample: norms, bounds, flatness), with their
        time in ``train_scoring_seconds``.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> study = Study("C sweep", LogisticRegression(max_iter=500), {"C": [0.01, 1.0]},
    ...               scoring={"accuracy": "accuracy"})
    >>> X, y = load_iris(return_X_y=True)
    >>> frame = run_study(study, X, y)
    >>> frame[["C", "repeat"]].values.tolist()
    [[0.01, 0.0], [1.0, 0.0]]
    >>> bool(frame["test_accuracy"].iloc[1] > frame["test_accuracy"].iloc[0])
    True
    """

    name: str
    estimator: Any
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Sequence[Any]]]
    scoring: Mapping[str, Any]
    n_repeats: int = 1
    labels: tuple[str, ...] = ()
    seed_by: tuple[str, ...] | None = None
    data: Callable[..., StudyData] | None = None
    summary: Callable[[Any], dict[str, Any]] | None = None
    records: Callable[[Any, dict[str, Any]], list[dict[str, Any]]] | None = None
    train_scores: bool = True
    train_scoring: Mapping[str, Any] = field(default_factory=dict)


@contextmanager
def configuration_packs(pack_size: int | None) -> Iterator[None]:
    """Run every study in this block with packs of at most ``pack_size`` networks.

    ``1`` fits every configuration alone; None (the default outside the block) packs all
    the networks that can share a pack. ``sklearn-gen run --pack-size N`` uses it.

    Parameters
    ----------
    pack_size : int or None
        The most networks one pack trains at once (None: no limit).

    Yields
    ------
    None
        The block runs with this pack size; the previous one is restored after it.

    Examples
    --------
    >>> with configuration_packs(1):
    ...     pass  # studies here fit one network at a time
    """
    if pack_size is not None:
        check_int(pack_size, "pack_size")
    token = _PACK_SIZE.set(pack_size)
    try:
        yield
    finally:
        _PACK_SIZE.reset(token)


def seed_estimator(estimator: Any, seed: int) -> Any:
    """Set every ``random_state`` parameter inside ``estimator`` from one ``seed``.

    Each nested ``random_state`` (``model__random_state``, ``model__estimator__random_state``,
    ...) gets its own stream, :func:`~sklearn_gen._validation.derive_seed` of ``seed`` and
    the parameter's name, so a network's initialization and its label noise are
    independent yet reproducible. Returns the estimator (modified in place).

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.linear_model import SGDClassifier
    >>> model = seed_estimator(make_pipeline(PCA(2), SGDClassifier()), 0)
    >>> model[0].random_state != model[1].random_state
    True
    """
    params = estimator.get_params(deep=True)
    names = sorted(k for k in params if k == "random_state" or k.endswith("__random_state"))
    estimator.set_params(**{name: derive_seed(seed, name) for name in names})
    return estimator


def _label(value: Any) -> Any:
    """A grid value as a row value: numbers and strings as they are, objects by name."""
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return value
    if isinstance(value, tuple):
        return value
    return type(value).__name__


def _split(
    study: Study,
    X: np.ndarray | None,
    y: np.ndarray | None,
    test_size: float | int | PredefinedSplit,
    data_params: dict[str, Any],
    repeat: int,
    seed: int,
) -> StudyData:
    if study.data is not None:
        data_seed = derive_seed(seed, "data", repeat, *sorted(data_params.items()))
        return study.data(random_state=data_seed, **data_params)
    assert X is not None and y is not None
    split_seed = derive_seed(seed, "split", repeat)
    train, test = split_indices(len(y), test_size, split_seed, y)
    train_size = data_params.get("train_size")
    if train_size is not None:
        if train_size > len(train):
            raise ValueError(
                f"train_size {train_size} is larger than the {len(train)} training rows."
            )
        train = np.sort(
            _stratified_order(train, y, derive_seed(seed, "subset", repeat))[:train_size]
        )
    return StudyData(X, y, train, {"test": test})


def _stratified_order(rows: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """``rows`` in a seeded order whose every prefix holds the classes in proportion.

    A random permutation, then each row keyed by its rank within its class over the class
    size: the first ``m`` rows are a stratified sample for every ``m``, and the sizes of a
    repeat are nested subsets (as a learning curve needs).
    """
    order = np.random.RandomState(seed).permutation(rows)
    labels = y[order]
    keys = np.empty(len(order))
    for label in np.unique(labels):
        where = np.flatnonzero(labels == label)
        keys[where] = (np.arange(len(where)) + 0.5) / len(where)
    return order[np.argsort(keys, kind="stable")]


def _parts(study: Study, params: dict[str, Any]) -> tuple[dict, dict, dict]:
    """A grid point's ``(labels, data parameters, estimator parameters)``."""
    labels = {k: v for k, v in params.items() if k in study.labels}
    data_params = {k[len(DATA_PREFIX) :]: v for k, v in params.items() if k.startswith(DATA_PREFIX)}
    estimator_params = {
        k: v for k, v in params.items() if k not in labels and not k.startswith(DATA_PREFIX)
    }
    return labels, data_params, estimator_params


def _prepared(study: Study, params: dict[str, Any], repeat: int, seed: int) -> Any:
    """The configuration's unfitted estimator: cloned, its parameters set, seeded."""
    _, _, estimator_params = _parts(study, params)
    seed_keys = params if study.seed_by is None else {k: params[k] for k in study.seed_by}
    estimator = clone(study.estimator).set_params(**estimator_params)
    keys = ((k, _label(v)) for k, v in sorted(seed_keys.items()))
    return seed_estimator(estimator, derive_seed(seed, "estimator", repeat, *keys))


def _rows(
    study: Study,
    params: dict[str, Any],
    repeat: int,
    data: StudyData,
    fitted: Any,
    fit_seconds: float,
    scores: dict[str, float],
) -> list[dict[str, Any]]:
    """The configuration's row (or its per-epoch rows) from its fitted estimator and scores."""
    labels, data_params, estimator_params = _parts(study, params)
    test = data.evaluations.get("test", data.train)
    row: dict[str, Any] = {
        "study": study.name,
        **{k: _label(v) for k, v in labels.items()},
        **{k: _label(v) for k, v in data_params.items()},
        **{k: _label(v) for k, v in estimator_params.items()},
        "repeat": repeat,
        "n_train": len(data.train),
        "n_test": len(test),
        "fit_seconds": fit_seconds,
        **scores,
    }
    for name, scorer in study.scoring.items():
        for set_name, rows in data.evaluations.items():
            if set_name != "test":
                score = scorer if callable(scorer) else _sklearn_scorer(scorer)
                row[f"{set_name}_{name}"] = float(score(fitted, data.X[rows], data.y[rows]))
    if study.train_scoring:
        start = time.perf_counter()
        X_train, y_train = data.X[data.train], data.y[data.train]
        for name, scorer in study.train_scoring.items():
            score = scorer if callable(scorer) else _sklearn_scorer(scorer)
            row[f"train_{name}"] = float(score(fitted, X_train, y_train))
        row["train_scoring_seconds"] = time.perf_counter() - start
    if study.summary is not None:
        row.update(study.summary(fitted))
    records = [] if study.records is None else study.records(fitted, params)
    return [{**row, **record} for record in records] or [row]


def _configuration_rows(
    *,
    study: Study,
    X: np.ndarray | None,
    y: np.ndarray | None,
    test_size: float | int | PredefinedSplit,
    params: dict[str, Any],
    repeat: int,
    seed: int,
    index: int = 0,
) -> list[dict[str, Any]]:
    """Fit and score one configuration (a repeat and a grid point) by ``cross_validate``."""
    _, data_params, _ = _parts(study, params)
    data = _split(study, X, y, test_size, data_params, repeat, seed)
    estimator = _prepared(study, params, repeat, seed)
    test = data.evaluations.get("test", data.train)
    result = cross_validate(
        estimator,
        data.X,
        data.y,
        cv=[(data.train, test)],
        scoring=dict(study.scoring),
        return_train_score=study.train_scores,
        return_estimator=True,
        error_score="raise",
    )
    scores = {}
    for name in study.scoring:
        if study.train_scores:
            scores[f"train_{name}"] = float(result[f"train_{name}"][0])
        if "test" in data.evaluations:
            scores[f"test_{name}"] = float(result[f"test_{name}"][0])
    fitted = result["estimator"][0]
    rows = _rows(study, params, repeat, data, fitted, float(result["fit_time"][0]), scores)
    return [{**row, "_configuration": index} for row in rows]


def _pack_member(estimator: Any) -> Any:
    """What a pack trains of ``estimator``: itself, or the last step of a Pipeline whose other
    steps are all ``"passthrough"`` (the randomization study's true- and noisy-label fits)."""
    found, transform = find_inner(
        estimator, lambda obj: not isinstance(obj, Pipeline), fitted=False
    )
    return found if found is not None and transform is None else estimator


def _pack_rows(
    *,
    study: Study,
    X: np.ndarray,
    y: np.ndarray,
    test_size: float | int | PredefinedSplit,
    members: list[tuple[dict[str, Any], int, int]],
    seed: int,
) -> list[dict[str, Any]]:
    """Fit the configurations of one pack at once (:func:`~sklearn_gen.networks.fit_pack`)
    and score each as :func:`_configuration_rows` does."""
    from sklearn_gen.networks import fit_many

    params0, repeat0, _ = members[0]
    _, data_params, _ = _parts(study, params0)
    data = _split(study, X, y, test_size, data_params, repeat0, seed)
    estimators = [_prepared(study, params, repeat, seed) for params, repeat, _ in members]
    start = time.perf_counter()
    fit_many([_pack_member(e) for e in estimators], data.X[data.train], data.y[data.train])
    seconds = (time.perf_counter() - start) / len(members)  # the pack's time, shared
    test = data.evaluations.get("test", data.train)
    rows: list[dict[str, Any]] = []
    for (params, repeat, index), fitted in zip(members, estimators, strict=True):
        scores = {}
        for name, scorer in study.scoring.items():
            score = scorer if callable(scorer) else _sklearn_scorer(scorer)
            if study.train_scores:
                scores[f"train_{name}"] = float(
                    score(fitted, data.X[data.train], data.y[data.train])
                )
            if "test" in data.evaluations:
                scores[f"test_{name}"] = float(score(fitted, data.X[test], data.y[test]))
        rows += [
            {**row, "_configuration": index}
            for row in _rows(study, params, repeat, data, fitted, seconds, scores)
        ]
    return rows


def _packs(
    study: Study, grid: list[tuple[dict[str, Any], int]], seed: int, pack_size: int | None
) -> list[list[int]]:
    """Indices of the configurations grouped into packs (a group of one is fitted alone).

    Configurations share a pack when they train on the same rows (fixed data: the same
    repeat and training size) and :func:`~sklearn_gen.networks.pack_key` of what they train
    is the same; ``pack_size`` caps a pack (1: no packs).
    """
    from sklearn_gen.networks import pack_key, pack_refusal

    if pack_size == 1 or study.data is not None:
        return [[i] for i in range(len(grid))]
    groups: dict[Any, list[int]] = {}
    singles: list[list[int]] = []
    for index, (params, repeat) in enumerate(grid):
        member = _pack_member(_prepared(study, params, repeat, seed))
        if pack_refusal(member) is not None:
            singles.append([index])
            continue
        _, data_params, _ = _parts(study, params)
        key = (repeat, data_params.get("train_size"), pack_key(member))
        groups.setdefault(key, []).append(index)
    packs: list[list[int]] = []
    for indices in groups.values():
        size = len(indices) if pack_size is None else pack_size
        packs += [indices[i : i + size] for i in range(0, len(indices), size)]
    return sorted(packs + singles)


def _sklearn_scorer(name: str) -> Callable[..., float]:
    from sklearn.metrics import get_scorer

    return get_scorer(name)


def run_study(
    study: Study,
    X: Any = None,
    y: Any = None,
    *,
    test_size: float | int | PredefinedSplit = 0.25,
    n_jobs: int | None = None,
    random_state: int | np.random.RandomState | None = 0,
    progress: bool = False,
    cache_dir: str | os.PathLike | None = None,
    pack_size: int | str | None = "auto",
) -> pd.DataFrame:
    """Run every configuration of ``study``; one tidy frame of their rows.

    Parameters
    ----------
    study : Study
    X : array-like of shape (n_samples, n_features) or None
        The data, unless the study draws its own (``study.data``).
    y : array-like of shape (n_samples,) or None
    test_size : float, int or PredefinedSplit, default=0.25
        Held-out fraction or number of rows (a seeded, stratified split per repeat), or
        the data's official split as a one-fold
        :class:`~sklearn.model_selection.PredefinedSplit`.
    n_jobs, random_state, progress, cache_dir
        As every study function takes them (see :mod:`sklearn_gen.studies._study`).
    pack_size : int, None or "auto", default="auto"
        Configurations that train networks of one architecture on the same rows are
        trained together, as packs (:func:`~sklearn_gen.networks.fit_pack`), of at most
        ``pack_size`` members (None: no limit; 1: every fit alone, as before packs;
        ``"auto"``: the value of an enclosing
        :func:`~sklearn_gen.studies.configuration_packs`, else None). A member's result
        agrees with its own fit to float rounding; settings a pack cannot reproduce
        (:func:`~sklearn_gen.networks.pack_refusal`) are fitted alone.

    Returns
    -------
    pandas.DataFrame
        One row per configuration (per epoch with ``study.records``), in grid order within
        each repeat: ``study``, the labels, data and estimator parameters of the grid
        point, ``repeat``, ``n_train``, ``n_test``, ``fit_seconds``, the scores and the
        summary columns.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> study = Study("depth", DecisionTreeClassifier(), {"max_depth": [1, 3]},
    ...               scoring={"accuracy": "accuracy"}, n_repeats=2)
    >>> X, y = load_iris(return_X_y=True)
    >>> frame = run_study(study, X, y, random_state=0)
    >>> frame.groupby("max_depth")["train_accuracy"].mean().round(2).tolist()
    [0.67, 0.99]
    """
    if not isinstance(study, Study):
        raise TypeError(f"study must be a Study, got {type(study).__name__}.")
    seed = draw_seed(random_state)
    if study.data is None:
        if X is None or y is None:
            raise ValueError(f"The study {study.name!r} needs data: pass X and y.")
        X = np.asarray(X)
        y = np.asarray(y)
    if isinstance(pack_size, str) and pack_size == "auto":
        pack_size = _PACK_SIZE.get()
    if pack_size is not None:
        check_int(pack_size, "pack_size")
    grid = [
        (params, repeat)
        for repeat in range(study.n_repeats)
        for params in ParameterGrid(study.grid)
    ]
    # what one configuration computes does not depend on how many repeats the study has:
    # with n_repeats left out of the stored key, more repeats later reuse the stored ones
    common = {
        "study": replace(study, n_repeats=1),
        "X": X,
        "y": y,
        "test_size": test_size,
        "seed": seed,
    }
    packs = _packs(study, grid, seed, pack_size)
    singles = [p[0] for p in packs if len(p) == 1]
    grouped = [p for p in packs if len(p) > 1]
    frames = []
    if singles:
        configurations = [
            {**common, "params": grid[i][0], "repeat": grid[i][1], "index": i} for i in singles
        ]
        frame = run_configurations(
            _configuration_rows,
            configurations,
            n_jobs=n_jobs,
            progress=progress,
            description=study.name,
            cache_dir=cache_dir,
        )
        frames.append(frame)
    if grouped:
        configurations = [{**common, "members": [(*grid[i], i) for i in p]} for p in grouped]
        frame = run_configurations(
            _pack_rows,
            configurations,
            n_jobs=n_jobs,
            progress=progress,
            description=f"{study.name} (packs)",
            cache_dir=cache_dir,
        )
        frames.append(frame)
    result = pd.concat(frames, ignore_index=True)
    result = result.sort_values("_configuration", kind="stable")
    return result.drop(columns="_configuration").reset_index(drop=True)
