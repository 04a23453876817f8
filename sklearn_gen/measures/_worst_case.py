"""Worst-case sharpness: how far the weights can move, adversarially, in a box.

Two measures of the largest loss the training sample sees when every weight may move
within a box around its trained value, both found by projected gradient ascent:

* :func:`epsilon_sharpness`, Keskar et al. (2017): the largest rise of the training
  cross-entropy over the box ``|delta_i| <= epsilon * (|w_i| + 1)``, relative,
  ``100 * (max L(w + delta) - L(w)) / (1 + L(w))``;
* :func:`worst_case_sharpness`, Jiang et al. (2020, Sec. 5 / App. C, the worst-case
  ``sharpness`` and ``pacbayes.mag.sharpness``-style measures): the largest box half-width
  ``alpha`` (Jiang et al.'s ``alpha'``) over which the worst perturbation found costs at most
  ``max_drop`` training accuracy, ``|u_i| <= alpha`` or, magnitude-aware,
  ``|u_i| <= alpha |w_i| + eps``; the measure is ``1 / alpha^2``. It is the worst-case
  counterpart of :func:`~sklearn_gen.measures.pac_bayes_flatness`, which asks the same of
  random Gaussian noise.

The ascent. The iterates live in normalized coordinates ``s = delta / r`` in
``[-1, 1]^P`` (``r`` the box's half-widths): from a uniform random start ``s_0`` it takes
``n_steps`` *sign* steps (the steepest-ascent direction of the box's L-infinity geometry)
``s_{k+1} = clip(s_k + eta_k sign(grad_delta L), -1, 1)`` with
``eta_k = 2 (1 - k / n_steps)``: the first step, two half-widths long, jumps to the
vertex that maximizes the loss's linearization (for a convex loss such jumps never lower
it), the later ones, shorter and shorter, refine. The answer is the best iterate (start
included): every iterate lies in the box, so the maximum found never exceeds the true
one. Accuracy has no gradient, so :func:`worst_case_sharpness` ascends the mean
cross-entropy (as Jiang et al. do) and scores the accuracy drop of every iterate,
keeping the largest. The starts are drawn once per call in normalized coordinates
(common random numbers), so the drop found at ``alpha`` is a deterministic function of
``alpha`` and the bisection is well defined; the result depends only on
``random_state``.

Both measures perturb the parameters of the layers view's network
(:func:`~sklearn_gen.measures.layers_view`): every parameter, biases included, with batch
norms folded into the layer before them (as
:func:`~sklearn_gen.measures.pac_bayes_flatness` does). Cost: one
evaluation at a box size is ``n_steps + 1`` forward and ``n_steps`` backward passes over
the (sub)sample per restart; :func:`worst_case_sharpness` makes about
``|log2(alpha / 1e-3)| + 8`` of them (fewer passes where the drop passes ``max_drop``
early: the ascent stops there).

References
----------
N. S. Keskar, D. Mudigere, J. Nocedal, M. Smelyanskiy and P. T. P. Tang, "On large-batch
training for deep learning: generalization gap and sharp minima", ICLR 2017, Metric 2.1.

Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic generalization
measures and where to find them", ICLR 2020, Sec. 5 and App. C.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from sklearn_gen._validation import check_bool, check_int, check_real, draw_seed
from sklearn_gen.measures._layers import LayersView, resolve_view

__all__ = ["epsilon_sharpness", "worst_case_sharpness"]

#: First box half-width the bracket search tries.
_ALPHA_START = 1e-3
#: The bracket search doubles (halves) ``alpha`` at most this many times.
_MAX_DOUBLINGS = 40
#: The bisection stops when the bracket's ends are within this factor of each other.
_RATIO = 1.01
#: Samples per forward/backward pass.
_CHUNK = 1024


@dataclass
class _Found:
    """The best iterates of one ascent: by loss and by accuracy drop."""

    loss: float  # mean cross-entropy of the best iterate by loss
    loss_delta: list[torch.Tensor]
    lost: int  # correct predictions lost at the best iterate by accuracy
    lost_delta: list[torch.Tensor]


class _Ascent:
    """Projected sign-gradient ascent of the mean cross-entropy over a box of weights.

    ``module`` is a private copy (``functional_call`` swaps its parameters while it runs);
    ``starts`` holds, per restart, uniform ``[-1, 1]`` tensors shaped like the parameters:
    the normalized random starts, fixed once (common random numbers).
    """

    def __init__(
        self,
        module: nn.Module,
        x: torch.Tensor,
        target: torch.Tensor,
        n_steps: int,
        starts: list[list[torch.Tensor]],
    ) -> None:
        self.module = module
        self.names = [name for name, _ in module.named_parameters()]
        self.params = [p.detach() for p in module.parameters()]
        self.x, self.target = x, target
        self.n_steps = n_steps
        self.starts = starts
        zero = [torch.zeros_like(p) for p in self.params]
        self.clean_loss, self.clean_correct, _ = self.evaluate(zero, grad=False)

    @property
    def n_samples(self) -> int:
        return len(self.x)

    def evaluate(
        self, delta: list[torch.Tensor], grad: bool = True
    ) -> tuple[float, int, list[torch.Tensor] | None]:
        """Mean cross-entropy and correct predictions at ``w + delta``, and the loss's
        gradient with respect to ``delta`` (None without ``grad``)."""
        leaves = [d.detach().clone().requires_grad_(grad) for d in delta]
        total, correct = 0.0, 0
        with torch.enable_grad() if grad else torch.no_grad():
            for start in range(0, self.n_samples, _CHUNK):
                params = {
                    name: p + d for name, p, d in zip(self.names, self.params, leaves, strict=True)
                }
                x = self.x[start : start + _CHUNK]
                target = self.target[start : start + _CHUNK]
                logits = functional_call(self.module, params, (x,))
                loss = nn.functional.cross_entropy(logits.double(), target, reduction="sum")
                if grad:
                    loss.backward()
                hits = (logits.argmax(1) == target) & torch.isfinite(logits).all(1)
                total += float(loss.detach())
                correct += int(hits.sum())
        mean = total / self.n_samples
        if not math.isfinite(mean):  # the outputs overflowed: the loss is unbounded
            mean = math.inf
        grads = None
        if grad:
            grads = [
                torch.zeros_like(d) if d.grad is None else torch.nan_to_num(d.grad, nan=0.0)
                for d in leaves
            ]
        return mean, correct, grads

    def run(self, radius: list[torch.Tensor], stop_lost: int | None = None) -> _Found:
        """The best iterates of the ascent in the box ``|delta| <= radius``.

        ``stop_lost``: stop as soon as an iterate loses more correct predictions than this
        (the bisection only asks whether the drop passes ``max_drop``).
        """
        found = _Found(-math.inf, [], -(2**62), [])
        for start in self.starts:
            s = [z.clone() for z in start]
            for k in range(self.n_steps + 1):
                delta = [r * z for r, z in zip(radius, s, strict=True)]
                last = k == self.n_steps
                loss, correct, grads = self.evaluate(delta, grad=not last)
                lost = self.clean_correct - correct
                if loss > found.loss:
                    found.loss, found.loss_delta = loss, delta
                if lost > found.lost:
                    found.lost, found.lost_delta = lost, delta
                if stop_lost is not None and found.lost > stop_lost:
                    return found
                if not last:
                    eta = 2.0 * (1.0 - k / self.n_steps)
                    s = [
                        torch.clamp(z + eta * torch.sign(g), -1.0, 1.0)
                        for z, g in zip(s, grads, strict=True)
                    ]
        return found


def _starts(params: list[torch.Tensor], n_restarts: int, seed: int) -> list[list[torch.Tensor]]:
    """``n_restarts`` uniform ``[-1, 1]`` draws shaped like ``params`` (seeded)."""
    gen = torch.Generator().manual_seed(seed)
    return [
        [torch.rand(p.shape, generator=gen, dtype=p.dtype) * 2.0 - 1.0 for p in params]
        for _ in range(n_restarts)
    ]


def _check_common(n_steps: Any, n_restarts: Any, max_samples: Any, random_state: Any) -> int:
    """Validate the ascent's parameters; the seed of the call."""
    check_int(n_steps, "n_steps")
    check_int(n_restarts, "n_restarts")
    if max_samples is not None:
        check_int(max_samples, "max_samples")
    return draw_seed(random_state)


