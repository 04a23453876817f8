"""Spectral norm of a weight layer: of the operator it applies, or of its reshaped kernel.

For a Linear layer both are the largest singular value of the weight matrix. For a Conv2d
layer they differ: the layer is a linear operator from its input images to its output
images, and its norm depends on the input size, stride and padding. Method ``"exact"``
finds that operator norm from ``conv2d`` and its adjoint ``conv_transpose2d`` at the layer's
real input shape (Lanczos iteration on ``A^T A``, which needs far fewer operator
applications than plain power iteration); method ``"reshape"`` is the largest
singular value of the kernel reshaped to ``(out_channels, in_channels * kh * kw)``, the
number several public codebases report as "the spectral norm" of a conv layer.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator, eigsh
from threadpoolctl import threadpool_limits

from sklearn_gen.measures._layers import Layer

__all__ = ["spectral_norm"]


def spectral_norm(
    layer: Layer,
    method: str = "exact",
    weight: torch.Tensor | None = None,
    *,
    max_iter: int = 1000,
    tol: float = 1e-7,
    seed: int = 0,
) -> float:
    """Largest singular value of a layer (see the module docstring for the two methods).

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
    >>> exact, reshaped = spectral_norm(layer), spectral_norm(layer, "reshape")
    >>> exact >= 0.0 and reshaped >= 0.0
    True
    """
    if method not in ("exact", "reshape"):
        raise ValueError(f"method must be 'exact' or 'reshape', got {method!r}.")
    weight = layer.weight if weight is None else weight
    if layer.kind == "linear" or method == "reshape":
        matrix = weight.reshape(weight.shape[0], -1).double()
        return float(torch.linalg.matrix_norm(matrix, ord=2))
    # the operator is applied in float32 (float64 convolutions are several times slower on
    # CPUs); Lanczos keeps its vectors in float64, so the result is good to about 1e-6
    weight = weight.float()
    shape = (1, *layer.input_shape)
    n = int(np.prod(shape))

    def gram(v: np.ndarray) -> np.ndarray:  # v -> A^T A v
        x = torch.from_numpy(np.asarray(v, dtype=np.float32)).reshape(shape)
        out = layer.apply_adjoint(layer.apply(x, weight), weight)
        return out.reshape(-1).double().numpy()

    v0 = np.random.default_rng(seed).standard_normal(n)
    operator = LinearOperator((n, n), matvec=gram, dtype=np.float64)
    # Lanczos (ARPACK) on A^T A: far fewer operator applications than power iteration
    # scipy's BLAS threads would spin against torch's on a few cores: keep them to one
    with threadpool_limits(limits=1, user_api="blas"):
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
