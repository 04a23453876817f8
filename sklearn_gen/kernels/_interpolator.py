"""KernelInterpolator and KernelInterpolationRegressor: minimum-norm kernel interpolation.

Zhang et al. (2017, Sec. 5, "Understanding deep learning requires rethinking
generalization") fit MNIST exactly by solving ``K(X, X) alpha = Y`` with one-hot ``Y`` and
predicting ``argmax_c K(x, X) alpha_c`` — the minimum RKHS-norm interpolant — and reach
about 1.2% test error with no regularization at all. These estimators make that a
one-liner that composes with ``Pipeline``, ``GridSearchCV`` and the label-randomization
meta-estimators.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from sklearn_gen._device import (
    available_memory,
    format_bytes,
    resolve_device,
    resolve_dtype,
    resolve_memory_budget,
    seed_generator,
)
from sklearn_gen._validation import (
    Custom,
    Int,
    InvalidParameterError,
    Options,
    Real,
    Seed,
    check_params,
    check_real,
)
from sklearn_gen.kernels._gram import (
    GramOperator,
    cross_matmul,
    fill_column_panel,
    fill_lower,
    lower_panels,
    row_blocks,
    symmetric_matmul,
    symmetrize_lower,
)
from sklearn_gen.kernels._kernel_functions import KERNELS, Kernel, Rows
from sklearn_gen.kernels._out_of_core import (
    MIN_WIDTH,
    check_scratch,
    panel_width,
    solve_out_of_core,
)
from sklearn_gen.kernels._progress import PROGRESS_VALUES, progress_bar
from sklearn_gen.kernels._solvers import (
    Solution,
    relative_residual,
    solve_cholesky,
    solve_eigh,
    solve_pcg,
)

_SOLVERS = ("auto", "cholesky", "eigh", "cg", "out_of_core")
_DEFAULT_CG_ITER = 1000
_DEFAULT_REFINE_ITER = 10
_DEFAULT_COMPONENTS = 1000


class SingularKernelWarning(UserWarning):
    """``K(X, X)`` is singular to working precision; the minimum-norm solution is used."""


class _DenseOperator:
    """The :class:`~sklearn_gen.kernels._gram.GramOperator` interface over a stored ``K``."""

    def __init__(self, gram: torch.Tensor, block_size: int) -> None:
        self.gram = gram
        self.block_size = block_size
        self.diagonal = gram.diagonal().clone()

    @property
    def n(self) -> int:
        return int(self.gram.shape[0])

    @property
    def dtype(self) -> torch.dtype:
        return self.gram.dtype

    @property
    def device(self) -> torch.device:
        return self.gram.device

    def matmul(self, v: torch.Tensor) -> torch.Tensor:
        return symmetric_matmul(lower_panels(self.gram, self.diagonal, self.block_size, v.dtype), v)

    def columns(self, index: torch.Tensor) -> torch.Tensor:
        return self.gram[:, index]


def _gram_diagonal_max(kernel: Kernel, rows: Rows, block_size: int) -> float:
    """``max_i k(x_i, x_i)`` (1 for stationary kernels), from the diagonal tiles."""
    if kernel.diagonal_value() is not None:
        return kernel.diagonal_value()
    return max(
        float(kernel.block(rows[i0:i1], rows[i0:i1]).diagonal().max())
        for i0, i1 in row_blocks(len(rows), block_size)
    )


def _check_kernel(value: Any, name: str) -> None:
    if not (callable(value) or (isinstance(value, str) and value in KERNELS)):
        raise InvalidParameterError(
            f"{name} must be one of {list(KERNELS)} or a callable, got {value!r}."
        )


def _check_gamma(value: Any, name: str) -> None:
    if not (isinstance(value, str) and value == "scale"):
        check_real(value, name, 0.0, closed="neither")


def _check_kernel_params(value: Any, name: str) -> None:
    if not isinstance(value, dict):
        raise InvalidParameterError(f"{name} must be a dict or None, got {value!r}.")


def _check_device(value: Any, name: str) -> None:
    if not isinstance(value, str | torch.device):
        raise InvalidParameterError(f"{name} must be a string or torch.device, got {value!r}.")


def _check_dtype(value: Any, name: str) -> None:
    try:
        resolve_dtype(value)
    except (TypeError, ValueError) as error:
        raise InvalidParameterError(str(error)) from None


def _check_scratch_dir(value: Any, name: str) -> None:
    if not isinstance(value, str | os.PathLike):
        raise InvalidParameterError(f"{name} must be a folder path or None, got {value!r}.")


def _check_progress(value: Any, name: str) -> None:
    if value not in PROGRESS_VALUES or not isinstance(value, str | bool):
        raise InvalidParameterError(f"{name} must be 'auto', True or False, got {value!r}.")


class _BaseKernelInterpolation(BaseEstimator):
    """Shared machinery of the classifier and the regressor (targets as a 2-D array)."""

    def __init__(
        self,
        kernel: str | Callable[..., Any] = "rbf",
        *,
        gamma: float | None = None,
        degree: float = 3,
        coef0: float = 1.0,
        kernel_params: dict[str, Any] | None = None,
        solver: str = "auto",
        tol: float = 1e-6,
        max_iter: int | None = None,
        n_components: int | None = None,
        device: str = "auto",
        dtype: str = "float32",
        block_size: int = 1024,
        memory_budget: float | None = None,
        random_state: int | np.random.RandomState | None = None,
        scratch_dir: str | None = None,
        progress: str | bool = "auto",
        ridge: float = 0.0,
    ) -> None:
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.kernel_params = kernel_params
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.n_components = n_components
        self.device = device
        self.dtype = dtype
        self.block_size = block_size
        self.memory_budget = memory_budget
        self.random_state = random_state
        self.scratch_dir = scratch_dir
        self.progress = progress
        self.ridge = ridge

    # ------------------------------------------------------------------ validation
    #: The declared constraints (:func:`~sklearn_gen._validation.check_params`).
    _param_checks: ClassVar[dict[str, Any]] = {
        "kernel": Custom(_check_kernel, bad_value="gaussian"),
        "gamma": Custom(_check_gamma, none=True, bad_value=-1.0),
        "degree": Real(0.0),
        "coef0": Real(),
        "kernel_params": Custom(_check_kernel_params, none=True, bad_value=[1]),
        "solver": Options(*_SOLVERS),
        "tol": Real(0.0, closed="neither"),
        "max_iter": Int(1, none=True),
        "n_components": Int(1, none=True),
        "device": Custom(_check_device, bad_value=3),
        "dtype": Custom(_check_dtype, bad_value="float8"),
        "block_size": Int(1),
        "memory_budget": Real(0.0, closed="neither", none=True),
        "ridge": Real(0.0),
        "random_state": Seed(),
        "scratch_dir": Custom(_check_scratch_dir, none=True, bad_value=3),
        "progress": Custom(_check_progress, bad_value="sometimes"),
    }

    def _check_params(self) -> None:
        check_params(self)

    def _check_square(self, X: np.ndarray) -> None:
        if self.kernel == "precomputed" and X.shape[0] != X.shape[1]:
            raise ValueError(
                "With kernel='precomputed', X passed to fit must be the square Gram matrix "
                f"K(X_train, X_train); got shape {X.shape}."
            )

    # ------------------------------------------------------------------ kernels
    def _gamma(self, X: np.ndarray) -> float:
        """The kernel width: ``gamma``, ``1 / n_features`` (None) or, for ``"scale"``,
        ``1 / (n_features * X.var())`` as :class:`sklearn.svm.SVC` computes it."""
        n_features = X.shape[1]
        if self.gamma is None:
            return 1.0 / n_features
        if isinstance(self.gamma, str):
            variance = float(X.var(dtype=np.float64))
            return 1.0 / (n_features * variance) if variance > 0 else 1.0 / n_features
        return float(self.gamma)

    def _kernel(self, dtype: torch.dtype, device: torch.device) -> Kernel:
        name = "callable" if callable(self.kernel) else self.kernel
        gamma = self.gamma_
        center = None
        if name in ("rbf", "laplacian"):
            center = torch.as_tensor(self.X_fit_.mean(axis=0), dtype=dtype, device=device)
        return Kernel(
            name,
            gamma=gamma,
            degree=float(self.degree),
            coef0=float(self.coef0),
            func=self.kernel if callable(self.kernel) else None,
            params=dict(self.kernel_params or {}),
            center=center,
        )

    # ------------------------------------------------------------------ fitting
    def _memory_needs(self, n: int, d: int, c: int, itemsize: int) -> dict[str, int]:
        b = min(self.block_size, n)
        data = 0 if self.kernel == "precomputed" else n * d * itemsize
        m = min(n, self.n_components or _DEFAULT_COMPONENTS)
        vectors = 8 * n * c * 8
        return {
            "cholesky": n * n * itemsize + 3 * n * b * itemsize + data + vectors,
            "eigh": 3 * n * n * itemsize + data + vectors,
            "cg": data + n * m * (itemsize + 24) + 6 * n * c * 8 + 2 * b * n * (itemsize + 8),
            "out_of_core": data + vectors + 3 * n * MIN_WIDTH * itemsize,
        }

    def _choose_solver(self, needs: dict[str, int], budget: int, n: int, device) -> str:
        """The solver to run, chosen and checked against ``budget`` before any work.

        ``budget`` is also capped by the memory actually free on ``device``, so a
        ``memory_budget`` larger than what the machine has is a clear error here rather
        than a swap storm or an out-of-memory kill an hour later.
        """
        free = available_memory(device)
        limit, limited_by = (
            min(budget, free),
            (
                f"memory_budget={format_bytes(budget)}"
                if budget <= free
                else f"the {format_bytes(free)} free on {device.type} (memory_budget="
                f"{format_bytes(budget)})"
            ),
        )
        solver = self.solver
        if solver == "auto":
            if needs["cholesky"] <= limit:
                return "cholesky"
            solver = "out_of_core" if self._scratch_ok(n, self.dtype) else "cg"
        if needs[solver] > limit:
            hint = {
                "cholesky": "use solver='out_of_core' (factor on disk) or 'cg', or free memory",
                "eigh": "use solver='cholesky', 'out_of_core' or 'cg', or free memory",
                "out_of_core": "raise memory_budget, use solver='cg', or free memory",
            }.get(solver, "lower n_components or block_size, or free memory")
            raise ValueError(
                f"solver={solver!r} needs about {format_bytes(needs[solver])} for n={n} "
                f"samples (the dense Gram matrix alone is {n}x{n}), more than "
                f"{limited_by}; {hint}."
            )
        return solver

    def _scratch_ok(self, n: int, dtype: str) -> bool:
        """Whether ``scratch_dir`` has room for the out-of-core files (raises if missing)."""
        itemsize = torch.finfo(resolve_dtype(dtype)).bits // 8
        return check_scratch(self.scratch_dir, n, itemsize, full_is_error=False) is not None

    def _fit(self, X: np.ndarray, Y: np.ndarray) -> None:
        device = resolve_device(self.device)
        dtype = resolve_dtype(self.dtype)
        budget = resolve_memory_budget(self.memory_budget, device)
        n = X.shape[0]
        itemsize = torch.finfo(dtype).bits // 8
        needs = self._memory_needs(n, X.shape[1], Y.shape[1], itemsize)
        solver = self._choose_solver(needs, budget, n, device)
        if self.ridge > 0 and solver in ("out_of_core", "cg"):
            raise ValueError(
                f"ridge={self.ridge} needs a dense solver ('cholesky' or 'eigh'), but "
                f"solver={self.solver!r} runs {solver!r} for n={n}; set solver='cholesky' "
                "(with the memory for it) or ridge=0."
            )
        if solver == "out_of_core":
            scratch = check_scratch(self.scratch_dir, n, itemsize)

        self.X_fit_ = X
        self.gamma_ = self._gamma(X)
        self.precision_ = self.dtype
        y_t = torch.as_tensor(Y, dtype=torch.float64, device=device)
        if solver == "out_of_core":
            sol = self._solve_out_of_core(X, y_t, budget, dtype, device, scratch)
        elif solver != "cg":
            sol = self._solve_dense(solver, X, y_t, budget, dtype, device)
        elif self.kernel == "precomputed":
            sol = self._solve_cg(
                None, None, y_t, 0, gram=torch.as_tensor(X, dtype=dtype).to(device)
            )
        else:
            kernel, rows = self._rows(X, dtype, device)
            sol = self._solve_cg(kernel, rows, y_t, budget - needs["cg"])

        self.solver_ = sol.solver
        self.n_iter_ = sol.n_iter
        self.rank_ = sol.rank
        self.train_residual_ = relative_residual(y_t, sol.k_coef)
        self.rkhs_norm_ = float(torch.sum(sol.coef * sol.k_coef).clamp_min(0).sqrt())
        self.dual_coef_ = sol.coef.cpu().numpy()
        if not sol.converged:
            warnings.warn(
                f"The {sol.solver} solver stopped after {sol.n_iter} iterations at relative "
                f"residual {self.train_residual_:.2e} > tol={self.tol:g}; raise max_iter or "
                "use dtype='float64'.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _dense_gram(self, X: np.ndarray, dtype: torch.dtype, device: torch.device):
        """``K(X, X)`` (lower triangle) in a new ``(n, n)`` buffer, and the kernel used."""
        if self.kernel == "precomputed":
            buffer, kernel = torch.as_tensor(X, dtype=dtype).to(device).clone(), None
        else:
            kernel, rows = self._rows(X, dtype, device)
            buffer = torch.empty((len(rows), len(rows)), dtype=dtype, device=device)
            with progress_bar(self.progress, len(rows), f"Gram n={len(rows)}", unit="rows") as bar:
                fill_lower(buffer, kernel, rows, self.block_size, bar.update)
        if self.ridge > 0:
            buffer.diagonal().add_(self.ridge)
        return buffer, kernel

    def _rows(self, X: np.ndarray, dtype: torch.dtype, device: torch.device):
        """The kernel, and the training rows prepared for it on ``device``."""
        kernel = self._kernel(dtype, device)
        return kernel, kernel.prepare(torch.as_tensor(X, dtype=dtype).to(device))

    def _solve_out_of_core(self, X, y_t, budget, dtype, device, scratch) -> Solution:
        """Out-of-core Cholesky in ``dtype``, redone in float64 when float32 is not enough.

        Like :meth:`_solve_dense`, but the factor lives on disk and the last resort for a
        ``K`` singular to working precision is the matrix-free cg solver (which, from a
        zero start, returns the minimum-norm solution of a consistent system).
        """
        n, d = X.shape
        c = y_t.shape[1]
        max_refine = self.max_iter if self.max_iter is not None else _DEFAULT_REFINE_ITER
        for precision in (dtype, torch.float64) if dtype == torch.float32 else (dtype,):
            itemsize = torch.finfo(precision).bits // 8
            needs = self._memory_needs(n, d, c, itemsize)["out_of_core"]
            width = panel_width(n, itemsize, budget - needs + 3 * n * MIN_WIDTH * itemsize)
            if width == 0 or (precision != dtype and not self._scratch_ok(n, "float64")):
                break
            self.precision_ = str(precision).removeprefix("torch.")
            if self.kernel == "precomputed":
                kernel, rows = None, torch.as_tensor(X).to(device)
                diag_max = float(np.diagonal(X).max())
            else:
                kernel, rows = self._rows(X, precision, device)
                diag_max = _gram_diagonal_max(kernel, rows, self.block_size)
            sol = solve_out_of_core(
                functools.partial(fill_column_panel, kernel, rows),
                n,
                y_t,
                dtype=precision,
                device=device,
                width=width,
                scratch=scratch,
                tol=self.tol,
                max_refine=max_refine,
                diagonal_max=diag_max,
                progress=self.progress,
            )
            if sol is not None and (sol.converged or precision == torch.float64):
                return sol
        _warn_singular(f"falling back to solver='cg' (n={n} past memory)")
        if self.kernel == "precomputed":
            return self._solve_cg(
                None, None, y_t, 0, gram=torch.as_tensor(X, dtype=dtype).to(device)
            )
        kernel, rows = self._rows(X, dtype, device)
        return self._solve_cg(kernel, rows, y_t, 0)

    def _solve_dense(self, solver, X, y_t, budget, dtype, device) -> Solution:
        """Dense solve in ``dtype``, redone in float64 when float32 is not enough.

        float32 is "not enough" when the Cholesky factorization meets a vanishing pivot,
        refinement stalls above ``tol``, or ``eigh`` finds ``K`` rank-deficient: each of
        these can be an artefact of float32 rounding, so ``K`` is only declared singular
        (with a :class:`SingularKernelWarning`) when it is singular in float64 too, or when
        the float64 Gram matrix would not fit ``memory_budget``.
        """
        n, d = X.shape
        precisions = [dtype]
        if dtype == torch.float32:
            needs64 = self._memory_needs(n, d, y_t.shape[1], 8)
            if needs64[solver] <= budget:
                precisions.append(torch.float64)
        max_refine = self.max_iter if self.max_iter is not None else _DEFAULT_REFINE_ITER
        for precision in precisions:
            last = precision == precisions[-1]
            self.precision_ = str(precision).removeprefix("torch.")
            buffer, _ = self._dense_gram(X, precision, device)
            if solver == "cholesky":
                sol = solve_cholesky(
                    buffer,
                    y_t,
                    block_size=self.block_size,
                    tol=self.tol,
                    max_refine=max_refine,
                    progress=self.progress,
                )
                if sol is not None and (sol.converged or last):
                    return sol
                if sol is not None or not last:
                    del buffer
                    continue
                itemsize = torch.finfo(precision).bits // 8
                if self._memory_needs(n, d, y_t.shape[1], itemsize)["eigh"] > budget:
                    _warn_singular(f"falling back to solver='cg' (n={n} too large for 'eigh')")
                    return self._solve_cg(None, None, y_t, 0, gram=buffer)
            symmetrize_lower(buffer, self.block_size)
            sol = solve_eigh(buffer, y_t, block_size=self.block_size)
            if sol.rank == n or last:
                if sol.rank < n:
                    _warn_singular(f"numerical rank {sol.rank} of {n}")
                return sol
            del buffer
        raise AssertionError("unreachable")  # pragma: no cover

    def _solve_cg(self, kernel, rows, y_t, cache_bytes, gram=None) -> Solution:
        if gram is not None:
            operator = _DenseOperator(gram, self.block_size)
        else:
            operator = GramOperator(kernel, rows, self.block_size, max(int(cache_bytes), 0))
        n_components = min(operator.n, self.n_components or _DEFAULT_COMPONENTS)
        return solve_pcg(
            operator,
            y_t,
            n_components=n_components,
            tol=self.tol,
            max_iter=self.max_iter if self.max_iter is not None else _DEFAULT_CG_ITER,
            generator=seed_generator(self.random_state),
            progress=self.progress,
        )

    # ------------------------------------------------------------------ predicting
    def _decision_values(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "dual_coef_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        device = resolve_device(self.device)
        dtype = torch.float64  # exact to the last bits whatever the batch: subset-invariant
        coef = torch.as_tensor(self.dual_coef_, dtype=torch.float64, device=device)
        coef = coef.reshape(coef.shape[0], -1)
        if self.kernel == "precomputed":
            gram = torch.as_tensor(X, dtype=torch.float64, device=device)
            out = torch.cat([gram[a:b] @ coef for a, b in row_blocks(len(gram), self.block_size)])
        else:
            kernel = self._kernel(dtype, device)
            fit_rows = kernel.prepare(torch.as_tensor(self.X_fit_, dtype=dtype).to(device))
            queries = kernel.prepare(torch.as_tensor(X, dtype=dtype).to(device))
            out = cross_matmul(kernel, queries, fit_rows, coef, self.block_size)
        return out.cpu().numpy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = self.kernel == "precomputed"
        tags.input_tags.sparse = False
        tags.non_deterministic = False
        return tags


def _warn_singular(detail: str) -> None:
    warnings.warn(
        "K(X, X) is singular to working precision (duplicate samples, or a linear or "
        "polynomial kernel with fewer features than samples); returning the minimum-norm "
        f"(pseudo-inverse) solution: {detail}.",
        SingularKernelWarning,
        stacklevel=4,
    )


_PARAMS_DOC = """
    Parameters
    ----------
    kernel : {"rbf", "laplacian", "linear", "polynomial", "precomputed"} or callable, \
