"""Kernel interpolation versus a network on the same split (Zhang et al. 2017, Sec. 5).

Zhang et al. show that the *minimum-norm* interpolant of a kernel machine - a model that,
like an over-parameterized network, fits every training label exactly - generalizes well
on MNIST (1.2% test error with a Gaussian kernel, no preprocessing; 0.6% with
preprocessing), and that it fits random labels just as well. :func:`kernel_interpolation`
fits :class:`~sklearn_gen.KernelInterpolator` and a network on the same train/test split,
with and without a preprocessing transformer (:class:`~sklearn_gen.PerImageWhitening`)
and with labels corrupted with probability ``p`` (:class:`~sklearn_gen.LabelNoise`).

References
----------
.. [1] C. Zhang, S. Bengio, M. Hardt, B. Recht and O. Vinyals, "Understanding deep learning
   requires rethinking generalization", ICLR 2017, Sec. 5.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import PredefinedSplit
from sklearn.pipeline import Pipeline

from sklearn_gen._validation import check_int, check_real, draw_seed
from sklearn_gen.kernels import KernelInterpolator
from sklearn_gen.metrics import SCORERS
from sklearn_gen.randomization import LabelNoise, PerImageWhitening
from sklearn_gen.studies._randomization import zhang_network
from sklearn_gen.studies._study import Study, run_study
from sklearn_gen.studies._validation import check_data, check_levels, check_test_size

__all__ = ["kernel_interpolation"]

#: The columns of the frame returned by :func:`kernel_interpolation`, in order.
KERNEL_COLUMNS = [
    "model",
    "ridge",
    "preprocessing",
    "p",
    "repeat",
    "n_train",
    "n_test",
    "train_accuracy",
    "test_error",
    "rkhs_norm",
    "fit_seconds",
]

_PREPROCESSINGS = {"none": None, "whitening": PerImageWhitening}


def _check_preprocessings(preprocessings: Any) -> list[tuple[str, Any]]:
    """``(name, transformer or None)`` pairs from names or ``(name, transformer)`` pairs."""
    if isinstance(preprocessings, str):
        preprocessings = (preprocessings,)
    try:
        items = list(preprocessings)
    except TypeError:
        raise ValueError(
            f"preprocessings must be a sequence of names, got {preprocessings!r}."
        ) from None
    if not items:
        raise ValueError("preprocessings must name at least one preprocessing.")
    pairs: list[tuple[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            if item not in _PREPROCESSINGS:
                raise ValueError(
                    f"Unknown preprocessing {item!r}; use one of {sorted(_PREPROCESSINGS)} "
                    "or a (name, transformer) pair."
                )
            factory = _PREPROCESSINGS[item]
            pairs.append((item, None if factory is None else factory()))
        elif (
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], str)
            and hasattr(item[1], "transform")
        ):
            pairs.append((item[0], item[1]))
        else:
            raise ValueError(
                f"A preprocessing must be a name or a (name, transformer) pair, got {item!r}."
            )
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError(f"Preprocessing names must be distinct, got {names}.")
    return pairs


def _rkhs_norm(model: Any) -> dict[str, float]:
    """The interpolant's RKHS norm (NaN for a network)."""
    final = model.estimator_[-1]
    return {"rkhs_norm": float(getattr(final, "rkhs_norm_", np.nan))}


