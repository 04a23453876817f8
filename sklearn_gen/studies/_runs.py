"""The experiments the ``sklearn-gen run`` command knows: settings, figures, verdicts.

Each :class:`Run` turns command-line choices (data, quick or full settings, device, jobs,
seed) into a call of one experiment function, the figures of its frame, and a short
summary: the paper's claim the run tests, the key numbers, and whether this run
supports the claim.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.model_selection import PredefinedSplit

from sklearn_gen.datasets._registry import Dataset
from sklearn_gen.studies._verdicts import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Verdict,
    bootstrap_interval,
    chance_band,
    direction,
    format_interval,
    mean_interval,
    outcome,
    paired_outcome,
    rate_interval,
    slope_interval,
    trend_outcome,
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
    fraction of them for testing; ``--n-train`` / ``--n-test`` replace either part. With an
    official split both parts are drawn from their own side of it and the split is passed
    on; without one the rows are drawn from the pool and split at random.
    """
    n = quick if settings.quick else full
    n_train = settings.n_train
    n_test = settings.n_test
    if n is not None:
        n_train = n_train or n - round(test_size * n)
        n_test = n_test or round(test_size * n)
    data = data.subset(n_train, n_test, random_state=settings.seed)
    if data.is_test is None and settings.n_test is not None:
        return data, min(settings.n_test, len(data.y) - 1)
    return data, data.test_split(test_size)


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


def _randomization_verdicts(frame: pd.DataFrame) -> list[Verdict]:
    verdicts = _randomization_claims(frame)
    curves = frame[frame["panel"] == "curves"]
    random = curves[curves["condition"] == "random labels"].groupby("repeat").last()
    if len(random):
        verdicts.append(_rademacher_verdict(random["train_accuracy"]))
    return verdicts


def _randomization_claims(frame: pd.DataFrame) -> list[Verdict]:
    curves = frame[frame["panel"] == "curves"]
    corruption = frame[frame["panel"] == "corruption"]
    verdicts = []
    # (1) random labels are fitted: the final training accuracy of every repeat
    random = curves[curves["condition"] == "random labels"].groupby("repeat").last()
    if len(random):
        fitted = bool((random["train_accuracy"] == 1.0).all())
        stopped = bool(random["converged"].all())
        epochs = format_interval(*mean_interval(random["epochs_to_fit"]), 0)
        evidence = (
            f"final training accuracy {random['train_accuracy'].min():.3f} (lowest of "
            f"{len(random)} repeats) after {epochs} epochs"
        )
        verdicts.append(
            Verdict(
                "Networks fit random labels perfectly (Zhang et al. 2017, Fig. 1a).",
                evidence,
                SUPPORTED if fitted else (INCONCLUSIVE if not stopped else outcome(False)),
                "100% training accuracy on random labels (CIFAR-10, Inception, Fig. 1a)",
                "" if fitted else "the epoch budget ran out before training accuracy reached 1",
            )
        )
    if corruption["p"].nunique() < 2:
        return verdicts
    # (2) test error rises with the corruption level: a one-sided rank-correlation test
    rho, p_value, trend = trend_outcome(corruption["p"], corruption["test_error"])
    n_points = len(corruption)
    by_p = corruption.groupby("p")["test_error"]
    levels = ", ".join(f"p={p:g}: {format_interval(*rate_interval(errors))}" for p, errors in by_p)
    enough = math.factorial(n_points) > 20  # an exact permutation test can reach p < 0.05
    verdicts.append(
        Verdict(
            "Test error rises steadily with the label corruption level p (Fig. 1c).",
            f"Spearman rho {rho:.2f}, one-sided permutation p = {p_value:.2g} over {n_points} "
            "fits; "
            f"test error (mean [95% CI]) {levels}",
            trend if enough else INCONCLUSIVE,
            "test error rises from the clean error to chance (0.9) at p=1 (Fig. 1c)",
            ""
            if enough
            else f"{n_points} fits are too few for the trend test (p >= 1/{n_points}!)",
        )
    )
    # (3) random labels take longer to fit, by a small constant factor
    clean = corruption[corruption["p"] == corruption["p"].min()].set_index("repeat")
    noisy = corruption[corruption["p"] == corruption["p"].max()].set_index("repeat")
    factor = (noisy["epochs_to_fit"] / clean["epochs_to_fit"]).dropna()
    mean, low, high = mean_interval(factor)
    converged = bool(noisy["converged"].all() and clean["converged"].all())
    if not converged or not len(factor):
        status, reason = INCONCLUSIVE, "some fits ran out of epochs before fitting their labels"
    elif low == high:
        status, reason = INCONCLUSIVE, "one repeat: no interval for the factor"
    else:
        # "small constant factor" read as: slower (interval above 1), by under 10x
        status, reason = outcome(low > 1.0 and high < 10.0), "interval above 1 and below 10"
    verdicts.append(
        Verdict(
            "Random labels take longer to fit, by a small constant factor (Fig. 1b).",
            f"epochs to fit, p={noisy['p'].iloc[0]:g} / p={clean['p'].iloc[0]:g}: "
            f"{format_interval(mean, low, high, 2)} over {len(factor)} repeats",
            status,
            "a small constant factor more training time (Fig. 1b)",
            reason,
        )
    )
    return verdicts


