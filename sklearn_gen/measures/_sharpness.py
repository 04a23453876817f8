"""PAC-Bayes flatness (sharpness): how much Gaussian weight noise the network tolerates.

Jiang, Neyshabur, Mobahi, Krishnan, Bengio (2019), "Fantastic generalization measures and
where to find them", Sec. 5 / App. C: the PAC-Bayes measures use the largest standard
deviation ``sigma`` of Gaussian noise on the weights such that the training accuracy of the
perturbed network drops by at most ``0.1`` on average, found by bisection. The
magnitude-aware variant scales each parameter's noise by its own magnitude:
``u_i ~ N(0, sigma^2 * |w_i|^2 + eps^2)``. Here ``sigma`` is the standard deviation of the
noise (some public implementations pass ``sigma^2`` where a standard deviation is meant).

The noise draws are fixed once per call (common random numbers: draw ``z`` once and perturb
by ``sigma * z``), so the accuracy drop is a deterministic function of ``sigma`` and the
bisection is well defined; the result depends only on ``random_state``.
"""

from __future__ import annotations

import copy
import numbers
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state

from sklearn_gen.measures._layers import layers_view

__all__ = ["pac_bayes_flatness", "perturb"]


def perturb(
    params: list[torch.Tensor],
    draw: list[torch.Tensor],
    sigma: float,
    *,
    magnitude_aware: bool = False,
    eps: float = 1e-3,
) -> list[torch.Tensor]:
    """Parameters plus Gaussian noise of standard deviation ``sigma`` (not variance).

    ``draw`` holds standard normal tensors shaped like ``params``. Plain noise is
    ``w + sigma * z``; magnitude-aware noise is ``w + sqrt(sigma^2 w^2 + eps^2) * z``.

    Examples
    --------
    >>> import torch
    >>> w = [torch.zeros(100_000)]
    >>> z = [torch.randn(100_000, generator=torch.Generator().manual_seed(0))]
    >>> round(float(perturb(w, z, 0.5)[0].std()), 2)
    0.5
    """
    if magnitude_aware:
        return [
            p + torch.sqrt((sigma * p) ** 2 + eps**2) * z for p, z in zip(params, draw, strict=True)
        ]
    return [p + sigma * z for p, z in zip(params, draw, strict=True)]


def _accuracy(module: torch.nn.Module, x: torch.Tensor, target: torch.Tensor) -> float:
    with torch.no_grad():
        correct = sum(
            int((module(x[i : i + 1024]).argmax(1) == target[i : i + 1024]).sum())
            for i in range(0, len(x), 1024)
        )
    return correct / len(x)


def _check(name: str, value: Any, low: float, integer: bool = False) -> None:
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or not value > low:
        what = "an integer" if integer else "a real number"
        raise ValueError(f"{name} must be {what} > {low}, got {value!r}.")


