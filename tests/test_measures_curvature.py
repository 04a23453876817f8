"""Tests for the curvature and gradient-noise measures (sklearn_gen.measures._curvature).

Each measure is checked against its definition computed another way: the dense Hessian
of a ~30-parameter network (``torch.autograd.functional.hessian`` over the flattened
parameters, float64) for the top eigenvalue and the trace, a closed-form diagonal
Hessian for the exactness of Hutchinson's estimator, and a plain loop over mini-batches
with ``torch.autograd.grad`` for the gradient noise.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from torch import nn
from torch.func import functional_call

from sklearn_gen import NetworkClassifier
from sklearn_gen.measures import _curvature
from sklearn_gen.measures._curvature import (
    gradient_noise,
    hessian_top_eigenvalue,
    hessian_trace,
)
from sklearn_gen.measures._layers import layers_view

MEASURES = (hessian_top_eigenvalue, hessian_trace, gradient_noise)


# ------------------------------------------------------------------------------ fixtures
def _tiny(seed: int = 0, activation: type[nn.Module] = nn.Tanh) -> nn.Sequential:
    """Linear(3, 4) - activation - Linear(4, 3): 31 parameters."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), activation(), nn.Linear(4, 3))


def _data(seed: int = 0, n: int = 50) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(seed)
    return rng.randn(n, 3).astype(np.float32), rng.randint(0, 3, n)


def _loss_of_flat(net: nn.Module, X: np.ndarray, y: np.ndarray):
    """The mean cross-entropy as a function of the flat float64 parameter vector."""
    module = copy.deepcopy(net).double()
    named = list(module.named_parameters())
    sizes = [p.numel() for _, p in named]
    flat = torch.cat([p.detach().reshape(-1) for _, p in named])
    x, t = torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(y)

    def loss(theta: torch.Tensor, index=slice(None)) -> torch.Tensor:
        params = {
            name: part.view(p.shape)
            for (name, p), part in zip(named, theta.split(sizes), strict=True)
        }
        return nn.functional.cross_entropy(functional_call(module, params, (x[index],)), t[index])

    return loss, flat


def _dense_hessian(net: nn.Module, X: np.ndarray, y: np.ndarray) -> torch.Tensor:
    loss, flat = _loss_of_flat(net, X, y)
    return torch.autograd.functional.hessian(loss, flat)


def _gradient(loss, flat: torch.Tensor, index) -> torch.Tensor:
    theta = flat.clone().requires_grad_(True)
    return torch.autograd.grad(loss(theta, index), theta)[0]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    net = NetworkClassifier("mlp", module__hidden=(8,), max_epochs=2, device="cpu", random_state=0)
    return net.fit(X, y)


# ------------------------------------------------------------------------------ definitions
@pytest.mark.parametrize("activation", [nn.Tanh, nn.ReLU])
def test_top_eigenvalue_matches_dense_hessian(activation):
    net = _tiny(0, activation)
    X, y = _data(0)
    eigenvalues = torch.linalg.eigvalsh(_dense_hessian(net, X, y))
    largest = float(eigenvalues[-1])
    # power iteration finds the largest magnitude: here that is the largest algebraic one
    assert largest > abs(float(eigenvalues[0]))
    value = hessian_top_eigenvalue(net, X, y, n_iter=2000, tol=1e-10, random_state=0)
    assert value == pytest.approx(largest, rel=1e-4)
    # PyHessian's default stopping rule: within a few tol of it
    default = hessian_top_eigenvalue(net, X, y, random_state=1)
    assert default == pytest.approx(largest, rel=1e-2)


@pytest.mark.parametrize("activation", [nn.Tanh, nn.ReLU])
def test_trace_within_standard_errors_of_dense_trace(activation):
    net = _tiny(1, activation)
    X, y = _data(1)
    H = _dense_hessian(net, X, y)
    trace, std = hessian_trace(net, X, y, n_probes=200, return_std=True, random_state=0)
    assert abs(trace - float(H.trace())) < 4 * std
    # the standard error against its definition: Var(z^T H z) = 2 sum_{i != j} H_ij^2
    variance = 2 * (H.pow(2).sum() - H.diagonal().pow(2).sum()) / 200
    assert std == pytest.approx(float(variance.sqrt()), rel=0.3)
    assert hessian_trace(net, X, y, n_probes=200, random_state=0) == trace