def _rademacher_verdict(random_accuracy: pd.Series) -> Verdict:
    """Zhang et al. Sec. 2: fitting random labels puts the empirical Rademacher complexity
    at its trivial bound, 1.

    Split the classes into two halves: uniform random labels give uniform random signs
    sigma_i, and the network's predicted half h(x_i) agrees with sigma_i on at least the
    points whose random label it fits, a fraction a. So (1/n) sum_i sigma_i h(x_i) >=
    2a - 1: a lower bound of the empirical Rademacher complexity (a sup over the class) for
    that draw of signs; its mean over repeats estimates the expectation over draws.
    """
    bound = 2.0 * random_accuracy.astype(float) - 1.0
    mean, low, high = bootstrap_interval(bound)
    at_level = bool(bound.min() >= 2 * 0.99 - 1)
    return Verdict(
        "Fitting random labels puts the empirical Rademacher complexity of the network "
        "class at its trivial bound, about 1 (Zhang et al. 2017, Sec. 2).",
        f"lower bound 2a - 1 from the random-label training accuracy a (classes split in "
        f"two halves): {format_interval(mean, low, high)} over {len(bound)} repeats (lowest "
        f"{bound.min():.3f})",
        SUPPORTED if at_level else (INCONCLUSIVE if high >= 0.98 else NOT_SUPPORTED),
        "about 1: the networks fit random labels (Sec. 2)",
        "every repeat's bound at least 0.98 (random labels fitted to 99%, Table 1's lowest 99.34%)",
    )


def _ablation(data: Dataset, settings: Settings) -> pd.DataFrame:
    from sklearn_gen.studies._randomization import (
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
        heldout=0.2,
        n_repeats=1 if settings.quick else 3,
        n_jobs=settings.n_jobs,
        random_state=settings.seed,
        progress=settings.progress,
        cache_dir=settings.cache_dir,
    )


def _ablation_verdicts(frame: pd.DataFrame) -> list[Verdict]:
    n_classes = int(frame["n_classes"].iloc[0]) if "n_classes" in frame else 10
    n_test = int(frame["n_test"].iloc[0]) if "n_test" in frame else 400
    low_chance, high_chance = chance_band(n_classes, n_test)
    clean = frame[frame["p"] == 0.0]
    base = clean[clean["setting"] == "baseline"]["test_accuracy"]
    means = clean.groupby("setting")["test_accuracy"].mean()
    best = means.drop("baseline").idxmax() if len(means) > 1 else "baseline"
    gain = (
        clean.pivot_table(index="repeat", columns="setting", values="test_accuracy")
        .pipe(lambda t: t[best] - t["baseline"])
        .dropna()
    )
    base_ci = mean_interval(base)
    verdicts = [
        Verdict(
            "Explicit regularizers are not necessary for generalization: with all of them "
            "off, test accuracy stays far above chance (Zhang et al. Table 1).",
            f"test accuracy without regularizers {format_interval(*base_ci)}; best setting "
            f"{best} {means[best]:.3f}, gain {format_interval(*mean_interval(gain))} over "
            f"{len(base)} repeats; chance band {low_chance:.3f}-{high_chance:.3f}",
            outcome(base_ci[1] > high_chance),
            "Inception on CIFAR-10: 85.75% test accuracy without any regularizer, 89.05% "
            "with augmentation and weight decay (Table 1)",
            "interval of the regularizer-free accuracy above the chance band (1/k ± 3 "
            "binomial standard errors on the test set)",
        )
    ]
    verdicts += _regularizer_comparisons(clean[clean["setting"] != "baseline, held out"])
    verdicts += _early_stopping_verdict(clean)
    noisy = frame[frame["p"] == 1.0]
    if len(noisy):
        # Table 1 fits random labels without data augmentation (its random-label rows have
        # augmentation off); a crop-augmented "training set" is a new one every epoch
        by_setting = noisy.groupby("setting")[["train_accuracy", "test_accuracy"]].mean()
        augmented = noisy[noisy["augment"]] if "augment" in noisy else noisy.iloc[:0]
        judged = noisy[~noisy["augment"]] if "augment" in noisy else noisy
        judged_by = judged.groupby("setting")[["train_accuracy", "test_accuracy"]].mean()
        at_chance = bool(by_setting["test_accuracy"].between(low_chance, high_chance).all())
        lowest = judged.groupby("setting")["train_accuracy"].min()
        fitted = bool((lowest >= 0.99).all())
        short = ", ".join(f"{k} {v:.3f}" for k, v in lowest.items() if v < 0.99)
        aside = (
            f"; with augmentation (not in Table 1's random-label rows) training accuracy "
            f"{augmented['train_accuracy'].mean():.3f}"
            if len(augmented)
            else ""
        )
        verdicts.append(
            Verdict(
                "Weight decay, dropout and batch norm do not keep random labels from being "
                "fitted, and every setting stays at chance on test data (Table 1).",
                f"at p=1, lowest training accuracy {lowest.min():.3f} over "
                f"{len(judged_by)} settings without augmentation; test accuracy "
                f"{by_setting['test_accuracy'].min():.3f}-{by_setting['test_accuracy'].max():.3f}"
                f" over all {len(by_setting)} (chance band {low_chance:.3f}-{high_chance:.3f})"
                f"{aside}",
                outcome(at_chance) if fitted else INCONCLUSIVE,
                "random labels: 99.34%-100% training, about 10% test accuracy (Table 1: "
                "Inception, Inception without BN and MLPs, with and without weight decay)",
                "every fit at least 0.99 (Table 1's lowest: 99.34%) and every test accuracy in "
                "the chance band"
                if fitted
                else f"the epoch budget ran out before fitting p=1: {short}",
            )
        )
    return verdicts


