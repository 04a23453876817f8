"""Heavy-tailed self-regularization: the power-law exponent ``alpha`` of each layer's
empirical spectral density (ESD), and its mean over the layers.

Martin & Mahoney [1]_ [2]_ fit a power law ``rho(lambda) ~ lambda^(-alpha)`` to the tail
of the eigenvalues of each weight matrix's correlation matrix and find that the average
``alpha`` over the layers predicts the quality of trained networks without data: smaller
``alpha`` (a heavier tail, more correlation learned) goes with better test accuracy
(typically ``2 <= alpha <= 6``; ``alpha > 6`` means a poorly trained layer). Jiang et al.
style rankings use the same number. It is what their tool, weightwatcher, reports as the
``alpha`` column of ``WeightWatcher(model).analyze()`` and ``alpha`` of its summary.

What is computed, for each weight layer of the network as it computes (the layers of
:func:`~sklearn_gen.measures.layers_view`, batch norm folded in):

1. The weight matrix ``W`` (``N x M`` after transposing so that ``N >= M``). A Linear layer
   has its weight; a convolution has, with ``conv="reshape"``, its kernel reshaped to
   ``(out_channels, in_channels / groups * prod(kernel))`` and, with ``conv="slices"``, one
   ``(out_channels, in_channels / groups)`` matrix per kernel position (``kh * kw`` of them
   for a Conv2d), as weightwatcher slices a Conv2d kernel (its default, ``pool=True`` and
   ``conv2d_fft=False``).
2. The ESD: the eigenvalues of ``W^T W``, i.e. the squared singular values of ``W``
   (``M`` of them; with ``conv="slices"`` the ``kh * kw * M`` eigenvalues of all the
   slices pooled into one ESD, as weightwatcher pools them). Martin & Mahoney write the
   correlation matrix as ``X = W^T W / N``; weightwatcher has dropped the ``1/N`` since
   0.6.5 (and scales Conv2d slices by ``1/sqrt(2)``, its ``conv2d_norm``). These factors
   multiply every eigenvalue alike and leave ``alpha`` unchanged: the fit below is
   invariant to the scale of the eigenvalues. Eigenvalues ``<= 1e-5`` (zeros of a
   rank-deficient layer) are dropped before the fit, as weightwatcher drops them.
3. A power-law fit of the tail: for each candidate ``xmin`` (every eigenvalue but the
   largest) the maximum-likelihood exponent of the continuous power law on the
   eigenvalues ``>= xmin``, and the ``xmin`` whose fit has the smallest Kolmogorov-Smirnov
   distance to those eigenvalues wins (Clauset, Shalizi & Newman [3]_). ``fit=`` chooses
   the implementation:

   - ``"ww"`` (default): weightwatcher's own fit, which ``analyze()`` uses by default
     (checked on 0.7.7: ``pl_package="ww"``, ``xmax=None``, ``fix_fingers=False``): the
     closed-form MLE ``alpha = 1 + n / sum_i log(lambda_i / xmin)`` and the KS distance
     ``max |1 - (lambda / xmin)^(1 - alpha) - i / n|`` over the tail, reproduced exactly,
     with its small-ESD variant (fewer than 20 eigenvalues: the bias-corrected MLE
     ``1 + (n - 1) / sum log``, only tails of at least 8 eigenvalues). The same estimator
     as ``powerlaw.Fit(evals, parameter_ranges={"alpha": [1, None]})`` (no ``xmax``) on
     20 eigenvalues or more. Fast: milliseconds for thousands of eigenvalues.
   - ``"powerlaw"``: the maintained ``powerlaw`` package (Alstott et al. [4]_),
     ``powerlaw.Fit(evals, xmax=max(evals))``, ``alpha = fit.alpha``, ``xmin`` by the
     package's KS minimisation: the call of the earlier weightwatcher versions that
     Martin & Mahoney's papers used (before ``xmax`` stopped defaulting to the largest
     eigenvalue), and the one ``analyze(pl_package="powerlaw", xmax="force")`` still
     makes (in 0.7.7 it passes ``powerlaw.Fit`` a ``distribution=`` argument that
     ``powerlaw`` 2.0 refuses, so that path reports ``alpha = -1`` there). One
     deliberate difference: ``powerlaw`` 2.0 bounds the exponent to ``(0, 3)`` by default
     (``Power_Law.DEFAULT_PARAMETER_RANGES``), so that no fit can report ``alpha > 3``
     (an ``alpha = 4`` Pareto sample fits as 2.9); this measure passes
     ``parameter_ranges={"alpha": [1, None]}``, the range ``alpha > 1`` that ``powerlaw``
     1.x used (and weightwatcher relied on). With ``xmax`` set, ``powerlaw`` 2.0 uses the
     closed-form (untruncated) MLE when it falls in ``(1.5, 3]`` and a numerical
     maximum-likelihood fit of the power law truncated at ``xmax`` otherwise, slow
     (about a second for 500 eigenvalues with ``alpha > 3``); either way the KS distance
     that chooses ``xmin`` is to the truncated law. On large ESDs with a clean tail the
     two fits agree (Pareto samples: both within 0.1 of the exponent); on small ESDs
     they can choose different tails and differ a lot (a 200 x 100 Student-t layer:
     ``"ww"`` 5.20, ``"powerlaw"`` 2.10).

Layers skipped (left out of :func:`layer_alphas`, not averaged by :func:`mean_alpha`):
diagonal layers (batch norms that could not be folded: no matrix), and layers with fewer
than ``min_eigenvalues`` nonzero eigenvalues (by default 10, the output layer of a
binary classifier for example); weightwatcher skips layers with fewer than 8 eigenvalues
(``min_evals``) counted before dropping zeros, and also layers with more than 15,000
eigenvalues or ``N > 50,000``, which this measure keeps.

Other differences from ``weightwatcher.WeightWatcher(model=module).analyze()``:

- weightwatcher reads the raw module's weights, batch-norm layers apart; this measure
  reads the network as it computes, each batch norm folded into the layer before it;
- weightwatcher slices only Conv2d kernels (not Conv1d or Conv3d ones) and guesses
  which axes hold the channels from the tensor's shape (``out + in >= kh + kw``);
  ``conv="slices"`` slices every convolution (1-, 2- or 3-D, grouped) at each kernel
  position, channels being PyTorch's first two axes;
- singular values in float64 from ``torch.linalg.svdvals`` (weightwatcher: SciPy on
  float64 copies): eigenvalues agree to about ``1e-12`` relative, and ``alpha`` to the
  same precision, except where two candidate ``xmin`` have KS distances within that of
  each other.

References
----------
.. [1] C. H. Martin and M. W. Mahoney, "Implicit self-regularization in deep neural
   networks: evidence from random matrix theory and implications for learning", JMLR 22
   (2021) 1-73 (arXiv:1810.01075).
.. [2] C. H. Martin, T. S. Peng and M. W. Mahoney, "Predicting trends in the quality of
   state-of-the-art neural networks without access to training or testing data", Nature
   Communications 12, 4122 (2021) (arXiv:2002.06716).
.. [3] A. Clauset, C. R. Shalizi and M. E. J. Newman, "Power-law distributions in
   empirical data", SIAM Review 51 (2009) 661-703.
.. [4] J. Alstott, E. Bullmore and D. Plenz, "powerlaw: a Python package for analysis of
   heavy-tailed distributions", PLoS ONE 9 (2014) e85777.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Any

import numpy as np
import torch

from sklearn_gen._validation import check_choice, check_int
from sklearn_gen.measures._layers import Layer, resolve_view
from sklearn_gen.measures._margin_utils import UndefinedMeasureError

__all__ = ["layer_alphas", "layer_eigenvalues", "mean_alpha"]

#: Values of ``conv=``.
CONV_MODES = ("reshape", "slices")
#: Values of ``fit=``.
FITS = ("ww", "powerlaw")
#: Eigenvalues at or below this are zeros (weightwatcher's ``EVALS_THRESH``).
ZERO_EIGENVALUE = 1e-5
#: Below this many eigenvalues weightwatcher's fit switches to its small-sample variant.
_SMALL_N = 20
#: The small-sample variant's shortest tail (weightwatcher 0.7).
_SMALL_N_MIN_TAIL = 8


# ------------------------------------------------------------------------------ the ESD
def _eigenvalues(layer: Layer, conv: str) -> np.ndarray:
    """All eigenvalues of ``W^T W`` of one weight layer (see the module docstring), sorted."""
    weight = layer.weight.detach().to("cpu", torch.float64)
    if layer.kind == "conv" and conv == "slices":
        # one (out, in / groups) matrix per kernel position
        mats = weight.reshape(weight.shape[0], weight.shape[1], -1).permute(2, 0, 1)
    else:
        mats = weight.reshape(1, weight.shape[0], -1)
    singular = torch.linalg.svdvals(mats)
    return np.sort((singular * singular).reshape(-1).numpy())


def layer_eigenvalues(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    conv: str = "reshape",
) -> list[np.ndarray]:
    """The ESD of each weight layer: the eigenvalues of ``W^T W``, in forward order.

    A helper for :func:`layer_alphas` (what it fits, before zeros are dropped): one sorted
    float64 array per layer that is not diagonal, the squared singular values of the
    layer's matrix (see the module docstring; divide by ``N``, the larger side of ``W``,
    for Martin & Mahoney's ``X = W^T W / N``).

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
        A fitted network estimator, a wrapper around one, a module or a view.
    X, y : ignored
        Accepted for the common signature (a flat raw module reads its shape from ``X``).
    input_shape : tuple of int, optional
        One sample's shape, for a raw module that does not carry it.
    conv : {"reshape", "slices"}, default="reshape"
        A convolution as one reshaped matrix, or as one matrix per kernel position with
        their eigenvalues pooled.

    Returns
    -------
    list of ndarray
        One array per non-diagonal weight layer.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3, bias=False))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 2.0], [0.0, 0.0]]))
    >>> layer_eigenvalues(net, input_shape=(2,))[0]
    array([4., 9.])
    """
    conv = check_choice(conv, "conv", CONV_MODES)
    view = resolve_view(estimator, X, input_shape)
    return [_eigenvalues(layer, conv) for layer in view.layers if layer.kind != "diagonal"]


# ------------------------------------------------------------------------------ the fits
def _ks_distance(tail: np.ndarray, alpha: float) -> float:
    """weightwatcher's KS distance of a tail (sorted, ``tail[0] = xmin``) to its power law."""
    n = len(tail)
    model = 1.0 - (tail / tail[0]) ** (1.0 - alpha)
    return float(np.max(np.abs(model - np.arange(n) / n)))


