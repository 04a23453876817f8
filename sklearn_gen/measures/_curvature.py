"""Curvature and gradient-noise measures of the training loss at the final weights.

The ranking studies of generalization measures (Jiang et al. 2020; Dziugaite et al. 2020)
and PyHessian (Yao et al. 2020) describe the loss landscape around the trained weights
``w`` by the Hessian ``H = ∇²L(w)`` of the mean softmax cross-entropy training loss

.. math:: L(w) = \\frac{1}{n} \\sum_{i=1}^n \\ell(f_w(x_i), y_i)

with respect to *all* parameters of the network, and by the noise of its mini-batch
gradients:

* :func:`hessian_top_eigenvalue`: the eigenvalue of largest magnitude of ``H`` by power
  iteration on Hessian-vector products (PyHessian's ``eigenvalues()``);
* :func:`hessian_trace`: ``tr(H)`` by Hutchinson's estimator with Rademacher probes
  (PyHessian's ``trace()``);
* :func:`gradient_noise`: the variance of the mini-batch gradients around the full-data
  gradient (Jiang et al.'s "grad.noise" family).

The network is the one every measure sees (:func:`~sklearn_gen.measures.resolve_view`):
a CPU copy in eval mode with its batch norms folded, so ``H`` is the Hessian with respect
to the parameters of that folded network (for a network without batch norm, its own
parameters). The measures work on a private float64 copy of it: the model passed in,
and the shared view, are never changed. Hessian-vector products are exact (double
backward through ``torch.autograd``, never finite differences); the loss is summed over
chunks of at most 512 samples, each weighted by its share of the samples, so memory is
bounded whatever the size of ``X``. One product costs about two forward and backward
passes over the data. The loss is the softmax cross-entropy of the logits whatever
criterion trained the network (the objective of :class:`~sklearn_gen.NetworkClassifier`
with ``criterion="ce"``).
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from torch import nn
from torch.func import functional_call

from sklearn_gen._validation import check_bool, check_int, check_real, draw_seed
from sklearn_gen.measures._layers import LayersView, resolve_view
from sklearn_gen.measures._margin_utils import _check_xy

__all__ = ["gradient_noise", "hessian_top_eigenvalue", "hessian_trace"]

#: Samples per forward/backward pass (the loss is summed over chunks of this size).
_CHUNK = 512
#: The denominator guard of PyHessian's relative change ``|a - b| / (|a| + 1e-6)``.
_REL_EPS = 1e-6

_RandomState = int | np.random.RandomState | None


# ------------------------------------------------------------------------------ the objective
class _Objective:
    """The mean cross-entropy of a float64 copy of a network as a function of the flat
    vector ``theta`` of its parameters (``named_parameters`` order), with its gradient
    and exact Hessian-vector products, summed over chunks of samples."""

    def __init__(self, view: LayersView, x: torch.Tensor, target: torch.Tensor, measure: str):
        # functional_call only swaps the parameters in for a call, but the view's network
        # is shared: a private copy, in float64 (float buffers too)
        self.module = copy.deepcopy(view.module).double().eval()
        named = list(self.module.named_parameters())
        if not named:
            raise ValueError(f"{measure}: the network has no parameters.")
        self.names = [name for name, _ in named]
        self.shapes = [p.shape for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        self.theta = torch.cat([p.detach().reshape(-1) for _, p in named]).to(torch.float64)
        self.x = x.to(torch.float64)
        self.target = target
        self.n = len(x)
        self.measure = measure
        self._graph: tuple[torch.Tensor, torch.Tensor] | None = None
        with torch.no_grad():
            out = self._logits(self.theta, self.x[:1])
        if out.ndim != 2 or out.shape[1] < 2:
            raise ValueError(
                f"{measure} needs a network whose output is (n_samples, n_classes) logits "
                f"with at least two classes; it outputs shape {tuple(out.shape)} for one sample."
            )
        if len(target) and (int(target.min()) < 0 or int(target.max()) >= out.shape[1]):
            raise ValueError(
                f"{measure}: labels must be output indices in [0, {out.shape[1]}) for a network "
                "without classes_."
            )

    @property
    def n_params(self) -> int:
        return int(self.theta.numel())

    def _logits(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        params = {
            name: part.view(shape)
            for name, part, shape in zip(
                self.names, theta.split(self.sizes), self.shapes, strict=True
            )
        }
        return functional_call(self.module, params, (x,)).to(torch.float64)

    def _loss(self, theta: torch.Tensor, index: torch.Tensor, total: int) -> torch.Tensor:
        """Sum of the cross-entropies of the samples ``index``, divided by ``total``."""
        logits = self._logits(theta, self.x[index])
        return nn.functional.cross_entropy(logits, self.target[index], reduction="sum") / total

    def _chunks(self, index: torch.Tensor | None) -> list[torch.Tensor]:
        index = torch.arange(self.n) if index is None else index
        return [index[i : i + _CHUNK] for i in range(0, len(index), _CHUNK)]

    def gradient(self, index: torch.Tensor | None = None) -> torch.Tensor:
        """The gradient of the mean loss over the samples ``index`` (default: all)."""
        chunks = self._chunks(index)
        total = sum(len(chunk) for chunk in chunks)
        grad = torch.zeros_like(self.theta)
        for chunk in chunks:
            theta = self.theta.clone().requires_grad_(True)
            (part,) = torch.autograd.grad(self._loss(theta, chunk, total), theta, allow_unused=True)
            if part is not None:
                grad += part.detach()
        return grad

    def hvp(self, v: torch.Tensor) -> torch.Tensor:
        """``H v``, ``H`` the Hessian of the mean loss over all samples (double backward).

        With a single chunk the gradient's graph is built once and kept (PyHessian's
        single-batch mode); otherwise each product rebuilds it chunk by chunk.
        """
        if self._graph is not None:
            theta, grad = self._graph
            (hv,) = torch.autograd.grad(grad, theta, grad_outputs=v, retain_graph=True)
            return hv.detach()
        keep = self.n <= _CHUNK
        out = torch.zeros_like(self.theta)
        for chunk in self._chunks(None):
            theta = self.theta.clone().requires_grad_(True)
            (grad,) = torch.autograd.grad(
                self._loss(theta, chunk, self.n), theta, create_graph=True, allow_unused=True
            )
            if grad is None or not grad.requires_grad:  # the loss is affine in theta here
                continue
            (hv,) = torch.autograd.grad(
                grad, theta, grad_outputs=v, retain_graph=keep, allow_unused=True
            )
            if hv is not None:
                out += hv.detach()
            if keep:
                self._graph = (theta, grad)
        return out


def _objective(
    estimator: Any,
    X: Any,
    y: Any,
    input_shape: Any,
    measure: str,
    max_samples: int | None,
    rng: np.random.RandomState,
) -> _Objective:
    """The objective on ``(X, y)``, subsampled to ``max_samples`` samples drawn by ``rng``."""
    _check_xy(X, y, measure)
    view = resolve_view(estimator, X, input_shape)
    x, target, _ = view.sample(X, y, measure, max_samples, rng)
    return _Objective(view, x, target, measure)


def _generator(rng: np.random.RandomState) -> torch.Generator:
    return torch.Generator().manual_seed(draw_seed(rng))


# ------------------------------------------------------------------------------ measures
def hessian_top_eigenvalue(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    n_iter: int = 100,
    tol: float = 1e-3,
    max_samples: int | None = None,
    random_state: _RandomState = None,
) -> float:
    """Top eigenvalue of the Hessian of the training loss, by power iteration.

    The Hessian ``H`` of the mean softmax cross-entropy on ``(X, y)`` with respect to all
    parameters of the network (see the module docstring), as PyHessian computes it
    (Yao et al. 2020, ``hessian.eigenvalues()``): from a random normal vector ``v``
    normalized to unit length, repeat

    1. ``lambda_k = v · H v`` (the Rayleigh quotient),
    2. ``v <- H v / ||H v||``,

    and stop at the first ``k`` with ``|lambda_k - lambda_{k-1}| / (|lambda_{k-1}| + 1e-6)
    < tol`` or after ``n_iter`` products. The returned value is the last ``lambda_k``
    (PyHessian returns ``lambda_{k-1}``: they differ by less than ``tol`` relative).
    All arithmetic is float64; ``H v`` is exact (double backward).

    Power iteration finds the eigenvalue of largest *magnitude*, returned with its sign.
    At a minimum of the training loss ``H`` is (nearly) positive semi-definite and that is
    the largest eigenvalue, the sharpness of Keskar et al. (2017); where a negative
    eigenvalue dominates (a saddle, far from a minimum) the result is negative. Two
    eigenvalues of nearly the same magnitude slow the iteration down; a
    :class:`~sklearn.exceptions.ConvergenceWarning` says when ``n_iter`` products did not
    reach ``tol`` (the Rayleigh quotient is then still within the spectrum). Larger is
    sharper.

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
        A fitted network estimator, a wrapper around one, a module, or a view.
    X, y : array-like
        The training sample (the loss is the training loss).
    input_shape : tuple of int, optional
        One sample's shape, for a raw module that does not carry it.
    n_iter : int, default=100
        Most Hessian-vector products (PyHessian's ``maxIter``).
    tol : float, default=1e-3
        Relative change of the eigenvalue estimate that ends the iteration; 0 runs all
        ``n_iter`` products.
    max_samples : int or None, default=None
        Use at most this many samples (drawn without replacement from ``random_state``);
        None uses all.
    random_state : int, RandomState instance or None, default=None
        Draws the subsample and the start vector.

    Returns
    -------
    float
        The eigenvalue of largest magnitude of the Hessian (0 when ``H v = 0``).

    References
    ----------
    Z. Yao, A. Gholami, K. Keutzer and M. W. Mahoney, "PyHessian: Neural networks through
    the lens of the Hessian", IEEE BigData 2020.

    N. S. Keskar, D. Mudigere, J. Nocedal, M. Smelyanskiy and P. T. P. Tang, "On
    large-batch training for deep learning: generalization gap and sharp minima",
    ICLR 2017.

    Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic
    generalization measures and where to find them", ICLR 2020.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3))
    >>> X = np.random.RandomState(0).randn(40, 2); y = np.arange(40) % 3
    >>> value = hessian_top_eigenvalue(net, X, y, random_state=0)
    >>> bool(value > 0)  # a linear softmax model: the loss is convex
    True
    """
    check_int(n_iter, "n_iter")
    check_real(tol, "tol", 0.0)
    if max_samples is not None:
        check_int(max_samples, "max_samples")
    rng = check_random_state(random_state)
    objective = _objective(estimator, X, y, input_shape, "hessian_top_eigenvalue", max_samples, rng)
    v = torch.randn(objective.n_params, dtype=torch.float64, generator=_generator(rng))
    v /= torch.linalg.vector_norm(v)
    eigenvalue = None
    for _ in range(n_iter):
        hv = objective.hvp(v)
        estimate = float(torch.dot(v, hv))
        norm = float(torch.linalg.vector_norm(hv))
        if norm == 0.0:  # v is in the Hessian's null space
            return 0.0
        v = hv / norm
        if (
            eigenvalue is not None
            and abs(eigenvalue - estimate) / (abs(eigenvalue) + _REL_EPS) < tol
        ):
            return estimate
        eigenvalue = estimate
    warnings.warn(
        f"hessian_top_eigenvalue: power iteration did not reach tol={tol:g} in "
        f"n_iter={n_iter} Hessian-vector products; increase n_iter.",
        ConvergenceWarning,
        stacklevel=2,
    )
    return float(eigenvalue)


def hessian_trace(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    n_probes: int = 100,
    max_samples: int | None = None,
    return_std: bool = False,
    random_state: _RandomState = None,
) -> float | tuple[float, float]:
    """Trace of the Hessian of the training loss, by Hutchinson's estimator.

    .. math:: \\widehat{\\operatorname{tr}}(H) = \\frac{1}{K} \\sum_{k=1}^K z_k^\\top H z_k

    with ``K = n_probes`` independent Rademacher vectors ``z_k`` (entries ±1 with
    probability 1/2), ``H`` the Hessian of the mean softmax cross-entropy on ``(X, y)``
    with respect to all parameters (see the module docstring), as PyHessian's
    ``hessian.trace()`` (Yao et al. 2020) without its early stop: exactly ``n_probes``
    Hessian-vector products, float64. Each term is unbiased,
    ``E[z^T H z] = tr(H)``, with variance ``2 sum_{i != j} H_ij^2``: a diagonal Hessian
    gives the exact trace from one probe. ``tr(H)`` is the sum of the eigenvalues, the
    "average curvature"; larger is sharper.

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
        A fitted network estimator, a wrapper around one, a module, or a view.
    X, y : array-like
        The training sample.
    input_shape : tuple of int, optional
        One sample's shape, for a raw module that does not carry it.
    n_probes : int, default=100
        Rademacher probes (Hessian-vector products).
    max_samples : int or None, default=None
        Use at most this many samples (drawn without replacement from ``random_state``);
        None uses all.
    return_std : bool, default=False
        Also return the Monte-Carlo standard error ``s / sqrt(n_probes)``, ``s`` the
        sample standard deviation of the ``z_k^T H z_k`` (NaN with one probe).
    random_state : int, RandomState instance or None, default=None
        Draws the subsample and the probes.

    Returns
    -------
    float, or (float, float) with ``return_std=True``

    References
    ----------
    M. F. Hutchinson, "A stochastic estimator of the trace of the influence matrix for
    Laplacian smoothing splines", Communications in Statistics - Simulation and
    Computation 19(2), 1990.

    Z. Yao, A. Gholami, K. Keutzer and M. W. Mahoney, "PyHessian: Neural networks through
    the lens of the Hessian", IEEE BigData 2020.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3))
    >>> X = np.random.RandomState(0).randn(40, 2); y = np.arange(40) % 3
    >>> trace, std = hessian_trace(net, X, y, n_probes=50, return_std=True, random_state=0)
    >>> bool(trace > 0 and std < trace)
    True
    """
    check_int(n_probes, "n_probes")
    if max_samples is not None:
        check_int(max_samples, "max_samples")
    check_bool(return_std, "return_std")
    rng = check_random_state(random_state)
    objective = _objective(estimator, X, y, input_shape, "hessian_trace", max_samples, rng)
    gen = _generator(rng)
    values = np.empty(n_probes)
    for k in range(n_probes):
        z = torch.randint(0, 2, (objective.n_params,), generator=gen).to(torch.float64)
        z = 2.0 * z - 1.0
        values[k] = float(torch.dot(z, objective.hvp(z)))
    trace = float(values.mean())
    if not return_std:
        return trace
    std = float(values.std(ddof=1) / math.sqrt(n_probes)) if n_probes > 1 else math.nan
    return trace, std


def gradient_noise(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    batch_size: int = 64,
    n_batches: int | None = None,
    random_state: _RandomState = None,
) -> float:
    """Variance of the mini-batch gradients of the training loss at the final weights.

    .. math:: \\frac{1}{B} \\sum_{b=1}^B \\lVert g_b - g \\rVert_2^2

    where ``g = ∇L(w)`` is the gradient of the mean softmax cross-entropy over all ``n``
    samples and ``g_b`` the mean gradient over mini-batch ``b`` (all parameters, float64).
    This is the trace of the covariance of the mini-batch gradient that SGD with batches
    of ``batch_size`` samples would follow at ``w``, ``E||g_b - E g_b||^2``: the variance
    of the gradients at the end of training that Jiang et al. (2020) list among their
    optimization-based measures ("grad.noise"). We follow the mini-batch form, the noise
    of the gradients SGD actually takes, rather than the variance of the single-sample
    gradients, ``(1/n) sum_i ||∇ℓ_i - g||^2``, which ``batch_size=1`` gives. For batches
    drawn without replacement the expected value is that times ``(n - b) / (b (n - 1))``
    (``b = batch_size``): about that divided by ``b``, and 0 for ``b = n``.

    The batches: ``perm = check_random_state(random_state).permutation(n)`` is cut into
    ``n // batch_size`` consecutive batches of exactly ``batch_size`` samples (the last
    ``n % batch_size`` samples, too few for a batch, are left out of this epoch, as
    SGD's ``drop_last``); ``n_batches=None`` uses those batches (one epoch), and a larger
    ``n_batches`` continues with further epochs (new permutations from the same
    generator) until ``n_batches`` batches were taken; a smaller one takes the first
    ``n_batches``. ``g`` is always the gradient over all ``n`` samples. Larger means
    noisier gradients.

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
        A fitted network estimator, a wrapper around one, a module, or a view.
    X, y : array-like
        The training sample.
    input_shape : tuple of int, optional
        One sample's shape, for a raw module that does not carry it.
    batch_size : int, default=64
        Samples per mini-batch; at most the number of samples.
    n_batches : int or None, default=None
        Mini-batches to average over; None: one epoch, ``n // batch_size``.
    random_state : int, RandomState instance or None, default=None
        Draws the permutations.

    Returns
    -------
    float

    References
    ----------
    Y. Jiang, B. Neyshabur, H. Mobahi, D. Krishnan and S. Bengio, "Fantastic
    generalization measures and where to find them", ICLR 2020, App. C.

    G. K. Dziugaite, A. Drouin, B. Neal, N. Rajkumar, E. Caballero, L. Wang,
    I. Mitliagkas and D. M. Roy, "In search of robust measures of generalization",
    NeurIPS 2020.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3))
    >>> X = np.random.RandomState(0).randn(40, 2); y = np.arange(40) % 3
    >>> bool(gradient_noise(net, X, y, batch_size=8, random_state=0) > 0)
    True
    >>> round(gradient_noise(net, X, y, batch_size=40), 12)  # one batch: the full gradient
    0.0
    """
    check_int(batch_size, "batch_size")
    if n_batches is not None:
        check_int(n_batches, "n_batches")
    rng = check_random_state(random_state)
    objective = _objective(estimator, X, y, input_shape, "gradient_noise", None, rng)
    n = objective.n
    if batch_size > n:
        raise ValueError(
            f"batch_size must be at most the number of samples ({n}), got {batch_size}."
        )
    per_epoch = n // batch_size
    wanted = per_epoch if n_batches is None else n_batches
    full = objective.gradient()
    total, taken = 0.0, 0
    while taken < wanted:
        perm = torch.as_tensor(rng.permutation(n))
        for b in range(min(per_epoch, wanted - taken)):
            batch = perm[b * batch_size : (b + 1) * batch_size]
            total += float(torch.sum((objective.gradient(batch) - full) ** 2))
            taken += 1
    return total / taken
