"""What each column of an experiment's frame (and of ``results.csv``) means.

One name per quantity across every experiment: :data:`COLUMNS` maps each column name to
its meaning, and ``summary.md`` lists the columns of its ``results.csv`` from it.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["COLUMNS", "column_lines"]

#: Column name -> meaning, for the frames of every experiment.
COLUMNS: dict[str, str] = {
    # what was run
    "experiment": "the experiment function that produced the row",
    "panel": "randomization test panel: 'curves' (per epoch) or 'corruption' (per level p)",
    "condition": "randomization condition (true/random labels, shuffled/random pixels, ...)",
    "setting": "regularization setting: 'baseline' (all off), '+<switch>' (one on), 'all'",
    "weight_decay": "regularization: whether the weight-decay switch was on in this setting; "
    "measure-ranking: the weight-decay coefficient",
    "augment": "whether the data-augmentation switch was on in this setting",
    "dropout": "regularization: whether the dropout switch was on in this setting; "
    "measure-ranking: the dropout rate",
    "batch_norm": "whether the batch-norm switch was on in this setting",
    "model": "'kernel' (minimum-norm kernel interpolant), 'kernel ridge' or 'network'",
    "preprocessing": "input preprocessing before the model ('none', 'whitening', ...)",
    "factor": "what makes the networks differ: 'pretraining' or 'init_scale' (or "
    "'random_labels': the network trained and evaluated on random labels)",
    "level": "level of the factor: label corruption of the pretraining, or the init scale",
    "p": "probability that a training label is replaced by a random one (0: clean labels)",
    "repeat": "index of the independent repeat (new split, corruption and initialization)",
    "n_noise": "dimension D of the noise part of the linear counterexample's inputs",
    "signal_norm": "norm of the signal part 2y*u of the linear counterexample's inputs",
    "population_error": "exact error of the learned linear classifier on the distribution",
    "s_prime_error": "1 - accuracy on S', the training set with its noise part negated",
    "s_prime_margin_max": "largest normalized margin y w.x/||w|| over S' (< 0: all wrong)",
    # sizes
    "n_train": "training rows",
    "n_test": "held-out test rows",
    "m": "training set size",
    "n": "number of random points",
    "d": "dimension of the random points",
    "dim": "dimension of the hyperspheres' points",
    "width": "hidden units per layer",
    "n_classes": "number of classes",
    "n_params": "weights of the network (2n + d for Theorem 1's construction; the ranking "
    "zoo: every parameter, Jiang et al.'s params)",
    # training progress
    "epoch": "epoch number (curves panel)",
    "step": "optimizer steps up to the end of the epoch",
    "running_train_loss": (
        "training loss averaged over the epoch's mini-batches while the weights changed "
        "(what Zhang et al. plot)"
    ),
    "running_train_accuracy": "training accuracy over the epoch's mini-batches, as above",
    "end_of_epoch_train_loss": (
        "training loss on the whole training set after the epoch (NaN without a stopping rule)"
    ),
    "end_of_epoch_train_accuracy": (
        "training accuracy on the whole training set after the epoch (NaN without a stopping rule)"
    ),
    "epochs_to_fit": "epochs trained until the stopping rule (or max_epochs)",
    "steps_to_fit": "optimizer steps trained until the stopping rule (or max_epochs)",
    "epochs": "epochs trained",
    "n_epochs": "epochs trained, pretraining included",
    "converged": "whether the stopping rule (fit, margin or target loss) was met (the "
    "ranking leaves the networks that missed it out)",
    "interpolated": "whether the training accuracy on the labels trained on is 1",
    "fit_seconds": "wall seconds of the fit",
    # accuracy, error, loss
    "train_accuracy": "final accuracy on the training labels the model was fitted on",
    "train_accuracy_true_labels": "final accuracy on the true (uncorrupted) training labels",
    "test_accuracy": "accuracy on the clean held-out labels",
    "train_error": "1 - accuracy on the training labels",
    "test_error": "1 - accuracy on the clean held-out labels",
    "projected_error": "error on the training set projected onto the other hypersphere (S')",
    "train_loss": "cross-entropy on the training set (predict_proba)",
    "test_loss": "cross-entropy on the test set (predict_proba)",
    "normalized_train_loss": "cross-entropy of the normalized network on the training set",
    "normalized_test_loss": "cross-entropy of the normalized network on the test set",
    "normalized_train_loss_l1": "the same, every layer of L1 norm 100 (Liao et al.'s Fig. 4)",
    "normalized_test_loss_l1": "the same on the test set, every layer of L1 norm 100",
    "normalized_train_loss_linf": "the same, every layer of largest entry 1 (max norm)",
    "normalized_test_loss_linf": "the same on the test set, every layer of largest entry 1",
    # measures
    "train_residual": "largest error of the exact fit on the class codes",
    "condition_number": "condition number (LAPACK 1-norm estimate) of the triangular system",
    "rkhs_norm": "RKHS norm of the kernel interpolant (NaN for networks)",
    "heldout_best_accuracy": (
        "held-out accuracy at the best epoch (the 'baseline, held out' setting, trained on "
        "80% of its training split; NaN for the others)"
    ),
    "heldout_final_accuracy": "held-out accuracy after the last epoch (same setting)",
    "heldout_best_epoch": "the epoch of the best held-out accuracy (same setting)",
    "ridge": "ridge term of a kernel ridge model (0: the interpolant; NaN for networks)",
    "product_norm": "product of the layers' norms",
    "distance_from_init": "distance of the trained weights from their initialization",
    "spectral_bound": "spectrally-normalized margin bound (Bartlett, Foster and Telgarsky 2017)",
    "pac_bayes_bound": "PAC-Bayesian spectral-Frobenius margin bound (Neyshabur et al. 2018)",
    # the measure-ranking zoo (measures read on each network's training sample)
    "depth": "hidden layers of the MLP",
    "lr": "SGD learning rate",
    "batch_size": "mini-batch size",
    "generalization_gap": "train accuracy minus test accuracy",
    "measure_seconds": "seconds spent on the network's measures",
    "inverse_margin": "1 / gamma^2, gamma the 10th percentile of the training margins",
    "log_spectral_product": "sum of the log spectral norms of the layers (log.prod.of.spec)",
    "log_frobenius_product": "sum of the log Frobenius norms of the layers (log.prod.of.fro)",
    "path_norm": "squared path-l2 norm (Jiang et al.'s path.norm)",
    "pac_bayes_sharpness": "1 / sigma^2 of the PAC-Bayes flatness search (pacbayes.flatness)",
    "pac_bayes_magnitude_sharpness": "1 / sigma'^2, magnitude-aware (pacbayes.mag.flatness)",
    "worst_case_sharpness": "1 / alpha'^2 of the worst-case sharpness search",
    "worst_case_magnitude_sharpness": "1 / alpha'^2, magnitude-aware worst-case sharpness",
    "hessian_trace": "trace of the training loss's Hessian (Hutchinson, 20 probes)",
    "gradient_noise": "mean squared deviation of mini-batch gradients (batches of 32)",
    "mean_alpha": "mean heavy-tailed exponent alpha of the layers' spectra",
    "steps_to_loss": "optimizer steps until the epoch's training loss first reached 0.1",
}


def column_lines(columns: Iterable[str]) -> list[str]:
    """A markdown table of ``columns`` and their meanings (from :data:`COLUMNS`).

    Examples
    --------
    >>> print("\\n".join(column_lines(["p", "test_error"])))
    | column | meaning |
    |---|---|
    | `p` | probability that a training label is replaced by a random one (0: clean labels) |
    | `test_error` | 1 - accuracy on the clean held-out labels |
    """
    lines = ["| column | meaning |", "|---|---|"]
    for column in columns:
        meaning = COLUMNS.get(column, "see the experiment function's docstring")
        lines.append(f"| `{column}` | {meaning} |")
    return lines