def _fit_ww(evals: np.ndarray) -> float:
    """weightwatcher 0.7's ``WWFit`` (``pl_package="ww"``, ``xmax=None``): the exponent.

    Every eigenvalue but the largest is a candidate ``xmin``; the exponent of the winning
    candidate (smallest KS distance, the first on ties) is returned. Below 20 eigenvalues
    the exponent is bias-corrected and only tails of at least 8 eigenvalues compete, as in
    ``WWFit.fit_powerlaw_smallN``; that method also ranks the candidates by
    ``D - 0.868 / sqrt(n)``, but ``WWFit.__init__`` then selects by ``D`` alone, which is
    the selection that takes effect and the one reproduced here.
    """
    data = np.sort(np.asarray(evals, dtype=np.float64))
    n_all = len(data)
    log_data = np.log(data)
    candidates = n_all - 1
    alphas = np.zeros(candidates)
    distances = np.ones(candidates)
    small = n_all < _SMALL_N
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i in range(candidates):
            n = n_all - i
            spread = np.sum(log_data[i:]) - n * log_data[i]
            if small:
                if n < _SMALL_N_MIN_TAIL or spread <= 1e-12:
                    continue
                alphas[i] = 1.0 + (n - 1.0) / spread
            else:
                alphas[i] = 1.0 + n / spread
            if alphas[i] > 1.0:
                distances[i] = _ks_distance(data[i:], alphas[i])
        if small and not np.any(alphas):
            # no tail could be fitted: weightwatcher fits the whole ESD
            spread = np.sum(log_data) - n_all * log_data[0]
            return 1.0 + (n_all - 1.0) / spread if spread > 1e-12 else float("nan")
    return float(alphas[int(np.argmin(distances))])


