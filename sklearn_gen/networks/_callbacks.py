"""skorch callbacks: per-epoch accuracy and the papers' stopping rules.

Stopping rules (evaluated after every epoch on the whole training set, network in eval
mode, no augmentation):

* ``interpolate`` - training accuracy reaches 1.0 (Zhang et al. 2017 train until the
  network fits the labels, random or not);
* ``margin`` - at least a fraction ``q`` of the training points have margin
  ``f_y(x) - max_{k != y} f_k(x) >= gamma`` (Nagarajan & Kolter 2019 stop at margin 10 on
  99% of the points);
* ``loss`` - training cross-entropy at most a target (Liao et al. 2018 compare networks at
  equal training loss).

When several rules are enabled, training stops once all of them hold (``mode="all"``) or
once any holds (``mode="any"``).
"""

from __future__ import annotations

import torch
from skorch.callbacks import Callback

__all__ = ["BatchAccuracy", "StoppingRules", "margins"]


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
                acc = (y_pred.argmax(1) == target).double().mean().item()
                net.history.record(f"{prefix}_acc", acc)
        self.initialize()


class StoppingRules(Callback):
    """Stop training when the enabled rules hold on the whole training set.

    Records ``train_loss_full``, ``train_acc_full`` and ``margin_quantile`` (the ``q``
    quantile of the margins) in the history, and ``stopped_by`` (the rules that held) on
    the epoch that stopped training.

    Parameters
    ----------
    interpolate : bool, default=False
        Stop when every training point is classified correctly.
    margin : float or None, default=None
        Stop when a fraction ``margin_fraction`` of the points has margin >= this value.
    margin_fraction : float, default=1.0
        The fraction ``q`` for the margin rule (and the quantile that is recorded).
    loss : float or None, default=None
        Stop when the training cross-entropy is at most this value.
    mode : {"all", "any"}, default="all"
        Combine the enabled rules with "and" or with "or".
    chunk_size : int, default=4096
        Samples per forward pass of the evaluation.

    Examples
    --------
    >>> rules = StoppingRules(interpolate=True, loss=0.01)
    >>> rules.enabled
    ['interpolate', 'loss']
    """

    def __init__(
        self,
        interpolate: bool = False,
        margin: float | None = None,
        margin_fraction: float = 1.0,
        loss: float | None = None,
        mode: str = "all",
        chunk_size: int = 4096,
    ) -> None:
        self.interpolate = interpolate
        self.margin = margin
        self.margin_fraction = margin_fraction
        self.loss = loss
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
        if self.loss is not None:
            rules.append("loss")
        return rules

    def on_epoch_end(self, net, dataset_train=None, **kwargs) -> None:
        if not self.enabled or dataset_train is None:
            return
        loss, acc, margin_q = self.evaluate(net, dataset_train)
        net.history.record("train_loss_full", loss)
        net.history.record("train_acc_full", acc)
        net.history.record("margin_quantile", margin_q)
        held = {
            "interpolate": acc >= 1.0,
            "margin": self.margin is not None and margin_q >= self.margin,
            "loss": self.loss is not None and loss <= self.loss,
        }
        met = [name for name in self.enabled if held[name]]
        done = len(met) == len(self.enabled) if self.mode == "all" else bool(met)
        if done:
            net.history.record("stopped_by", ",".join(met))
            raise KeyboardInterrupt  # skorch's way to end fit_loop cleanly

    @torch.no_grad()
    def evaluate(self, net, dataset) -> tuple[float, float, float]:
        """Cross-entropy, accuracy and margin quantile of ``net`` on a device dataset."""
        from sklearn_gen.networks._batches import _tensors_of

        X, y = _tensors_of(dataset)
        module = net.module_
        was_training = module.training
        module.eval()
        try:
            total_loss = torch.zeros((), dtype=torch.float64, device=X.device)
            correct = torch.zeros((), dtype=torch.long, device=X.device)
            all_margins = []
            for start in range(0, len(X), self.chunk_size):
                logits = module(X[start : start + self.chunk_size]).float()
                yb = y[start : start + self.chunk_size]
                total_loss += torch.nn.functional.cross_entropy(logits, yb, reduction="sum")
                correct += (logits.argmax(1) == yb).sum()
                all_margins.append(margins(logits, yb))
        finally:
            module.train(was_training)
        n = len(X)
        # the q-quantile that at least a fraction q of the points reach: the (1-q) quantile
        margin_q = torch.quantile(
            torch.cat(all_margins), 1.0 - self.margin_fraction, interpolation="lower"
        ).item()
        return total_loss.item() / n, correct.item() / n, margin_q
