"""PAC-Bayes flatness (sharpness): how much Gaussian weight noise the network tolerates.

Jiang, Neyshabur, Mobahi, Krishnan, Bengio (2019), "Fantastic generalization measures and
where to find them", Sec. 5 / App. C: the PAC-Bayes measures use the largest standard
deviation ``sigma`` of Gaussian noise on the weights such that the training accuracy of the
perturbed network drops by at most ``0.1`` on average, found by bisection. The
magnitude-aware variant scales each parameter's noise by its own magnitude:
``u_i ~ N(0, sigma^2 * |w_i|^2 + eps^2)``. Here ``sigma`` is the standard deviation of the
noise (some public implementations pass ``sigma^2`` where a standard deviation is meant).

How the expected accuracy under noise is estimated. The samples, repeated
``draws_per_sample`` times and shuffled, are dealt into ``n_draws`` groups, and each group
is scored under its own draw: one pass over the data scores many draws at once. Scoring
every draw on every sample would cost ``n_draws`` passes for little more precision: once
the draws are many, the random error comes from which samples flip under which draw, a
binomial error of order ``1 / sqrt(m * draws)`` over ``m`` samples. The search therefore
locates ``sigma`` with one draw per sample and spends the ``draws_per_sample`` draws of
every sample on the last step only (see :func:`pac_bayes_flatness`).
The groups are scored one after the other in plain forward passes over their samples
when each has some dozens of them (the defaults), else in batches (``torch.func.vmap``
over the stacked perturbed parameters: grouped convolutions, about twice as slow per
sample on a CPU). The draws of one call hold at most 2^25 floats, so a network of ``P``
parameters gets at most ``2^25 / P`` draws (about 20 for a 1.6M-parameter network).
The draws are fixed once per call (common random numbers: ``z`` is drawn once and the
noise is ``sigma * z``), so the accuracy drop is a deterministic function of ``sigma``, the
search is well defined and the result depends only on ``random_state``. The groups are
nearly independent (a draw and a random subset of samples each): resampling them
(bootstrap) gives the Monte-Carlo standard error of ``sigma``, reported with
``return_std=True`` (approximate: a sample scored in two groups ties them a little).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch.func import functional_call, vmap

from sklearn_gen._validation import MAX_SEED, check_int, check_real, draw_seed
from sklearn_gen.measures._layers import resolve_view

__all__ = ["jiang_pac_bayes_flatness", "pac_bayes_flatness", "perturb"]

#: Samples per group in the search's first, coarse stage (the bracket).
_BRACKET_SAMPLES = 256
#: The noise draws of one call hold at most this many floats (128 MB): a network of P
#: parameters gets at most 2^25 / P distinct draws.
_STORED_FLOATS = 2**25
_N_BOOTSTRAP = 400
#: Samples per batched forward call.
_CALL_SAMPLES = 512
#: From this many samples per group on, the groups are scored one after the other in
#: plain forward passes rather than batched through ``vmap``.
_LOOP_SAMPLES = 16


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


class _NoisyAccuracy:
    """Accuracy drops under noise, one noise draw per group of samples (common draws).

    The groups are scored in batches: ``torch.func.vmap`` over a stack of perturbed
    parameter sets, one per group, each applied to its own samples, so a batch of groups
    costs one batched forward pass; networks whose layers vmap cannot batch are scored
    group by group.
    """

    def __init__(self, module, x, target, hits, n_draws, per_sample, magnitude_aware, eps, rng):
        self.module = module
        self.hits = hits  # per sample: classified correctly without noise
        self.names = [name for name, _ in module.named_parameters()]
        self.params = [p.detach() for p in module.parameters()]
        self.magnitude_aware, self.eps = magnitude_aware, eps
        n_params = max(sum(p.numel() for p in self.params), 1)
        # every sample appears per_sample times, in shuffled order; slot k of the order
        # goes to group k mod G, so group sizes differ by at most one; the index matrix
        # pads the short groups with their first slot, masked out
        order = torch.cat([torch.as_tensor(rng.permutation(len(x))) for _ in range(per_sample)])
        n_slots = len(order)
        n_groups = max(1, min(n_draws, n_slots, _STORED_FLOATS // n_params))
        width = -(-n_slots // n_groups)
        padded = torch.cat([order, order[: n_groups * width - n_slots]])
        self.index = padded.reshape(width, n_groups).T.contiguous()  # (G, width)
        self.mask = (torch.arange(n_groups * width) < n_slots).reshape(width, n_groups).T
        self.x, self.target = x, target
        seeds = rng.randint(0, MAX_SEED, size=n_groups)
        draws = []
        for seed in seeds:
            gen = torch.Generator().manual_seed(int(seed))
            draws.append([torch.randn(p.shape, generator=gen) for p in self.params])
        self.draws = [torch.stack(z) for z in zip(*draws, strict=True)]
        # groups per batched forward pass: their parameter stack within 2^23 floats
        self.batch = max(1, min(n_groups, 2**23 // n_params))
        self.vmap = True

    @property
    def n_groups(self) -> int:
        return len(self.index)

    def _predict(self, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Predicted classes of ``x[g]`` under ``params[.][g]``, for every group g."""
        if self.vmap:
            try:
                return vmap(self._forward)(tuple(params), x).argmax(-1)
            except (RuntimeError, NotImplementedError):  # an op vmap cannot batch
                self.vmap = False
        return torch.stack(
            [self._forward(tuple(p[g] for p in params), x[g]).argmax(-1) for g in range(len(x))]
        )

    def _forward(self, params: tuple[torch.Tensor, ...], x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.module, dict(zip(self.names, params, strict=True)), (x,))

    @torch.no_grad()
    def correct(self, sigma: float, rows: int | None = None) -> np.ndarray:
        """Per group: correct predictions under noise ``sigma``, of the group's first
        ``rows`` samples (None: all)."""
        index, mask = self.index[:, :rows], self.mask[:, :rows]
        if index.shape[1] >= _LOOP_SAMPLES:
            return self._correct_by_group(sigma, index, mask)
        counts = np.zeros(self.n_groups)
        for start in range(0, self.n_groups, self.batch):
            size = min(self.batch, self.n_groups - start)
            draw = [z[start : start + size] for z in self.draws]
            params = perturb(
                self.params, draw, sigma, magnitude_aware=self.magnitude_aware, eps=self.eps
            )
            # at most _CALL_SAMPLES samples per batched call: bounded activations
            step = max(1, _CALL_SAMPLES // size)
            for col in range(0, index.shape[1], step):
                rows_index = index[start : start + size, col : col + step]
                predicted = self._predict(params, self.x[rows_index])
                hits = (predicted == self.target[rows_index]) & mask[
                    start : start + size, col : col + step
                ]
                counts[start : start + size] += hits.sum(1).double().numpy()
        return counts

    def _correct_by_group(
        self, sigma: float, index: torch.Tensor, mask: torch.Tensor
    ) -> np.ndarray:
        """:meth:`correct` one group after the other, each in plain forward passes over its
        samples: on a CPU, with some dozens of samples per group, faster than the batched
        (grouped) convolutions of ``vmap`` (about 0.6 against 1.1 to 1.8 forward passes of
        the same samples, measured on the conv chain of ``bench_measures.py``)."""
        counts = np.zeros(self.n_groups)
        for g in range(self.n_groups):
            draw = [z[g] for z in self.draws]
            params = perturb(
                self.params, draw, sigma, magnitude_aware=self.magnitude_aware, eps=self.eps
            )
            named = dict(zip(self.names, params, strict=True))
            rows_index = index[g][mask[g]]
            for col in range(0, len(rows_index), _CALL_SAMPLES):
                chunk = rows_index[col : col + _CALL_SAMPLES]
                logits = functional_call(self.module, named, (self.x[chunk],))
                counts[g] += float((logits.argmax(-1) == self.target[chunk]).sum())
        return counts

    def clean(self, rows: int | None = None) -> np.ndarray:
        """Per group: correct predictions without noise."""
        hits = self.hits[self.index[:, :rows]] & self.mask[:, :rows]
        return hits.sum(1).double().numpy()

    def drops(self, sigma: float, rows: int | None = None) -> np.ndarray:
        """Per group: correct predictions lost under noise ``sigma``."""
        return self.clean(rows) - self.correct(sigma, rows)

    def sizes(self, rows: int | None = None) -> np.ndarray:
        return self.mask[:, :rows].sum(1).double().numpy()


def _crossing(sigmas: np.ndarray, drops: np.ndarray, max_drop: float) -> np.ndarray:
    """Where each curve of mean drops crosses ``max_drop``, linear in ``log sigma``.

    ``drops`` is ``(n_curves, n_sigmas)`` over the sorted ``sigmas``. The crossing is read
    between the largest tolerated sigma and the next one; a curve tolerated everywhere
    (nowhere) is extrapolated from its last (first) two points, at most one bracket width.
    """
    log_s = np.log(sigmas)
    if len(log_s) == 1:
        return np.full(len(drops), sigmas[0])
    ok = drops <= max_drop
    # index of the largest tolerated sigma per curve (-1: none)
    last = np.where(ok.any(axis=1), ok.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1), -1)
    j = np.clip(last, 0, len(log_s) - 2)
    d0 = drops[np.arange(len(drops)), j]
    d1 = drops[np.arange(len(drops)), j + 1]
    rising = d1 > d0
    t = np.where(rising, (max_drop - d0) / np.where(rising, d1 - d0, 1.0), 0.5)
    lo = np.where(last < 0, -1.0, np.where(last == len(log_s) - 1, 1.0, 0.0))
    t = np.clip(t, lo, lo + 1.0)
    return np.exp(log_s[j] + t * (log_s[j + 1] - log_s[j]))