def _setup(
    estimator: Any,
    X: Any,
    y: Any,
    input_shape: Any,
    n_steps: int,
    n_restarts: int,
    max_samples: int | None,
    seed: int,
    measure: str,
) -> tuple[LayersView, _Ascent]:
    """The view of the network and the ascent on (a seeded subsample of) ``X, y``."""
    view = resolve_view(estimator, X, input_shape)
    rng = np.random.RandomState(seed)
    x, target, _ = view.sample(X, y, measure, max_samples, rng)
    module = copy.deepcopy(view.module)  # the view's network is shared: never touch it
    with torch.no_grad():
        n_outputs = module(x[:1]).shape[-1]
    if len(target) and (int(target.min()) < 0 or int(target.max()) >= n_outputs):
        raise ValueError(
            f"{measure}: labels must be output indices in [0, {n_outputs}) for a network "
            "without classes_."
        )
    params = [p.detach() for p in module.parameters()]
    starts = _starts(params, n_restarts, draw_seed(rng))
    return view, _Ascent(module, x, target, n_steps, starts)


def epsilon_sharpness(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    epsilon: float = 1e-3,
    n_steps: int = 20,
    n_restarts: int = 1,
    max_samples: int | None = None,
    random_state: int | np.random.RandomState | None = None,
) -> float:
    """Keskar et al.'s epsilon-sharpness: the worst rise of the training loss in a box.

    .. math:: \\phi = 100 \\, \\frac{\\max_{\\delta \\in C_\\epsilon} L(w + \\delta) - L(w)}
              {1 + L(w)}, \\qquad
              C_\\epsilon = \\{\\delta : |\\delta_i| \\le \\epsilon (|w_i| + 1)\\}

    with ``L`` the mean cross-entropy on ``X, y`` and ``w`` every parameter of the
    (batch-norm folded) network, in the full space (Keskar et al.'s ``A = I``). Keskar et
    al. solve the maximization with L-BFGS-B; here it is projected sign-gradient ascent
    from a random start in the box (see the module docstring), a lower bound on the true
    maximum: the value is never above the exact ``phi``. Larger is sharper; Keskar et al.
    use ``epsilon`` of ``1e-3`` and ``5e-4``.

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
        A fitted network estimator, a wrapper around one, a module, or a view.
    X, y : array-like
        The training sample.
    input_shape : tuple of int, optional
        One sample's shape, for a raw module that does not carry it.
    epsilon : float, default=1e-3
        Relative size of the box, > 0.
    n_steps : int, default=20
        Ascent steps per start (each one forward and one backward pass over the samples).
    n_restarts : int, default=1
        Random starts; the largest loss over all of them counts. The ascent ends at a
        local maximum (for a convex loss, a vertex of the box where the gradient's signs
        point back at it); more starts find the global one more often where the box is
        large enough for the loss to bend in it.
    max_samples : int or None, default=None
        Use at most this many samples (a seeded subsample); None uses all.
    random_state : int, RandomState instance or None, default=None
        Seeds the starts of the ascent and the subsample; None is not reproducible.

    Returns
    -------
    float
        ``phi >= 0`` (in percent of ``1 + L(w)``); ``inf`` where the network's outputs
        overflow in the box.

    References
    ----------
    N. S. Keskar, D. Mudigere, J. Nocedal, M. Smelyanskiy and P. T. P. Tang, "On large-batch
    training for deep learning: generalization gap and sharp minima", ICLR 2017, Metric 2.1.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.eye(2)); _ = net[0].bias.zero_()
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]] * 10); y = np.array([0, 1] * 10)
    >>> phi = epsilon_sharpness(net, X, y, random_state=0)
    >>> bool(phi > 0), phi == epsilon_sharpness(net, X, y, random_state=0)
    (True, True)
    """
    check_real(epsilon, "epsilon", 0.0, closed="neither")
    seed = _check_common(n_steps, n_restarts, max_samples, random_state)
    _, ascent = _setup(
        estimator, X, y, input_shape, n_steps, n_restarts, max_samples, seed, "epsilon_sharpness"
    )
    radius = [epsilon * (p.abs() + 1.0) for p in ascent.params]
    found = ascent.run(radius)
    clean = ascent.clean_loss
    if math.isinf(found.loss):
        return math.inf
    return float(100.0 * max(found.loss - clean, 0.0) / (1.0 + clean))