def _early_stopping_verdict(clean: pd.DataFrame) -> list[Verdict]:
    """Zhang et al. Sec. 3: early stopping helps in some cases. The baseline trained on 80%
    of its training split, scored on the other 20% after every epoch: the best epoch's
    held-out accuracy against the last one's, per repeat, beside the noise of a difference
    of two accuracies on the held-out points (two binomial standard errors)."""
    if "heldout_best_accuracy" not in clean:
        return []
    held = clean[clean["setting"] == "baseline, held out"].dropna(subset=["heldout_best_accuracy"])
    if not len(held):
        return []
    gain = held["heldout_best_accuracy"] - held["heldout_final_accuracy"]
    mean, low, high = bootstrap_interval(gain)
    accuracy = float(held["heldout_final_accuracy"].mean())
    n_heldout = max(1.0, 0.2 * float(held["n_train"].iloc[0]))
    noise = 2.0 * math.sqrt(2.0 * accuracy * (1.0 - accuracy) / n_heldout)
    helped = int((gain > noise).sum())
    if len(gain) < 2:
        status, reason = INCONCLUSIVE, "one repeat: no interval"
    elif low > noise:
        status, reason = SUPPORTED, ""
    elif bool((gain == 0).all()):
        status, reason = NOT_SUPPORTED, "the last epoch was the best in every repeat"
    else:
        status, reason = (
            INCONCLUSIVE,
            f"the gain's interval does not clear the noise {noise:.3f} of {n_heldout:.0f} "
            "held-out points (an unpaired bound: conservative)",
        )
    epochs = ", ".join(
        f"{int(b)}/{int(e)}"
        for b, e in zip(held["heldout_best_epoch"], held["epochs"], strict=True)
    )
    return [
        Verdict(
            "Early stopping can improve generalization: the best epoch's held-out accuracy "
            "beats the last one's (Zhang et al. 2017, Sec. 3; helps in some cases).",
            f"best minus final held-out accuracy {format_interval(mean, low, high)} over "
            f"{len(gain)} repeats ({helped} above the noise {noise:.3f} of a difference on "
            f"{n_heldout:.0f} held-out points); best / last epoch {epochs}",
            status,
            "early stopping potentially improves generalization (Sec. 3; Fig. 2a)",
            reason or "the gain's interval against two binomial standard errors of a difference",
        )
    ]


def _regularizer_comparisons(clean: pd.DataFrame) -> list[Verdict]:
    """Zhang et al. Sec. 3 on true labels, paired over repeats (each repeat's settings share
    the split): augmentation helps more than weight decay; batch norm changes test accuracy
    less than augmentation does."""
    table = clean.pivot_table(index="repeat", columns="setting", values="test_accuracy")
    verdicts: list[Verdict] = []
    if not {"baseline", "+augment", "+weight_decay"} <= set(table.columns):
        return verdicts
    gain_aug = table["+augment"] - table["baseline"]
    gain_wd = table["+weight_decay"] - table["baseline"]
    diff = bootstrap_interval(gain_aug - gain_wd)
    status, reason = paired_outcome(diff[1], diff[2], len(table))
    verdicts.append(
        Verdict(
            "Data augmentation improves test accuracy more than weight decay does (Zhang et "
            "al. 2017, Sec. 3 and Table 1).",
            f"gain of augmentation {format_interval(*bootstrap_interval(gain_aug))}, of weight "
            f"decay {format_interval(*bootstrap_interval(gain_wd))}; paired difference "
            f"{format_interval(*diff)} over {len(table)} repeats",
            status,
            "Inception on CIFAR-10, Table 1: augmentation alone 89.31%, weight decay alone "
            "86.03%, neither 85.75%",
            reason or "paired difference of the gains over the baseline, bootstrap over repeats",
        )
    )
    if "+batch_norm" in table.columns:
        gain_bn = table["+batch_norm"] - table["baseline"]
        margin = gain_aug - gain_bn.abs()
        diff = bootstrap_interval(margin)
        status, reason = paired_outcome(diff[1], diff[2], len(table))
        verdicts.append(
            Verdict(
                "Batch normalization changes generalization little: its effect on test "
                "accuracy is smaller than augmentation's (Zhang et al. 2017, Sec. 3).",
                f"change with batch norm {format_interval(*bootstrap_interval(gain_bn))}; gain "
                f"of augmentation minus abs(change with batch norm) {format_interval(*diff)} over "
                f"{len(table)} repeats",
                status,
                "batch norm stabilizes training, with limited effect on generalization (Sec. "
                "3; no table entry)",
                reason or "the yardstick is augmentation's gain in the same repeats",
            )
        )
    return verdicts


def _expressivity(data: Dataset, settings: Settings) -> pd.DataFrame:
    from sklearn_gen.studies._randomization import expressivity

    n_values = (100, 300, 1000) if settings.quick else (100, 300, 1000, 3000)
    return expressivity(
        n_values,
        d=50,
        n_repeats=1 if settings.quick else 3,
        n_jobs=settings.n_jobs,
        random_state=settings.seed,
        progress=settings.progress,
        cache_dir=settings.cache_dir,
    )