def _fit_powerlaw(evals: np.ndarray) -> float:
    """``powerlaw.Fit(evals, xmax=max(evals))``'s exponent, its range opened to (1, inf)."""
    try:
        import powerlaw
    except ImportError:  # pragma: no cover - powerlaw is a dependency
        raise ImportError(
            "fit='powerlaw' needs the powerlaw package: pip install powerlaw "
            "(or use fit='ww', which needs nothing)."
        ) from None
    data = np.asarray(evals, dtype=np.float64)
    sink = io.StringIO()
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        warnings.simplefilter("ignore")
        fit = powerlaw.Fit(
            data,
            xmax=float(data.max()),
            verbose=False,
            parameter_ranges={"alpha": [1.0, None]},
        )
    return float(fit.alpha)


_FIT_FUNCTIONS = {"ww": _fit_ww, "powerlaw": _fit_powerlaw}


def _layer_alpha(layer: Layer, evals: np.ndarray, fit: str) -> float:
    alpha = _FIT_FUNCTIONS[fit](evals)
    if not (np.isfinite(alpha) and alpha > 1.0):
        distinct = len(np.unique(evals))
        raise UndefinedMeasureError(
            f"the power-law fit of layer {layer.name!r} failed (alpha={alpha}): its "
            f"{len(evals)} nonzero eigenvalues have {distinct} distinct value(s), no "
            "tail to fit (e.g. an orthogonal or rank-one weight)."
        )
    return float(alpha)


def _alphas(view: Any, conv: str, fit: str, min_eigenvalues: int) -> np.ndarray:
    values = []
    for layer in view.layers:
        if layer.kind == "diagonal":
            continue
        evals = _eigenvalues(layer, conv)
        evals = evals[evals > ZERO_EIGENVALUE]
        if len(evals) < min_eigenvalues:
            continue
        values.append(_layer_alpha(layer, evals, fit))
    return np.array(values, dtype=np.float64)


