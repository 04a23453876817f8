"""The experiments the ``sklearn-gen run`` command knows: settings, figures, verdicts.

Each :class:`Run` turns command-line choices (data, quick or full settings, device, jobs,
seed) into a call of one experiment function, the figures of its frame, and a short
summary: the paper's claim the run tests, the key numbers, and whether this run
supports the claim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import PredefinedSplit

from sklearn_gen.datasets._registry import Dataset
from sklearn_gen.studies._verdicts import (
    Verdict,
    format_interval,
)

__all__ = ["RUNS", "Run", "Settings"]


@dataclass(frozen=True)
class Settings:
    """What the command line decides for every experiment."""

    quick: bool = False
    device: str = "auto"
    n_jobs: int | None = None
    seed: int = 0
    progress: bool = True
    #: Folder of finished configurations (resuming an interrupted run); None: no cache.
    cache_dir: str | None = None
    #: Training / test rows to draw (seeded) instead of the experiment's own sizes.
    n_train: int | None = None
    n_test: int | None = None
    #: Torch/BLAS threads per configuration; None: the cores divided among the workers.
    threads: int | None = None
    #: "default", or "nagarajan2019": the authors' own settings where a study has them.
    preset: str = "default"


@dataclass(frozen=True)
class Run:
    """One runnable experiment.

    Attributes
    ----------
    name : str
    paper : str
    description : str
    default_data : str
        The ``--data`` used when none is given.
    data_kinds : tuple of str
        Which ``--data`` names make sense (``"digits"``, ``"mnist"``, ``"cifar10"``, ...,
        ``"hyperspheres"``).
    compute : callable
        ``compute(data, settings) -> DataFrame``.
    figures : callable
        ``figures(frame) -> {file stem: matplotlib Figure}``.
    verdicts : callable
        ``verdicts(frame) -> list of Verdict``.
    prepare : callable
        ``prepare(data) -> Dataset``, the paper's own preprocessing, applied before
        ``compute`` (and described in the summary); the identity by default.
    data_line : callable or None
        ``data_line(frame) -> str``, the summary's data line for studies that draw their
        own data (the ``--data`` set is not used); None: the ``--data`` set's description.
    tables : callable or None
        ``tables(frame) -> str``, markdown added to ``summary.md`` after the claims (the
        measure-ranking table).
    presets : tuple of str
        The ``--preset`` values the study has (``"nagarajan2019"``: the authors' settings;
        ``"liao2018"``: Liao et al.'s pretraining protocol at the scale where it shows here).
    """

    name: str
    paper: str
    description: str
    default_data: str
    data_kinds: tuple[str, ...]
    compute: Callable[[Dataset, Settings], pd.DataFrame]
    figures: Callable[[pd.DataFrame], dict[str, Any]]
    verdicts: Callable[[pd.DataFrame], list[Verdict]] = field(default=lambda frame: [])
    prepare: Callable[[Dataset], Dataset] = field(default=lambda data: data)
    data_line: Callable[[pd.DataFrame], str] | None = None
    presets: tuple[str, ...] = ("default",)
    #: ``tables(frame) -> str``: markdown sections ``summary.md`` adds after the claims.
    tables: Callable[[pd.DataFrame], str] | None = None


def _figure(stem: str, plot: str) -> Callable[[pd.DataFrame], dict[str, Any]]:
    """``figures(frame) -> {stem: studies.plotting.<plot>(frame)}`` (imported lazily)."""

    def figures(frame: pd.DataFrame) -> dict[str, Any]:
        from sklearn_gen.studies import plotting

        return {stem: getattr(plotting, plot)(frame)}

    return figures


def _claims(module: str, name: str) -> Callable[[pd.DataFrame], list[Verdict]]:
    """``verdicts(frame)``: the claims a study module declares (``studies.<module>.<name>``,
    a tuple of :class:`~sklearn_gen.studies._claims.Claim`), judged on the frame (the
    module imported lazily, as every study module here)."""

    def verdicts(frame: pd.DataFrame) -> list[Verdict]:
        from importlib import import_module

        from sklearn_gen.studies._claims import judge_claims

        claims = getattr(import_module(f"sklearn_gen.studies.{module}"), name)
        return judge_claims(claims, frame)

    return verdicts


def _zhang_network(settings: Settings, **params: Any):
    """The Zhang et al. studies' network (declared in the randomization study), on the
    command line's device and seed, 128 hidden units in a quick run."""
    from sklearn_gen.studies._randomization import zhang_network

    if settings.quick:
        params.setdefault("module__hidden", (128,))
    return zhang_network(device=settings.device, random_state=settings.seed, **params)


def _subset(
    data: Dataset, settings: Settings, quick: int, full: int | None, test_size: float = 0.25
) -> tuple[Dataset, float | int | PredefinedSplit]:
    """The rows one run uses, and the ``test_size`` its experiment function takes.

    The experiment's own size is ``quick`` or ``full`` rows (None: all), a ``test_size``
    fraction of them for testing. ``--n-train`` / ``--n-test`` are row counts, exactly:
    each replaces its part of the experiment's own size. With an official split both parts
    are drawn from their own side of it and the split is passed on. Without one, the two
    counts are drawn from the pool and the experiment gets the test count as an integer
    ``test_size`` (scikit-learn's convention), so it trains on exactly ``n_train`` rows;
    where the experiment uses the whole pool (``full=None``), a part not given is the rest
    of the pool.

    Examples
    --------
    >>> from sklearn_gen.datasets import load_dataset
    >>> quick = Settings(quick=True, n_train=200)
    >>> data, test_size = _subset(load_dataset("digits"), quick, 1000, 10000, test_size=0.2)
    >>> len(data.y) - test_size, test_size
    (200, 200)
    """
    n = quick if settings.quick else full
    n_train, n_test = settings.n_train, settings.n_test
    if n is not None:
        n_train = n_train or n - round(test_size * n)
        n_test = n_test or round(test_size * n)
    if data.is_test is not None:
        data = data.subset(n_train, n_test, random_state=settings.seed)
        return data, data.test_split(test_size)
    if settings.n_train is None and settings.n_test is None:
        # the experiment's own sizes, split by its own fraction
        return data.subset(n_train, n_test, random_state=settings.seed), test_size
    pool = len(data.y)
    if settings.n_train is None:  # the part not asked for: the study's own, within the pool
        n_train = pool - n_test if n_train is None else min(n_train, pool - n_test)
    if settings.n_test is None:
        n_test = pool - n_train if n_test is None else min(n_test, pool - n_train)
    if n_train < 1 or n_test < 1 or n_train + n_test > pool:
        raise ValueError(
            f"--n-train {n_train} and --n-test {n_test} need {n_train + n_test} rows; "
            f"{data.name} has {pool} and no official split: ask for fewer rows."
        )
    return data.subset(n_train, n_test, random_state=settings.seed), n_test


def _zhang_preprocessing(data: Dataset) -> Dataset:
    """Zhang et al.'s CIFAR preprocessing (Appendix A): centre crop 28x28, per-image whitening.

    Applied to CIFAR data only (the paper's other data set, MNIST, is used as it is).
    """
    if not data.name.startswith("cifar") or data.input_shape is None:
        return data
    from sklearn.pipeline import make_pipeline

    from sklearn_gen.randomization import CenterCrop, PerImageWhitening

    channels = data.input_shape[0]
    steps = make_pipeline(CenterCrop(data.input_shape, 28), PerImageWhitening())
    X = steps.fit_transform(data.X).astype(np.float32, copy=False)
    source = f"{data.source}; centre crop 28x28 and per-image whitening (Zhang et al.)"
    return replace(data, X=X, input_shape=(channels, 28, 28), source=source.lstrip("; "))


# ------------------------------------------------------------------------ randomization
def _randomization(data: Dataset, settings: Settings) -> pd.DataFrame:
    from sklearn_gen.studies._randomization import randomization_test

    data, test_size = _subset(data, settings, 600, 5000)
    net = _zhang_network(settings)
    levels = (0.0, 0.5, 1.0) if settings.quick else (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    return randomization_test(
        data.X,
        data.y,
        estimator=net,
        test_size=test_size,
        corruption_levels=levels,
        n_repeats=1 if settings.quick else 3,
        n_jobs=settings.n_jobs,
        random_state=settings.seed,
        progress=settings.progress,
        cache_dir=settings.cache_dir,
    )


def _ablation(data: Dataset, settings: Settings) -> pd.DataFrame:
    from sklearn_gen.studies._randomization import (
        HELDOUT,
        augment_padding_for,
        regularization_ablation,
    )

    data, test_size = _subset(data, settings, 600, 5000)
    # Table 1 trains every setting until it fits its labels (random ones included): stop at
    # training accuracy 1, within a budget that fits random labels on digits (~150-220
    # epochs measured for the baseline and weight decay)
    net = _zhang_network(
        settings,
        max_epochs=300 if settings.quick else 1000,
        input_shape=data.input_shape,
        augment_padding=augment_padding_for(data.input_shape),
    )
    switches = ("weight_decay", "dropout", "batch_norm")
    if data.input_shape is not None:
        switches = (*switches, "augment")
    return regularization_ablation(
        data.X,
        data.y,
        estimator=net,
        input_shape=data.input_shape,
        switches=switches,
        test_size=test_size,
        corruption_levels=(0.0, 1.0),
        heldout=HELDOUT,
        n_repeats=1 if settings.quick else 3,
        n_jobs=settings.n_jobs,
        random_state=settings.seed,
        progress=settings.progress,
        cache_dir=settings.cache_dir,
    )


def _expressivity(data: Dataset, settings: Settings) -> pd.DataFrame:
    from sklearn_gen.studies._randomization import expressivity

    n_values = (100, 300, 1000) if settings.quick else (100, 300, 1000, 3000)
    # two repeats even when quick, for an interval: 1.4 s against 1.1 s for one (2 cores)
    return expressivity(
        n_values,
        d=50,
        n_repeats=2 if settings.quick else 3,
        n_jobs=settings.n_jobs,
        random_state=settings.seed,
        progress=settings.progress,
        cache_dir=settings.cache_dir,
    )


# ------------------------------------------------------------------------ kernels
def _kernel(data: Dataset, settings: Settings) -> pd.DataFrame:
    from sklearn_gen.studies._kernel import kernel_interpolation

    data, test_size = _subset(data, settings, 1000, 10000, test_size=0.2)
    net = _zhang_network(settings)
    return kernel_interpolation(
        data.X,
        data.y,
        network=net,
        ridges=_KERNEL_RIDGES,
        corruption_levels=(0.0, 0.5, 1.0) if settings.quick else (0.0, 0.2, 0.5, 1.0),
        test_size=test_size,
        n_repeats=1 if settings.quick else 3,
        n_jobs=settings.n_jobs,
        random_state=settings.seed,
        progress=settings.progress,
        cache_dir=settings.cache_dir,
    ).assign(data=data.name)  # the ridge claims are answered on MNIST or CIFAR-10 only


#: The ridge terms the kernel run adds to the interpolant's solve (rbf: k(x, x) = 1).
_KERNEL_RIDGES = (1e-3, 1e-2, 1e-1)


# ------------------------------------------------------------------------ normalized loss
def _normalized(data: Dataset, settings: Settings) -> pd.DataFrame:
    from sklearn_gen.studies._normalized_loss import (
        default_network,
        normalized_loss_study,
        random_labels_study,
    )

    liao = settings.preset == "liao2018"
    if liao:
        # Liao et al.'s pretraining protocol at a scale where its effect shows on a CPU
        # (docs/liao2018.rst): 10,000 images, half for training, a 1x512 bias-free ReLU
        # network, 300 epochs of pretraining, 3 corruption levels, 3 repeats
        rows, hidden, epochs, levels, repeats = 10_000, (512,), 300, (0.0, 0.5, 1.0), 3
        if settings.quick:
            rows, hidden, epochs, repeats = 1_000, (64,), 60, 1
    elif settings.quick:
        rows, hidden, epochs, levels, repeats = 400, (64,), 60, (0.0, 0.5, 1.0), 1
    else:
        # 3 repeats (2 until the claims were declared with repeats as units): t(2) against
        # t(1) in the paired intervals, for half as much again of the run's time
        rows, hidden, epochs, repeats = 2_000, (256,), 100, 3
        levels = (0.0, 0.25, 0.5, 0.75, 1.0)
    data, test_size = _subset(data, settings, rows, rows, test_size=0.5)
    net = default_network(
        module__hidden=hidden,
        max_epochs=3000 if liao else 1000,
        device=settings.device,
        random_state=settings.seed,
    )
    shared = dict(
        network=net,
        test_size=test_size,
        n_repeats=repeats,
        n_jobs=settings.n_jobs,
        random_state=settings.seed,
        progress=settings.progress,
        cache_dir=settings.cache_dir,
    )
    frames = [
        normalized_loss_study(
            data.X, data.y, factor="pretraining", levels=levels, pretrain_epochs=epochs, **shared
        )
    ]
    if not liao:  # Liao et al.'s Figs. 2 and 13: larger initializations, default included
        init_levels = (1.0, 2.0) if settings.quick else _INIT_SCALES
        frames.append(
            normalized_loss_study(data.X, data.y, factor="init_scale", levels=init_levels, **shared)
        )
        # Fig. 10: the network trained and evaluated on random labels, one per repeat
        frames.append(random_labels_study(data.X, data.y, **shared))
    return pd.concat(frames, ignore_index=True)


#: The initialization scales of the normalized-loss run (1: the default initialization).
_INIT_SCALES = (1.0, 1.5, 2.0, 2.5)


# ------------------------------------------------------------------------ uniform convergence
def _sample_sizes(low: int, high: int, count: int) -> tuple[int, ...]:
    """``count`` sizes spaced evenly on a log scale from ``low`` to ``high``."""
    return tuple(sorted({int(np.rint(m)) for m in np.geomspace(low, high, count)}))


def _bounds(data: Dataset, settings: Settings) -> pd.DataFrame:
    from sklearn_gen.studies._uniform_convergence import bounds_vs_sample_size

    data, test_size = _subset(data, settings, None, None)
    if data.is_test is not None:
        top = data.n_train
    elif isinstance(test_size, int):  # row counts asked for: the rest of the rows train
        top = len(data.y) - test_size
    else:
        top = int((1 - test_size) * len(data.y))
    # slopes need >= 5 sizes: spaced on a log scale up to the whole training side
    if settings.quick:
        sizes, width, margin, repeats = _sample_sizes(50, min(800, top), 5), 128, 5.0, 1
    else:
        sizes, width, margin, repeats = _sample_sizes(100, min(8000, top), 6), 256, 10.0, 3
    params: dict[str, Any] = dict(depth=5, width=width, margin=margin)
    if settings.preset == "nagarajan2019":
        # the authors' MNIST code: 5 hidden layers of 1,024 bias-free ReLUs (6 linear
        # layers), Xavier init, sigmoid cross-entropy, plain SGD lr 0.1, batch 64, until 99%
        # of the training points have margin 10
        params = dict(
            depth=6, width=128 if settings.quick else 1024, margin=10.0, margin_fraction=0.99,
            criterion="bce", init="xavier", lr=0.1, momentum=0.0, batch_size=64,
            max_epochs=1000,
        )  # fmt: skip
    return bounds_vs_sample_size(
        data.X,
        data.y,
        sample_sizes=sizes,
        test_size=test_size,
        **params,
        n_repeats=repeats,
        device=settings.device,
        n_jobs=settings.n_jobs,
        random_state=settings.seed,
        progress=settings.progress,
        cache_dir=settings.cache_dir,
    )


def _hyperspheres(data: Dataset, settings: Settings) -> pd.DataFrame:
    from sklearn_gen.studies._uniform_convergence import hypersphere_projection

    params: dict[str, Any]
    if settings.quick:
        params = dict(sample_sizes=(256, 1024, 4096), dim=400, width=512, n_repeats=1)
    else:
        params = dict(sample_sizes=(512, 2048, 8192), dim=500, width=1000, n_repeats=2)
    if settings.preset == "nagarajan2019":
        # the authors' notebook: width 10,000, dimension 500, radii 1 and 1.2, plain SGD
        # lr 0.5, batch 64, sigmoid cross-entropy, until 99% of the training points have
        # margin 8; m from 1,024 to 8,192, 4,096 test points
        params = dict(
            sample_sizes=(256, 512, 1024) if settings.quick else (1024, 2048, 4096, 8192),
            dim=100 if settings.quick else 500,
            width=1000 if settings.quick else 10000,
            n_repeats=1 if settings.quick else 2,
            test_size=1024 if settings.quick else 4096,
            lr=0.5, momentum=0.0, batch_size=64, margin=8.0, margin_fraction=0.99,
            criterion="bce", max_epochs=500,
        )  # fmt: skip
    return hypersphere_projection(
        **params,
        radii=(1.0, 1.2),
        device=settings.device,
        n_jobs=settings.n_jobs,
        random_state=settings.seed,
        progress=settings.progress,
        cache_dir=settings.cache_dir,
    )


def _hypersphere_data_line(frame: pd.DataFrame) -> str:
    dims = ", ".join(str(d) for d in sorted(frame["dim"].unique()))
    sizes = ", ".join(str(m) for m in sorted(frame["m"].unique()))
    return (
        f"synthetic: two concentric hyperspheres (radii 1 and 1.2) in {dims} dimensions, "
        f"m = {sizes} training points, fresh test points and the projected set S' "
        "(the --data set is not used)"
    )


def _expressivity_data_line(frame: pd.DataFrame) -> str:
    d = int(frame["d"].iloc[0])
    k = int(frame["n_classes"].iloc[0])
    sizes = ", ".join(str(n) for n in sorted(frame["n"].unique()))
    return (
        f"synthetic: n = {sizes} standard Gaussian points in d = {d} dimensions with uniform "
        f"random labels over {k} classes (the --data set is not used)"
    )


def _linear(data: Dataset, settings: Settings) -> pd.DataFrame:
    from sklearn_gen.studies._linear_example import linear_example

    if settings.quick:
        params = dict(sample_sizes=(16, 32, 64, 128, 256), n_repeats=2, noise_ratio=64.0)
    else:
        params = dict(sample_sizes=(16, 32, 64, 128, 256), n_repeats=5, noise_ratio=256.0)
    return linear_example(
        **params,
        n_jobs=settings.n_jobs,
        random_state=settings.seed,
        progress=settings.progress,
        cache_dir=settings.cache_dir,
    )


def _linear_data_line(frame: pd.DataFrame) -> str:
    sizes = ", ".join(str(m) for m in sorted(frame["m"].unique()))
    dims = ", ".join(f"{d:,}" for d in sorted(frame["n_noise"].unique()))
    return (
        f"synthetic: N&K's linear counterexample, x = (2y u, Gaussian noise in D = {dims} "
        f"dimensions), m = {sizes} (the --data set is not used)"
    )


# ------------------------------------------------------------------------ measure ranking
#: The quick run's grid: two axes, two values each (4 networks).
_QUICK_RANKING_GRID = {"width": (16, 64), "lr": (0.1, 0.2)}


def _measure_ranking(data: Dataset, settings: Settings) -> pd.DataFrame:
    from sklearn_gen.studies._measure_ranking import (
        JIANG2020_AXES,
        default_network,
        measure_ranking,
    )

    jiang = settings.preset == "jiang2020"
    if jiang and data.input_shape is None:
        raise ValueError(
            f"--preset jiang2020 trains NiNs, which read images; --data {data.name} has no "
            "image shape: pass --data cifar10:PATH (the paper's) or another image set."
        )
    data, test_size = _subset(data, settings, 600, None, test_size=0.5)
    own = {"device": settings.device, "random_state": settings.seed}
    if jiang:  # Jiang et al.'s zoo: NiNs, one network per grid point (3^6 x 2 = 1,458)
        net = default_network("nin", input_shape=data.input_shape, max_epochs=300, **own)
        grid: Any = JIANG2020_AXES
    else:
        net = default_network(max_epochs=150 if settings.quick else 200, **own)
        grid = _QUICK_RANKING_GRID if settings.quick else None
    return measure_ranking(
        data.X,
        data.y,
        grid=grid,
        network=net,
        test_size=test_size,
        n_repeats=1 if settings.quick or jiang else 2,
        n_jobs=settings.n_jobs,
        random_state=settings.seed,
        progress=settings.progress,
        cache_dir=settings.cache_dir,
    )


def _measure_ranking_figures(frame: pd.DataFrame) -> dict[str, Any]:
    from sklearn_gen.studies.plotting import plot_measure_ranking

    return {"measure_ranking": plot_measure_ranking(_ranking_or_fail(frame).table)}


def _ranking_or_fail(frame: pd.DataFrame):
    """The study's ranking of the frame; a clear error when nothing can be ranked."""
    from sklearn_gen.studies._measure_ranking import ranked_zoo

    ranking = ranked_zoo(frame)
    if ranking is None:
        converged = int(frame["converged"].astype(bool).sum())
        raise ValueError(
            f"{converged} of the {len(frame)} networks met the stopping rule (training "
            "cross-entropy <= 0.01) and they vary along no axis: nothing to rank; raise the "
            "network's max_epochs or lr."
        )
    return ranking


def _measure_ranking_table(frame: pd.DataFrame) -> str:
    """The ranked table of ``summary.md`` (:func:`ranking_markdown`), then the fragility
    audit of the ranked networks."""
    from sklearn_gen.studies._measure_ranking import ranking_markdown

    ranking = _ranking_or_fail(frame)
    names = list(ranking.table["measure"])
    return "\n".join([ranking_markdown(ranking), "", _fragility_table(ranking.converged, names)])


def _fragility_table(converged: pd.DataFrame, names: list[str]) -> str:
    """The fragility audit of ``summary.md`` (Zhang & Louis 2025), over the zoo's changes."""
    from sklearn_gen.studies._fragility import FRAGILITY_CHANGES, fragility_audit

    varied = [c for c in FRAGILITY_CHANGES if c in converged and converged[c].nunique() > 1]
    if not varied:
        return "## Fragility audit\n\nNo audited axis (lr, momentum, batch size) varies here."
    audit = fragility_audit(
        converged, names, "generalization_gap", varied, n_bootstrap=200, random_state=0
    )
    fixed = [c for c in FRAGILITY_CHANGES if c not in varied]
    lines = [
        "## Fragility audit (Zhang & Louis 2025)",
        "",
        "The share of one-step changes of "
        + ", ".join(audit.attrs["audited"])
        + " (each within one setting of the other audited axes) that flip the sign of the "
        "measure's Kendall tau with the gap over the networks that differ in the other axes; "
        "95% bootstrap intervals over networks."
        + (f" Not varied in this zoo, so not audited: {', '.join(fixed)}." if fixed else ""),
        "",
        "| measure | flips / changes | fragility | "
        + " | ".join(f"flips along {a}" for a in audit.attrs["audited"])
        + " |",
        "|---|---|---|" + "---|" * len(audit.attrs["audited"]),
    ]
    for row in audit.itertuples():
        share = format_interval(row.fragility, row.fragility_low, row.fragility_high, 2)
        per_axis = [f"{getattr(row, f'fragility_{a}'):.2f}" for a in audit.attrs["audited"]]
        lines.append(
            f"| {row.measure} | {row.n_flips} / {row.n_changes} | {share} | "
            + " | ".join(per_axis)
            + " |"
        )
    return "\n".join(lines)


def _measure_ranking_data_line(frame: pd.DataFrame) -> str:
    converged = int(frame["converged"].astype(bool).sum())
    return (
        f"{len(frame)} networks trained, {converged} reached training cross-entropy <= 0.01 "
        f"and are ranked, {len(frame) - converged} dropped; training "
        f"{frame['fit_seconds'].sum():.0f} s, measures {frame['measure_seconds'].sum():.0f} s "
        "(summed over networks)"
    )


#: The ``--data`` names of image sets, which every image experiment takes.
_IMAGE_DATA = ("digits", "mnist", "fashion-mnist", "cifar10", "cifar100", "cifar100-coarse")

#: For each study: the scale the paper worked at, and the command that runs the study there
#: (what a claim "inconclusive at this scale" needs; ``run all``'s report says it).
PAPER_SCALE: dict[str, tuple[str, str]] = {
    "randomization-test": (
        "CIFAR-10 (50,000 images) and ImageNet; Inception, AlexNet, MLPs",
        "sklearn-gen run randomization-test --data cifar10:PATH --device cuda",
    ),
    "regularization-ablation": (
        "CIFAR-10, Inception, Table 1",
        "sklearn-gen run regularization-ablation --data cifar10:PATH --device cuda",
    ),
    "kernel-interpolation": (
        "MNIST, 60,000 training points, and CIFAR-10",
        "sklearn-gen run kernel-interpolation --data mnist:PATH",
    ),
    "normalized-loss-study": (
        "CIFAR-10 and CIFAR-100, a 5-layer ConvNet, 30 epochs of pretraining, 50,000 images",
        "sklearn-gen run normalized-loss-study --data cifar10:PATH --n-train 50000 --device cuda",
    ),
    "bounds-vs-sample-size": (
        "MNIST, m up to 60,000, depth-5 width-1024 networks",
        "sklearn-gen run bounds-vs-sample-size --preset nagarajan2019 --data mnist:PATH "
        "--device cuda",
    ),
    "hypersphere-projection": (
        "d = 1,000, width 100,000, m up to 65,536",
        "sklearn-gen run hypersphere-projection --preset nagarajan2019 --device cuda",
    ),
    "linear-example": (
        "the construction at any m (a theorem; their D grows with m)",
        "sklearn-gen run linear-example",
    ),
    "measure-ranking": (
        "over 10,000 NiNs on CIFAR-10 and SVHN, 7 axes of 3 values",
        "sklearn-gen run measure-ranking --preset jiang2020 --data cifar10:PATH --device cuda",
    ),
    "expressivity": ("a theorem: any n and d", "sklearn-gen run expressivity"),
}

RUNS: dict[str, Run] = {
    run.name: run
    for run in (
        Run(
            "randomization-test",
            "Zhang et al. 2017",
            "random labels, shuffled/random pixels, Gaussian inputs; epochs and test error vs p",
            "digits",
            _IMAGE_DATA,
            _randomization,
            _figure("randomization", "plot_randomization_test"),
            _claims("_randomization", "RANDOMIZATION_CLAIMS"),
            _zhang_preprocessing,
        ),
        Run(
            "regularization-ablation",
            "Zhang et al. 2017",
            "weight decay, dropout, batch norm, augmentation on and off (Table 1 style)",
            "digits",
            _IMAGE_DATA,
            _ablation,
            _figure("regularization_ablation", "plot_regularization_ablation"),
            _claims("_randomization", "ABLATION_CLAIMS"),
            _zhang_preprocessing,
        ),
        Run(
            "kernel-interpolation",
            "Zhang et al. 2017",
            "minimum-norm kernel interpolation vs a network, with label noise and whitening",
            "digits",
            _IMAGE_DATA,
            _kernel,
            _figure("kernel_interpolation", "plot_kernel_interpolation"),
            _claims("_kernel", "KERNEL_CLAIMS"),
            _zhang_preprocessing,
        ),
        Run(
            "normalized-loss-study",
            "Liao et al. 2018",
            "random pretraining and larger initializations; normalized test loss vs "
            "normalized training loss",
            "digits",
            _IMAGE_DATA,
            _normalized,
            _figure("normalized_loss", "plot_normalized_loss_study"),
            _claims("_normalized_loss", "NORMALIZED_LOSS_CLAIMS"),
            presets=("default", "liao2018"),
        ),
        Run(
            "bounds-vs-sample-size",
            "Nagarajan & Kolter 2019",
            "spectral and PAC-Bayes bounds, distance from init and test error vs m",
            "digits",
            _IMAGE_DATA,
            _bounds,
            _figure("bounds_vs_sample_size", "plot_bounds_vs_sample_size"),
            _claims("_uniform_convergence", "BOUNDS_CLAIMS"),
            presets=("default", "nagarajan2019"),
        ),
        Run(
            "hypersphere-projection",
            "Nagarajan & Kolter 2019",
            "test error vs error on the training set projected onto the other sphere",
            "hyperspheres",
            ("hyperspheres",),
            _hyperspheres,
            _figure("hypersphere_projection", "plot_hypersphere_projection"),
            _claims("_uniform_convergence", "HYPERSPHERE_CLAIMS"),
            data_line=_hypersphere_data_line,
            presets=("default", "nagarajan2019"),
        ),
        Run(
            "linear-example",
            "Nagarajan & Kolter 2019",
            "the overparameterized linear counterexample: test error vs error on S' "
            "(noise negated)",
            "hyperspheres",
            (*_IMAGE_DATA, "hyperspheres"),
            _linear,
            _figure("linear_example", "plot_linear_example"),
            _claims("_linear_example", "LINEAR_CLAIMS"),
            data_line=_linear_data_line,
        ),
        Run(
            "measure-ranking",
            "Jiang et al. 2020",
            "a zoo of MLPs over width, depth, lr, batch size, weight decay and dropout; every "
            "measure ranked by tau, Psi, conditional mutual information, robust sign-error",
            "digits",
            _IMAGE_DATA,
            _measure_ranking,
            _measure_ranking_figures,
            _claims("_measure_ranking", "MEASURE_RANKING_CLAIMS"),
            data_line=_measure_ranking_data_line,
            tables=_measure_ranking_table,
            presets=("default", "jiang2020"),
        ),
        Run(
            "expressivity",
            "Zhang et al. 2017",
            "Theorem 1: a 2n+d-weight ReLU net fits random labels on n points",
            "digits",
            (*_IMAGE_DATA, "hyperspheres"),
            _expressivity,
            _figure("expressivity", "plot_expressivity"),
            _claims("_randomization", "EXPRESSIVITY_CLAIMS"),
            data_line=_expressivity_data_line,
        ),
    )
}