def _expressivity_verdicts(frame: pd.DataFrame) -> list[Verdict]:
    exact = bool((frame["train_accuracy"] == 1.0).all())
    counts = bool((frame["n_params"] == 2 * frame["n"] + frame["d"]).all())
    return [
        Verdict(
            "A depth-2 ReLU network with 2n+d weights fits any labels on n points in d "
            "dimensions (Zhang et al. Theorem 1).",
            "lowest training accuracy over "
            + f"{frame['repeat'].nunique()} repeats: "
            + ", ".join(
                f"n={n}: {a:.3f}" for n, a in frame.groupby("n")["train_accuracy"].min().items()
            )
            + f"; parameters = 2n+d: {counts}",
            outcome(exact and counts),
        )
    ]


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
    )


#: The ridge terms the kernel run adds to the interpolant's solve (rbf: k(x, x) = 1).
_KERNEL_RIDGES = (1e-3, 1e-2, 1e-1)


def _ridge_verdict(frame: pd.DataFrame) -> list[Verdict]:
    """Zhang et al. Sec. 5: adding regularization to the kernel solve does not improve it.

    On clean labels, unpreprocessed, paired over repeats: the improvement of the best ridge
    term (the one most favourable to regularization, chosen on the test error) over the
    interpolant, against the noise of a difference of two test errors (two binomial
    standard errors at the interpolant's error on ``n_test`` points)."""
    clean = frame[(frame["p"] == frame["p"].min()) & (frame["preprocessing"] == "none")]
    ridge = clean[clean["model"] == "kernel ridge"]
    if not len(ridge):
        return []
    base = clean[clean["model"] == "kernel"].set_index("repeat")["test_error"]
    gains = {
        r: (base - g.set_index("repeat")["test_error"]).dropna() for r, g in ridge.groupby("ridge")
    }
    best = max(gains, key=lambda r: float(gains[r].mean()))
    mean, low, high = bootstrap_interval(gains[best])
    error = float(base.mean())
    noise = 2.0 * math.sqrt(2.0 * error * (1.0 - error) / float(clean["n_test"].iloc[0]))
    if len(gains[best]) < 2:
        status, reason = INCONCLUSIVE, "one repeat: no interval"
    elif high <= noise:
        status, reason = SUPPORTED, ""
    elif low > noise:
        status, reason = NOT_SUPPORTED, ""
    else:
        status, reason = INCONCLUSIVE, f"the interval reaches past the noise {noise:.4f}"
    each = ", ".join(f"ridge {r:g}: {float(g.mean()):+.4f}" for r, g in gains.items())
    return [
        Verdict(
            "Adding regularization (a ridge term) to the kernel solve does not improve the "
            "minimum-norm interpolant (Zhang et al. 2017, Sec. 5).",
            f"test-error improvement over the interpolant {each}; the best, ridge {best:g}: "
            f"{format_interval(mean, low, high, 4)} over {len(gains[best])} repeats (noise of a "
            f"difference of two test errors {noise:.4f})",
            status,
            "no improvement from regularization (MNIST and CIFAR-10; no number)",
            reason
            or "the best ridge's improvement (chosen on the test set, in regularization's "
            "favour) within two standard errors of a difference of test errors",
        )
    ]


def _min_norm_verdict(frame: pd.DataFrame) -> list[Verdict]:
    """Zhang et al. Sec. 5: the minimum-norm interpolant is not predictive of generalization
    (whitened inputs give larger-norm interpolants that generalize better), paired over
    repeats on the same splits."""
    kernel = frame[(frame["model"] == "kernel") & (frame["p"] == frame["p"].min())]
    if not {"none", "whitening"} <= set(kernel["preprocessing"]):
        return []
    by = kernel.pivot_table(
        index="repeat", columns="preprocessing", values=["rkhs_norm", "test_error"]
    )
    norm = bootstrap_interval(by["rkhs_norm"]["whitening"] - by["rkhs_norm"]["none"])
    error = bootstrap_interval(by["test_error"]["none"] - by["test_error"]["whitening"])
    both = [
        paired_outcome(norm[1], norm[2], len(by))[0],
        paired_outcome(error[1], error[2], len(by))[0],
    ]
    status = (
        SUPPORTED
        if both == [SUPPORTED, SUPPORTED]
        else (NOT_SUPPORTED if NOT_SUPPORTED in both else INCONCLUSIVE)
    )
    means = kernel.groupby("preprocessing")[["test_error", "rkhs_norm"]].mean()
    return [
        Verdict(
            "The minimum-norm solution is not predictive of generalization: whitened inputs "
            "give a larger-norm interpolant that generalizes better (Zhang et al. 2017, "
            "Sec. 5).",
            f"RKHS norm {means.loc['none', 'rkhs_norm']:.1f} -> "
            f"{means.loc['whitening', 'rkhs_norm']:.1f} (paired increase "
            f"{format_interval(*norm, 2)}), test error {means.loc['none', 'test_error']:.4f} -> "
            f"{means.loc['whitening', 'test_error']:.4f} (paired decrease "
            f"{format_interval(*error, 4)}) over {len(by)} repeats",
            status,
            "preprocessed inputs: a larger norm and a lower test error (Sec. 5; no number)",
            "both paired intervals above 0"
            if status != INCONCLUSIVE
            else "an interval of a paired difference holds 0",
        )
    ]


