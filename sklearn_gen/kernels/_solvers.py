"""Solvers for the interpolation system ``K alpha = Y`` (one module for every estimator).

* :func:`solve_cholesky` — a blocked, right-looking Cholesky ``K = U^T U`` that reads ``K``
  from the lower triangle of one ``(n, n)`` buffer and writes ``U`` into its upper
  triangle in place, so ``K`` survives (strict lower triangle + a saved diagonal) without a
  second ``n x n`` array. The triangular solves run in the buffer's dtype; the result is
  then improved by mixed-precision iterative refinement (:func:`refine`: residual
  ``Y - K alpha`` accumulated in float64, correction solved with the float32 factor) until
  the relative residual is at most ``tol``. A tiny pivot (:func:`pivot_tolerance`) means
  ``K`` is singular to working precision and the caller falls back to :func:`solve_eigh`.
  :mod:`sklearn_gen.kernels._out_of_core` runs the same factorization with the factor on
  disk when the Gram matrix does not fit in memory.
* :func:`solve_eigh` — the minimum-norm (pseudo-inverse) solution from a symmetric
  eigendecomposition, eigenvalues below ``n * eps * lambda_max`` dropped.
* :func:`solve_pcg` — matrix-free conjugate gradients (one CG per target column, all
  columns sharing each product with ``K``) preconditioned with a randomized Nyström
  approximation of ``K`` built on ``n_components`` landmark columns (Frangella, Tropp &
  Udell 2023, "Randomized Nyström preconditioning"). Started from zero on a PSD ``K``,
  its iterates stay in the range of ``K`` (the preconditioner's eigenvectors are built
  from columns of ``K``), so it also converges to the minimum-norm solution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from sklearn_gen.kernels._gram import (
    GramOperator,
    lower_panels,
    row_blocks,
    symmetric_matmul,
    symmetrize_lower,
)
from sklearn_gen.kernels._lapack import potrf_available, potrf_upper, trsm_upper_panel
from sklearn_gen.kernels._progress import progress_bar


@dataclass
class Solution:
    """What a solver returns.

    Attributes
    ----------
    coef : torch.Tensor
        ``alpha``, float64, shape ``(n, c)``.
    k_coef : torch.Tensor
        ``K @ alpha``, float64 (gives the residual and the RKHS norm for free).
    solver : str
        The solver that produced ``coef``.
    n_iter : int
        Triangular solves (1 + refinement steps, cholesky), CG iterations (cg) or 1
        (eigh).
    rank : int
        Numerical rank of ``K`` if known (eigh), else ``n``.
    converged : bool
        Whether the relative residual reached ``tol``.
    """

    coef: torch.Tensor
    k_coef: torch.Tensor
    solver: str
    n_iter: int
    rank: int
    converged: bool


def relative_residual(y: torch.Tensor, k_coef: torch.Tensor) -> float:
    """``||K alpha - Y||_F / ||Y||_F`` (0 when ``Y == 0``)."""
    denom = float(torch.linalg.norm(y))
    return float(torch.linalg.norm(k_coef - y)) / denom if denom > 0 else 0.0


def pivot_tolerance(diagonal: torch.Tensor, refined: bool) -> float:
    """Smallest accepted squared Cholesky pivot: ``c * eps * max diag K``.

    ``c = n`` (the worst-case rounding bound) where the factor is the last word (float64),
    ``c = sqrt(n)`` (the typical rounding of a Schur complement) where iterative refinement
    in float64 then decides: augmented MNIST at n = 30,000 (rbf, gamma 0.02) has a smallest
    float32 pivot^2 of 2.8e-3, under ``n eps`` = 3.6e-3, yet refinement reaches a relative
    residual of 1e-13 in three steps.
    """
    n = diagonal.numel()
    scale = n**0.5 if refined else n
    return scale * torch.finfo(diagonal.dtype).eps * float(diagonal.abs().max())


_FACTOR_BLOCK = 2048
"""Width of the diagonal blocks of :func:`factor_upper_in_place` (within about 10% of one
whole-matrix LAPACK ``potrf`` on a 2-core CPU at n = 10,000)."""


def factor_upper_in_place(
    buffer: torch.Tensor, block_size: int, min_pivot: float, progress: str | bool = False
) -> bool:
    """Cholesky ``K = U^T U`` written into the upper triangle of ``buffer``, in place.

    On entry the upper triangle of ``buffer`` (diagonal included) holds ``K`` (see
    :func:`~sklearn_gen.kernels._gram.symmetrize_lower`). On exit it holds ``U``; the strict
    lower triangle is never touched, so it still holds ``K``. Blocked right-looking: for
    each diagonal block, factor it, solve its block row, and subtract that row's outer
    product from the upper triangle of the trailing matrix in row panels of
    ``block_size`` (one matrix product each, straight into the buffer). The block and
    panel steps are LAPACK ``potrf``/``trsm`` in place on the CPU when torch ships them,
    torch operations elsewhere (e.g. CUDA; one block-row temporary). Returns False if a
    squared pivot is not above ``min_pivot`` (``K`` numerically singular).
    """
    n = buffer.shape[0]
    flops = [(n - k0) ** 2 * (k1 - k0) / 1e9 for k0, k1 in row_blocks(n, _FACTOR_BLOCK)]
    with progress_bar(progress, sum(flops), f"Cholesky n={n}") as bar:
        for (k0, k1), work in zip(row_blocks(n, _FACTOR_BLOCK), flops, strict=True):
            if not _factor_block_row(buffer, k0, k1):
                return False
            if float(buffer.diagonal()[k0:k1].min()) ** 2 <= min_pivot:
                return False
            top = buffer[k0:k1, k1:]
            for i0, i1 in row_blocks(n - k1, block_size):
                part = top[:, i0:i1]
                if k1 + i1 < n:
                    buffer[k1 + i0 : k1 + i1, k1 + i1 :].addmm_(part.T, top[:, i1:], alpha=-1.0)
                buffer[k1 + i0 : k1 + i1, k1 + i0 : k1 + i1].sub_((part.T @ part).triu_())
            bar.update(work)
    return True


def _factor_block_row(buffer: torch.Tensor, k0: int, k1: int) -> bool:
    """``U[k0:k1, k0:]`` from the Schur complement's block row, in place; False if not PD."""
    if buffer.device.type == "cpu" and potrf_available(buffer.dtype):
        return potrf_upper(buffer, k0, k1) == 0 and trsm_upper_panel(buffer, k0, k1)
    tile = buffer[k0:k1, k0:k1]
    upper, info = torch.linalg.cholesky_ex(tile, upper=True)
    if int(info) != 0:
        return False
    upper_mask = torch.ones_like(tile, dtype=torch.bool).triu_()
    tile.copy_(torch.where(upper_mask, upper, tile))
    if k1 < buffer.shape[0]:
        top = buffer[k0:k1, k1:]
        top.copy_(torch.linalg.solve_triangular(upper.mT, top, upper=False))
    return True


