"""Tests for margins, normalized loss, margin bounds and kernel measures."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.metrics.pairwise import polynomial_kernel
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from torch import nn

from sklearn_gen import KernelInterpolator, LabelNoise, NetworkClassifier
from sklearn_gen.measures import UndefinedMeasureError
from sklearn_gen.measures._bounds import pac_bayes_bound, spectral_bound
from sklearn_gen.measures._kernel import kernel_margin_bound, rkhs_norm
from sklearn_gen.measures._margins import margin_quantile, margins
from sklearn_gen.measures._normalized_loss import normalized_error, normalized_loss
from sklearn_gen.networks.architectures import MLP, ConvNet, SmallInception

# rel=1e-5 where two float32 computations of one quantity meet: float32 keeps ~7 digits
# and sums of a few hundred terms in another order (another CPU's vector width, another
# batch shape) move the last 1-2 of them; 1e-6 (pytest.approx's default) is too tight.

BOUNDS = (spectral_bound, pac_bayes_bound)


# ------------------------------------------------------------------------------ helpers
class _Fitted:
    """A stand-in for a fitted network estimator with fixed weights."""

    def __init__(self, module, input_shape, classes, initial=None):
        self.module_ = module
        self.input_shape_ = tuple(input_shape)
        self.classes_ = np.asarray(classes)
        if initial is not None:
            self.initial_params_ = initial


def _two_layer(seed: int = 0, bias: bool = True) -> tuple[_Fitted, dict]:
    """Linear(3, 4) -> ReLU -> Linear(4, 3) with fixed weights and fixed initial weights."""
    rng = np.random.default_rng(seed)
    params = {
        "W1": rng.normal(size=(4, 3)),
        "b1": rng.normal(size=4) if bias else None,
        "W2": rng.normal(size=(3, 4)),
        "b2": rng.normal(size=3) if bias else None,
        "W1_0": rng.normal(size=(4, 3)),
        "W2_0": rng.normal(size=(3, 4)),
    }
    params = {
        k: None if v is None else v.astype(np.float32).astype(np.float64) for k, v in params.items()
    }
    net = nn.Sequential(nn.Linear(3, 4, bias=bias), nn.ReLU(), nn.Linear(4, 3, bias=bias))
    with torch.no_grad():
        net[0].weight.copy_(torch.as_tensor(params["W1"]))
        net[2].weight.copy_(torch.as_tensor(params["W2"]))
        if bias:
            net[0].bias.copy_(torch.as_tensor(params["b1"]))
            net[2].bias.copy_(torch.as_tensor(params["b2"]))
    initial = {k: v.clone() for k, v in net.state_dict().items()}
    initial["0.weight"] = torch.as_tensor(params["W1_0"], dtype=torch.float32)
    initial["2.weight"] = torch.as_tensor(params["W2_0"], dtype=torch.float32)
    return _Fitted(net, (3,), ["a", "b", "c"], initial), params


def _forward(params: dict, X: np.ndarray, W1=None, b1=None, W2=None, b2=None) -> np.ndarray:
    W1 = params["W1"] if W1 is None else W1
    W2 = params["W2"] if W2 is None else W2
    b1 = params["b1"] if b1 is None else b1
    b2 = params["b2"] if b2 is None else b2
    hidden = X @ W1.T + (0 if b1 is None else b1)
    return np.maximum(hidden, 0) @ W2.T + (0 if b2 is None else b2)


def _hand_margins(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    out = []
    for row, t in zip(logits, target, strict=True):
        others = [v for k, v in enumerate(row) if k != t]
        out.append(row[t] - max(others))
    return np.array(out)


def _cross_entropy(logits: np.ndarray, target: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1)) + logits.max(axis=1)
    return float(np.mean(log_z - logits[np.arange(len(target)), target]))


@pytest.fixture(scope="module")
def sample():
    """The fixed two-layer net, its weights, and a sample labelled by its predictions."""
    est, params = _two_layer()
    X = np.random.default_rng(1).normal(size=(40, 3)).astype(np.float32).astype(np.float64)
    target = _forward(params, X).argmax(axis=1)
    return est, params, X, est.classes_[target], target


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def _net(**params) -> NetworkClassifier:
    settings = {"module__hidden": (32,), "max_epochs": 8, "lr": 0.1, "device": "cpu"}
    settings.update(params)
    return NetworkClassifier("mlp", random_state=0, **settings)


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return _net().fit(X, y)


# ------------------------------------------------------------------------------ margins
def test_margins_by_hand(sample):
    est, params, X, y, _ = sample
    labels = np.array(["a", "b", "c"])[np.arange(len(X)) % 3]  # also misclassified points
    expected = _hand_margins(_forward(params, X), np.arange(len(X)) % 3)
    np.testing.assert_allclose(margins(est, X, labels), expected, rtol=1e-5, atol=1e-5)
    assert (margins(est, X, y) > 0).all()


def test_margin_quantile_definition(sample):
    est, _, X, _, _ = sample
    labels = np.array(["a", "b", "c"])[np.arange(len(X)) % 3]
    values = np.sort(margins(est, X, labels))
    for q in (0.0, 0.1, 0.37, 0.5, 1.0):
        gamma = margin_quantile(est, X, labels, q=q)
        assert gamma == values[math.floor(q * (len(values) - 1))]
        assert np.mean(values >= gamma) >= 1 - q
    assert margin_quantile(est, X, labels) == values[math.floor(0.1 * (len(values) - 1))]


@pytest.mark.parametrize("q", [-0.1, 1.5, "0.1", True, float("nan")])
def test_margin_quantile_bad_q(sample, q):
    est, _, X, y, _ = sample
    with pytest.raises(ValueError, match="q must be"):
        margin_quantile(est, X, y, q=q)


@pytest.mark.parametrize(
    "measure",
    [margins, margin_quantile, normalized_loss, normalized_error, *BOUNDS],
)
def test_measures_need_data(sample, measure):
    est, _, X, y, _ = sample
    with pytest.raises(ValueError, match="y is missing"):
        measure(est, X, None)
    with pytest.raises(ValueError, match=r"X and y is missing|X is missing"):
        measure(est, None, y)


def test_margins_refuse_unknown_labels(sample):
    est, _, X, _, _ = sample
    with pytest.raises(ValueError, match="labels"):
        margins(est, X, np.array(["z"] * len(X)))


# ------------------------------------------------------------------------------ normalized loss
@pytest.mark.parametrize("biases", ["auto", "cumulative", "own"])
def test_normalized_loss_by_hand(sample, biases):
    est, p, X, y, target = sample
    # first layer: weight and bias jointly; second: the weight by its norm, the bias by the
    # product of both norms (cumulative; 'auto' on a chain) or by its own norm
    joint = math.sqrt(np.sum(p["W1"] ** 2) + np.sum(p["b1"] ** 2))
    rho2 = np.linalg.norm(p["W2"])
    logits = _forward(
        p,
        X,
        W1=p["W1"] / joint,
        b1=p["b1"] / joint,
        W2=p["W2"] / rho2,
        b2=p["b2"] / (np.linalg.norm(p["b2"]) if biases == "own" else joint * rho2),
    )
    loss = normalized_loss(est, X, y, biases=biases)
    assert loss == pytest.approx(_cross_entropy(logits, target), rel=1e-6)
    error = float(np.mean(logits.argmax(axis=1) != target))
    assert normalized_error(est, X, y, biases=biases) == pytest.approx(error, rel=1e-5)
    if biases != "own":  # the network divided by joint * rho2: the same predictions
        assert error == float(np.mean(_forward(p, X).argmax(axis=1) != target))


def test_normalized_loss_l1_divided_by_100(sample):
    est, p, X, y, target = sample
    joint = np.abs(p["W1"]).sum() + np.abs(p["b1"]).sum()
    c = 100.0
    logits = _forward(
        p,
        X,
        W1=p["W1"] * c / joint,
        b1=p["b1"] * c / joint,
        W2=p["W2"] * c / np.abs(p["W2"]).sum(),
        b2=p["b2"] * (c / joint) * (c / np.abs(p["W2"]).sum()),
    )
    expected = _cross_entropy(logits, target)
    # the network's float32 logits, scaled: logits of some hundreds, a loss near 0.007, so
    # float32 rounding (about 1e-5 relative here) bounds the agreement
    assert normalized_loss(est, X, y, norm=1, divide_by=c) == pytest.approx(expected, rel=5e-5)
    assert normalized_loss(est, X, y, norm="l1", divide_by=c) == pytest.approx(expected, rel=5e-5)


def test_normalized_loss_spectral_by_hand(sample):
    est, p, X, y, target = sample
    joint = math.sqrt(np.linalg.norm(p["W1"], 2) ** 2 + np.sum(p["b1"] ** 2))
    logits = _forward(
        p,
        X,
        W1=p["W1"] / joint,
        b1=p["b1"] / joint,
        W2=p["W2"] / np.linalg.norm(p["W2"], 2),
        b2=p["b2"] / (joint * np.linalg.norm(p["W2"], 2)),
    )
    expected = _cross_entropy(logits, target)
    assert normalized_loss(est, X, y, norm="spectral") == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    ("param", "value"), [("norm", 0.5), ("norm", "nuc"), ("divide_by", 0), ("method", "svd")]
)
def test_normalized_loss_bad_params(sample, param, value):
    est, _, X, y, _ = sample
    with pytest.raises(ValueError, match=param):
        normalized_loss(est, X, y, **{param: value})


def _deep_chain(bias: bool) -> nn.Sequential:
    torch.manual_seed(3)
    net = nn.Sequential(
        nn.Linear(5, 6, bias=bias),
        nn.ReLU(),
        nn.Linear(6, 6, bias=bias),
        nn.ReLU(),
        nn.Linear(6, 4, bias=bias),
    )
    net.input_shape = (5,)
    return net


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("norm", ["fro", 1, "spectral"])
def test_normalized_loss_invariant_to_rescaling(bias, norm):
    X = np.random.default_rng(0).normal(size=(30, 5))
    net = _deep_chain(bias)
    y = np.random.default_rng(1).integers(0, 4, size=30)
    scaled = _deep_chain(bias)
    c = 7.5
    with torch.no_grad():  # layer 0 (weight and bias) times c, layer 2 times 1/c: same function
        scaled[0].weight.mul_(c)
        if bias:
            scaled[0].bias.mul_(c)
        scaled[2].weight.div_(c)
    x = torch.as_tensor(X, dtype=torch.float32)
    torch.testing.assert_close(scaled(x), net(x), rtol=1e-5, atol=1e-5)
    assert normalized_loss(scaled, X, y, norm=norm) == pytest.approx(
        normalized_loss(net, X, y, norm=norm), rel=1e-5
    )
    assert normalized_error(scaled, X, y, norm=norm) == normalized_error(net, X, y, norm=norm)


def test_normalized_error_is_error_without_biases():
    net = _deep_chain(bias=False)
    X = np.random.default_rng(0).normal(size=(50, 5))
    y = np.random.default_rng(1).integers(0, 4, size=50)
    with torch.no_grad():
        error = float((net(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy() != y).mean())
    for norm in ("fro", 2.5, np.inf, "spectral"):
        assert normalized_error(net, X, y, norm=norm, divide_by=3.0) == error


def _batch_norm_pair():
    """An MLP with trained-looking batch norm statistics, and the same MLP folded by hand."""
    torch.manual_seed(5)
    net = MLP(5, 3, hidden=(6,), batch_norm=True)
    bn = net[2]
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2.0)
        bn.bias.normal_()
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 3.0)
    net.eval()
    folded = MLP(5, 3, hidden=(6,))
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    with torch.no_grad():
        folded[1].weight.copy_(net[1].weight * scale[:, None])
        folded[1].bias.copy_((net[1].bias - bn.running_mean) * scale + bn.bias)
        folded[3].weight.copy_(net[4].weight)
        folded[3].bias.copy_(net[4].bias)
    return net, folded


def test_normalized_loss_folds_batch_norm():
    net, folded = _batch_norm_pair()
    X = np.random.default_rng(0).normal(size=(30, 5))
    y = np.random.default_rng(1).integers(0, 3, size=30)
    x = torch.as_tensor(X, dtype=torch.float32)
    torch.testing.assert_close(net(x), folded(x), rtol=1e-5, atol=1e-5)
    for norm in ("fro", 1, "spectral"):
        assert normalized_loss(net, X, y, norm=norm) == pytest.approx(
            normalized_loss(folded, X, y, norm=norm), rel=1e-5
        )


def test_normalized_loss_on_conv_and_branching_networks():
    X = np.random.default_rng(0).random(size=(6, 64))
    y = np.arange(6) % 3
    torch.manual_seed(0)
    conv = ConvNet((1, 8, 8), 3, width=4, kernel_size=3, batch_norm=True).eval()
    loss = normalized_loss(conv, X, y)
    assert np.isfinite(loss) and loss > 0
    assert 0.0 <= normalized_error(conv, X, y, norm="spectral", method="reshape") <= 1.0
    assert np.isfinite(normalized_loss(conv, X, y, norm="spectral"))
    # the Inception branches cross different layers: dividing each layer by its norm
    # weighs the branches of a concatenation differently, no rescaling of the network
    inception = SmallInception((1, 8, 8), 3).eval()
    for measure in (normalized_loss, normalized_error):
        with pytest.raises(UndefinedMeasureError, match=r"torch.cat.*branch1x1.*branch3x3"):
            measure(inception, X, y)


# ------------------------------------------------------------------------------ bounds
def _hand_setup(p, X, target, q):
    gamma = np.sort(_hand_margins(_forward(p, X), target))[math.floor(q * (len(X) - 1))]
    radius = np.linalg.norm(X, axis=1).max()
    sigmas = [np.linalg.norm(p["W1"], 2), np.linalg.norm(p["W2"], 2)]
    return gamma, radius, sigmas


@pytest.mark.parametrize("reference", ["init", "zero"])
@pytest.mark.parametrize("q", [0.0, 0.1, 0.3])
def test_spectral_bound_by_hand(sample, reference, q):
    est, p, X, y, target = sample
    gamma, radius, (s1, s2) = _hand_setup(p, X, target, q)
    d1 = p["W1"] - (p["W1_0"] if reference == "init" else 0)
    d2 = p["W2"] - (p["W2_0"] if reference == "init" else 0)
    l21 = [np.linalg.norm(d1, axis=1).sum(), np.linalg.norm(d2, axis=1).sum()]
    lip = radius * s1 * s2 / (gamma * math.sqrt(len(X)))
    expected = lip * ((l21[0] / s1) ** (2 / 3) + (l21[1] / s2) ** (2 / 3)) ** 1.5
    bound = spectral_bound(est, X, y, q=q, reference=reference)
    assert bound == pytest.approx(expected, rel=1e-4)  # float32 forward pass
    with_constants = spectral_bound(est, X, y, q=q, reference=reference, with_constants=True)
    # W: the largest layer input/output size, here the hidden width 4
    assert with_constants == pytest.approx(expected * 72 * math.log(8) * math.log(len(X)), 1e-4)


@pytest.mark.parametrize("reference", ["init", "zero"])
def test_pac_bayes_bound_by_hand(sample, reference):
    est, p, X, y, target = sample
    gamma, radius, (s1, s2) = _hand_setup(p, X, target, 0.1)
    d1 = p["W1"] - (p["W1_0"] if reference == "init" else 0)
    d2 = p["W2"] - (p["W2_0"] if reference == "init" else 0)
    depth, width = 2, 4
    lip = radius * s1 * s2 / (gamma * math.sqrt(len(X)))
    ratio = math.sqrt(np.sum(d1**2) / s1**2 + np.sum(d2**2) / s2**2)
    expected = lip * depth * math.sqrt(width) * ratio
    assert pac_bayes_bound(est, X, y, reference=reference) == pytest.approx(expected, rel=1e-5)
    assert pac_bayes_bound(est, X, y, reference=reference, with_constants=True) == pytest.approx(
        expected * math.sqrt(math.log(depth * width)), rel=1e-5
    )


@pytest.mark.parametrize("bound", BOUNDS)
def test_bounds_ignore_biases_and_fold_batch_norm(bound):
    net, folded = _batch_norm_pair()
    X = np.random.default_rng(0).normal(size=(30, 5))
    with torch.no_grad():
        y = folded(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy()
    value = bound(net, X, y, reference="zero", q=0.0)
    assert value == pytest.approx(bound(folded, X, y, reference="zero", q=0.0), rel=1e-5)


@pytest.mark.parametrize("bound", BOUNDS)
def test_bounds_on_conv_chain_by_hand(bound):
    torch.manual_seed(0)
    net = ConvNet((1, 6, 6), 3, width=4, kernel_size=3)
    X = np.random.default_rng(0).random(size=(12, 36))
    with torch.no_grad():
        y = net(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy()
    weights = [
        m.weight.detach().double().reshape(m.weight.shape[0], -1).numpy()
        for m in net
        if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    sigmas = [np.linalg.norm(w, 2) for w in weights]
    with torch.no_grad():
        logits = net(torch.as_tensor(X, dtype=torch.float32)).double().numpy()
    gamma = np.sort(_hand_margins(logits, y))[math.floor(0.1 * 11)]
    lip = np.linalg.norm(X, axis=1).max() * np.prod(sigmas) / (gamma * math.sqrt(12))
    if bound is spectral_bound:
        ratios = [np.linalg.norm(w, axis=1).sum() / s for w, s in zip(weights, sigmas, strict=True)]
        expected = lip * sum(r ** (2 / 3) for r in ratios) ** 1.5
    else:
        ratios = [np.sum(w**2) / s**2 for w, s in zip(weights, sigmas, strict=True)]
        expected = lip * 3 * math.sqrt(4) * math.sqrt(sum(ratios))  # d = 3, h = 4 channels
    value = bound(net, X, y, reference="zero", conv="kernel", method="reshape")
    assert value == pytest.approx(expected, rel=1e-4)
    exact = bound(net, X, y, reference="zero")  # conv operator norms differ from reshaped ones
    assert np.isfinite(exact) and exact > 0


@pytest.mark.parametrize("bound", BOUNDS)
def test_bounds_refuse_non_positive_margin(sample, bound):
    est, _, X, _, target = sample
    wrong = est.classes_[(target + 1) % 3]  # every point misclassified
    with pytest.raises(ValueError, match="margin quantile"):
        bound(est, X, wrong)


@pytest.mark.parametrize("bound", BOUNDS)
@pytest.mark.parametrize(
    ("param", "value"),
    [("q", 2.0), ("reference", "start"), ("method", "power"), ("quantile_method", "mid")],
)
def test_bounds_bad_params(sample, bound, param, value):
    est, _, X, y, _ = sample
    with pytest.raises(ValueError, match=param):
        bound(est, X, y, **{param: value})


@pytest.mark.parametrize("bound", BOUNDS)
def test_bounds_need_initial_weights(bound):
    net = _deep_chain(bias=True)
    X = np.random.default_rng(0).normal(size=(10, 5))
    with torch.no_grad():
        y = net(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy()
    with pytest.raises(ValueError, match=f"{bound.__name__} needs the initial weights"):
        bound(net, X, y)
    assert bound(net, X, y, reference="zero") > 0


@pytest.mark.parametrize("bound", BOUNDS)
def test_bounds_refuse_branching_networks(bound):
    net = SmallInception((1, 8, 8), 3).eval()
    X = np.random.default_rng(0).random(size=(4, 64))
    with pytest.raises(UndefinedMeasureError, match=f"{bound.__name__} is defined for chain"):
        bound(net, X, np.zeros(4, dtype=int), reference="zero")


# ------------------------------------------------------------------------------ real networks
def test_measures_on_fitted_network(fitted, digits):
    X, y = digits
    for bound in BOUNDS:
        for reference in ("init", "zero"):
            value = bound(fitted, X, y, reference=reference)
            assert np.isfinite(value) and value > 0
    assert spectral_bound(fitted, X, y) < spectral_bound(fitted, X, y, with_constants=True)
    assert np.isfinite(normalized_loss(fitted, X, y))
    # the MLP has biases after the first layer: the normalized error may differ
    assert 0.0 <= normalized_error(fitted, X, y) <= 1.0
    target = np.searchsorted(fitted.classes_, y)
    hand = _hand_margins(fitted.logits(X).astype(np.float64), target)
    np.testing.assert_allclose(margins(fitted, X, y), hand, rtol=1e-5, atol=1e-5)
    assert margin_quantile(fitted, X, y) > 0


def test_measures_through_wrappers(digits):
    X, y = digits
    noisy = LabelNoise(_net(), p=0.1, random_state=0).fit(X, y)
    scale = FunctionTransformer(lambda Z: 2.0 * Z - 1.0)
    pipe = make_pipeline(scale, _net()).fit(X, y)
    grid = GridSearchCV(_net(), {"lr": [0.1]}, cv=2).fit(X, y)
    cases = [
        (noisy, noisy.estimator_, X),
        (pipe, pipe[-1], 2.0 * X - 1.0),
        (grid, grid.best_estimator_, X),
    ]
    for wrapper, inner, inner_X in cases:
        for measure in (*BOUNDS, normalized_loss, normalized_error, margin_quantile):
            kwargs = {"q": 0.3} if measure in (*BOUNDS, margin_quantile) else {}
            assert measure(wrapper, X, y, **kwargs) == pytest.approx(
                measure(inner, inner_X, y, **kwargs), rel=1e-6
            )


# ------------------------------------------------------------------------------ kernels
@pytest.fixture(scope="module")
def kernel_data(digits):
    X, y = digits
    return X[:150].astype(np.float64), y[:150]


def test_rkhs_norm(kernel_data):
    X, y = kernel_data
    clf = KernelInterpolator(gamma=0.02, device="cpu").fit(X, y)
    assert rkhs_norm(clf) == clf.rkhs_norm_
    assert rkhs_norm(clf, X, y) == clf.rkhs_norm_
    noisy = LabelNoise(KernelInterpolator(gamma=0.02, device="cpu"), p=0.5, random_state=0)
    noisy.fit(X, y)
    assert rkhs_norm(noisy) == noisy.estimator_.rkhs_norm_
    pipe = make_pipeline(StandardScaler(), KernelInterpolator(device="cpu")).fit(X, y)
    assert rkhs_norm(pipe) == pipe[-1].rkhs_norm_
    with pytest.raises(TypeError, match="rkhs_norm needs a fitted KernelInterpolator"):
        rkhs_norm(MLP(4, 2))


@pytest.mark.parametrize("kernel", ["rbf", "polynomial"])
def test_kernel_margin_bound_by_hand(kernel_data, kernel):
    X, y = kernel_data
    params = {"gamma": 0.02} if kernel == "rbf" else {"gamma": 0.05, "degree": 2}
    clf = KernelInterpolator(kernel, device="cpu", dtype="float64", **params).fit(X[:100], y[:100])
    sample, labels = X[80:150], y[80:150]  # part training, part held out
    scores = clf.decision_function(sample)
    target = np.searchsorted(clf.classes_, labels)
    hand = _hand_margins(scores, target)
    np.testing.assert_allclose(margins(clf, sample, labels), hand, rtol=1e-9, atol=1e-12)
    q = 0.3
    gamma = np.sort(hand)[math.floor(q * (len(hand) - 1))]
    assert gamma > 0
    if kernel == "rbf":
        trace = float(len(sample))
    else:
        trace = float(np.trace(polynomial_kernel(sample, gamma=0.05, degree=2, coef0=1.0)))
    expected = clf.rkhs_norm_ * math.sqrt(trace) / (gamma * len(sample))
    assert kernel_margin_bound(clf, sample, labels, q=q) == pytest.approx(expected, rel=1e-9)


def test_kernel_margin_bound_two_classes_and_wrappers(kernel_data):
    X, y = kernel_data
    keep = np.isin(y, [3, 8])
    X2, y2 = X[keep], np.where(y[keep] == 3, "three", "eight")
    clf = KernelInterpolator("linear", device="cpu", dtype="float64").fit(X2, y2)
    d = clf.decision_function(X2)
    assert d.ndim == 1
    hand = np.where(y2 == clf.classes_[1], d, -d)
    np.testing.assert_allclose(margins(clf, X2, y2), hand, rtol=1e-9, atol=1e-9)
    gamma = np.sort(hand)[math.floor(0.1 * (len(hand) - 1))]
    expected = clf.rkhs_norm_ * math.sqrt(np.sum(X2**2)) / (gamma * len(X2))
    assert kernel_margin_bound(clf, X2, y2) == pytest.approx(expected, rel=1e-6)

    pipe = make_pipeline(StandardScaler(), KernelInterpolator(gamma=0.01, device="cpu"))
    pipe.fit(X, y)
    inner_X = pipe[0].transform(X)
    assert kernel_margin_bound(pipe, X, y) == pytest.approx(
        kernel_margin_bound(pipe[-1], inner_X, y), rel=1e-12
    )
    assert margin_quantile(pipe, X, y) == margin_quantile(pipe[-1], inner_X, y)


def test_kernel_margin_bound_errors(kernel_data):
    X, y = kernel_data
    clf = KernelInterpolator(gamma=0.02, device="cpu").fit(X[:60], y[:60])
    with pytest.raises(ValueError, match="margin quantile"):
        kernel_margin_bound(clf, X[:60], (y[:60] + 1) % 10)
    with pytest.raises(ValueError, match="q must be"):
        kernel_margin_bound(clf, X[:60], y[:60], q=-1)
    with pytest.raises(ValueError, match="y is missing"):
        kernel_margin_bound(clf, X[:60], None)
    pre = KernelInterpolator("precomputed", device="cpu")
    K = np.exp(-0.02 * ((X[:60, None] - X[None, :60]) ** 2).sum(-1))
    pre.fit(K, y[:60])
    with pytest.raises(ValueError, match="precomputed"):
        kernel_margin_bound(pre, K, y[:60])
    with pytest.raises(TypeError, match="kernel_margin_bound needs a fitted"):
        kernel_margin_bound(MLP(4, 2), X[:5, :4], y[:5])


def test_margins_of_bare_module_need_output_indices():
    net = _deep_chain(bias=False)
    X = np.zeros((3, 5))
    with pytest.raises(ValueError, match=r"output indices in \[0, 4\)"):
        margins(net, X, [0, 1, 4])


# ------------------------------------------------------------------------------ conv operators
def _dense_operator(weight: torch.Tensor, conv: nn.Conv2d | None, shape) -> np.ndarray:
    """The matrix of a layer's linear map (no bias) at input ``shape``: column j = A e_j."""
    weight = weight.detach().double()
    if conv is None:
        return weight.numpy()
    n = int(np.prod(shape))
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *shape)
    images = nn.functional.conv2d(basis, weight, None, conv.stride, conv.padding)
    return images.reshape(n, -1).numpy().T