default="rbf"
        ``rbf``: ``exp(-gamma ||x - y||^2)``; ``laplacian``: ``exp(-gamma ||x - y||_1)``;
        ``linear``: ``<x, y>``; ``polynomial``: ``(gamma <x, y> + coef0) ** degree``.
        A callable gets two blocks of rows as ``torch.Tensor`` (on the device, in
        ``dtype``) plus ``kernel_params`` and returns their kernel matrix (tensor or
        array). ``"precomputed"``: ``X`` is ``K(X_train, X_train)`` in ``fit`` and
        ``K(X_test, X_train)`` in ``predict`` (the ``pairwise`` tag is set, so
        cross-validation slices it on both axes, as for ``KernelRidge``).
    gamma : float, "scale" or None, default=None
        Kernel width; None means ``1 / n_features`` (as in ``KernelRidge``), ``"scale"``
        ``1 / (n_features * X.var())`` of the training rows (as in ``SVC``), fixed in
        ``gamma_`` by ``fit``. Zhang et al. use ``gamma=0.02`` on MNIST pixels in [0, 1].
    degree : float, default=3
        Polynomial degree.
    coef0 : float, default=1.0
        Polynomial offset.
    kernel_params : dict, default=None
        Extra keyword arguments of a callable kernel.
    solver : {"auto", "cholesky", "out_of_core", "eigh", "cg"}, default="auto"
        ``"cholesky"``: dense blocked Cholesky of the Gram matrix, factored in place in
        the one ``n x n`` buffer that holds ``K`` (no second copy); in float32 it is
        followed by iterative refinement (float64 residuals) until the relative residual
        is at most ``tol``; if refinement stalls (``K`` too ill-conditioned for float32)
        the whole solve is redone in float64 when the memory budget allows. If ``K`` is
        singular to working precision (a vanishing pivot) it falls back to ``"eigh"``
        with a :class:`SingularKernelWarning`.
        ``"eigh"``: minimum-norm (pseudo-inverse) solution from an eigendecomposition,
        eigenvalues below ``n * eps * lambda_max`` dropped. ``"cg"``: matrix-free
        conjugate gradients with a randomized Nyström preconditioner; the Gram matrix is
        never stored (tiles are recomputed, or cached within ``memory_budget``), and from a
        zero start it converges to the minimum-norm solution too. ``"out_of_core"``: the
        same Cholesky and refinement with ``K`` and its factor as column panels in files
        under ``scratch_dir`` (same flops, panels as wide as ``memory_budget`` allows);
        if ``K`` is singular to working precision it falls back to ``"cg"``. ``"auto"``:
        cholesky when the dense Gram matrix fits ``memory_budget``, else out_of_core when
        ``scratch_dir`` has room for it, else cg.
    tol : float, default=1e-6
        Target relative residual ``||K alpha - Y|| / ||Y||`` (refinement and cg).
    max_iter : int, default=None
        Most refinement steps (cholesky and out_of_core, default 10) or CG iterations
        (cg, default 1000).
    n_components : int, default=None
        Rank of the Nyström preconditioner of the cg solver (default
        ``min(n_samples, 1000)``); landmarks drawn with ``random_state``.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where Gram tiles and solves run; "auto" takes CUDA when present.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the training Gram matrix and its factorization. Coefficients and
        residuals are always accumulated in float64, and ``predict`` /
        ``decision_function`` evaluate the kernel in float64, so predictions do not
        depend on how the queries are batched.
    block_size : int, default=1024
        Side of the Gram tiles (memory per tile ``block_size**2`` floats).
    memory_budget : float, default=None
        Bytes the solver may allocate on ``device``; None means half of what is free. A
        budget larger than the memory free on ``device`` is capped at what is free. A
        solver that would not fit raises a ``ValueError`` before any work.
    random_state : int, RandomState instance or None, default=None
        Seeds the landmark columns of the cg preconditioner (the only randomness).
    scratch_dir : str, default=None
        Folder for the out-of-core solver's two files (about ``n**2 * 4`` bytes in
        float32; removed when ``fit`` ends); None means the system's temporary folder.
        Its free space is checked before any work.
    progress : {"auto", True, False}, default="auto"
        Progress bars (tqdm, on stderr) over the Gram matrix, the factorization and the
        refinement: ``"auto"`` shows a step's bar once it has run for a few seconds,
        True always, False never.
    ridge : float, default=0.0
        A ridge term added to the Gram matrix's diagonal: the solve is of
        ``(K + ridge * I) alpha = Y`` (kernel ridge regression; 0, the default, is the
        minimum-norm interpolant). Only the dense solvers ("cholesky", "eigh", and
        "auto" when it picks cholesky) take it.