def pac_bayes_flatness(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    magnitude_aware: bool = False,
    max_drop: float = 0.1,
    n_draws: int = 3,
    n_iter: int = 5,
    max_samples: int | None = 512,
    eps: float = 1e-3,
    random_state: int | np.random.RandomState | None = 0,
) -> float:
    """Largest noise standard deviation ``sigma`` that costs at most ``max_drop`` accuracy.

    For each candidate ``sigma``, every parameter of the (batch-norm folded) network gets
    ``sigma * z`` added (``z`` standard normal, drawn once per call), or
    ``sqrt(sigma^2 w^2 + eps^2) * z`` with ``magnitude_aware=True``; the mean training
    accuracy over ``n_draws`` such draws is compared with the unperturbed one. ``sigma`` is
    first bracketed by doubling from 1e-3 and then found by ``n_iter`` geometric bisection
    steps (relative precision about ``2^(1/2^n_iter)``). Larger means flatter; Jiang et al.
    (2019) report the PAC-Bayes flatness measure as ``1 / sigma^2``.

    Parameters
    ----------
    estimator : fitted network estimator or torch.nn.Module
    X, y : array-like
        The training sample (the measure is meant for training folds).
    magnitude_aware : bool, default=False
        Scale each parameter's noise by its magnitude (Jiang et al.'s "magnitude-aware").
    max_drop : float, default=0.1
        Allowed drop of training accuracy, in (0, 1].
    n_draws : int, default=3
        Noise draws averaged per candidate ``sigma``.
    n_iter : int, default=5
        Bisection steps.
    max_samples : int or None, default=512
        Evaluate on at most this many samples (a seeded subsample); None uses all.
    eps : float, default=1e-3
        Noise floor of the magnitude-aware variant.
    random_state : int, RandomState instance or None, default=0

    Returns
    -------
    float
        ``inf`` when the training accuracy is within ``max_drop`` of chance level
        (``1 / n_classes``), or when even noise of standard deviation ~1,000 costs less
        than ``max_drop``: such a network has nothing noise could take away.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.eye(2)); _ = net[0].bias.zero_()
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]] * 10); y = np.array([0, 1] * 10)
    >>> sigma = pac_bayes_flatness(net, X, y, n_iter=4)
    >>> 0.01 < sigma < 100
    True
    """
    _check("max_drop", max_drop, 0.0)
    if max_drop > 1:
        raise ValueError(f"max_drop is an accuracy drop and must be <= 1, got {max_drop!r}.")
    _check("n_draws", n_draws, 0, integer=True)
    _check("n_iter", n_iter, 0, integer=True)
    _check("eps", eps, -1e-300)
    if max_samples is not None:
        _check("max_samples", max_samples, 0, integer=True)
    view = layers_view(estimator, input_shape=None if X is None else _shape_hint(estimator, X))
    x, target = view.inputs(X), view.targets(y)
    if len(x) != len(target):
        raise ValueError(
            f"pac_bayes_flatness: X has {len(x)} samples but y has {len(target)} labels."
        )
    rng = check_random_state(random_state)
    if max_samples is not None and len(x) > max_samples:
        keep = torch.as_tensor(np.sort(rng.choice(len(x), max_samples, replace=False)))
        x, target = x[keep], target[keep]
    base = view.module
    params = [p for p in base.parameters()]
    gen = torch.Generator().manual_seed(int(rng.randint(0, 2**31 - 1)))
    draws = [[torch.randn(p.shape, generator=gen) for p in params] for _ in range(n_draws)]
    reference = _accuracy(base, x, target)
    n_outputs = view.layers[-1].width if view.layers else 2
    if reference - max_drop <= 1.0 / max(n_outputs, 2):
        # noise cannot lower the accuracy of a network at (or near) chance level by
        # max_drop: every sigma is tolerated
        return float("inf")
    noisy = copy.deepcopy(base)
    noisy_params = list(noisy.parameters())

    def tolerated(sigma: float) -> bool:
        total = 0.0
        for draw in draws:
            perturbed = perturb(params, draw, sigma, magnitude_aware=magnitude_aware, eps=eps)
            with torch.no_grad():
                for p, value in zip(noisy_params, perturbed, strict=True):
                    p.copy_(value)
            total += _accuracy(noisy, x, target)
        return reference - total / len(draws) <= max_drop

    low, high = 0.0, 1e-3
    for _ in range(21):  # bracket: the largest tolerated power-of-two multiple of 1e-3
        if not tolerated(high):
            break
        low, high = high, high * 2.0
    else:  # noise of std ~1e3 costs no accuracy: the network is at chance already
        return float("inf")
    for _ in range(n_iter):
        mid = np.sqrt(low * high) if low > 0 else high / 2.0
        if tolerated(mid):
            low = mid
        else:
            high = mid
    return float(low)


def _shape_hint(estimator: Any, X: Any) -> tuple[int, ...] | None:
    """For a raw module without ``input_shape``: take one sample's shape from flat ``X``."""
    if isinstance(estimator, torch.nn.Module) and not hasattr(estimator, "input_shape"):
        return (int(np.asarray(X).shape[1]),)
    return None