def _operator_chain(seed: int = 0) -> nn.Sequential:
    """Four convs (stride 1 and 2, padding 0 and 1), a batch norm to fold, a linear layer."""
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(2, 3, 3, stride=1, padding=0),  # (2, 9, 9) -> (3, 7, 7)
        nn.BatchNorm2d(3),
        nn.ReLU(),
        nn.Conv2d(3, 4, 3, stride=1, padding=1),  # -> (4, 7, 7)
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, stride=2, padding=1),  # -> (4, 4, 4)
        nn.ReLU(),
        nn.Conv2d(4, 3, 2, stride=2, padding=0),  # -> (3, 2, 2)
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(12, 3),
    )
    with torch.no_grad():
        bn = net[1]
        bn.running_mean.copy_(torch.tensor([0.1, -0.2, 0.3]))
        bn.running_var.copy_(torch.tensor([0.5, 2.0, 1.5]))
        bn.weight.copy_(torch.tensor([1.5, 0.7, -1.2]))
        bn.bias.copy_(torch.tensor([0.2, 0.0, -0.1]))
    return net.eval()


def _dense_chain(net: nn.Sequential, state: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    """(matrix, bias) of each weight layer at its input shape, batch norm folded by hand."""
    bn = net[1]
    scale = (state["1.weight"] / torch.sqrt(state["1.running_var"] + bn.eps)).double()
    shift = state["1.bias"].double() - state["1.running_mean"].double() * scale
    shapes = [(2, 9, 9), (3, 7, 7), (4, 7, 7), (4, 4, 4), None]
    layers = []
    for index, shape in zip((0, 3, 5, 7, 10), shapes, strict=True):
        weight, bias = state[f"{index}.weight"].double(), state[f"{index}.bias"].double()
        if index == 0:
            weight, bias = weight * scale[:, None, None, None], bias * scale + shift
        matrix = _dense_operator(weight, net[index] if shape else None, shape)
        out = matrix.shape[0] // len(bias)
        layers.append((matrix, np.repeat(bias.numpy(), out)))  # channel-major bias
    return layers


@pytest.mark.parametrize("reference", ["zero", "init"])
@pytest.mark.parametrize("q", [0.0, 0.2])
def test_operator_bounds_match_dense_matrices(reference, q):
    net = _operator_chain()
    start = {k: v.clone() for k, v in _operator_chain(seed=1).state_dict().items()}
    X = np.random.default_rng(0).normal(size=(25, 2 * 81))
    dense = _dense_chain(net, net.state_dict())
    dense0 = _dense_chain(net, start)
    # float64 forward pass through the dense matrices: the margins
    hidden = X
    for i, (matrix, bias) in enumerate(dense):
        hidden = hidden @ matrix.T + bias
        if i < len(dense) - 1:
            hidden = np.maximum(hidden, 0.0)
    y = hidden.argmax(axis=1)
    m = len(X)
    gamma = np.sort(_hand_margins(hidden, y))[math.floor(q * (m - 1))]
    radius = np.linalg.norm(X, axis=1).max()
    deltas = [
        a - (a0 if reference == "init" else 0.0)
        for (a, _), (a0, _) in zip(dense, dense0, strict=True)
    ]
    sigmas = [np.linalg.svd(a, compute_uv=False)[0] for a, _ in dense]
    lip = radius * np.prod(sigmas) / (gamma * math.sqrt(m))
    l21 = [np.linalg.norm(d, axis=1).sum() for d in deltas]
    fro2 = [np.sum(d**2) for d in deltas]
    units = [a.shape[0] for a, _ in dense]  # 147, 196, 64, 12, 3
    assert max(units) == 196
    bartlett = lip * sum((n / s) ** (2 / 3) for n, s in zip(l21, sigmas, strict=True)) ** 1.5
    neyshabur = (
        lip
        * 5
        * math.sqrt(max(units))
        * math.sqrt(sum(f / s**2 for f, s in zip(fro2, sigmas, strict=True)))
    )
    est = _Fitted(net, (2, 9, 9), [0, 1, 2], initial=start)
    params = dict(q=q, reference=reference)
    # the bounds divide by a margin of the network's float32 logits (~0.08 out of logits up
    # to ~0.25, sums of up to 36 products per layer): 2e-7 to 6e-7 off the float64 one,
    # depending on the CPU's SIMD width; rel=1e-5 leaves room for that
    assert spectral_bound(est, X, y, **params) == pytest.approx(bartlett, rel=1e-5)
    assert pac_bayes_bound(est, X, y, **params) == pytest.approx(neyshabur, rel=1e-5)
    # the explicit constants: W = the largest layer input or output (4 * 7 * 7 = 196)
    widest = max(max(a.shape) for a, _ in dense)
    assert spectral_bound(est, X, y, with_constants=True, **params) == pytest.approx(
        bartlett * 72 * math.log(2 * widest) * math.log(m), rel=1e-5
    )
    assert pac_bayes_bound(est, X, y, with_constants=True, **params) == pytest.approx(
        neyshabur * math.sqrt(math.log(5 * 196)), rel=1e-5
    )
    # the kernel heuristic is far smaller: its norms miss the H' W' copies of the kernel
    assert spectral_bound(est, X, y, conv="kernel", **params) < bartlett / 2
    assert pac_bayes_bound(est, X, y, conv="kernel", **params) < neyshabur / 2


def test_operator_row_norms_match_dense_rows():
    from sklearn_gen.measures._layers import layers_view
    from sklearn_gen.measures._operator_norm import operator_row_norms

    net = _operator_chain()
    view = layers_view(net, input_shape=(2, 9, 9))
    dense = _dense_chain(net, net.state_dict())
    for layer, (matrix, _) in zip(view.layers, dense, strict=True):
        np.testing.assert_allclose(
            operator_row_norms(layer).numpy(), np.linalg.norm(matrix, axis=1), rtol=1e-6
        )


@pytest.mark.parametrize("bound", BOUNDS)
def test_bounds_conv_setting_is_checked(sample, bound):
    est, _, X, y, _ = sample
    with pytest.raises(ValueError, match="conv must be"):
        bound(est, X, y, conv="matrix")
    with pytest.raises(ValueError, match="conv='kernel'"):
        bound(est, X, y, method="reshape")  # the reshaped kernel's norm is the heuristic's
    # a Linear chain is the same under both settings
    assert bound(est, X, y, conv="kernel") == pytest.approx(bound(est, X, y), rel=1e-12)


# ------------------------------------------------------------------ normalized loss: biases
def test_normalized_network_with_cumulative_biases_is_the_network_rescaled():
    """Later biases divided by the product of the norms up to them (the default on a
    chain): the normalized network, built explicitly here, is the network times
    prod(c / rho_l), so the normalized error is the error and the loss is the scaled one."""
    torch.manual_seed(3)
    net = _deep_chain(bias=True)
    with torch.no_grad():
        for layer in (net[0], net[2], net[4]):
            layer.bias.normal_()
    X = np.random.default_rng(0).normal(size=(40, 5))
    y = np.random.default_rng(1).integers(0, 4, size=40)
    x = torch.as_tensor(X, dtype=torch.float64)
    c = 2.0
    ref = copy.deepcopy(net).double()
    norms = [
        float(torch.cat([ref[0].weight.reshape(-1), ref[0].bias]).norm()),
        float(ref[2].weight.norm()),
        float(ref[4].weight.norm()),
    ]
    with torch.no_grad():
        product = 1.0
        for layer, rho in zip((ref[0], ref[2], ref[4]), norms, strict=True):
            product *= c / rho
            layer.weight.mul_(c / rho)
            layer.bias.mul_(product)
        logits = ref(x)
        torch.testing.assert_close(logits, net.double()(x) * product)
    target = torch.as_tensor(y)
    expected = float((torch.logsumexp(logits, 1) - logits.gather(1, target[:, None])[:, 0]).mean())
    error = float((logits.argmax(1) != target).double().mean())
    net = net.float()
    for biases in ("auto", "cumulative"):
        assert normalized_loss(net, X, y, divide_by=c, biases=biases) == pytest.approx(
            expected, rel=1e-5
        )
        assert normalized_error(net, X, y, divide_by=c, biases=biases) == error
    own = normalized_loss(net, X, y, divide_by=c, biases="own")
    assert own != pytest.approx(expected, rel=1e-3)  # each bias by its own norm: differs


def test_normalized_loss_biases_parameter_is_checked():
    X = np.random.default_rng(0).random(size=(6, 64))
    y = np.arange(6) % 3
    with pytest.raises(ValueError, match="biases must be 'auto', 'cumulative' or 'own'"):
        normalized_loss(_deep_chain(bias=True), X[:, :5], y, biases="product")
    inception = SmallInception((1, 8, 8), 3).eval()
    for biases in ("auto", "cumulative", "own"):  # no bias rule makes it a rescaling
        with pytest.raises(UndefinedMeasureError, match="crosses the same layers"):
            normalized_loss(inception, X, y, biases=biases)