def _kernel_verdicts(frame: pd.DataFrame) -> list[Verdict]:
    kernel = frame[(frame["model"] == "kernel") & (frame["preprocessing"] == "none")]
    if not len(kernel):
        kernel = frame[frame["model"] == "kernel"]
    clean = kernel[kernel["p"] == kernel["p"].min()]
    n_classes = 10
    _, high_chance = chance_band(n_classes, int(clean["n_test"].iloc[0]))
    error = rate_interval(clean["test_error"])
    fits = bool((kernel["train_accuracy"] == 1.0).all())
    network = frame[(frame["model"] == "network") & (frame["p"] == clean["p"].iloc[0])]
    beside = (
        f"; the network on the same splits {format_interval(*rate_interval(network['test_error']))}"
        if len(network)
        else ""
    )
    verdicts = [
        Verdict(
            "Minimum-norm kernel interpolation fits the training labels exactly and still "
            "generalizes (Zhang et al. 2017, Sec. 5).",
            f"lowest training accuracy {kernel['train_accuracy'].min():.3f}; test error at "
            f"p={clean['p'].iloc[0]:g} {format_interval(*error)} over {len(clean)} repeats, "
            f"{int(clean['n_train'].iloc[0])} training points{beside}",
            outcome(fits and error[2] < 1.0 - high_chance),
            "1.2% test error on MNIST (60,000 training points, no preprocessing)",
            "exact fit, and the test error's interval below the chance band (error of a "
            "chance classifier: 1 - 1/k ± 3 binomial standard errors)",
        )
    ]
    verdicts += _min_norm_verdict(frame)
    verdicts += _ridge_verdict(frame)
    if kernel["p"].nunique() >= 2:
        rho, p_value, trend = trend_outcome(kernel["p"], kernel["test_error"])
        n_points = len(kernel)
        enough = math.factorial(n_points) > 20
        by_p = kernel.groupby("p")["test_error"]
        levels = ", ".join(f"p={p:g}: {format_interval(*rate_interval(e))}" for p, e in by_p)
        verdicts.append(
            Verdict(
                "With label noise the interpolant still fits, and its test error rises with "
                "the noise level p (Zhang et al. Sec. 5).",
                f"Spearman rho {rho:.2f}, one-sided permutation p = {p_value:.2g} over "
                f"{n_points} fits; test error {levels}",
                (trend if fits else INCONCLUSIVE) if enough else INCONCLUSIVE,
                "random labels are interpolated as well; error rises with noise",
                "" if enough else f"{n_points} fits are too few for the trend test",
            )
        )
    return verdicts


# ------------------------------------------------------------------------ normalized loss
def _normalized(data: Dataset, settings: Settings) -> pd.DataFrame:
    from sklearn_gen.studies._normalized_loss import default_network, normalized_loss_study

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
        rows, hidden, epochs, repeats = 2_000, (256,), 100, 2
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
    return pd.concat(frames, ignore_index=True)


#: The initialization scales of the normalized-loss run (1: the default initialization).
_INIT_SCALES = (1.0, 1.5, 2.0, 2.5)


def _normalized_verdicts(frame: pd.DataFrame) -> list[Verdict]:
    factors = frame["factor"] if "factor" in frame else pd.Series("pretraining", frame.index)
    verdicts = _pretraining_verdicts(frame[factors == "pretraining"])
    init = frame[factors == "init_scale"]
    if init["level"].nunique() >= 2:
        verdicts.append(_init_scale_verdict(init))
    if factors.nunique() >= 2:
        verdicts.append(_one_line_verdict(frame, factors))
    return verdicts


def _init_scale_verdict(init: pd.DataFrame) -> Verdict:
    """Liao et al. Figs. 2 and 13: a larger initialization, equal training loss, a worse
    test loss (a one-sided trend test of the test loss on the scale)."""
    rho, p_value, trend = trend_outcome(init["level"], init["test_loss"])
    n_points = len(init)
    enough = math.factorial(n_points) > 20
    converged = bool(init["converged"].all())
    means = "; ".join(
        f"scale {lvl:g}: train {g['train_loss'].mean():.4f}, test "
        f"{format_interval(*mean_interval(g['test_loss']))}"
        for lvl, g in init.groupby("level")
    )
    return Verdict(
        "A larger initialization gives the same training loss but a worse test loss (Liao "
        "et al. 2018, Figs. 2 and 13).",
        f"Spearman rho {rho:.2f}, one-sided permutation p = {p_value:.2g} over {n_points} "
        f"networks; {means}",
        trend if enough and converged else INCONCLUSIVE,
        "equal training loss; test loss rises with the initialization's standard deviation "
        "(CIFAR-10 and CIFAR-100)",
        ""
        if enough and converged and trend != INCONCLUSIVE
        else (
            "some networks did not reach the target training loss"
            if not converged
            else "no significant trend either way (one-sided permutation tests at 0.05)"
            if enough
            else f"{n_points} networks are too few for the trend test"
        ),
    )


