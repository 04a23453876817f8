"""Optimization-speed measures, read from the training history of a fitted network.

Jiang et al. [1]_ (Sec. 5 and App. C, "optimization-based measures") rank networks by how
fast training goes: the number of optimizer steps needed to bring the training
cross-entropy to 0.1, and the number of steps from cross-entropy 0.1 to 0.01; Dziugaite
et al. [2]_ use the same two measures. Both are read here from the skorch ``history`` the
fitted net recorded (:class:`~sklearn_gen.NetworkClassifier` or any skorch net), with no
computation on the model:

- a *step* is one optimizer update, one mini-batch: an epoch contributes its
  ``train_batch_count`` steps (recorded by skorch and by ``NetworkClassifier`` for every
  epoch; the number of the epoch's batch records that have a ``train_loss`` when the
  count is absent);
- the loss of an epoch is the history's ``key`` entry of that epoch, by default
  ``train_loss``: the training loss averaged over the epoch's mini-batches, each weighted
  by its size, as the weights changed during the epoch (skorch's running loss). With a
  stopping rule, ``NetworkClassifier`` also records ``train_loss_full``, the loss of the
  whole training set at the end of the epoch (``key="train_loss_full"``). Either is the
  loss the net is trained with: the softmax cross-entropy by default, the one-vs-all
  sigmoid cross-entropy with ``criterion="bce"``;
- ``steps_to_loss(level=c)`` is the number of steps until the end of the first epoch
  whose loss is ``<= c``: the sum of the batch counts of the epochs up to and including
  it. The history is read at epoch resolution, so this is the step count at the end of
  that epoch (the level may have been crossed during it);
- ``steps_between_losses(start, stop)`` is ``steps_to_loss(stop) - steps_to_loss(start)``.

A level the history never reaches (training stopped before, or diverged: a NaN loss never
counts as reached) makes the measure undefined: :class:`UndefinedMeasureError`, which the
scorers turn into NaN. Every epoch in the history counts, including those of earlier
``partial_fit`` calls (a ``fit`` starts a new history).

These measures need the fitted estimator, not the model alone: a raw ``torch.nn.Module``
or a :class:`~sklearn_gen.measures.LayersView` has no training history (``ValueError``).

Scorers: fewer steps are better (faster optimization went with better generalization
in Jiang et al.'s correlation study), so they are named ``neg_steps_to_loss`` and
``neg_steps_between_losses``.

References
----------
.. [1] Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic
   generalization measures and where to find them", ICLR 2020 (arXiv:1912.02178).
.. [2] G. K. Dziugaite, A. Drouin, B. Neal, N. Rajkumar, E. Caballero, L. Wang,
   I. Mitliagkas and D. M. Roy, "In search of robust measures of generalization",
   NeurIPS 2020 (arXiv:2010.11924).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import nn

from sklearn_gen._validation import InvalidParameterError, check_real
from sklearn_gen.measures._layers import LayersView, unwrap_network
from sklearn_gen.measures._margin_utils import UndefinedMeasureError

__all__ = ["steps_between_losses", "steps_to_loss"]


# ------------------------------------------------------------------------------ helpers
def _check_level(value: Any, name: str) -> float:
    """A loss level: a finite float ``> 0``."""
    return check_real(value, name, 0.0, closed="neither")


def _check_key(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidParameterError(
            f"key must be the name of a per-epoch history entry such as 'train_loss', got {key!r}."
        )
    return key


def _history(estimator: Any) -> Any:
    """The skorch history of the fitted net inside ``estimator`` (wrappers unwrapped)."""
    if isinstance(estimator, (nn.Module, LayersView)):
        raise ValueError(
            "optimization-speed measures read the training history, which only a fitted "
            "skorch net has: pass the fitted NetworkClassifier (or skorch net, or a "
            f"Pipeline / LabelNoise / GridSearchCV around one), not a "
            f"{type(estimator).__name__}."
        )
    net, _ = unwrap_network(estimator)
    history = None
    if not isinstance(net, nn.Module):
        history = getattr(net, "history_", None)
        history = getattr(net, "history", None) if history is None else history
    if history is None:
        raise ValueError(
            "optimization-speed measures read the training history, which only a fitted "
            f"skorch net has; {type(net).__name__} has none: pass the fitted "
            "NetworkClassifier (or skorch net)."
        )
    if len(history) == 0:
        raise ValueError(f"the {type(net).__name__} has an empty training history: fit it first.")
    return history


def _epoch_steps(row: dict) -> int:
    """Optimizer steps of one epoch: its batch count, or its training batch records."""
    count = row.get("train_batch_count")
    if count is not None:
        return int(count)
    return sum(1 for batch in row.get("batches", ()) if "train_loss" in batch)


def _epochs(history: Any, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Each epoch's loss (``key``) and the steps taken by its end (cumulative)."""
    losses, steps = [], []
    for epoch, row in enumerate(history, start=1):
        if key not in row:
            keys = sorted(k for k in row if k != "batches")
            raise ValueError(
                f"epoch {epoch} of the history has no {key!r} entry (it has {keys}); "
                "pass key= one of those, e.g. key='train_loss'."
            )
        losses.append(float(row[key]))
        steps.append(_epoch_steps(row))
    return np.asarray(losses, dtype=np.float64), np.cumsum(steps, dtype=np.int64)