def _solve_with_upper(buffer: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """``(U^T U)^{-1} rhs`` with ``U`` in the upper triangle of ``buffer``."""
    z = torch.linalg.solve_triangular(buffer.mT, rhs.to(buffer.dtype), upper=False)
    return torch.linalg.solve_triangular(buffer, z, upper=True).to(rhs.dtype)


def solve_cholesky(
    buffer: torch.Tensor,
    y: torch.Tensor,
    *,
    block_size: int,
    tol: float,
    max_refine: int,
    progress: str | bool = False,
) -> Solution | None:
    """Factor ``K`` (lower triangle of ``buffer``) in place and solve with refinement.

    The upper triangle is overwritten (first with ``K``, then with its factor); no other
    ``n x n`` array is made. Returns None when ``K`` is singular to working precision
    (:func:`pivot_tolerance`; refined float32 factors get the looser bound). Either way, on
    return the strict lower triangle and the diagonal of ``buffer`` hold ``K`` again (see
    :func:`~sklearn_gen.kernels._gram.symmetrize_lower` to rebuild all of it).
    """
    diagonal = buffer.diagonal().clone()
    refined = buffer.dtype != torch.float64
    symmetrize_lower(buffer, block_size)
    if not factor_upper_in_place(buffer, block_size, pivot_tolerance(diagonal, refined), progress):
        buffer.diagonal().copy_(diagonal)
        return None

    def k_matmul(v: torch.Tensor) -> torch.Tensor:
        return symmetric_matmul(lower_panels(buffer, diagonal, block_size, v.dtype), v)

    sol = refine(lambda rhs: _solve_with_upper(buffer, rhs), k_matmul, y, tol, max_refine, progress)
    buffer.diagonal().copy_(diagonal)  # the factor is no longer needed; keep K's diagonal
    sol.rank = buffer.shape[0]
    return sol


def refine(
    solve: Callable[[torch.Tensor], torch.Tensor],
    k_matmul: Callable[[torch.Tensor], torch.Tensor],
    y: torch.Tensor,
    tol: float,
    max_refine: int,
    progress: str | bool = False,
) -> Solution:
    """``alpha = solve(Y)``, then mixed-precision iterative refinement.

    Each step adds ``solve(Y - K alpha)`` with the residual accumulated in float64 by
    ``k_matmul``, until the relative residual is at most ``tol``, stops falling, or
    ``max_refine`` steps were taken; the best iterate is kept.
    """
    with progress_bar(progress, max_refine + 1, "solve + refinement", unit="step") as bar:
        coef = solve(y)
        k_coef = k_matmul(coef)
        residual = relative_residual(y, k_coef)
        bar.update(1)
        n_iter = 0
        while residual > tol and n_iter < max_refine:
            candidate = coef + solve(y - k_coef)
            k_candidate = k_matmul(candidate)
            new_residual = relative_residual(y, k_candidate)
            n_iter += 1
            bar.update(1)
            if new_residual >= residual:  # stagnation: keep the better iterate
                break
            coef, k_coef, residual = candidate, k_candidate, new_residual
    return Solution(coef, k_coef, "cholesky", n_iter + 1, y.shape[0], residual <= tol)


def solve_eigh(gram: torch.Tensor, y: torch.Tensor, *, block_size: int) -> Solution:
    """Minimum-norm solution ``K^+ Y`` from the eigendecomposition of the full ``K``.

    Eigenvalues at most ``n * eps * max|lambda|`` (``eps`` of ``gram``'s dtype) are
    treated as zero, as :func:`scipy.linalg.pinvh` does.
    """
    n = gram.shape[0]
    eigvals, eigvecs = torch.linalg.eigh(gram)
    cutoff = n * torch.finfo(gram.dtype).eps * float(eigvals.abs().max())
    keep = eigvals > cutoff
    q = eigvecs[:, keep].to(y.dtype)
    coef = q @ ((q.T @ y) / eigvals[keep].to(y.dtype)[:, None])
    del q, eigvecs
    k_coef = symmetric_matmul(lower_panels(gram, gram.diagonal(), block_size, coef.dtype), coef)
    return Solution(coef, k_coef, "eigh", 1, int(keep.sum()), True)


class NystromPreconditioner:
    """``P^{-1} = I + U (lambda_l / Lambda - 1) U^T`` from a rank-``m`` Nyström sketch.

    ``U, Lambda`` are the eigenpairs of ``K[:, S] K[S, S]^+ K[S, :]`` for ``m`` random
    landmark columns ``S``; ``lambda_l`` is the smallest one kept.
    """

    def __init__(self, operator: GramOperator, n_components: int, generator: torch.Generator):
        n = operator.n
        device = operator.device
        index = torch.randperm(n, generator=generator)[:n_components].sort().values.to(device)
        cols = operator.columns(index).to(torch.float64)  # (n, m)
        core = cols[index]
        # the columns are exact only to the kernel's precision: shift by that much
        shift = torch.finfo(operator.dtype).eps * float(core.trace())
        chol, info = torch.linalg.cholesky_ex(
            core + shift * torch.eye(core.shape[0], dtype=core.dtype, device=device)
        )
        while int(info) != 0:  # pragma: no cover - only for pathological kernels
            shift *= 10.0
            chol, info = torch.linalg.cholesky_ex(
                core + shift * torch.eye(core.shape[0], dtype=core.dtype, device=device)
            )
        b = torch.linalg.solve_triangular(chol, cols.T, upper=False).T  # K_nS L^{-T}
        del cols
        s2, v = torch.linalg.eigh(b.T @ b)
        keep = s2 > 10.0 * shift
        s2, v = s2[keep], v[:, keep]
        self.basis = (b @ v) / s2.sqrt()
        self.eigvals = (s2 - shift).clamp_min(shift)
        self.scale = float(self.eigvals.min()) / self.eigvals - 1.0

    def apply(self, r: torch.Tensor) -> torch.Tensor:
        """``P^{-1} r``."""
        return r + self.basis @ (self.scale[:, None] * (self.basis.T @ r))


def solve_pcg(
    operator: GramOperator,
    y: torch.Tensor,
    *,
    n_components: int,
    tol: float,
    max_iter: int,
    generator: torch.Generator,
    progress: str | bool = False,
) -> Solution:
    """Nyström-preconditioned CG on ``K alpha = Y``, one CG per column of ``Y``."""
    precond = NystromPreconditioner(operator, n_components, generator)
    null_tol = operator.n * torch.finfo(y.dtype).eps * float(precond.eigvals.max())
    y_norm = torch.linalg.norm(y, dim=0)
    active = y_norm > 0
    coef = torch.zeros_like(y)
    resid = y.clone()
    z = precond.apply(resid)
    direction = z.clone()
    rz = (resid * z).sum(0)
    n_iter = 0
    converged = not bool(active.any())
    best_rel = torch.ones_like(y_norm)
    best_coef = coef.clone()
    bar = progress_bar(progress, max_iter, f"cg n={operator.n}", unit="it")
    while not converged and n_iter < max_iter:
        bar.update(1)
        k_dir = operator.matmul(direction)
        curvature = (direction * k_dir).sum(0)
        # a direction K barely sees lies in K's numerical null space: that column is done
        positive = curvature > null_tol * (direction * direction).sum(0)
        step = torch.where(active & positive, rz / curvature, torch.zeros_like(rz))
        coef += step * direction
        resid -= step * k_dir
        n_iter += 1
        rel = torch.linalg.norm(resid, dim=0) / torch.where(active, y_norm, 1.0)
        improved = rel < best_rel
        best_rel = torch.where(improved, rel, best_rel)
        best_coef[:, improved] = coef[:, improved]
        # a residual far above its best means Y is not in the range of K (an inconsistent,
        # singular system): CG cannot reduce it further, so that column stops at its best
        diverging = rel > 100.0 * best_rel
        active = active & (rel > tol) & positive & ~diverging
        converged = not bool(active.any())
        if converged:
            break
        z = precond.apply(resid)
        rz_new = (resid * z).sum(0)
        beta = torch.where(active, rz_new / rz, torch.zeros_like(rz))
        direction = z + beta * direction
        rz = torch.where(active, rz_new, rz)
    bar.close()
    coef = best_coef
    k_coef = operator.matmul(coef)
    converged = bool((best_rel[y_norm > 0] <= tol).all())
    return Solution(coef, k_coef, "cg", n_iter, operator.n, converged)