def _one_line_verdict(frame: pd.DataFrame, factors: pd.Series) -> Verdict:
    """Liao et al., "Independence from Initialization": one line of normalized test loss on
    normalized training loss for networks from pretraining, larger and default
    initializations together. An F-test of one line for all against one line per factor."""
    x = frame["normalized_train_loss"].to_numpy(float)
    y = frame["normalized_test_loss"].to_numpy(float)
    groups = factors.to_numpy()

    def rss(mask: np.ndarray) -> float:
        coef = np.polyfit(x[mask], y[mask], 1)
        return float(np.sum((np.polyval(coef, x[mask]) - y[mask]) ** 2))

    everyone = np.ones(len(x), dtype=bool)
    pooled = rss(everyone)
    separate = sum(rss(groups == g) for g in np.unique(groups))
    n_groups = len(np.unique(groups))
    df_extra, df_rest = 2 * (n_groups - 1), len(x) - 2 * n_groups
    if df_rest <= 0:
        return Verdict(
            "One line holds for networks from random pretraining, larger and default "
            "initializations together (Liao et al. 2018, Sec. 4).",
            f"{len(x)} networks",
            INCONCLUSIVE,
            "one line (their Figs. 3 and 6)",
            "too few networks for a line per factor",
        )
    f_value = ((pooled - separate) / df_extra) / max(separate / df_rest, 1e-300)
    p_value = float(stats.f.sf(f_value, df_extra, df_rest))
    r2 = 1.0 - pooled / float(np.sum((y - y.mean()) ** 2))
    slope, low, high = slope_interval(x, y, log=False)
    line = bool(low > 0)
    status = NOT_SUPPORTED if p_value < 0.05 else (SUPPORTED if line else INCONCLUSIVE)
    return Verdict(
        "One line holds for networks from random pretraining, larger and default "
        "initializations together (Liao et al. 2018, Sec. 4, independence from "
        "initialization).",
        f"pooled slope {format_interval(slope, low, high)}, R^2 {r2:.4f} over {len(x)} "
        f"networks; one line per factor against one for all: F = {f_value:.2f}, p = "
        f"{p_value:.2g}",
        status,
        "one line across pretraining, larger and default initialization (Figs. 3 and 6)",
        "one line per factor fits significantly better (F-test at 0.05)"
        if status == NOT_SUPPORTED
        else ("" if line else "the pooled slope's interval holds 0"),
    )


def _pretraining_verdicts(frame: pd.DataFrame) -> list[Verdict]:
    from sklearn_gen.studies._fits import linear_fit

    fit = linear_fit(frame)
    x, y = frame["normalized_train_loss"], frame["normalized_test_loss"]
    n_points = len(frame)
    p_linear = float(stats.pearsonr(x, y).pvalue) if n_points >= 3 else 1.0
    slope, low, high = slope_interval(x, y, log=False)
    verdicts = [
        Verdict(
            "The normalized test loss is a linear function of the normalized training loss "
            "(Liao et al. 2018, Fig. 2).",
            f"slope {format_interval(slope, low, high)}, R^2 {fit['r2']:.4f}, Pearson "
            f"p = {p_linear:.2g} over {n_points} networks",
            outcome(bool(p_linear < 0.05 and low > 0)) if n_points >= 5 else INCONCLUSIVE,
            "R^2 from 0.97 to 0.9998 across their networks",
            "a positive slope (bootstrap interval above 0) with a significant linear correlation"
            if n_points >= 5
            else f"{n_points} networks are too few for a line",
        )
    ]
    levels = frame["level"].nunique()
    if levels >= 2:
        rho, p_value, trend = trend_outcome(frame["level"], frame["test_loss"])
        enough = math.factorial(n_points) > 20
        by_level = frame.groupby("level")[["train_loss", "test_loss"]]
        means = "; ".join(
            f"p={lvl:g}: train {g['train_loss'].mean():.4f}, test "
            f"{format_interval(*mean_interval(g['test_loss']))}"
            for lvl, g in by_level
        )
        converged = bool(frame["converged"].all())
        verdicts.append(
            Verdict(
                "More random pretraining gives the same training loss but a worse test "
                "loss (Liao et al. 2018, Fig. 3).",
                f"Spearman rho {rho:.2f}, one-sided permutation p = {p_value:.2g} over "
                f"{n_points} networks; {means}",
                trend if enough and converged else INCONCLUSIVE,
                "equal training loss; test loss rises with the pretraining corruption",
                (
                    "no significant trend either way (one-sided permutation tests at 0.05)"
                    if trend == INCONCLUSIVE
                    else ""
                )
                if enough and converged
                else (
                    "some networks did not reach the target training loss"
                    if not converged
                    else f"{n_points} networks are too few for the trend test"
                ),
            )
        )
    return verdicts


# ------------------------------------------------------------------------ uniform convergence
def _sample_sizes(low: int, high: int, count: int) -> tuple[int, ...]:
    """``count`` sizes spaced evenly on a log scale from ``low`` to ``high``."""
    return tuple(sorted({int(np.rint(m)) for m in np.geomspace(low, high, count)}))


def _bounds(data: Dataset, settings: Settings) -> pd.DataFrame:
    from sklearn_gen.studies._uniform_convergence import bounds_vs_sample_size

    data, test_size = _subset(data, settings, None, None)
    top = data.n_train if data.is_test is not None else int(0.75 * len(data.y))
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


def _slope_verdict(frame: pd.DataFrame, column: str, sign: int) -> tuple[str, str, str]:
    """``(evidence, status, reason)`` for "``column`` grows (sign +1) / falls (-1) with m"."""
    sizes = frame["m"].nunique()
    slope, low, high = slope_interval(frame["m"], frame[column])
    evidence = f"{column}: log-log slope {format_interval(slope, low, high, 2)}"
    if sizes < 5:
        return evidence, INCONCLUSIVE, f"{sizes} sample sizes (a slope needs at least 5)"
    status = direction(low, high, sign)
    reason = "" if status != INCONCLUSIVE else "the 95% bootstrap interval contains 0"
    return evidence, status, reason