"""

_ATTRS_DOC = """
    Attributes
    ----------
    dual_coef_ : ndarray of shape {coef_shape}
        The interpolation coefficients ``alpha`` (float64).
    X_fit_ : ndarray of shape (n_samples, n_features)
        Training data (the training Gram matrix for ``kernel="precomputed"``).
    gamma_ : float
        The kernel width used (``gamma`` resolved against the training rows).
    rkhs_norm_ : float
        ``sqrt(trace(alpha^T K alpha))``, the RKHS norm of the interpolant (summed over
        outputs).
    train_residual_ : float
        Relative residual ``||K alpha - Y||_F / ||Y||_F`` on the training data.
    solver_ : str
        The solver actually used ("cholesky", "eigh" or "cg").
    precision_ : str
        The precision of the Gram matrix actually used ("float64" after a fallback).
    n_iter_ : int
        Triangular solves (1 + refinement steps, cholesky), CG iterations (cg) or 1
        (eigh).
    rank_ : int
        Numerical rank of ``K`` found by "eigh" (``n_samples`` for the other solvers).
    n_features_in_ : int
        Number of features seen in ``fit``.
"""


class KernelInterpolator(ClassifierMixin, _BaseKernelInterpolation):
    __doc__ = (
        """Minimum-norm kernel interpolation classifier (Zhang et al. 2017, Sec. 5).

    Solves ``K(X, X) alpha = Y`` for one-hot targets ``Y`` (one column per class) and
    predicts ``argmax_c K(x, X) alpha_c``. When ``K`` is invertible this interpolates the
    training labels exactly; when it is singular the minimum-norm (pseudo-inverse)
    solution is returned, with a :class:`SingularKernelWarning`. Gram matrices are
    computed in torch in ``block_size`` tiles on ``device`` (never an ``n x n x d``
    tensor).