def _steps_to(losses: np.ndarray, steps: np.ndarray, level: float, key: str) -> int:
    """Steps by the end of the first epoch whose loss is ``<= level``."""
    reached = np.flatnonzero(losses <= level)  # NaN compares False: never reached
    if len(reached) == 0:
        last = losses[-1]
        finite = losses[np.isfinite(losses)]
        lowest = f", lowest {finite.min():.4g}" if len(finite) else ""
        raise UndefinedMeasureError(
            f"the training loss ({key}) never reached {level:g} in the {len(losses)} "
            f"recorded epochs ({int(steps[-1])} steps): last {last:.4g}{lowest}."
        )
    return int(steps[reached[0]])


# ------------------------------------------------------------------------------ measures
def steps_to_loss(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    level: float = 0.1,
    key: str = "train_loss",
) -> float:
    """Optimizer steps until the training loss first reaches ``level`` (Jiang et al. 2020).

    The number of mini-batch updates up to the end of the first epoch whose training loss
    (the history's ``key`` entry) is ``<= level``: the sum of the batch counts of the
    epochs up to and including it. See the module docstring.

    Parameters
    ----------
    estimator : estimator
        A fitted :class:`~sklearn_gen.NetworkClassifier` or skorch net, or a Pipeline,
        LabelNoise, RandomPretraining or GridSearchCV around one.
    X, y : ignored
        Accepted so that the measure can serve as a scorer.
    input_shape : ignored
        Accepted for the common signature (no forward pass is made).
    level : float, default=0.1
        The loss level, ``> 0`` (Jiang et al.: cross-entropy 0.1).
    key : str, default="train_loss"
        The per-epoch history entry read as the epoch's loss (``"train_loss_full"`` for
        the end-of-epoch loss a ``NetworkClassifier`` with a stopping rule records).

    Returns
    -------
    float
        The number of steps (a whole number).

    Raises
    ------
    UndefinedMeasureError
        When no recorded epoch reaches ``level`` (the message names the last loss).
    ValueError
        For a model without a training history (a raw module, a LayersView).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_gen import NetworkClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> net = NetworkClassifier("mlp", module__hidden=(32,), lr=0.5, max_epochs=12,
    ...                         device="cpu", random_state=0).fit(X / 16, y)
    >>> reached = [loss <= 0.1 for loss in net.history[:, "train_loss"]]
    >>> # 1797 samples in batches of 128: 15 steps an epoch
    >>> steps_to_loss(net, level=0.1) == 15 * (reached.index(True) + 1)
    True
    """
    level = _check_level(level, "level")
    key = _check_key(key)
    losses, steps = _epochs(_history(estimator), key)
    return float(_steps_to(losses, steps, level, key))


def steps_between_losses(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    start: float = 0.1,
    stop: float = 0.01,
    key: str = "train_loss",
) -> float:
    """Optimizer steps from training loss ``start`` to ``stop`` (Jiang et al. 2020).

    ``steps_to_loss(stop) - steps_to_loss(start)``: the mini-batch updates between the
    end of the first epoch at or below ``start`` and the end of the first epoch at or
    below ``stop`` (0 when one epoch crosses both). See the module docstring.

    Parameters
    ----------
    estimator : estimator
        A fitted :class:`~sklearn_gen.NetworkClassifier` or skorch net, or a wrapper
        around one.
    X, y : ignored
    input_shape : ignored
    start : float, default=0.1
        The first loss level, ``> stop``.
    stop : float, default=0.01
        The second loss level, ``> 0``.
    key : str, default="train_loss"
        The per-epoch history entry read as the epoch's loss.

    Returns
    -------
    float

    Raises
    ------
    UndefinedMeasureError
        When the history never reaches ``start`` or ``stop``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_gen import NetworkClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> net = NetworkClassifier("mlp", module__hidden=(32,), lr=0.5, max_epochs=12,
    ...                         device="cpu", random_state=0).fit(X / 16, y)
    >>> steps_between_losses(net, start=0.5, stop=0.1) == (
    ...     steps_to_loss(net, level=0.1) - steps_to_loss(net, level=0.5))
    True
    """
    start = _check_level(start, "start")
    stop = _check_level(stop, "stop")
    if not stop < start:
        raise InvalidParameterError(
            f"stop must be smaller than start (the loss goes down from start to stop), got "
            f"start={start!r} and stop={stop!r}."
        )
    key = _check_key(key)
    losses, steps = _epochs(_history(estimator), key)
    first = _steps_to(losses, steps, start, key)
    second = _steps_to(losses, steps, stop, key)
    return float(second - first)