def _bounds_verdicts(frame: pd.DataFrame) -> list[Verdict]:
    repeats = frame["repeat"].nunique()
    points = f"{frame['m'].nunique()} sizes x {repeats} repeats, 95% pairs-bootstrap interval"
    evidence, status, reason = _slope_verdict(frame, "test_error", -1)
    verdicts = [
        Verdict(
            "Test error falls as the training set grows (Nagarajan & Kolter 2019, Fig. 1).",
            f"{evidence} ({points})",
            status,
            "test error falls with m (MNIST, m = 128 to 65,536)",
            reason,
        )
    ]
    for column, paper in (
        ("distance_from_init", "the distance from initialization grows with m (Fig. 1)"),
        ("spectral_bound", "Bartlett et al.'s bound grows with m (Fig. 1)"),
        ("pac_bayes_bound", "Neyshabur et al.'s PAC-Bayes bound grows with m (Fig. 1)"),
    ):
        if column not in frame or frame[column].isna().all():
            continue
        evidence, status, reason = _slope_verdict(frame, column, +1)
        verdicts.append(
            Verdict(
                f"The {column.replace('_', ' ')} grows with m while test error falls.",
                f"{evidence} ({points})",
                status,
                paper,
                reason,
            )
        )
    return verdicts


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


def _hypersphere_verdicts(frame: pd.DataFrame) -> list[Verdict]:
    last = frame[frame["m"] == frame["m"].max()]
    n_test = int(last["n_test"].iloc[0]) if "n_test" in last else 2000
    low_chance, high_chance = chance_band(2, n_test)
    test = rate_interval(last["test_error"])
    projected = rate_interval(last["projected_error"])
    repeats = len(last)
    # better than chance on fresh points, worse than chance (wrong side) on S'
    holds = test[2] < low_chance and projected[1] > high_chance
    clear = len(last) >= 2
    smaller = "; ".join(
        f"m={int(m)}: {group['test_error'].mean():.3f} / {group['projected_error'].mean():.3f}"
        for m, group in frame[frame["m"] < frame["m"].max()].groupby("m")
    )
    smaller = f" (smaller m, mean test error / S' error: {smaller})" if smaller else ""
    return [
        Verdict(
            "At large m the network has small test error yet misclassifies the projected "
            "training set S' (Nagarajan & Kolter 2019, Sec. 3).",
            f"m={int(last['m'].iloc[0])}: test error {format_interval(*test)}, error on S' "
            f"{format_interval(*projected)} over {repeats} repeats; chance band "
            f"{1 - high_chance:.3f}-{1 - low_chance:.3f}{smaller}",
            (outcome(holds) if clear else INCONCLUSIVE),
            "test error below 1% and 100% error on S' (d = 1,000, width 100,000, m up to 65,536)",
            "test error below, S' error above the chance band (binary: 0.5 ± 3 binomial "
            "standard errors); the paper's level: mean test error below 0.01 and mean S' "
            "error at least 0.99"
            if clear
            else "one repeat: no interval",
            level_reached=bool(test[0] < 0.01 and projected[0] >= 0.99),
        )
    ]


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


def _linear_verdicts(frame: pd.DataFrame) -> list[Verdict]:
    repeats = frame["repeat"].nunique()
    evidence, status, reason = _slope_verdict(frame, "test_error", -1)
    smallest = frame[frame["m"] == frame["m"].min()]
    _, high_chance = chance_band(2, int(smallest["m"].iloc[0]))
    s_prime = rate_interval(frame["s_prime_error"])
    return [
        Verdict(
            "Gradient descent's linear classifier generalizes better as m grows "
            "(Nagarajan & Kolter 2019, Sec. 4).",
            f"{evidence} ({frame['m'].nunique()} sizes x {repeats} repeats)",
            status,
            "test error falls with m",
            reason,
        ),
        Verdict(
            "Yet it misclassifies S', its training set with the noise negated, completely: "
            "every two-sided uniform-convergence bound is vacuous (Sec. 4).",
            f"error on S' {format_interval(*s_prime)} over {len(frame)} fits (lowest "
            f"{frame['s_prime_error'].min():.3f})",
            outcome(bool(s_prime[1] > high_chance)),
            "error 1 on S' for every m",
            "the interval above the chance band (0.5 + 3 binomial standard errors at the "
            "smallest m); the paper's level: every fit's S' error at least 0.99",
            level_reached=bool(frame["s_prime_error"].min() >= 0.99),
        ),
    ]


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


#: The last ranking computed (figures, verdicts and the summary's table rank one frame).
_LAST_RANKING: dict[int, tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]] = {}