"""
        + _PARAMS_DOC
        + _ATTRS_DOC.format(coef_shape="(n_samples, n_classes)")
        + """    classes_ : ndarray of shape (n_classes,)
        Class labels.

    See Also
    --------
    KernelInterpolationRegressor : The same interpolant for real-valued targets.
    sklearn.kernel_ridge.KernelRidge : With ``alpha=0``, it is the same problem, solved in float64.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_gen import KernelInterpolator
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> clf = KernelInterpolator(gamma=0.02, device="cpu").fit(X[:1000], y[:1000])
    >>> clf.score(X[:1000], y[:1000])
    1.0
    >>> round(clf.score(X[1000:], y[1000:]), 2) > 0.9
    True
    """
    )

    def fit(self, X: Any, y: Any) -> KernelInterpolator:
        """Fit the minimum-norm interpolant of one-hot labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (or the Gram matrix if ``kernel="precomputed"``).
        y : array-like of shape (n_samples,)
            Class labels (any hashable values).

        Returns
        -------
        self : KernelInterpolator
        """
        self._check_params()
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes, but the data "
                f"contains only 1 class: {classes[0]!r}."
            )
        self._check_square(X)
        self.classes_ = classes
        self._fit(X, np.eye(len(classes))[y_index])
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Interpolant values ``K(X, X_fit) alpha``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes), or (n_samples,) for two classes
            For two classes, the score of ``classes_[1]`` minus that of ``classes_[0]``.
        """
        values = self._decision_values(X)
        if len(self.classes_) == 2:
            return values[:, 1] - values[:, 0]
        return values

    def predict(self, X: Any) -> np.ndarray:
        """Class with the largest interpolant value."""
        values = self._decision_values(X)
        return self.classes_[np.argmax(values, axis=1)]