class _Diagonal(nn.Module):
    """Logits ``(0, x @ w)`` on one-hot ``x``: every sample depends on one weight, so the
    Hessian is diagonal, ``H_kk = (n_k / n) s(w_k) s(-w_k)`` (``s`` the sigmoid)."""

    def __init__(self, weights: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(weights.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x @ self.w
        return torch.stack([torch.zeros_like(s), s], dim=1)


def test_diagonal_hessian_exact():
    weights = torch.tensor([-2.0, -0.5, 0.3, 1.0, 2.5])
    counts = np.array([3, 5, 8, 13, 21])
    rng = np.random.RandomState(0)
    bucket = np.repeat(np.arange(5), counts)
    X = np.eye(5, dtype=np.float32)[bucket]
    y = rng.randint(0, 2, len(X))
    w = weights.double()
    diagonal = counts / counts.sum() * (torch.sigmoid(w) * torch.sigmoid(-w)).numpy()
    net = _Diagonal(weights)
    trace, std = hessian_trace(net, X, y, n_probes=300, return_std=True, random_state=0)
    assert trace == pytest.approx(diagonal.sum(), rel=1e-12)
    assert std < 1e-12
    np.testing.assert_allclose(
        torch.diagonal(_dense_hessian(net, X, y)).numpy(), diagonal, rtol=1e-12
    )
    top = hessian_top_eigenvalue(net, X, y, n_iter=1000, tol=1e-12, random_state=0)
    assert top == pytest.approx(diagonal.max(), rel=1e-8)


def _direct_gradient_noise(net, X, y, batch_size, n_batches, seed):
    """The documented definition, by a plain loop: permutations from RandomState(seed), cut
    into full batches, epoch after epoch."""
    loss, flat = _loss_of_flat(net, X, y)
    full = _gradient(loss, flat, slice(None))
    rng = np.random.RandomState(seed)
    n = len(X)
    per_epoch = n // batch_size
    n_batches = per_epoch if n_batches is None else n_batches
    squares = []
    while len(squares) < n_batches:
        perm = rng.permutation(n)
        for b in range(min(per_epoch, n_batches - len(squares))):
            batch = torch.as_tensor(perm[b * batch_size : (b + 1) * batch_size])
            squares.append(float(((_gradient(loss, flat, batch) - full) ** 2).sum()))
    return float(np.mean(squares))


@pytest.mark.parametrize("batch_size, n_batches", [(8, None), (8, 3), (8, 10), (50, None)])
def test_gradient_noise_matches_loop_over_batches(batch_size, n_batches):
    net = _tiny(2)
    X, y = _data(2)
    value = gradient_noise(net, X, y, batch_size=batch_size, n_batches=n_batches, random_state=3)
    expected = _direct_gradient_noise(net, X, y, batch_size, n_batches, 3)
    assert value == pytest.approx(expected, rel=1e-10, abs=1e-25)
    if batch_size == len(X):
        assert value < 1e-25


def test_gradient_noise_per_sample_variance():
    net = _tiny(3, nn.ReLU)
    X, y = _data(3, n=30)
    loss, flat = _loss_of_flat(net, X, y)
    full = _gradient(loss, flat, slice(None))
    per_sample = [float(((_gradient(loss, flat, [i]) - full) ** 2).sum()) for i in range(len(X))]
    value = gradient_noise(net, X, y, batch_size=1, random_state=None)
    assert value == pytest.approx(np.mean(per_sample), rel=1e-10)


def test_chunked_loss_equals_single_pass(monkeypatch):
    net = _tiny(4)
    X, y = _data(4)
    params = [
        (hessian_top_eigenvalue, {"tol": 1e-7, "n_iter": 200}),
        (hessian_trace, {"n_probes": 20}),
        (gradient_noise, {"batch_size": 16}),
    ]
    whole = [measure(net, X, y, random_state=0, **kw) for measure, kw in params]
    monkeypatch.setattr(_curvature, "_CHUNK", 7)
    chunked = [measure(net, X, y, random_state=0, **kw) for measure, kw in params]
    np.testing.assert_allclose(chunked, whole, rtol=1e-8)


def test_max_samples_uses_the_subsample():
    net = _tiny(5)
    X, y = _data(5, n=80)
    keep = np.sort(np.random.RandomState(0).choice(80, 30, replace=False))
    H = _dense_hessian(net, X[keep], y[keep])
    value = hessian_top_eigenvalue(
        net, X, y, max_samples=30, n_iter=2000, tol=1e-10, random_state=0
    )
    assert value == pytest.approx(float(torch.linalg.eigvalsh(H)[-1]), rel=1e-4)
    # more samples than there are: all of them
    assert hessian_trace(net, X, y, max_samples=500, n_probes=5, random_state=0) == (
        hessian_trace(net, X, y, n_probes=5, random_state=0)
    )


def test_convergence_warning():
    net = _tiny(0)
    X, y = _data(0)
    with pytest.warns(ConvergenceWarning, match="n_iter=2"):
        hessian_top_eigenvalue(net, X, y, n_iter=2, tol=0.0, random_state=0)


# ------------------------------------------------------------------------------ PyHessian
def test_against_pyhessian():
    pyhessian = pytest.importorskip("pyhessian")
    net = _tiny(0)
    X, y = _data(0)
    H = _dense_hessian(net, X, y)
    model = copy.deepcopy(net)  # PyHessian leaves gradients (and eval mode) on its model
    data = (torch.as_tensor(X), torch.as_tensor(y))
    with torch.random.fork_rng(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # its backward(create_graph=True)
        torch.manual_seed(0)
        computer = pyhessian.hessian(model, nn.CrossEntropyLoss(), data=data, cuda=False)
        top = computer.eigenvalues(maxIter=1000, tol=1e-6)[0][0]
        probes = np.array(computer.trace(maxIter=300, tol=0.0))  # tol 0: all 300 probes
    ours = hessian_top_eigenvalue(net, X, y, n_iter=1000, tol=1e-10, random_state=0)
    assert ours == pytest.approx(top, rel=1e-4)  # PyHessian works in float32
    assert ours == pytest.approx(float(torch.linalg.eigvalsh(H)[-1]), rel=1e-6)
    trace, std = hessian_trace(net, X, y, n_probes=300, return_std=True, random_state=0)
    their_std = probes.std(ddof=1) / np.sqrt(len(probes))
    assert len(probes) == 300
    assert abs(probes.mean() - float(H.trace())) < 4 * their_std
    assert abs(trace - probes.mean()) < 4 * np.hypot(std, their_std)


# ------------------------------------------------------------------------------ any model
def test_fitted_classifier_and_pipeline(fitted, digits):
    X, y = digits
    before = {k: v.clone() for k, v in fitted.module_.state_dict().items()}
    training = fitted.module_.training
    pipe = Pipeline([("scale", FunctionTransformer(lambda Z: Z / 16).fit(X * 16)), ("net", fitted)])
    settings = [
        (hessian_top_eigenvalue, {"max_samples": 400}),
        (hessian_trace, {"n_probes": 5, "max_samples": 400}),
        (gradient_noise, {"batch_size": 128}),
    ]
    for measure, kw in settings:
        value = measure(fitted, X, y, random_state=0, **kw)
        assert np.isfinite(value) and value > 0
        assert measure(fitted, X, y, random_state=0, **kw) == value  # deterministic
        assert measure(pipe, X * 16, y, random_state=0, **kw) == pytest.approx(value, rel=1e-9)
    assert hessian_trace(fitted, X, y, n_probes=5, max_samples=400, random_state=1) != (
        hessian_trace(fitted, X, y, n_probes=5, max_samples=400, random_state=0)
    )
    after = fitted.module_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert fitted.module_.training == training


def test_raw_image_module_and_view(digits):
    X, y = digits
    X, y = X[:200], y[:200]
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6 * 6, 10))
    images = X.reshape(-1, 1, 8, 8)
    view = layers_view(net, input_shape=(1, 8, 8))
    for measure, kw in [
        (hessian_top_eigenvalue, {"n_iter": 300}),
        (hessian_trace, {"n_probes": 5}),
        (gradient_noise, {}),
    ]:
        value = measure(net, X, y, input_shape=(1, 8, 8), random_state=0, **kw)
        assert np.isfinite(value) and value > 0
        assert measure(net, images, y, random_state=0, **kw) == pytest.approx(value, rel=1e-12)
        assert measure(view, X, y, random_state=0, **kw) == pytest.approx(value, rel=1e-12)


def test_model_unchanged():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 3))
    net.train()
    X, y = _data(6)
    with torch.no_grad():
        net(torch.as_tensor(X))  # running statistics away from their defaults
    before = {k: v.clone() for k, v in net.state_dict().items()}
    for measure in MEASURES:
        kw = {"batch_size": 16} if measure is gradient_noise else {}
        assert np.isfinite(measure(net, X, y, random_state=0, **kw))
    assert net.training and all(m.training for m in net.modules())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.requires_grad and p.grad is None for p in net.parameters())
    assert all(p.dtype == torch.float32 for p in net.parameters())