def _ranked(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """The converged networks, their ranking, the varied axes and the measure columns."""
    key = int(pd.util.hash_pandas_object(frame, index=False).sum()) ^ hash(tuple(frame.columns))
    if key not in _LAST_RANKING:
        _LAST_RANKING.clear()
        _LAST_RANKING[key] = _rank(frame)
    return _LAST_RANKING[key]


def _rank(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    from sklearn_gen.studies._measure_ranking import RANKING_AXES, RANKING_MEASURES
    from sklearn_gen.studies._ranking import rank_measures

    converged = frame[frame["converged"].astype(bool)].reset_index(drop=True)
    axes = [a for a in RANKING_AXES if a in frame.columns and converged[a].nunique() > 1]
    names = [m for m in RANKING_MEASURES if m in frame.columns]
    if len(converged) < 2 or not axes:
        raise ValueError(
            f"{len(converged)} of the {len(frame)} networks met the stopping rule (training "
            "cross-entropy <= 0.01) and they vary along no axis: nothing to rank; raise the "
            "network's max_epochs or lr."
        )
    table = rank_measures(
        converged,
        names,
        "generalization_gap",
        axes,
        min_gap_difference=_gap_noise(converged),
        n_bootstrap=200,
        random_state=0,
    )
    return converged, table, axes, names


def _gap_noise(frame: pd.DataFrame) -> float:
    """Two standard errors of the difference of two networks' test accuracies (binomial,
    at the mean test error): gap differences below it are left out of the sign-errors."""
    error = float(1.0 - frame["test_accuracy"].mean())
    n_test = float(frame["n_test"].iloc[0]) if "n_test" in frame else float("nan")
    if not np.isfinite(n_test) or n_test <= 0:
        return 0.0
    return 2.0 * math.sqrt(2.0 * error * (1.0 - error) / n_test)


def _measure_ranking_figures(frame: pd.DataFrame) -> dict[str, Any]:
    from sklearn_gen.studies.plotting import plot_measure_ranking

    return {"measure_ranking": plot_measure_ranking(_ranked(frame)[1])}


def _measure_ranking_table(frame: pd.DataFrame) -> str:
    """The ranked table of ``summary.md``: every criterion with its bootstrap interval."""
    from sklearn_gen.studies._ranking import robust_sign_error

    converged, table, axes, _ = _ranked(frame)
    lines = [
        f"## Ranking ({len(converged)} converged networks; axes {', '.join(axes)}; 95% "
        "bootstrap intervals over networks)",
        "",
        "| rank | measure | Kendall tau | Psi | CMI (min over |S| <= 2) | robust sign-error "
        "| mean sign-error |",
        "|---|---|---|---|---|---|---|",
    ]
    for rank, row in enumerate(table.itertuples(), start=1):
        cells = [
            format_interval(getattr(row, c), getattr(row, f"{c}_low"), getattr(row, f"{c}_high"), 2)
            for c in ("kendall_tau", "psi", "cmi", "robust_sign_error")
        ]
        cells.append(f"{row.mean_sign_error:.2f}")
        lines.append(f"| {rank} | {row.measure} | " + " | ".join(cells) + " |")
    first = str(table["measure"].iloc[0])
    noise = _gap_noise(converged)
    _, _, kept = robust_sign_error(converged, first, "generalization_gap", axes, noise)
    _, _, every = robust_sign_error(converged, first, "generalization_gap", axes)
    lines += [
        "",
        f"The sign-errors leave out the pairs whose gaps differ by at most {noise:.3f} (two "
        "standard errors of the difference of two test accuracies): "
        f"{kept} of the {every} environments (one axis varied, the others fixed; "
        f"counted for {first}) keep a pair, so the robust sign-error (their worst) rests on "
        "a few pairs at this scale; more seeds per configuration would give it more.",
    ]
    return "\n".join([*lines, "", _fragility_table(converged, list(table["measure"]))])


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


def _measure_ranking_verdicts(frame: pd.DataFrame) -> list[Verdict]:
    from sklearn_gen.studies._ranking import compare_measures

    converged, table, axes, _ = _ranked(frame)
    by_name = table.set_index("measure")
    not_quoted = "not quoted: the paper's tables could not be read here"
    verdicts: list[Verdict] = []
    if len(converged) < 8 or not axes or "log_spectral_product" not in by_name.index:
        return verdicts
    tau = by_name.loc["log_spectral_product"]
    low, high = float(tau["kendall_tau_low"]), float(tau["kendall_tau_high"])
    verdicts.append(
        Verdict(
            "The product of spectral norms does not predict generalization: its rank "
            "correlation with the gap is negative (Jiang et al. 2020, Sec. 6).",
            f"Kendall tau of log_spectral_product {float(tau['kendall_tau']):.2f} "
            f"[{low:.2f}, {high:.2f}] over {len(converged)} networks (bootstrap over networks)",
            SUPPORTED if high < 0 else (NOT_SUPPORTED if low > 0 else INCONCLUSIVE),
            not_quoted,
            "" if high < 0 or low > 0 else "the interval holds 0",
        )
    )
    for flat in ("pac_bayes_magnitude_sharpness", "worst_case_magnitude_sharpness"):
        diff, low, high = compare_measures(
            converged,
            flat,
            "log_spectral_product",
            "generalization_gap",
            axes,
            criterion="psi",
            n_bootstrap=200,
            random_state=0,
        )
        verdicts.append(
            Verdict(
                f"A magnitude-aware flatness measure ({flat}) ranks the networks by their gap "
                "better than the product of spectral norms (higher Psi; Jiang et al. 2020, "
                "Sec. 6).",
                f"Psi({flat}) - Psi(log_spectral_product) = {diff:.2f} [{low:.2f}, {high:.2f}] "
                "(paired bootstrap over networks)",
                SUPPORTED if low > 0 else (NOT_SUPPORTED if high < 0 else INCONCLUSIVE),
                not_quoted,
                "" if low > 0 or high < 0 else "the interval holds 0",
            )
        )
    return verdicts


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
            _randomization_verdicts,
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
            _ablation_verdicts,
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
            _kernel_verdicts,
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
            _normalized_verdicts,
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
            _bounds_verdicts,
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
            _hypersphere_verdicts,
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
            _linear_verdicts,
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
            _measure_ranking_verdicts,
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
            _expressivity_verdicts,
            data_line=_expressivity_data_line,
        ),
    )
}