class KernelInterpolationRegressor(RegressorMixin, _BaseKernelInterpolation):
    __doc__ = (
        """Minimum-norm kernel interpolation regressor.

    Solves ``K(X, X) alpha = y`` (one column per output) and predicts ``K(x, X) alpha``:
    ``sklearn.kernel_ridge.KernelRidge(alpha=0)``, with the minimum-norm solution when
    ``K`` is singular, float32 tiles with refinement, GPU support and a matrix-free
    solver for large ``n``. Shares every solver with :class:`KernelInterpolator`.
"""
        + _PARAMS_DOC
        + _ATTRS_DOC.format(coef_shape="(n_samples,) or (n_samples, n_outputs)")
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_gen import KernelInterpolationRegressor
    >>> X = np.linspace(0, 1, 20)[:, None]
    >>> reg = KernelInterpolationRegressor(gamma=10.0, dtype="float64").fit(X, np.sin(6 * X[:, 0]))
    >>> float(np.abs(reg.predict(X) - np.sin(6 * X[:, 0])).max()) < 1e-6
    True
    """
    )

    def fit(self, X: Any, y: Any) -> KernelInterpolationRegressor:
        """Fit the minimum-norm interpolant of real targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (or the Gram matrix if ``kernel="precomputed"``).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        self : KernelInterpolationRegressor
        """
        self._check_params()
        X, y = validate_data(
            self, X, y, dtype=[np.float64, np.float32], multi_output=True, y_numeric=True
        )
        self._check_square(X)
        y = np.asarray(y, dtype=np.float64)
        self._fit(X, y.reshape(len(y), -1))
        if y.ndim == 1:
            self.dual_coef_ = self.dual_coef_.ravel()
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Interpolant values ``K(X, X_fit) alpha``."""
        values = self._decision_values(X)
        return values.ravel() if self.dual_coef_.ndim == 1 else values

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