# ------------------------------------------------------------------------------ parameters
@pytest.mark.parametrize(
    "measure, param, value",
    [
        (hessian_top_eigenvalue, "n_iter", 0),
        (hessian_top_eigenvalue, "n_iter", 2.5),
        (hessian_top_eigenvalue, "tol", -1e-3),
        (hessian_top_eigenvalue, "tol", float("nan")),
        (hessian_top_eigenvalue, "max_samples", 0),
        (hessian_trace, "n_probes", 0),
        (hessian_trace, "n_probes", "10"),
        (hessian_trace, "max_samples", -5),
        (hessian_trace, "return_std", "yes"),
        (gradient_noise, "batch_size", 0),
        (gradient_noise, "batch_size", 51),
        (gradient_noise, "n_batches", 0),
    ],
)
def test_bad_parameters(measure, param, value):
    net = _tiny(0)
    X, y = _data(0)
    with pytest.raises(ValueError, match=param):
        measure(net, X, y, **{param: value})


def test_validation_comes_first_and_data_is_needed():
    net = _tiny(0)
    X, y = _data(0)
    with pytest.raises(ValueError, match="n_probes"):
        hessian_trace(net, None, None, n_probes=0)
    for measure in MEASURES:
        with pytest.raises(ValueError, match="needs the data X and the labels y"):
            measure(net, X, None)
        with pytest.raises(ValueError, match="labels must be output indices"):
            measure(net, X, y + 3)
