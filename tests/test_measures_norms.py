"""Tests for the norm-based measures (sklearn_gen.measures._norms)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from torch import nn

from sklearn_gen import LabelNoise, NetworkClassifier
from sklearn_gen.measures import UndefinedMeasureError
from sklearn_gen.measures._layers import layers_view
from sklearn_gen.measures._norms import (
    count_parameters,
    distance_from_init,
    layer_norms,
    path_norm,
    product_norm,
)
from sklearn_gen.measures._operator_norm import layer_spectral_norm, spectral_norm
from sklearn_gen.networks.architectures import MLP, ConvNet, SmallInception

# rel=1e-5 where two float32 computations of one quantity meet: float32 keeps ~7 digits
# and sums of a few hundred terms in another order (another CPU's vector width, another
# batch shape) move the last 1-2 of them; 1e-6 (pytest.approx's default) is too tight.


# ------------------------------------------------------------------------------ fixtures
def _module(*layers: nn.Module, input_shape: tuple[int, ...], seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    for layer in layers:  # draw the parameters from the seed, whatever the global state
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
    net = nn.Sequential(*layers)
    net.input_shape = input_shape  # a raw module must say what it takes
    return net


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


def _net(**params) -> NetworkClassifier:
    settings = {
        "module__hidden": (32,),
        "max_epochs": 3,
        "lr": 0.05,
        "device": "cpu",
        "random_state": 0,
    }
    settings.update(params)
    return NetworkClassifier("mlp", **settings)


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return _net().fit(X, y)


# ------------------------------------------------------------------------------ spectral norms
def test_linear_spectral_norm_matches_svd():
    net = _module(nn.Linear(7, 5), input_shape=(7,))
    layer = layers_view(net).layers[0]
    expected = np.linalg.svd(net[0].weight.detach().double().numpy(), compute_uv=False)[0]
    assert layer_spectral_norm(layer) == pytest.approx(expected, rel=1e-10)
    assert layer_spectral_norm(layer, "reshape") == pytest.approx(expected, rel=1e-10)
    np.testing.assert_allclose(spectral_norm(net), [expected], rtol=1e-10)
    assert layer_norms(net, norm="spectral")[0] == pytest.approx(expected, rel=1e-10)


def _explicit_conv_matrix(conv: nn.Conv2d, input_shape: tuple[int, int, int]) -> np.ndarray:
    """The matrix of the conv's linear map (no bias), column j = conv(e_j)."""
    n = int(np.prod(input_shape))
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *input_shape)
    with torch.no_grad():
        images = nn.functional.conv2d(
            basis, conv.weight.double(), None, conv.stride, conv.padding, conv.dilation
        )
    return images.reshape(n, -1).numpy().T


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (1, 1), (2, 0), (2, 1)])
def test_exact_conv_operator_norm_matches_explicit_matrix(stride, padding):
    shape = (2, 7, 7)
    net = _module(nn.Conv2d(2, 3, 3, stride=stride, padding=padding), input_shape=shape)
    layer = layers_view(net).layers[0]
    matrix = _explicit_conv_matrix(net[0], shape)
    expected = np.linalg.svd(matrix, compute_uv=False)[0]
    exact = layer_spectral_norm(layer, "exact")
    assert exact == pytest.approx(expected, rel=1e-4)
    assert layer_norms(net, norm="spectral")[0] == pytest.approx(expected, rel=1e-4)
    reshaped = layer_spectral_norm(layer, "reshape")
    assert abs(reshaped - exact) > 1e-3 * exact
    assert layer_norms(net, norm="spectral", method="reshape")[0] == pytest.approx(
        reshaped, rel=1e-5
    )


# ------------------------------------------------------------------------------ layer norms
def _conv_chain() -> nn.Module:
    return ConvNet((1, 8, 8), 3, width=4, kernel_size=3)


def test_layer_norms_match_numpy():
    torch.manual_seed(0)
    for net in (MLP(6, 3, hidden=(5, 4)), _conv_chain()):
        weights = [layer.weight.double().numpy() for layer in layers_view(net).layers]
        mats = [w.reshape(w.shape[0], -1) for w in weights]
        expected = {
            "fro": [np.linalg.norm(m) for m in mats],
            "l1": [np.abs(m).sum() for m in mats],
            3: [np.sum(np.abs(m) ** 3) ** (1 / 3) for m in mats],
            3.5: [np.sum(np.abs(m) ** 3.5) ** (1 / 3.5) for m in mats],
            np.inf: [np.abs(m).max() for m in mats],
            "l21": [np.linalg.norm(m, axis=1).sum() for m in mats],
        }
        for norm, values in expected.items():
            got = layer_norms(net, norm=norm)
            assert got.dtype == np.float64
            np.testing.assert_allclose(got, values, rtol=1e-6, err_msg=str(norm))
        # spectral, 'reshape': the reshaped kernels' largest singular values
        reshaped = [np.linalg.svd(m, compute_uv=False)[0] for m in mats]
        got = layer_norms(net, norm="spectral", method="reshape")
        np.testing.assert_allclose(got, reshaped, rtol=1e-6)


