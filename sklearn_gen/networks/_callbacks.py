"""skorch callbacks: per-epoch accuracy, the initial weights, the papers' stopping rules,
and the bookkeeping a single fit and a pack (:func:`~sklearn_gen.networks.fit_pack`) share.

Stopping rules (evaluated after every epoch on the whole training set, network in eval
mode, no augmentation):

* ``interpolate`` - training accuracy reaches 1.0 (Zhang et al. 2017 train until the
  network fits the labels, random or not);
* ``margin`` - at least a fraction ``q`` of the training points have margin
  ``f_y(x) - max_{k != y} f_k(x) >= gamma`` (Nagarajan & Kolter 2019 stop at margin 10 on
  99% of the points: their code trains until the fraction of points below the margin is at
  most ``1 - q``, which is this rule);
* ``loss`` - training loss at most a target (Liao et al. 2018 compare networks at equal
  training loss): the loss of the network's own criterion (the softmax cross-entropy by
  default, the sigmoid one-vs-all cross-entropy with ``criterion="bce"``).

When several rules are enabled, training stops once all of them hold (``mode="all"``) or
once any holds (``mode="any"``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback

__all__ = [
    "BatchAccuracy",
    "RecordInitialParams",
    "StoppingRules",
    "chunked_statistics",
    "finalize_fit",
    "margins",
    "n_correct",
    "warn_not_converged",
]


def margins(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Multiclass margins ``f_y(x) - max_{k != y} f_k(x)``, one per row.

    Examples
    --------
    >>> import torch
    >>> margins(torch.tensor([[2.0, 0.5, 1.0]]), torch.tensor([0])).tolist()
    [1.0]
    """
    true = logits.gather(1, target[:, None]).squeeze(1)
    others = logits.scatter(1, target[:, None], float("-inf"))
    return true - others.max(dim=1).values


