"""The training losses of :class:`~sklearn_gen.NetworkClassifier` (``criterion=``).

``"ce"`` is torch's :class:`~torch.nn.CrossEntropyLoss`; ``"bce"`` the sigmoid (one-vs-all)
cross-entropy of Nagarajan & Kolter (2019), :class:`OneHotBCEWithLogitsLoss`. Any other torch
loss module is accepted as it is (``NLLLoss`` is refused: the networks output logits).
"""

from __future__ import annotations

from typing import Any

import torch

from sklearn_gen._validation import InvalidParameterError

__all__ = ["CRITERIA", "OneHotBCEWithLogitsLoss", "check_criterion", "one_hot_bce_with_logits"]


def one_hot_bce_with_logits(
    logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean"
) -> torch.Tensor:
    """Sigmoid (one-vs-all) cross-entropy of logits against one-hot class targets.

    ``mean`` averages over all ``n_samples * n_classes`` entries, as TensorFlow's
    ``reduce_mean(sigmoid_cross_entropy_with_logits(one_hot, logits))`` in Nagarajan &
    Kolter's code and torch's :class:`~torch.nn.BCEWithLogitsLoss` do; ``sum`` adds them.

    Examples
    --------
    >>> import torch
    >>> loss = one_hot_bce_with_logits(torch.zeros(2, 3), torch.tensor([0, 2]))
    >>> round(loss.item(), 4)  # log 2: every sigmoid is 1/2
    0.6931
    """
    # scatter, not F.one_hot: the pack evaluates this under vmap
    one_hot = torch.zeros_like(logits).scatter(1, target.unsqueeze(1), 1.0)
    return torch.nn.functional.binary_cross_entropy_with_logits(
        logits, one_hot, reduction=reduction
    )


class OneHotBCEWithLogitsLoss(torch.nn.Module):
    """Sigmoid (one-vs-all) cross-entropy of logits against one-hot class indices.

    The criterion of ``NetworkClassifier(criterion="bce")``: class indices ``y`` become one-hot
    rows and :func:`torch.nn.functional.binary_cross_entropy_with_logits` is averaged over
    all ``n_samples * n_classes`` entries.

    Examples
    --------
    >>> import torch
    >>> criterion = OneHotBCEWithLogitsLoss()
    >>> round(criterion(torch.zeros(4, 3), torch.tensor([0, 1, 2, 0])).item(), 4)
    0.6931
    """

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The mean sigmoid cross-entropy (a scalar tensor)."""
        return one_hot_bce_with_logits(logits, target)


#: The names ``NetworkClassifier(criterion=...)`` takes, and the loss class of each.
CRITERIA: dict[str, type[torch.nn.Module]] = {
    "ce": torch.nn.CrossEntropyLoss,
    "bce": OneHotBCEWithLogitsLoss,
}


def check_criterion(value: Any, name: str) -> None:
    """Refuse a ``criterion`` that is neither a name of :data:`CRITERIA` nor a torch loss.

    Examples
    --------
    >>> check_criterion("bce", "criterion")
    >>> check_criterion(torch.nn.NLLLoss, "criterion")
    Traceback (most recent call last):
    ...
    sklearn_gen._validation.InvalidParameterError: criterion=NLLLoss expects log-probabilities, ...
    """
    cls = value if isinstance(value, type) else type(value)
    known = value in CRITERIA if isinstance(value, str) else issubclass(cls, torch.nn.Module)
    if not known:
        raise InvalidParameterError(
            f"{name} must be one of {sorted(CRITERIA)} or a torch loss module (class or "
            f"instance) such as torch.nn.MultiMarginLoss, got {value!r}."
        )
    if issubclass(cls, torch.nn.NLLLoss):
        raise InvalidParameterError(
            f"{name}=NLLLoss expects log-probabilities, but NetworkClassifier modules output "
            "logits (NLLLoss on logits trains nothing); use torch.nn.CrossEntropyLoss, which "
            "applies log-softmax itself."
        )