def _flatness(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    input_shape: Any,
    magnitude_aware: bool,
    max_drop: Any,
    n_draws: Any,
    draws_per_sample: Any,
    n_iter: Any,
    max_samples: Any,
    eps: Any,
    random_state: Any,
) -> tuple[float, float]:
    """``(sigma, standard error)`` of :func:`pac_bayes_flatness`."""
    check_real(max_drop, "max_drop", 0.0, closed="neither")
    if max_drop > 1:
        raise ValueError(f"max_drop is an accuracy drop and must be <= 1, got {max_drop!r}.")
    check_int(n_draws, "n_draws")
    check_int(draws_per_sample, "draws_per_sample")
    check_int(n_iter, "n_iter")
    check_real(eps, "eps", 0.0)
    if max_samples is not None:
        check_int(max_samples, "max_samples")
    view = resolve_view(estimator, X, input_shape)
    rng = check_random_state(random_state)
    x, target, subsampled = view.sample(X, y, "pac_bayes_flatness", max_samples, rng)
    if subsampled:
        with torch.no_grad():
            logits = torch.cat([view.module(x[i : i + 512]) for i in range(0, len(x), 512)])
    else:  # the forward pass the other measures of this model and data share
        logits = view.logits(X)
    hits = logits.argmax(1) == target
    # functional_call swaps the parameters of the module it runs: a private copy, since
    # the view's folded network is shared with the other measures (and threads)
    acc = _NoisyAccuracy(
        copy.deepcopy(view.module),
        x,
        target,
        hits,
        n_draws,
        draws_per_sample,
        magnitude_aware,
        eps,
        rng,
    )
    n = float(acc.sizes().sum())
    n_outputs = view.layers[-1].width if view.layers else 2
    if acc.clean().sum() / n - max_drop <= 1.0 / max(n_outputs, 2):
        # noise cannot lower the accuracy of a network at (or near) chance level by
        # max_drop: every sigma is tolerated
        return math.inf, 0.0

    # 1. bracket [low, 2 low] by doubling from 1e-3, on a few samples of every group
    rows = max(1, math.ceil(_BRACKET_SAMPLES / acc.n_groups))
    few = acc.sizes(rows).sum()
    low, high = 0.0, 1e-3
    for _ in range(21):
        if acc.drops(high, rows).sum() / few > max_drop:
            break
        low, high = high, high * 2.0
    else:  # noise of std ~1e3 costs no accuracy: the network is at chance already
        return math.inf, 0.0
    low = low if low > 0 else high / 2.0

    # 2. bisection on one draw per sample (the first shuffled copy of the samples)
    rows = max(1, math.ceil(len(x) / acc.n_groups))
    sizes_a = acc.sizes(rows)
    evaluated: dict[float, np.ndarray] = {}

    def tolerated(sigma: float) -> bool:
        evaluated[sigma] = acc.drops(sigma, rows)
        return evaluated[sigma].sum() / sizes_a.sum() <= max_drop

    for _ in range(n_iter):
        mid = math.sqrt(low * high)
        if tolerated(mid):
            low = mid
        else:
            high = mid
    # the coarse bracket may be off on these samples: check the ends not yet scored on
    # them and move the bracket until a tolerated and a failing sigma straddle it
    for _ in range(60):
        if not any(s <= low for s in evaluated):
            if not tolerated(low):
                low, high = low / 2.0, low
        elif not any(s >= high for s in evaluated):
            if tolerated(high):
                low, high = high, high * 2.0
        else:
            break
    sigmas = np.array(sorted(evaluated))
    counts = np.array([evaluated[s] for s in sigmas])  # (n_sigmas, n_groups)
    center = float(_crossing(sigmas, counts.sum(axis=1)[None] / sizes_a.sum(), max_drop)[0])

    # 3. every draw of every sample at that sigma, and one Newton step on log sigma with
    # the slope of the bisection's curve: the precision of all draws_per_sample draws
    final = acc.drops(center)
    sizes = acc.sizes()
    boot = np.random.default_rng(draw_seed(rng))
    weights = np.vstack(
        [
            np.ones(len(sizes)),
            boot.multinomial(len(sizes), np.full(len(sizes), 1.0 / len(sizes)), _N_BOOTSTRAP),
        ]
    )  # row 0: the sample itself; then bootstrap resamples of the groups
    curves = (weights @ counts.T) / (weights @ sizes_a)[:, None]
    at_center = (weights @ final) / (weights @ sizes)
    values = center * _newton_factor(np.log(sigmas), curves, at_center, max_drop)
    return float(values[0]), float(np.std(values[1:], ddof=1))