def test_product_norm_is_product_of_layer_norms():
    torch.manual_seed(1)
    net = MLP(6, 3, hidden=(5, 4))
    for norm in ("fro", "spectral", "l1", "l21", 2.5):
        expected = float(np.prod(layer_norms(net, norm=norm)))
        assert product_norm(net, norm=norm) == pytest.approx(expected, rel=1e-12)
    conv = _conv_chain()
    exact = product_norm(conv, norm="spectral")
    assert exact == pytest.approx(np.prod(layer_norms(conv, norm="spectral")), rel=1e-12)
    assert isinstance(exact, float)


@pytest.mark.parametrize("norm", ["frobenius", "L2", "", 0.5, -1, True, None, float("nan")])
def test_bad_norm_raises(norm):
    net = MLP(4, 3, hidden=(5,))
    with pytest.raises(ValueError, match="norm"):
        layer_norms(net, norm=norm)
    with pytest.raises(ValueError, match="norm"):
        product_norm(net, norm=norm)


def test_bad_method_and_p_raise():
    net = MLP(4, 3, hidden=(5,))
    with pytest.raises(ValueError, match="method"):
        layer_norms(net, norm="spectral", method="power")
    with pytest.raises(ValueError, match="method"):
        product_norm(net, method=None)
    for p in (0.5, 0, np.inf, "2", True):
        with pytest.raises(ValueError, match="p must"):
            path_norm(net, p=p)


# ------------------------------------------------------------------------------ parameter count
def test_count_parameters():
    assert count_parameters(MLP(4, 3, hidden=(5,))) == 43.0
    bn = MLP(4, 3, hidden=(5,), batch_norm=True)
    assert count_parameters(bn) == 43.0
    assert count_parameters(bn, include_batch_norm=True) == 53.0


# ------------------------------------------------------------------------------ distance from init
def test_distance_from_init_zero_at_init(digits):
    net = _net(max_epochs=1).fit(*digits)  # a fresh fit, then reset to its initialization
    net.module_.load_state_dict(net.initial_params_)
    for norm in ("fro", "spectral", "l1", "l21", 3):
        assert distance_from_init(net, norm=norm) == 0.0
        assert distance_from_init(net, norm=norm, include_bias=norm != "spectral") == 0.0
    np.testing.assert_array_equal(distance_from_init(net, per_layer=True), [0.0, 0.0])


def test_distance_from_init_after_training(fitted):
    per = distance_from_init(fitted, per_layer=True)
    assert per.shape == (2,) and np.all(per > 0)
    total = distance_from_init(fitted)
    assert total == pytest.approx(np.sqrt(np.sum(per**2)), rel=1e-5)
    # against the parameters themselves
    module, start = fitted.module_, fitted.initial_params_
    names = [name for name, _ in module.named_parameters() if name.endswith("weight")]
    expected = [torch.linalg.norm(module.state_dict()[n].cpu() - start[n]).item() for n in names]
    np.testing.assert_allclose(per, expected, rtol=1e-5)
    # with the biases: the whole parameter vector's distance
    all_names = [name for name, _ in module.named_parameters()]
    squares = sum(
        float(torch.sum((module.state_dict()[n].cpu() - start[n]) ** 2)) for n in all_names
    )
    assert distance_from_init(fitted, include_bias=True) == pytest.approx(
        np.sqrt(squares), rel=1e-5
    )
    assert distance_from_init(fitted, include_bias=True) > total
    # one rule for every norm (issue 14): the Euclidean norm of the per-layer distances
    for norm in ("spectral", "l1", "l21", 3, np.inf):
        per_norm = distance_from_init(fitted, norm=norm, per_layer=True)
        assert distance_from_init(fitted, norm=norm) == pytest.approx(
            np.sqrt(np.sum(per_norm**2)), rel=1e-5
        ), norm


def test_distance_from_init_errors(fitted):
    with pytest.raises(ValueError, match="distance_from_init"):
        distance_from_init(MLP(4, 3, hidden=(5,)))
    with pytest.raises(ValueError, match="include_bias"):
        distance_from_init(fitted, norm="spectral", include_bias=True)
    with pytest.raises(ValueError, match="norm"):
        distance_from_init(fitted, norm="nuclear")


