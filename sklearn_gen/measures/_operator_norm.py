"""Spectral norm of a weight layer: of the operator it applies, or of its reshaped kernel.

For a Linear layer both are the largest singular value of the weight matrix. For a Conv2d
layer they differ: the layer is a linear operator from its input images to its output
images, and its norm depends on the input size, stride and padding. Method ``"exact"``
finds that operator norm from ``conv2d`` and its adjoint ``conv_transpose2d`` at the layer's
real input shape (Lanczos iteration on ``A^T A``, which needs far fewer operator
applications than plain power iteration); method ``"reshape"`` is the largest
singular value of the kernel reshaped to ``(out_channels, in_channels * kh * kw)``, the
number several public codebases report as "the spectral norm" of a conv layer.

The other operator quantities the bounds need, the norms of the operator's rows (each
output unit's incoming weights, clipped at the borders by padding and stride), come without
the dense matrix: :func:`operator_row_norms` convolves the squared kernel over an all-ones
image.

The same holds for Conv1d and Conv3d layers and for grouped and depthwise convolutions
(the operator applies the layer's own ``groups``). A batch norm that could not be folded
is a diagonal layer (:class:`~sklearn_gen.measures.ChannelAffine`): its operator norm is
``max_c |gamma_c / sqrt(var_c + eps)|`` by either method, and its rows are the units of
the feature map, each with one entry.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator, eigsh

from sklearn_gen.measures._cache import single_threaded
from sklearn_gen.measures._layers import Layer, resolve_view

__all__ = ["layer_spectral_norm", "operator_row_norms", "spectral_norm"]

_METHODS = ("exact", "reshape")
#: Conv operators with at most this many inputs are applied in float64.
_FLOAT64_INPUTS = 1024


def check_method(method: Any) -> str:
    """``method`` if it is ``"exact"`` or ``"reshape"``, else a ValueError naming both."""
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be 'exact' or 'reshape', got {method!r}.")
    return method


def spectral_norm(
    estimator: Any,
    X: Any = None,
    y: Any = None,
    *,
    input_shape: tuple[int, ...] | None = None,
    method: str = "exact",
) -> np.ndarray:
    """Largest singular value of each weight layer, in forward order.

    For a Linear layer the largest singular value of its weight; for a Conv2d layer, with
    ``method="exact"``, the norm of the convolution as a linear operator on images of the
    layer's input shape (stride, padding and dilation included), found by Lanczos
    iteration on ``A^T A``; with ``method="reshape"``, the largest singular value of the
    kernel reshaped to ``(out_channels, in_channels * kh * kw)``. Batch norm is folded
    into the layer before it first.

    Parameters
    ----------
    estimator : estimator, torch.nn.Module or LayersView
        A fitted network estimator, a wrapper around one, a module (with
        ``input_shape``) or a :class:`~sklearn_gen.measures.LayersView`.
    X, y : ignored
        Accepted so that every measure has the same signature (a raw module without
        ``input_shape`` reads its flat shape from ``X``).
    input_shape : tuple of int, optional
        One sample's shape, for a raw module that does not carry it.
    method : {"exact", "reshape"}, default="exact"
        The operator norm at the layer's input shape, or the reshaped kernel's norm.

    Returns
    -------
    ndarray of shape (n_weight_layers,)

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1))
    >>> exact = spectral_norm(net, input_shape=(1, 6, 6))
    >>> reshaped = spectral_norm(net, input_shape=(1, 6, 6), method="reshape")
    >>> exact.shape, bool(exact[0] > 0 and reshaped[0] > 0)
    ((1,), True)
    """
    method = check_method(method)
    view = resolve_view(estimator, X, input_shape)
    return np.array([layer_spectral_norm(layer, method) for layer in view.layers])


def operator_row_norms(layer: Layer, weight: torch.Tensor | None = None) -> torch.Tensor:
    """L2 norm of each row of the layer's operator matrix (one row per output unit).

    For a Linear layer, the rows of the weight. For a Conv2d layer, the operator maps an
    input image of ``layer.input_shape`` to an output image; the row of output unit
    ``(c, i, j)`` holds the kernel entries ``W[c, :, u, v]`` whose input pixel lies inside
    the image (padding and stride clip the kernel at the borders), so its squared norm is
    the convolution of the squared kernel over an all-ones image. float64, flattened in
    the order of the output (``C * H * W`` rows).

    Examples
    --------
    >>> import torch
    >>> from sklearn_gen.measures import layers_view
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3, padding=1, bias=False))
    >>> _ = torch.nn.init.ones_(net[0].weight)
    >>> rows = operator_row_norms(layers_view(net, input_shape=(1, 3, 3)).layers[0]) ** 2
    >>> rows.reshape(3, 3).tolist()  # a corner sees 4 pixels, an edge 6, the centre 9
    [[4.0, 6.0, 4.0], [6.0, 9.0, 6.0], [4.0, 6.0, 4.0]]
    """
    weight = (layer.weight if weight is None else weight).double()
    if layer.kind == "linear":  # one row per output feature, repeated over leading dims
        return torch.linalg.vector_norm(weight, dim=1).repeat(layer.positions)
    if layer.kind == "diagonal":  # one row per unit of the feature map: |w_c|
        return weight.abs().repeat_interleave(layer.positions)
    ones = torch.ones(1, *layer.input_shape, dtype=torch.float64)
    squares = layer.apply(ones, weight * weight)
    return squares.reshape(-1).clamp_min(0.0).sqrt()


def layer_spectral_norm(
    layer: Layer,
    method: str = "exact",
    weight: torch.Tensor | None = None,
    *,
    max_iter: int = 1000,
    tol: float = 1e-7,
    seed: int = 0,
) -> float:
    """Largest singular value of one layer (see the module docstring for the two methods).

    Memoized by the weight's bytes and the layer's geometry, so the measures that need the
    same spectral norms (the two bounds, the spectral product norm) compute them once.

    Parameters
    ----------
    layer : Layer
        A layer of a :class:`~sklearn_gen.measures.LayersView`.
    method : {"exact", "reshape"}, default="exact"
        The operator norm at the layer's input shape, or the reshaped kernel's norm.
    weight : torch.Tensor, optional
        Use this weight instead of the layer's own (e.g. ``W - W0`` for distances).
    max_iter : int, default=1000
        Lanczos restarts at most (conv layers, method "exact").
    tol : float, default=1e-7
        Relative accuracy of the largest eigenvalue of ``A^T A``.
    seed : int, default=0
        Seeds the start vector (the result is deterministic).

    Returns
    -------
    float

    Examples
    --------
    >>> import torch
    >>> from sklearn_gen.measures import layers_view
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1))
    >>> layer = layers_view(net, input_shape=(1, 6, 6)).layers[0]
    >>> exact, reshaped = layer_spectral_norm(layer), layer_spectral_norm(layer, "reshape")
    >>> exact >= 0.0 and reshaped >= 0.0
    True
    """
    method = check_method(method)
    weight = layer.weight if weight is None else weight
    if layer.kind == "diagonal":  # a diagonal map: its largest |entry|, by either method
        return float(weight.double().abs().max())
    if layer.kind == "linear" or method == "reshape":
        matrix = weight.reshape(weight.shape[0], -1).double()
        return float(torch.linalg.matrix_norm(matrix, ord=2))
    m = layer.module
    geometry = (m.stride, m.padding, m.dilation, m.groups, layer.input_shape)
    if not layer.is_own(weight):
        return _lanczos(layer, weight, max_iter, tol, seed)
    # the layer's own weight: computed once for the measures that share the view
    key = ("sigma", layer.name, geometry, max_iter, tol, seed)
    if key not in layer.memo:
        layer.memo[key] = _lanczos(layer, weight, max_iter, tol, seed)
    return layer.memo[key]


def _lanczos(layer: Layer, weight: torch.Tensor, max_iter: int, tol: float, seed: int) -> float:
    shape = (1, *layer.input_shape)
    n = int(np.prod(shape))
    # a large operator is applied in float32 (float64 convolutions are several times
    # slower on CPUs; Lanczos keeps its vectors in float64, so the result is good to about
    # 1e-6), a small one in float64
    dtype = torch.float64 if n <= _FLOAT64_INPUTS else torch.float32
    weight = weight.to(dtype)

    def gram(v: np.ndarray) -> np.ndarray:  # v -> A^T A v
        x = torch.from_numpy(np.asarray(v)).to(dtype).reshape(shape)
        out = layer.apply_adjoint(layer.apply(x, weight), weight)
        return out.reshape(-1).double().numpy()

    v0 = np.random.default_rng(seed).standard_normal(n)
    operator = LinearOperator((n, n), matvec=gram, dtype=np.float64)
    # Lanczos (ARPACK) on A^T A: far fewer operator applications than power iteration.
    # Each application is a convolution of one image: on one thread (torch's and BLAS's),
    # since a team of threads gains nothing on it and, on a busy machine, waits for its
    # descheduled members (40 times slower on the loaded 2-core machine of the benchmark)
    with single_threaded():
        top = eigsh(
            operator,
            k=1,
            which="LA",
            v0=v0,
            tol=tol,
            maxiter=max_iter,
            return_eigenvectors=False,
        )
    return float(np.sqrt(max(top[0], 0.0)))