# ------------------------------------------------------------------------------ measures
def layer_alphas(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    min_eigenvalues: int = 10,
    conv: str = "reshape",
    fit: str = "ww",
) -> np.ndarray:
    """Power-law exponent ``alpha`` of each weight layer's ESD (weightwatcher's ``alpha``).

    For each weight layer in forward order (diagonal layers and layers with fewer than
    ``min_eigenvalues`` nonzero eigenvalues skipped), the eigenvalues of ``W^T W`` and the
    exponent of the power law fitted to their tail, ``xmin`` by KS minimisation (see the
    module docstring). Smaller ``alpha``: heavier tail.

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
        A fitted network estimator, a wrapper around one, a module or a view.
    X, y : ignored
        Accepted for the common signature (a flat raw module reads its shape from ``X``).
    input_shape : tuple of int, optional
        One sample's shape, for a raw module that does not carry it.
    min_eigenvalues : int, default=10
        Layers with fewer nonzero eigenvalues (``min(out, fan_in)`` for a full-rank Linear
        layer) are skipped: too few to fit a tail.
    conv : {"reshape", "slices"}, default="reshape"
        A convolution's ESD: of its kernel reshaped to ``(out, in * kh * kw)``, or of its
        ``kh * kw`` slices ``(out, in)`` pooled (weightwatcher's way).
    fit : {"ww", "powerlaw"}, default="ww"
        weightwatcher 0.7's closed-form fit, or the ``powerlaw`` package's
        ``Fit(evals, xmax=max(evals))`` (slower; see the module docstring).

    Returns
    -------
    ndarray of shape (n_fitted_layers,)
        The float64 exponents of the layers that were fitted (empty when none was).

    Raises
    ------
    UndefinedMeasureError
        When a layer's eigenvalues have no tail to fit (all equal, e.g. an orthogonal
        weight).

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(50, 40), torch.nn.ReLU(),
    ...                           torch.nn.Linear(40, 3))
    >>> layer_alphas(net, input_shape=(50,)).shape  # the 3-output layer is skipped
    (1,)
    """
    min_eigenvalues = check_int(min_eigenvalues, "min_eigenvalues", 2)
    conv = check_choice(conv, "conv", CONV_MODES)
    fit = check_choice(fit, "fit", FITS)
    view = resolve_view(estimator, X, input_shape)
    view.require_owned("layer_alphas")
    key = ("layer_alphas", conv, fit, min_eigenvalues)
    if key not in view.memo:  # shared by the scorers of one scoring call
        view.memo[key] = _alphas(view, conv, fit, min_eigenvalues)
    return view.memo[key].copy()


def mean_alpha(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    min_eigenvalues: int = 10,
    conv: str = "reshape",
    fit: str = "ww",
) -> float:
    """Average of the layers' power-law exponents (Martin, Peng & Mahoney 2021's ``alpha``).

    The unweighted mean of :func:`layer_alphas` over the fitted layers, the ``alpha`` of
    weightwatcher's summary. Smaller is better (heavier-tailed ESDs go with better test
    accuracy), so its scorer is ``neg_mean_alpha``.

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
    X, y : ignored
    input_shape : tuple of int, optional
    min_eigenvalues : int, default=10
    conv : {"reshape", "slices"}, default="reshape"
    fit : {"ww", "powerlaw"}, default="ww"
        See :func:`layer_alphas`.

    Returns
    -------
    float

    Raises
    ------
    UndefinedMeasureError
        When no layer has ``min_eigenvalues`` nonzero eigenvalues, or a layer's fit fails.

    Examples
    --------
    Linear layers whose squared singular values are an exact Pareto sample with
    ``alpha = 2.5`` (density ``~ lambda^-2.5``):

    >>> import numpy as np, torch
    >>> quantiles = (np.arange(400) + 0.5) / 400
    >>> evals = (1 - quantiles) ** (-1 / 1.5)
    >>> net = torch.nn.Sequential(torch.nn.Linear(400, 400, bias=False))
    >>> with torch.no_grad():
    ...     _ = net[0].weight.copy_(torch.diag(torch.as_tensor(np.sqrt(evals))))
    >>> round(mean_alpha(net, input_shape=(400,)), 1)
    2.5
    """
    alphas = layer_alphas(
        estimator,
        X,
        y,
        input_shape=input_shape,
        min_eigenvalues=min_eigenvalues,
        conv=conv,
        fit=fit,
    )
    if len(alphas) == 0:
        raise UndefinedMeasureError(
            f"mean_alpha has no layer to average: no weight layer has at least "
            f"min_eigenvalues={min_eigenvalues} nonzero eigenvalues."
        )
    return float(np.mean(alphas))