# ------------------------------------------------------------------------------ path norm
def _brute_force_path_norm(net: nn.Sequential, p: float) -> float:
    """Enumerate input->hidden->output paths and bias paths of Linear-ReLU-Linear."""
    w1, b1 = net[0].weight.double().detach(), net[0].bias.double().detach()
    w2, b2 = net[2].weight.double().detach(), net[2].bias.double().detach()
    hidden, inputs = w1.shape
    outputs = w2.shape[0]
    total = 0.0
    for i, j, k in itertools.product(range(inputs), range(hidden), range(outputs)):
        total += float(abs(w1[j, i]) ** p * abs(w2[k, j]) ** p)  # input i -> j -> k
    for j, k in itertools.product(range(hidden), range(outputs)):
        total += float(abs(b1[j]) ** p * abs(w2[k, j]) ** p)  # bias of j -> k
    for k in range(outputs):
        total += float(abs(b2[k]) ** p)  # bias of k
    return total ** (1 / p)


@pytest.mark.parametrize("p", [1, 2, 3.0])
def test_path_norm_matches_brute_force(p):
    net = _module(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), input_shape=(3,), seed=3)
    expected = _brute_force_path_norm(net, p)
    assert path_norm(net, p=p) == pytest.approx(expected, rel=1e-10)
    assert isinstance(path_norm(net, p=p), float)


def test_path_norm_leaves_network_unchanged_and_handles_conv():
    torch.manual_seed(0)
    net = _conv_chain()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    value = path_norm(net)
    assert np.isfinite(value) and value > 0
    for key, tensor in net.state_dict().items():
        assert torch.equal(tensor, before[key])


def test_path_norm_on_concatenations_and_undefined_on_other_ops():
    torch.manual_seed(0)
    net = SmallInception((3, 8, 8), 2)
    # concatenations stack path sums: defined (the max pooling of its downsampling
    # modules applied as it is, Jiang et al.'s convention)
    assert np.isfinite(path_norm(net)) and path_norm(net) > 0
    assert np.all(layer_norms(net) > 0)
    squashed = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 2))
    with pytest.raises(UndefinedMeasureError, match=r"path_norm is defined.*nn.Sigmoid"):
        path_norm(squashed, input_shape=(3,))


# ------------------------------------------------------------------------------ wrappers, BN
def test_measures_through_pipeline_and_label_noise(digits, fitted):
    X, y = digits
    pipe = make_pipeline(FunctionTransformer(), _net()).fit(X, y)
    noisy = LabelNoise(_net(), p=0.2, random_state=0).fit(X, y)
    for wrapper, inner in ((pipe, pipe[-1]), (noisy, noisy.estimator_)):
        assert count_parameters(wrapper) == count_parameters(inner) == 64 * 32 + 32 + 32 * 10 + 10
        np.testing.assert_array_equal(layer_norms(wrapper), layer_norms(inner))
        assert product_norm(wrapper, None, None, norm="spectral") == product_norm(
            inner, norm="spectral"
        )
        assert distance_from_init(wrapper, X, y) == distance_from_init(inner) > 0
        assert path_norm(wrapper, X, y, p=1) == path_norm(inner, p=1) > 0
    # the same seeds and labels: the pipeline trains the same network as a bare fit
    np.testing.assert_allclose(layer_norms(pipe), layer_norms(fitted), rtol=1e-6)


def test_batch_norm_is_folded(digits):
    X, y = digits
    net = _net(batch_norm=True, module__hidden=(16,), max_epochs=2).fit(X, y)
    linear = [m for m in net.module_.modules() if isinstance(m, nn.Linear)]
    bn = next(m for m in net.module_.modules() if isinstance(m, nn.BatchNorm1d))
    scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().cpu().double()
    folded = [linear[0].weight.detach().cpu() * scale[:, None], linear[1].weight.detach()]
    expected = [float(torch.linalg.norm(w.double())) for w in folded]
    got = layer_norms(net)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    raw = float(torch.linalg.norm(linear[0].weight.detach().double()))
    assert abs(got[0] - raw) > 1e-3 * raw  # not the unfolded weight
    assert count_parameters(net) == 64 * 16 + 16 + 16 * 10 + 10
    assert count_parameters(net, include_batch_norm=True) == count_parameters(net) + 2 * 16
    # folding also applies to the initial weights: distances are between folded weights
    assert distance_from_init(net) > 0
    net.module_.load_state_dict(net.initial_params_)
    assert distance_from_init(net) == 0.0