def n_correct(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Points whose largest logit is their class: ``(logits.argmax(-1) == target).sum(-1)``.

    The one accuracy count of the training records: the running ``train_acc`` of a single
    fit (:class:`BatchAccuracy`) and of a pack, and the stopping rules' ``train_acc_full``.
    Leading dimensions (a pack's members) are kept.

    Examples
    --------
    >>> import torch
    >>> n_correct(torch.tensor([[2.0, 0.5], [0.0, 1.0]]), torch.tensor([0, 0])).item()
    1
    """
    return (logits.argmax(-1) == target).sum(-1)


class RecordInitialParams(Callback):
    """Keep the weights a skorch net starts training from, as ``net.initial_params_``.

    The measures that compare the trained weights with the initial ones
    (:func:`~sklearn_gen.measures.distance_from_init`, the margin bounds with
    ``reference="init"``) read ``initial_params_`` from the estimator. Every
    :class:`~sklearn_gen.NetworkClassifier` runs it (its default callback
    ``initial_params``, the one snapshot of its initial weights); give it to any other
    skorch net (``callbacks=[RecordInitialParams()]``) and those measures and their
    scorers work on it, in ``GridSearchCV`` and ``cross_validate`` too (every fit of a
    clone records its own start). The state dict is copied to the CPU when training
    begins after the net was (re)initialized, so ``fit`` records a new start and
    ``partial_fit`` keeps the first one.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skorch import NeuralNetClassifier
    >>> module = torch.nn.Sequential(torch.nn.Linear(4, 3))
    >>> net = NeuralNetClassifier(module, max_epochs=2, lr=0.5, train_split=None,
    ...                           callbacks=[RecordInitialParams()], verbose=0)
    >>> X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    >>> _ = net.fit(X, np.arange(20) % 3)
    >>> sorted(net.initial_params_)
    ['0.bias', '0.weight']
    >>> bool(torch.equal(net.initial_params_["0.weight"], net.module_[0].weight.detach()))
    False
    """

    def initialize(self) -> RecordInitialParams:
        """Called when the net (re)initializes: the next training records its start."""
        self.pending_ = True
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs) -> None:
        """Record the module's parameters before the first step (a new fit starts anew)."""
        if getattr(self, "pending_", True):
            net.initial_params_ = {
                name: tensor.detach().to("cpu", copy=True)
                for name, tensor in net.module_.state_dict().items()
            }
            self.pending_ = False


class BatchAccuracy(Callback):
    """Record ``train_acc`` / ``valid_acc``: accuracy of the batch predictions of an epoch.

    The predictions of the epoch are only referenced while it runs and compared once at its
    end (no work and no device synchronisation per batch). For the training set this is the
    running accuracy while the weights move (as Keras reports it); the stopping rules use
    an exact pass instead.

    Examples
    --------
    >>> BatchAccuracy().initialize().outputs_
    {True: [], False: []}
    """

    def initialize(self) -> BatchAccuracy:
        self.outputs_: dict[bool, list] = {True: [], False: []}
        return self

    def on_epoch_begin(self, net, **kwargs) -> None:
        self.initialize()

    def on_batch_end(self, net, batch=None, training=None, y_pred=None, **kwargs) -> None:
        if batch[1] is not None and y_pred is not None:
            self.outputs_[bool(training)].append((y_pred.detach(), batch[1]))

    def on_epoch_end(self, net, **kwargs) -> None:
        for training, prefix in ((True, "train"), (False, "valid")):
            outputs = self.outputs_[training]
            if outputs:
                y_pred = torch.cat([pred for pred, _ in outputs])
                target = torch.cat([yb for _, yb in outputs])
                acc = n_correct(y_pred, target).item() / len(target)
                net.history.record(f"{prefix}_acc", acc)
        self.initialize()


class StoppingRules(Callback):
    """Stop training when the enabled rules hold on the whole training set.

    Records ``train_loss_full``, ``train_acc_full``, ``margin_quantile`` (the
    ``1 - margin_fraction`` quantile of the margins, ``method="lower"`` as in
    :func:`sklearn_gen.measures.margin_quantile`) and, with a margin rule, ``margin_fraction``
    (the fraction of training points whose margin is at least ``margin``) in the history,
    and ``stopped_by`` (the rules that held) on the epoch that stopped training.

    Parameters
    ----------
    interpolate : bool, default=False
        Stop when every training point is classified correctly.
    margin : float or None, default=None
        Stop when at least a fraction ``margin_fraction`` of the points has margin >= this
        value (counted exactly: ``#{i : margin_i >= margin} >= margin_fraction * n``).
    margin_fraction : float, default=1.0
        The fraction of points for the margin rule; the recorded ``margin_quantile`` is
        the ``1 - margin_fraction`` quantile of the margins.
    train_loss : float or None, default=None
        Stop when the training loss (the network's criterion, over the whole training set)
        is at most this value.
    mode : {"all", "any"}, default="all"
        Combine the enabled rules with "and" or with "or".
    chunk_size : int, default=4096
        Samples per forward pass of the evaluation.

    Examples
    --------
    >>> rules = StoppingRules(interpolate=True, train_loss=0.01)
    >>> rules.enabled
    ['interpolate', 'loss']
    """

    def __init__(
        self,
        interpolate: bool = False,
        margin: float | None = None,
        margin_fraction: float = 1.0,
        train_loss: float | None = None,
        mode: str = "all",
        chunk_size: int = 4096,
    ) -> None:
        self.interpolate = interpolate
        self.margin = margin
        self.margin_fraction = margin_fraction
        self.train_loss = train_loss
        self.mode = mode
        self.chunk_size = chunk_size

    @property
    def enabled(self) -> list[str]:
        """Names of the rules that are switched on."""
        rules = []
        if self.interpolate:
            rules.append("interpolate")
        if self.margin is not None:
            rules.append("margin")
        if self.train_loss is not None:
            rules.append("loss")
        return rules

    def on_epoch_end(self, net, dataset_train=None, **kwargs) -> None:
        if not self.enabled or dataset_train is None:
            return
        if self.record(net.history, self.statistics(net, dataset_train)):
            raise KeyboardInterrupt  # skorch's way to end fit_loop cleanly

    def record(self, history: Any, stats: dict) -> bool:
        """Record the epoch's full-training-set statistics; whether training stops.

        The one stopping decision: the skorch callback and a pack
        (:func:`~sklearn_gen.networks.fit_pack`) both call it with :meth:`summarize`'s
        statistics, so the rules are applied in one place.
        """
        history.record("train_loss_full", stats["loss"])
        history.record("train_acc_full", stats["accuracy"])
        history.record("margin_quantile", stats["margin_quantile"])
        if self.margin is not None:
            history.record("margin_fraction", stats["margin_fraction"])
        met = self.decide(stats)
        if met is None:
            return False
        history.record("stopped_by", ",".join(met))
        return True

    def decide(self, stats: dict) -> list[str] | None:
        """The enabled rules that hold on ``stats``, when they stop training; else None."""
        held = {
            "interpolate": stats["accuracy"] >= 1.0,
            "margin": self.margin is not None and self._enough_margin(stats),
            "loss": self.train_loss is not None and stats["loss"] <= self.train_loss,
        }
        met = [name for name in self.enabled if held[name]]
        done = len(met) == len(self.enabled) if self.mode == "all" else bool(met)
        return met if done and self.enabled else None

    def _enough_margin(self, stats: dict) -> bool:
        # count, not quantile: at least ceil(q * n) points reach the margin (the 1e-9 keeps
        # q * n = 99.00000000000001 from asking for 100 points)
        needed = math.ceil(self.margin_fraction * stats["n_samples"] - 1e-9)
        return stats["n_reached"] >= needed

    @staticmethod
    def chunk_statistics(
        criterion: torch.nn.Module, logits: torch.Tensor, y: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """What one chunk of the training set adds: its summed loss, correct points, margins.

        The one per-chunk computation of the stopping rules: a single fit calls it on each
        chunk, a pack through ``vmap`` over its members. The summed loss is ``criterion``'s
        mean on the chunk (a criterion with ``reduction="sum"`` as it is) times its size:
        divided by the training-set size, the chunks' means weighted by their sizes, as
        skorch's ``train_loss`` weights its batches. The softmax cross-entropy gives the
        mean over the points; ``criterion="bce"`` the mean over all ``n * n_classes``
        entries, its training loss.

        Returns
        -------
        loss_sum, n_correct, chunk_margins : torch.Tensor
            Two scalars and the chunk's margins (:func:`margins`).
        """
        value = criterion(logits, y)
        if getattr(criterion, "reduction", "mean") != "sum":
            value = value * y.shape[0]
        return value, n_correct(logits, y), margins(logits, y)

    def summarize(self, loss_sum: float, n_correct: int, sample_margins: torch.Tensor) -> dict:
        """The statistics :meth:`decide` reads, from one pass over the training set.

        Parameters
        ----------
        loss_sum : float
            The summed loss of :meth:`chunk_statistics` over the training set.
        n_correct : int
            Correctly classified training points.
        sample_margins : torch.Tensor of shape (n_samples,)
            Every training point's margin (:func:`margins`).

        Returns
        -------
        dict
            ``loss`` (mean), ``accuracy``, ``margin_quantile``, ``n_samples`` and, when
            ``margin`` is set, ``n_reached`` and ``margin_fraction`` (points, and their
            fraction, with margin >= ``margin``).
        """
        n = int(sample_margins.shape[0])
        stats = {
            "loss": float(loss_sum) / n,
            "accuracy": int(n_correct) / n,
            # the q-quantile that at least a fraction q of the points reach: the (1-q) quantile
            "margin_quantile": torch.quantile(
                sample_margins.float(), 1.0 - self.margin_fraction, interpolation="lower"
            ).item(),
            "n_samples": n,
        }
        if self.margin is not None:
            reached = int((sample_margins >= self.margin).sum().item())
            stats["n_reached"] = reached
            stats["margin_fraction"] = reached / n
        return stats

    @torch.no_grad()
    def statistics(self, net, dataset) -> dict:
        """One pass over ``dataset`` in eval mode: loss, accuracy and the margin statistics.

        Returns
        -------
        dict
            ``loss`` (the mean training loss of the net's criterion), ``accuracy``,
            ``margin_quantile``, ``n_samples``, and, when ``margin`` is set, ``n_reached``
            and ``margin_fraction`` (points, and their fraction, with margin >= ``margin``).
        """
        from sklearn_gen.networks._batches import _tensors_of

        X, y = _tensors_of(dataset)
        module = net.module_
        was_training = module.training
        module.eval()
        try:
            loss_sum, correct, sample_margins = chunked_statistics(
                lambda x: module(x).float(),
                X,
                y,
                partial(self.chunk_statistics, net.criterion_),
                self.chunk_size,
            )
        finally:
            module.train(was_training)
        return self.summarize(loss_sum.item(), correct.item(), sample_margins)


@torch.no_grad()
def chunked_statistics(
    forward: Callable[[torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    targets: torch.Tensor,
    statistics: Callable,
    chunk_size: int,
    gather: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The stopping statistics over a training set, one forward chunk of ``X`` at a time.

    The one chunked evaluation: a single fit (:meth:`StoppingRules.statistics`) passes its
    module and :meth:`StoppingRules.chunk_statistics`; a pack its members' batched forward
    pass and the same statistics under ``vmap``.

    Parameters
    ----------
    forward : callable
        ``forward(X[start:stop])``: float32 logits of shape ``(..., stop - start,
        n_classes)`` (leading dimensions: a pack's members).
    X : torch.Tensor
        The training inputs, samples first.
    targets : torch.Tensor of shape (..., n_samples)
        The class indices (one row per member in a pack).
    statistics : callable
        ``statistics(logits, targets)``: a chunk's summed loss, correct points and margins.
    chunk_size : int
        Samples per forward pass.
    gather : int, default=0
        Logits gathered (entries over all members) before ``statistics`` is called on them
        at once; 0 calls it on every chunk.

    Returns
    -------
    loss_sum, correct, margins : torch.Tensor
        The summed loss (float64) and the correct points, of shape ``(...)``, and every
        point's margin, of shape ``(..., n_samples)``.

    Examples
    --------
    >>> import torch
    >>> rules = StoppingRules()
    >>> X, y = torch.eye(3), torch.tensor([0, 1, 1])
    >>> stats = partial(rules.chunk_statistics, torch.nn.CrossEntropyLoss())
    >>> loss, correct, m = chunked_statistics(lambda x: 2 * x, X, y, stats, chunk_size=2)
    >>> correct.item(), m.tolist()
    (2, [2.0, 2.0, -2.0])
    """
    total = correct = None
    all_margins: list[torch.Tensor] = []
    pending: list[torch.Tensor] = []
    gathered = done = 0
    n = len(X)
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        pending.append(forward(X[start:stop]))
        gathered += pending[-1].numel()
        if gathered < gather and stop < n:
            continue
        logits = pending[0] if len(pending) == 1 else torch.cat(pending, -2)
        loss_sum, chunk_correct, chunk_margins = statistics(logits, targets[..., done:stop])
        total = loss_sum.double() if total is None else total.add_(loss_sum)
        correct = chunk_correct if correct is None else correct.add_(chunk_correct)
        all_margins.append(chunk_margins)
        pending.clear()
        gathered, done = 0, stop
    return total, correct, torch.cat(all_margins, -1)


def warn_not_converged(subject: str, within: str, stacklevel: int) -> None:
    """The one :class:`~sklearn.exceptions.ConvergenceWarning` of unmet stopping rules.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_not_converged("The stopping rules", "max_epochs=3", stacklevel=1)
    >>> str(caught[0].message)
    'The stopping rules were not met within max_epochs=3; increase max_epochs or lr.'
    """
    warnings.warn(
        f"{subject} were not met within {within}; increase max_epochs or lr.",
        ConvergenceWarning,
        stacklevel=stacklevel + 1,
    )


def finalize_fit(net: Any, rules: StoppingRules, *, warn: bool = True) -> bool:
    """Set what a finished fit reports, from the history: for a single fit and a pack member.

    ``n_epochs_`` (epochs since the last initialization), ``n_steps_`` (their optimizer
    steps), ``converged_`` (the enabled ``rules`` stopped training; ``True`` when none is
    enabled) and, with ``warn``, a :class:`~sklearn.exceptions.ConvergenceWarning` when
    they did not (a pack warns once for all its members instead).

    Returns
    -------
    bool
        ``converged_``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from skorch.history import History
    >>> net = SimpleNamespace(history=History(), max_epochs=1)
    >>> net.history.new_epoch(); net.history.record("train_batch_count", 4)
    >>> finalize_fit(net, StoppingRules()), net.n_epochs_, net.n_steps_
    (True, 1, 4)
    """
    history = net.history
    net.n_epochs_ = len(history)
    net.n_steps_ = int(sum(history[:, "train_batch_count"])) if len(history) else 0
    net.converged_ = not rules.enabled or (len(history) > 0 and "stopped_by" in history[-1])
    if warn and not net.converged_:
        # the caller's caller: the user's fit / partial_fit call
        warn_not_converged("The stopping rules", f"max_epochs={net.max_epochs}", stacklevel=4)
    return net.converged_