def _newton_factor(
    log_sigmas: np.ndarray, curves: np.ndarray, at_center: np.ndarray, max_drop: float
) -> np.ndarray:
    """``exp((max_drop - drop) / slope)``, the slope of each curve in ``log sigma`` fitted by
    least squares; no step where the slope is not positive, at most a factor 2."""
    if len(log_sigmas) < 2:
        return np.ones(len(curves))
    centred = log_sigmas - log_sigmas.mean()
    slope = (curves - curves.mean(axis=1, keepdims=True)) @ centred / np.sum(centred**2)
    step = np.where(slope > 0, (max_drop - at_center) / np.where(slope > 0, slope, 1.0), 0.0)
    return np.exp(np.clip(step, -math.log(2.0), math.log(2.0)))


def pac_bayes_flatness(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    magnitude_aware: bool = False,
    max_drop: float = 0.1,
    n_draws: int = 128,
    draws_per_sample: int = 4,
    n_iter: int = 2,
    max_samples: int | None = None,
    eps: float = 1e-3,
    return_std: bool = False,
    random_state: int | np.random.RandomState | None = 0,
) -> float | tuple[float, float]:
    """Largest noise standard deviation ``sigma`` that costs at most ``max_drop`` accuracy.

    For a candidate ``sigma`` every parameter of the (batch-norm folded) network gets
    ``sigma * z`` added (``z`` standard normal, drawn once per call), or
    ``sqrt(sigma^2 w^2 + eps^2) * z`` with ``magnitude_aware=True``, and the expected
    training accuracy under that noise is compared with the unperturbed one. Each sample
    is scored under ``draws_per_sample`` of the ``n_draws`` draws (see the module
    docstring). The search:

    1. bracket ``sigma`` within a factor 2 by doubling from 1e-3, on about 256 samples
       under one draw each;
    2. ``n_iter`` geometric bisection steps on all samples under one draw each (one
       forward pass each), and the crossing of ``max_drop`` read linearly in
       ``log sigma`` between the two candidates that straddle it;
    3. at that ``sigma``, every sample under all its ``draws_per_sample`` draws
       (``draws_per_sample`` passes), and one Newton step on ``log sigma`` to where the
       mean drop is ``max_drop``, with the slope of step 2's points.

    At the defaults a call scores about 7 passes' worth of samples (7 x 256 samples,
    2 passes, 4 passes; the unperturbed pass is the one the other measures of the same
    model and data share). On the conv chain of ``bench_measures.py`` (2,000 samples) a
    call measured 5.1 forward passes of the estimator on one thread, and 11.4 on two
    threads with the machine nearly idle (each group's small passes gain less from a
    second thread than the estimator's pass of 128-sample batches does). With
    128 draws the spread over ``random_state`` 0-4 on the ConvNet of the tests (1,257
    digits) was 7.6% of the median; with 64 draws it was 16%: with fewer than about a
    hundred draws, which draws were taken dominates the error. Larger means flatter;
    Jiang et al. (2019) report ``1 / sigma^2`` (:func:`jiang_pac_bayes_flatness`).

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
        A fitted network estimator, a wrapper around one, a module, or a view.
    X, y : array-like
        The training sample (the measure is meant for training folds).
    input_shape : tuple of int, optional
        One sample's shape, for a raw module that does not carry it.
    magnitude_aware : bool, default=False
        Scale each parameter's noise by its magnitude (Jiang et al.'s "magnitude-aware").
    max_drop : float, default=0.1
        Allowed drop of training accuracy, in (0, 1].
    n_draws : int, default=128
        Independent noise draws, each scoring its share of the samples (at most
        ``2^25 / n_parameters``, see the module docstring).
    draws_per_sample : int, default=4
        Draws each sample is scored under in the last step (its forward passes).
    n_iter : int, default=2
        Bisection steps (one forward pass each).
    max_samples : int or None, default=None
        Use at most this many samples (a seeded subsample); None uses all.
    eps : float, default=1e-3
        Noise floor of the magnitude-aware variant.
    return_std : bool, default=False
        Also return the Monte-Carlo standard error of ``sigma``: the spread of the
        estimate over bootstrap resamples of the draw groups. On the 8-filter ConvNet of
        the tests (1,257 digits) it was about 1.8 times the spread over seeds: a
        conservative error bar.
    random_state : int, RandomState instance or None, default=0

    Returns
    -------
    sigma : float
        ``inf`` when the training accuracy is within ``max_drop`` of chance level
        (``1 / n_classes``), or when even noise of standard deviation ~1,000 costs less
        than ``max_drop``: such a network has nothing noise could take away.
    std : float
        Only with ``return_std=True``: the standard error of ``sigma`` (0 for ``inf``).

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.eye(2)); _ = net[0].bias.zero_()
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]] * 50); y = np.array([0, 1] * 50)
    >>> sigma, std = pac_bayes_flatness(net, X, y, return_std=True)
    >>> bool(0.01 < sigma < 100 and 0 <= std < sigma)
    True
    """
    sigma, std = _flatness(
        estimator,
        X,
        y,
        input_shape=input_shape,
        magnitude_aware=magnitude_aware,
        max_drop=max_drop,
        n_draws=n_draws,
        draws_per_sample=draws_per_sample,
        n_iter=n_iter,
        max_samples=max_samples,
        eps=eps,
        random_state=random_state,
    )
    return (sigma, std) if return_std else sigma