class _WorstCase:
    """The accuracy lost to the worst perturbation found in the box of half-width ``alpha``."""

    def __init__(
        self, view: LayersView, ascent: _Ascent, magnitude_aware: bool, eps: float
    ) -> None:
        self.view, self.ascent = view, ascent
        self.magnitude_aware, self.eps = magnitude_aware, eps

    def radius(self, alpha: float) -> list[torch.Tensor]:
        """The box's half-widths: ``alpha``, or ``alpha |w_i| + eps`` magnitude-aware."""
        if self.magnitude_aware:
            return [alpha * p.abs() + self.eps for p in self.ascent.params]
        return [torch.full_like(p, alpha) for p in self.ascent.params]

    def search(self, alpha: float, max_drop: float | None = None) -> tuple[float, list]:
        """The largest accuracy drop found at ``alpha``, and the perturbation that causes it.

        With ``max_drop``, the ascent stops at the first iterate that drops more.
        """
        n = self.ascent.n_samples
        stop = None if max_drop is None else math.floor(max_drop * n + 1e-9)
        found = self.ascent.run(self.radius(alpha), stop_lost=stop)
        return found.lost / n, found.lost_delta

    def tolerated(self, alpha: float, max_drop: float) -> bool:
        return self.search(alpha, max_drop)[0] <= max_drop

    def near_chance(self, max_drop: float) -> bool:
        """Whether the clean accuracy is within ``max_drop`` of chance (``1 / n_classes``)."""
        n_outputs = self.view.layers[-1].width if self.view.layers else 2
        accuracy = self.ascent.clean_correct / self.ascent.n_samples
        return accuracy - max_drop <= 1.0 / max(n_outputs, 2)


