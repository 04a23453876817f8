"""Tests for the worst-case sharpness measures (Keskar et al. 2017, Jiang et al. 2020).

Each check compares the projected gradient ascent with the definition computed another
way: the vertices of the box enumerated (a convex loss has its maximum at one), a dense
random search over the box, the perturbation the search returns re-applied to the
original network by hand, and a rescaling that leaves the network's function unchanged.
"""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from torch import nn

from sklearn_gen import NetworkClassifier
from sklearn_gen.measures._worst_case import (
    _worst_case,
    epsilon_sharpness,
    worst_case_sharpness,
)

# rel=1e-5 where two float32 computations of one quantity meet: float32 keeps ~7 digits
# and sums of a few hundred terms in another order (another CPU's vector width, another
# batch shape) move the last 1-2 of them; 1e-6 (pytest.approx's default) is too tight.

MEASURES = (epsilon_sharpness, worst_case_sharpness)


# ------------------------------------------------------------------------------ helpers
def _cross_entropy(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Mean cross-entropy along the last two axes: ``logits`` is ``(..., n, k)``."""
    top = logits.max(axis=-1, keepdims=True)
    log_z = np.log(np.exp(logits - top).sum(axis=-1)) + top[..., 0]
    picked = np.take_along_axis(logits, target[..., None], axis=-1)[..., 0]
    return (log_z - picked).mean(axis=-1)


def _phi(loss: float | np.ndarray, clean: float) -> float | np.ndarray:
    """Keskar et al.'s relative rise of the loss, in percent."""
    return 100.0 * (loss - clean) / (1.0 + clean)


def _logistic(seed: int) -> tuple[nn.Linear, np.ndarray, np.ndarray]:
    """Logistic regression as ``nn.Linear(2, 2)`` (6 parameters) on 12 random points."""
    rng = np.random.default_rng(seed)
    net = nn.Linear(2, 2)
    with torch.no_grad():
        net.weight.copy_(torch.as_tensor(rng.normal(size=(2, 2)), dtype=torch.float32))
        net.bias.copy_(torch.as_tensor(rng.normal(size=2), dtype=torch.float32))
    X = rng.normal(size=(12, 2)).astype(np.float32)
    return net, X, rng.integers(0, 2, size=12)


def _correct(module: nn.Module, X: np.ndarray, y: np.ndarray) -> int:
    """Samples ``module`` classifies correctly (a count: drops compare exactly)."""
    with torch.no_grad():
        predicted = module(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy()
    return int(np.sum(predicted == y))


def _perturbed(module: nn.Module, names: list[str], delta: list[torch.Tensor]) -> nn.Module:
    """A copy of ``module`` with ``delta`` added to its parameters, matched by name."""
    moved = copy.deepcopy(module)
    params = dict(moved.named_parameters())
    assert sorted(params) == sorted(names)
    with torch.no_grad():
        for name, d in zip(names, delta, strict=True):
            params[name].add_(d)
    return moved


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    net = NetworkClassifier("mlp", module__hidden=(8,), max_epochs=5, device="cpu", random_state=0)
    return net.fit(X, y)


# ------------------------------------------------------------------ (a) convex: vertices
@pytest.mark.parametrize(("epsilon", "n_restarts"), [(1e-3, 1), (1e-2, 1), (0.1, 4), (0.3, 4)])
@pytest.mark.parametrize("seed", range(4))
def test_epsilon_sharpness_matches_enumerated_vertices(seed, epsilon, n_restarts):
    """The cross-entropy of a linear model is convex in its 6 parameters, so its maximum
    over the box is at one of the 2^6 vertices: the ascent must reach 99% of the
    enumerated rise and never pass it. The slack above is float32 rounding: the ascent's
    network computes in float32, the enumeration in float64 (1e-6 in the loss). One start
    suffices where the box is small (the loss nearly linear in it); larger boxes have
    local maxima at other vertices, which 4 starts escape on these problems."""
    net, X, y = _logistic(seed)
    W = net.weight.detach().double().numpy()
    b = net.bias.detach().double().numpy()
    Xd = X.astype(np.float64)
    clean = float(_cross_entropy(Xd @ W.T + b, y))
    radius = epsilon * (np.abs(np.concatenate([W.ravel(), b])) + 1.0)
    signs = np.array(list(itertools.product((-1.0, 1.0), repeat=6)))  # (64, 6)
    moved = np.concatenate([W.ravel(), b]) + signs * radius
    logits = np.einsum("vij,nj->vni", moved[:, :4].reshape(-1, 2, 2), Xd) + moved[:, None, 4:]
    exact = _phi(float(_cross_entropy(logits, np.broadcast_to(y, (64, 12))).max()), clean)

    phi = epsilon_sharpness(net, X, y, epsilon=epsilon, n_restarts=n_restarts, random_state=0)
    assert exact > 0
    assert phi >= 0.99 * exact
    assert phi <= exact + 1e-4


# -------------------------------------------------------- (b) tiny MLP: random search
@pytest.mark.parametrize("epsilon", [0.01, 0.1, 0.5])
def test_ascent_beats_dense_random_search(epsilon):
    """On a ReLU network (not convex) the ascent's maximum is at least the best of 2,000
    random points of the box (1,000 uniform inside it and 1,000 random vertices)."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 3))
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    with torch.no_grad():
        y = net(torch.as_tensor(X)).argmax(1).numpy()
    y[:8] = rng.integers(0, 3, size=8)  # some misfit points too

    params = [p.detach().double().numpy() for p in net.parameters()]  # W1, b1, W2, b2
    flat = np.concatenate([p.ravel() for p in params])
    radius = epsilon * (np.abs(flat) + 1.0)
    unit = np.concatenate(
        [rng.uniform(-1.0, 1.0, size=(1000, flat.size)), rng.choice([-1.0, 1.0], (1000, flat.size))]
    )
    draws = flat + unit * radius
    sizes = np.cumsum([0] + [p.size for p in params])
    W1, b1, W2, b2 = (
        draws[:, sizes[i] : sizes[i + 1]].reshape(-1, *params[i].shape) for i in range(4)
    )
    Xd = X.astype(np.float64)
    hidden = np.maximum(np.einsum("dij,nj->dni", W1, Xd) + b1[:, None], 0.0)
    logits = np.einsum("dki,dni->dnk", W2, hidden) + b2[:, None]
    losses = _cross_entropy(logits, np.broadcast_to(y, (len(draws), len(y))))
    W1, b1, W2, b2 = params
    clean = float(_cross_entropy(np.maximum(Xd @ W1.T + b1, 0) @ W2.T + b2, y))
    best_random = _phi(float(losses.max()), clean)

    phi = epsilon_sharpness(net, X, y, epsilon=epsilon, random_state=0)
    assert best_random > 0
    assert phi >= best_random


# ------------------------------------------------ (c) the bisection straddles max_drop
@pytest.mark.parametrize("magnitude_aware", [False, True])
def test_alpha_straddles_max_drop(fitted, digits, magnitude_aware):
    """At ``alpha`` the worst perturbation found costs at most ``max_drop`` accuracy; at
    ``1.1 alpha`` (same random starts) more. The perturbations are re-applied by hand to
    the fitted network itself (not the measure's copy), and lie in the box."""
    X, y = digits[0][:300], digits[1][:300]
    settings = {"magnitude_aware": magnitude_aware, "random_state": 0}
    alpha = worst_case_sharpness(fitted, X, y, return_alpha=True, **settings)
    assert 0 < alpha < math.inf
    assert worst_case_sharpness(fitted, X, y, **settings) == pytest.approx(1 / alpha**2, rel=1e-5)

    problem = _worst_case(fitted, X, y, **settings)
    clean = _correct(fitted.module_, X, y)
    weights = dict(fitted.module_.named_parameters())
    drops = []
    for size in (alpha, 1.1 * alpha):
        drop, delta = problem.search(size)
        for name, d in zip(problem.ascent.names, delta, strict=True):
            w = weights[name].detach()
            half_width = size * w.abs() + 1e-3 if magnitude_aware else torch.full_like(w, size)
            assert torch.all(d.abs() <= half_width * (1 + 1e-6))
        moved = _perturbed(fitted.module_, problem.ascent.names, delta)
        by_hand = (clean - _correct(moved, X, y)) / len(y)
        assert by_hand == drop
        drops.append(by_hand)
    assert drops[0] <= 0.1 < drops[1]


# ------------------------------------------------------ (d) magnitude-aware invariance
def test_magnitude_aware_alpha_invariant_to_layer_rescaling(fitted, digits):
    """Multiplying the hidden layer (weights and bias) by ``c`` and the output weights by
    ``1 / c`` leaves a ReLU network's function unchanged. With ``eps=0`` the
    magnitude-aware box scales with the weights, the ascent's normalized iterates are the
    same, and so is ``alpha``: tolerance one bisection bracket (1%), only for float32
    rounding flipping a borderline sample (equal to the last bit here). The plain box does
    not scale: its ``alpha`` moves by more than 30% (to 0.30 times its value here)."""
    X, y = digits[0][:300], digits[1][:300]

    def alphas(c: float) -> tuple[float, float]:
        net = copy.deepcopy(fitted.module_)
        with torch.no_grad():
            net[1].weight.mul_(c)
            net[1].bias.mul_(c)
            net[3].weight.div_(c)
        common = {"input_shape": (64,), "random_state": 0, "return_alpha": True}
        mag = worst_case_sharpness(net, X, y, magnitude_aware=True, eps=0.0, **common)
        return mag, worst_case_sharpness(net, X, y, **common)

    mag_1, plain_1 = alphas(1.0)
    mag_c, plain_c = alphas(0.25)
    assert mag_c == pytest.approx(mag_1, rel=0.01)
    assert abs(plain_c / plain_1 - 1) > 0.3


# ---------------------------------------------------------------- (e) real networks
def test_measures_on_fitted_network_wrappers_and_raw_module(fitted, digits):
    """A fitted NetworkClassifier, the same network after a Pipeline's transform, and its
    raw module with ``input_shape`` give the same values."""
    X, y = digits
    X_raw = X.astype(np.float64) * 16  # the pipeline divides by 16 again
    pipe = make_pipeline(FunctionTransformer(lambda Z: Z / 16).fit(X_raw), fitted)
    cases = [
        (epsilon_sharpness, {"random_state": 0}),
        (worst_case_sharpness, {"random_state": 0, "max_samples": 400}),
        (worst_case_sharpness, {"random_state": 0, "max_samples": 400, "magnitude_aware": True}),
    ]
    values = []
    for measure, kwargs in cases:
        value = measure(fitted, X, y, **kwargs)
        assert 0 < value < math.inf
        assert measure(pipe, X_raw, y, **kwargs) == value
        assert measure(fitted.module_, X, y, input_shape=(64,), **kwargs) == value
        values.append(value)
    # Keskar's sharpness grows with the box; the magnitude-aware box is another alpha
    assert epsilon_sharpness(fitted, X, y, epsilon=1e-2, random_state=0) > values[0]
    assert values[1] != values[2]


def test_deterministic_given_random_state():
    net, X, y = _logistic(0)
    X, y = np.tile(X, (5, 1)), np.tile(y, 5)
    for measure in MEASURES:
        first = measure(net, X, y, random_state=3)
        assert measure(net, X, y, random_state=3) == first
        assert measure(net, X, y, random_state=np.random.RandomState(3)) == measure(
            net, X, y, random_state=np.random.RandomState(3)
        )


def test_network_at_chance_is_infinitely_flat():
    """Constant outputs: the accuracy (one class in ten) is within max_drop of chance, so
    alpha is infinite and the sharpness 0, as for pac_bayes_flatness."""
    net = nn.Sequential(nn.Linear(4, 10))
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].bias.zero_()
    X = np.random.default_rng(0).normal(size=(50, 4))
    y = np.arange(50) % 10
    assert worst_case_sharpness(net, X, y, return_alpha=True) == math.inf
    assert worst_case_sharpness(net, X, y) == 0.0


def test_model_unchanged():
    """Parameters, buffers, train mode and requires_grad of the model passed in stay as
    they were (batch norm and dropout in train mode would change them otherwise)."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3)
    )
    net[1].running_mean.normal_()
    net.train()
    X = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    with torch.no_grad():
        y = net.eval()(torch.as_tensor(X)).argmax(1).numpy()
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    for measure in MEASURES:
        measure(net, X, y, random_state=0)
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(m.training for m in net.modules())
    assert all(p.requires_grad and p.grad is None for p in net.parameters())


@pytest.mark.parametrize("measure", MEASURES)
@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("n_steps", 0),
        ("n_steps", 2.5),
        ("n_restarts", 0),
        ("max_samples", 0),
        ("random_state", -1),
        ("random_state", "a"),
    ],
)
def test_bad_common_params(measure, param, value):
    net, X, y = _logistic(0)
    with pytest.raises(ValueError, match=param):
        measure(net, X, y, **{param: value})


@pytest.mark.parametrize(
    ("measure", "param", "value"),
    [
        (epsilon_sharpness, "epsilon", 0.0),
        (epsilon_sharpness, "epsilon", -1e-3),
        (epsilon_sharpness, "epsilon", math.inf),
        (worst_case_sharpness, "max_drop", 0.0),
        (worst_case_sharpness, "max_drop", 1.5),
        (worst_case_sharpness, "eps", -1.0),
        (worst_case_sharpness, "magnitude_aware", "yes"),
        (worst_case_sharpness, "return_alpha", 1),
    ],
)
def test_bad_params(measure, param, value):
    net, X, y = _logistic(0)
    with pytest.raises(ValueError, match=param):
        measure(net, X, y, **{param: value})


@pytest.mark.parametrize("measure", MEASURES)
def test_bad_data(measure):
    net, X, y = _logistic(0)
    with pytest.raises(ValueError, match="labels"):
        measure(net, X, y[:-1])
    with pytest.raises(ValueError, match="needs the labels"):
        measure(net, X)
    with pytest.raises(ValueError, match="needs the data"):
        measure(net, None, y, input_shape=(2,))
    with pytest.raises(ValueError, match="output indices"):
        measure(net, X, y + 2)