def jiang_pac_bayes_flatness(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    return_std: bool = False,
    **params: Any,
) -> float | tuple[float, float]:
    """Jiang et al.'s PAC-Bayes flatness measure ``1 / sigma^2`` (larger is sharper).

    .. math:: \\mu_{\\text{pacbayes.flatness}} = \\frac{1}{\\sigma'^2}

    with ``sigma'`` the noise level of :func:`pac_bayes_flatness` (same parameters):
    Jiang et al. (2019, Eq. 51; with ``magnitude_aware=True`` their
    ``pacbayes.mag.flatness``, Eq. 53), so values compare with their tables. As a
    complexity measure, larger values predict a larger generalization gap. Its standard
    error (``return_std=True``) is ``2 std(sigma) / sigma^3`` (first-order propagation).

    Parameters
    ----------
    estimator, X, y, input_shape
        As for :func:`pac_bayes_flatness`.
    return_std : bool, default=False
        Also return the standard error.
    **params
        Passed to :func:`pac_bayes_flatness` (``magnitude_aware``,
        ``max_drop``, ``n_draws``, ``n_iter``, ``max_samples``, ``eps``,
        ``random_state``).

    Returns
    -------
    float, or (float, float) with ``return_std=True``
        0 when ``sigma`` is infinite.

    References
    ----------
    Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic
    generalization measures and where to find them", ICLR 2020, App. C.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.eye(2)); _ = net[0].bias.zero_()
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0]] * 50); y = np.array([0, 1] * 50)
    >>> sigma = pac_bayes_flatness(net, X, y)
    >>> bool(abs(jiang_pac_bayes_flatness(net, X, y) - 1 / sigma**2) < 1e-12)
    True
    """
    sigma, std = pac_bayes_flatness(
        estimator, X, y, input_shape=input_shape, return_std=True, **params
    )
    value = 1.0 / sigma**2
    return (value, 2.0 * std / sigma**3) if return_std else value