def _worst_case(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    input_shape: Any = None,
    magnitude_aware: bool = False,
    eps: float = 1e-3,
    n_steps: int = 20,
    n_restarts: int = 1,
    max_samples: int | None = None,
    random_state: Any = None,
) -> _WorstCase:
    """The problem :func:`worst_case_sharpness` bisects (its random starts included)."""
    seed = _check_common(n_steps, n_restarts, max_samples, random_state)
    view, ascent = _setup(
        estimator,
        X,
        y,
        input_shape,
        n_steps,
        n_restarts,
        max_samples,
        seed,
        "worst_case_sharpness",
    )
    return _WorstCase(view, ascent, magnitude_aware, eps)


def _bisect(tolerated: Callable[[float], bool], floor: bool) -> float:
    """The largest tolerated ``alpha``: a bracket by doubling from ``_ALPHA_START``, then
    bisection in ``log alpha`` until the ends are within ``_RATIO``; ``floor``: ``alpha = 0``
    is a box of its own (magnitude-aware with ``eps > 0``) that may fail already."""
    if floor and not tolerated(0.0):
        return 0.0
    alpha = _ALPHA_START
    if tolerated(alpha):
        for _ in range(_MAX_DOUBLINGS):
            if not tolerated(2.0 * alpha):
                low, high = alpha, 2.0 * alpha
                break
            alpha *= 2.0
        else:
            return math.inf
    else:
        for _ in range(_MAX_DOUBLINGS):
            if tolerated(alpha / 2.0):
                low, high = alpha / 2.0, alpha
                break
            alpha /= 2.0
        else:
            return 0.0
    while high / low > _RATIO:
        mid = math.sqrt(low * high)
        if tolerated(mid):
            low = mid
        else:
            high = mid
    return low