def kernel_interpolation(
    X: Any,
    y: Any,
    *,
    kernel_estimator: BaseEstimator | None = None,
    network: BaseEstimator | bool | None = None,
    preprocessings: Sequence[str | tuple[str, Any]] = ("none", "whitening"),
    corruption_levels: Sequence[float] = (0.0,),
    ridges: Sequence[float] = (),
    test_size: float | int | PredefinedSplit = 0.25,
    n_repeats: int = 1,
    input_shape: tuple[int, ...] | None = None,
    n_jobs: int | None = None,
    random_state: int | np.random.RandomState | None = 0,
    progress: bool = False,
    cache_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Minimum-norm kernel interpolation against a network (Zhang et al. 2017, Sec. 5).

    For each repeat the data are split once (stratified) into a training and a test set;
    on that *same* split, for every preprocessing and every corruption level ``p``, a
    minimum-norm kernel interpolant and a network are trained on the training labels
    corrupted with probability ``p`` (:class:`~sklearn_gen.LabelNoise`, the same corrupted
    labels for both models) after the preprocessing (a ``Pipeline`` step), and evaluated on
    the clean test labels. Zhang et al. find that the kernel interpolant, which fits every
    (even random) training label, generalizes as well as the networks on MNIST.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Flat samples (images travel flat; see ``input_shape``).
    y : array-like of shape (n_samples,)
    kernel_estimator : estimator, default=None
        The kernel model; None gives ``KernelInterpolator(kernel="rbf")`` with, in each
        configuration, ``gamma = 1 / (n_features * Var(X_train))`` computed on the
        preprocessed training data (the ``"scale"`` width of :class:`sklearn.svm.SVC`),
        so that the width suits raw and whitened pixels alike: about 0.013 on MNIST pixels
        in [0, 1], where Zhang et al. use ``gamma=0.02``. A given estimator is used as it
        is (its ``random_state`` aside).
    network : estimator or False, default=None
        The network; None gives the Zhang et al. studies' network
        (``NetworkClassifier("mlp", module__hidden=(512,), lr=0.1, momentum=0.9,
        batch_size=128, max_epochs=500, stop_on_interpolation=True)``, the randomization
        study's). ``False`` leaves the network out (kernel rows only).
    preprocessings : sequence of {"none", "whitening"} or (name, transformer), \
default=("none", "whitening")
        ``"whitening"`` is :class:`~sklearn_gen.PerImageWhitening` (Zhang et al.'s
        preprocessing of CIFAR-10); a ``(name, transformer)`` pair adds any transformer.
    corruption_levels : sequence of float, default=(0.0,)
        Label corruption probabilities ``p`` in [0, 1].
    ridges : sequence of float, default=()
        Ridge terms (each > 0) of extra kernel models, ``model="kernel ridge"``: the same
        kernel solving ``(K + ridge * I) alpha = y`` (Zhang et al.: "adding regularization
        does not improve" the interpolant). The interpolant's rows have ``ridge`` 0, the
        network's NaN.
    test_size : float, int or PredefinedSplit, default=0.25
        As in :func:`sklearn.model_selection.train_test_split`; or the data's official
        split, a one-fold :class:`~sklearn.model_selection.PredefinedSplit`
        (:meth:`sklearn_gen.datasets.Dataset.test_split`).
    n_repeats : int, default=1
        Independent repeats (new split, new corruption, new seeds).
    input_shape : tuple of int, default=None
        Passed to the default network (``(C, H, W)`` for convolutional modules).
    n_jobs, random_state, progress, cache_dir
        Shared by every study function: joblib's workers, the seed every configuration's
        seeds come from, a progress bar, a :class:`joblib.Memory` folder to resume from
        (see :func:`~sklearn_gen.studies.run_study`).

    Returns
    -------
    pandas.DataFrame
        One row per model x preprocessing x ``p`` x repeat, with columns ``model``
        ("kernel", "kernel ridge" or "network"), ``ridge``, ``preprocessing``, ``p``,
        ``repeat``, ``n_train``, ``n_test``, ``train_accuracy`` (on the labels the model
        was trained on, corrupted ones included), ``test_error`` (on clean test labels),
        ``rkhs_norm`` (of the kernel's solution; NaN for networks) and ``fit_seconds``.

    References
    ----------
    .. [1] C. Zhang, S. Bengio, M. Hardt, B. Recht and O. Vinyals, "Understanding deep
       learning requires rethinking generalization", ICLR 2017, Sec. 5.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> frame = kernel_interpolation(X[:600] / 16, y[:600], network=False,
    ...                              corruption_levels=(0.0, 0.5))
    >>> frame[["model", "ridge", "preprocessing", "p", "train_accuracy"]]
        model  ridge preprocessing    p  train_accuracy
    0  kernel    0.0          none  0.0             1.0
    1  kernel    0.0          none  0.5             1.0
    2  kernel    0.0     whitening  0.0             1.0
    3  kernel    0.0     whitening  0.5             1.0
    >>> bool((frame["test_error"] < 0.1).groupby(frame["p"]).all()[0.0])
    True
    """
    X, y = check_data(X, y)
    pairs = _check_preprocessings(preprocessings)
    levels = check_levels(corruption_levels, "corruption_levels")
    n_repeats = check_int(n_repeats, "n_repeats")
    test_size = check_test_size(test_size)
    draw_seed(random_state)  # a bad random_state fails before any work
    if kernel_estimator is None:
        kernel_estimator = KernelInterpolator(kernel="rbf", gamma="scale")
    if not hasattr(kernel_estimator, "fit"):
        raise ValueError(f"kernel_estimator must be an estimator, got {kernel_estimator!r}.")
    ridges = [check_real(r, "ridges", 0.0, closed="neither") for r in np.atleast_1d(ridges)]
    if ridges and "ridge" not in kernel_estimator.get_params():
        raise ValueError(
            f"ridges needs a kernel_estimator with a ridge parameter (KernelInterpolator), "
            f"got {type(kernel_estimator).__name__}."
        )
    models: list[tuple[str, float, BaseEstimator]] = [("kernel", 0.0, kernel_estimator)]
    models += [("kernel ridge", r, clone(kernel_estimator).set_params(ridge=r)) for r in ridges]
    if network is None or network is True:
        network = zhang_network(input_shape)
    if network is not False:
        if not hasattr(network, "fit"):
            raise ValueError(f"network must be an estimator or False, got {network!r}.")
        models.append(("network", np.nan, network))
    grid = [
        {
            "model": [model],
            "ridge": [ridge],
            "preprocessing": [name],
            "estimator__preprocessing": ["passthrough" if step is None else step],
            "estimator__model": [estimator],
            "p": levels,
        }
        for model, ridge, estimator in models
        for name, step in pairs
    ]
    study = Study(
        "kernel interpolation",
        LabelNoise(Pipeline([("preprocessing", "passthrough"), ("model", kernel_estimator)])),
        grid,
        scoring={"accuracy": "accuracy", "fitted_accuracy": SCORERS["accuracy_on_fitted_labels"]},
        n_repeats=n_repeats,
        labels=("model", "ridge", "preprocessing"),
        # one corruption of the labels and one initialization per level and repeat, shared
        # by the models and preprocessings: a paired comparison
        seed_by=("p",),
        summary=_rkhs_norm,
    )
    frame = run_study(
        study,
        X,
        y,
        test_size=test_size,
        n_jobs=n_jobs,
        random_state=random_state,
        progress=progress,
        cache_dir=cache_dir,
    )
    frame["train_accuracy"] = frame["train_fitted_accuracy"]
    frame["test_error"] = 1.0 - frame["test_accuracy"]
    return frame[KERNEL_COLUMNS]