def worst_case_sharpness(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    max_drop: float = 0.1,
    magnitude_aware: bool = False,
    eps: float = 1e-3,
    n_steps: int = 20,
    n_restarts: int = 1,
    max_samples: int | None = None,
    random_state: int | np.random.RandomState | None = None,
    return_alpha: bool = False,
) -> float:
    """Jiang et al.'s worst-case sharpness ``1 / alpha^2`` (larger is sharper).

    .. math:: \\mu_{\\text{sharpness}} = \\frac{1}{\\alpha'^2}, \\qquad
              \\alpha' = \\max \\{\\alpha : \\max_{|u_i| \\le \\alpha}
              \\mathrm{acc}(w) - \\mathrm{acc}(w + u) \\le \\text{max\\_drop}\\}

    and, with ``magnitude_aware=True``, the box ``|u_i| <= alpha |w_i| + eps`` (Jiang et
    al.'s ``pacbayes.mag.sharpness``-style variant, invariant to rescaling a ReLU layer by
    ``c`` and the next by ``1 / c`` when ``eps = 0``). ``acc`` is the training accuracy on
    ``X, y`` and ``w`` every parameter of the (batch-norm folded) network. The inner
    maximum is found by projected sign-gradient ascent of the mean cross-entropy from a
    random start in the box, ``n_steps`` steps, the best of ``n_restarts`` starts, and the
    accuracy drop of every iterate scored (see the module docstring): a lower bound on the
    true worst case, so ``alpha`` can only be overestimated. ``alpha`` is then bracketed
    within a factor 2 by doubling (or halving) from ``1e-3`` and bisected in
    ``log alpha`` until the bracket is within 1%; the tolerated end is returned, so the
    drop found at ``alpha`` is at most ``max_drop``.

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
        A fitted network estimator, a wrapper around one, a module, or a view.
    X, y : array-like
        The training sample (the measure is meant for training folds).
    input_shape : tuple of int, optional
        One sample's shape, for a raw module that does not carry it.
    max_drop : float, default=0.1
        Allowed drop of training accuracy, in (0, 1].
    magnitude_aware : bool, default=False
        Box half-widths ``alpha |w_i| + eps`` instead of ``alpha``.
    eps : float, default=1e-3
        Floor of the magnitude-aware box, >= 0.
    n_steps : int, default=20
        Ascent steps per start (each one forward and one backward pass over the samples).
    n_restarts : int, default=1
        Random starts per box size; the worst drop over all of them counts.
    max_samples : int or None, default=None
        Use at most this many samples (a seeded subsample); None uses all.
    random_state : int, RandomState instance or None, default=None
        Seeds the starts and the subsample; None is not reproducible.
    return_alpha : bool, default=False
        Return ``alpha`` itself (larger is flatter) instead of ``1 / alpha^2``.

    Returns
    -------
    float
        ``1 / alpha^2``, or ``alpha`` with ``return_alpha=True``. ``alpha`` is ``inf``
        (the measure 0) when the training accuracy is within ``max_drop`` of chance level
        (``1 / n_classes``), as for
        :func:`~sklearn_gen.measures.pac_bayes_flatness`, or when even a box of
        half-width ~1e9 costs no more than ``max_drop``; ``alpha`` is 0 (the measure
        ``inf``) when a box of half-width ~1e-15 (magnitude-aware: the ``eps`` box alone)
        already costs more.

    References
    ----------
    Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic
    generalization measures and where to find them", ICLR 2020, Sec. 5 and App. C.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.eye(2)); _ = net[0].bias.zero_()
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]] * 10); y = np.array([0, 1] * 10)
    >>> alpha = worst_case_sharpness(net, X, y, random_state=0, return_alpha=True)
    >>> bool(0 < alpha < 1)
    True
    >>> bool(abs(worst_case_sharpness(net, X, y, random_state=0) - 1 / alpha**2) < 1e-9)
    True
    """
    check_real(max_drop, "max_drop", 0.0, 1.0, closed="right")
    check_bool(magnitude_aware, "magnitude_aware")
    check_real(eps, "eps", 0.0)
    check_bool(return_alpha, "return_alpha")
    problem = _worst_case(
        estimator,
        X,
        y,
        input_shape=input_shape,
        magnitude_aware=magnitude_aware,
        eps=eps,
        n_steps=n_steps,
        n_restarts=n_restarts,
        max_samples=max_samples,
        random_state=random_state,
    )
    if problem.near_chance(max_drop):
        # the measure is about what training reached; a network within max_drop of chance
        # reached nothing a perturbation could take away: every alpha is tolerated
        alpha = math.inf
    else:
        alpha = _bisect(lambda a: problem.tolerated(a, max_drop), floor=magnitude_aware and eps > 0)
    if return_alpha:
        return float(alpha)
    return 0.0 if math.isinf(alpha) else (math.inf if alpha == 0 else 1.0 / alpha**2)
