"""Every op of a model accounted for: functional weights, normalizations, activations with
their Lipschitz constants, constants in ``forward``, transposes, shape-dependent branches.

Each case is checked against a computation written another way here (norms by hand, the
distance over every parameter, dense operators, the input Jacobian), or against the same
function written another way (a constant moved into a layer, a layer rescaled before a
normalization): the value agrees, or the measure refuses and names the node and why.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sklearn_gen import measures
from sklearn_gen.measures import UndefinedMeasureError, UntracedGraphWarning, layers_view
from sklearn_gen.measures._graph import ACTIVATIONS

# rel=1e-5 where two float32 computations of one quantity meet (float32 keeps ~7 digits;
# another summation order moves the last 1-2); 1e-10 where both sides are float64
# arithmetic on the same float32 values.

_HERE = Path(__file__).resolve().parent


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


zoo = _load("model_zoo", _HERE / "model_zoo.py")


def _sample(model: nn.Module, shape: tuple[int, ...], n: int = 24, seed: int = 0):
    X = np.random.default_rng(seed).normal(size=(n, int(np.prod(shape)))).astype(np.float32)
    with torch.no_grad():
        y = model(torch.as_tensor(X).reshape(n, *shape)).argmax(1).numpy()
    return X, y


def _build(factory, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return zoo.trained_like(factory(), seed)


def _fro(t: torch.Tensor) -> float:
    return float(t.detach().double().norm())


# ------------------------------------------------------------------------ functional weights
def test_functional_weights_are_layers_and_every_parameter_counts():
    model, start = _build(zoo.FunctionalMLP, 0), _build(zoo.FunctionalMLP, 1)
    view = layers_view(model, (64,), initial=start)
    assert [layer.name for layer in view.layers] == ["fc1", "w_linear"]
    assert view.unowned == [] and view.graph == "chain"
    # the product of the Frobenius norms of fc1's weight and of self.w, by hand
    expected = _fro(model.fc1.weight) * _fro(model.w)
    assert measures.product_norm(view) == pytest.approx(expected, rel=1e-10)
    # distance from initialization over every parameter of the model
    delta = [
        p.detach().double() - q.detach().double()
        for p, q in zip(model.parameters(), start.parameters(), strict=True)
    ]
    everything = math.sqrt(sum(float((d**2).sum()) for d in delta))
    assert measures.distance_from_init(view, include_bias=True) == pytest.approx(
        everything, rel=1e-10
    )
    X, y = _sample(model, (64,))
    assert math.isfinite(measures.spectral_bound(view, X, y))


def _dense(layer, shape) -> torch.Tensor:
    n = int(np.prod(shape))
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *shape)
    return layer.apply(basis, layer.weight.double()).reshape(n, -1).T


def test_a_functional_convolution_is_a_layer_with_its_stride_and_padding():
    model = _build(zoo.FunctionalCNN, 0)
    view = layers_view(model, (1, 8, 8))
    conv = view.layers[0]
    assert conv.kind == "conv" and conv.module.stride == (2, 2) and conv.module.padding == (1, 1)
    assert conv.output_shape == (4, 4, 4)
    sigma = measures.spectral_norm(view)[0]
    dense = float(torch.linalg.matrix_norm(_dense(conv, (1, 8, 8)), ord=2))
    assert sigma == pytest.approx(dense, rel=1e-5)  # Lanczos at tol 1e-7 on a float64 map


class _Reparametrized(nn.Module):
    """A weight computed in ``forward`` (weight normalization by hand): no layer owns it."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 5)
        self.v = nn.Parameter(torch.randn(3, 5))
        self.g = nn.Parameter(torch.ones(3, 1))

    def forward(self, x):
        weight = self.g * self.v / self.v.norm(dim=1, keepdim=True)
        return F.linear(torch.relu(self.fc1(x)), weight)


def test_a_weight_computed_in_forward_is_reported_and_refused_by_name():
    torch.manual_seed(0)
    model = _Reparametrized().eval()
    X, y = _sample(model, (6,))
    view = layers_view(model, (6,), initial=_Reparametrized())
    assert {path for path, _ in view.unowned} == {"g", "v"}
    for measure in (measures.product_norm, measures.layer_norms, measures.distance_from_init):
        with pytest.raises(UndefinedMeasureError, match=r"parameter '[gv]'.*read by"):
            measure(view)
    with pytest.raises(UndefinedMeasureError, match=r"parameter '[gv]'"):
        measures.spectral_bound(view, X, y)
    assert measures.margin_quantile(view, X, y) > 0  # a forward-pass measure: defined


# ------------------------------------------------------------------------ normalizations
@pytest.mark.parametrize(
    ("factory", "shape", "norm"),
    [(zoo.NormMLP, (64,), "nn.LayerNorm at 'ln'"), (zoo.GroupNormCNN, (1, 8, 8), "GroupNorm")],
)
def test_a_layer_before_a_normalization_rescales_freely(factory, shape, norm):
    model = _build(factory, 0)
    for module in model.modules():
        if hasattr(module, "eps"):
            module.eps = 1e-12  # so that rescaling the layer before is exactly invariant
    X, y = _sample(model, shape)
    rescaled = _build(factory, 0)
    rescaled.load_state_dict(model.state_dict())
    for module in rescaled.modules():
        if hasattr(module, "eps"):
            module.eps = 1e-12
    first = next(m for m in rescaled.modules() if isinstance(m, (nn.Linear, nn.Conv2d)))
    with torch.no_grad():
        first.weight.mul_(0.01)
        first.bias.mul_(0.01)
    # the defined scale-invariant measures: unchanged
    np.testing.assert_allclose(
        measures.margins(rescaled, X, y, input_shape=shape),
        measures.margins(model, X, y, input_shape=shape),
        rtol=1e-4,  # float32 normalization of a 100 times smaller signal: ~1e-5 apart
        atol=1e-6,
    )
    # the measures whose scale the normalization undoes: refused, naming it
    calls = {
        "spectral_bound": lambda m: measures.spectral_bound(
            m, X, y, input_shape=shape, reference="zero"
        ),
        "pac_bayes_bound": lambda m: measures.pac_bayes_bound(
            m, X, y, input_shape=shape, reference="zero"
        ),
        "product_norm": lambda m: measures.product_norm(m, input_shape=shape),
        "normalized_loss": lambda m: measures.normalized_loss(m, X, y, input_shape=shape),
        "path_norm": lambda m: measures.path_norm(m, input_shape=shape),
    }
    for call in calls.values():
        with pytest.raises(UndefinedMeasureError, match=norm):
            call(model)


def test_distance_from_init_counts_the_normalizations_parameters():
    model, start = _build(zoo.NormMLP, 0), _build(zoo.NormMLP, 1)
    with torch.no_grad():
        model.ln.weight.add_(0.5)
        model.ln.bias.add_(0.25)
    delta = [
        p.detach().double() - q.detach().double()
        for p, q in zip(model.parameters(), start.parameters(), strict=True)
    ]
    everything = math.sqrt(sum(float((d**2).sum()) for d in delta))
    got = measures.distance_from_init(model, input_shape=(64,), initial=start, include_bias=True)
    assert got == pytest.approx(everything, rel=1e-10)
    per_layer = measures.distance_from_init(model, input_shape=(64,), initial=start, per_layer=True)
    assert per_layer.shape == (3,)  # fc1, fc2, then the LayerNorm's scale
    assert per_layer[2] == pytest.approx(_fro(model.ln.weight - start.ln.weight), rel=1e-10)


# ------------------------------------------------------------------------ activations
@pytest.mark.parametrize(("name", "function"), [("gelu", F.gelu), ("silu", F.silu)])
def test_the_lipschitz_constants_are_the_largest_slopes(name, function):
    x = torch.linspace(-8, 8, 160_001, dtype=torch.float64, requires_grad=True)
    (slope,) = torch.autograd.grad(function(x).sum(), x)
    largest = float(slope.abs().max())
    assert largest <= ACTIVATIONS[name][0] + 1e-4  # the constant bounds every slope
    assert largest == pytest.approx(ACTIVATIONS[name][0], abs=1e-4)  # and is the largest


@pytest.mark.parametrize("family", ["gelu_mlp", "silu_mlp", "tanh_mlp", "scaled_mlp"])
def test_the_lipschitz_product_bounds_the_input_jacobian(family):
    model = _build(zoo.ZOO[family], 0)
    view = layers_view(model, (64,))
    bound = float(np.prod(measures.spectral_norm(view))) * view.lipschitz_factor()
    X, _ = _sample(model, (64,), n=12)
    jacobians = torch.func.vmap(torch.func.jacrev(lambda x: model(x[None])[0]))(torch.as_tensor(X))
    largest = float(torch.linalg.matrix_norm(jacobians.detach().double(), ord=2).max())
    assert 0 < largest <= bound * (1 + 1e-5)


def test_a_non_homogeneous_activation_is_refused_where_homogeneity_is_assumed():
    model = _build(zoo.ZOO["gelu_mlp"], 0)
    X, y = _sample(model, (64,))
    with pytest.raises(UndefinedMeasureError, match=r"homogeneous.*nn\.GELU at 'act1'"):
        measures.pac_bayes_bound(model, X, y, input_shape=(64,), reference="zero")
    with pytest.raises(UndefinedMeasureError, match=r"homogeneous.*nn\.GELU at 'act1'"):
        measures.normalized_loss(model, X, y, input_shape=(64,))
    view = layers_view(model, (64,))
    assert view.lipschitz_factor() == pytest.approx(ACTIVATIONS["gelu"][0] ** 2, rel=1e-12)
    # Bartlett's bound is defined for rho-Lipschitz activations that map 0 to 0, times rho:
    # the same view with the GELUs read as 1-Lipschitz gives the bound without the factor
    gelu_bound = measures.spectral_bound(view, X, y, reference="zero")
    for op in view.ops:
        if op.kind == "activation":
            op.lipschitz = 1.0
    unit_bound = measures.spectral_bound(view, X, y, reference="zero")
    assert gelu_bound == pytest.approx(ACTIVATIONS["gelu"][0] ** 2 * unit_bound, rel=1e-12)


# ------------------------------------------------------------------------ constants
def _scaled_and_folded(scale: float = 100.0):
    scaled = _build(lambda: zoo.ScaledMLP(scale=scale), 0)
    folded = _build(lambda: zoo.ScaledMLP(scale=1.0), 0)
    folded.load_state_dict(scaled.state_dict())
    with torch.no_grad():
        folded.fc1.weight.mul_(scale)  # the same function, the constant inside fc1
        scaled.fc1.bias.zero_()  # Liao's first layer is normalized with its bias as one
        folded.fc1.bias.zero_()  # vector, which moving a constant across changes
    return scaled, folded


def test_a_constant_moved_into_a_layer_leaves_the_measures_unchanged():
    scaled, folded = _scaled_and_folded()
    X, y = _sample(scaled, (64,))
    x = torch.as_tensor(X)
    with torch.no_grad():
        assert torch.allclose(scaled(x), folded(x), rtol=1e-5, atol=1e-4)
    shape = {"input_shape": (64,)}
    cases = {
        "margin_quantile": lambda m: measures.margin_quantile(m, X, y, **shape),
        "spectral_bound": lambda m: measures.spectral_bound(m, X, y, reference="zero", **shape),
        "pac_bayes_bound": lambda m: measures.pac_bayes_bound(m, X, y, reference="zero", **shape),
        "product_spectral": lambda m: measures.product_norm(m, norm="spectral", **shape),
        "product_fro": lambda m: measures.product_norm(m, **shape),
        "normalized_loss": lambda m: measures.normalized_loss(m, X, y, **shape),
    }
    for name, call in cases.items():
        assert call(scaled) == pytest.approx(call(folded), rel=1e-5), name
    for p in (1.0, 2.0):  # the constant: a layer of edges of weight 100 on every path
        # (fc1's folded weights are float32 products 100 * w, each rounded: rel 6e-8)
        assert measures.path_norm(scaled, p=p, **shape) == pytest.approx(
            measures.path_norm(folded, p=p, **shape), rel=1e-6
        )
    with pytest.raises(UndefinedMeasureError, match=r"operator\.mul by 100.*fold the constant"):
        measures.normalized_loss(scaled, X, y, biases="own", **shape)


# ------------------------------------------------------------------------ transposes
def test_an_mlp_mixer_block_is_read_through_its_transposes():
    model = _build(zoo.ZOO["mixer"], 0)
    view = layers_view(model, (1, 8, 8))
    assert view.graph == "residual" and view.unowned == []
    kinds = {op.kind for op in view.ops}
    assert {"reshape", "norm", "activation", "add", "avgpool"} <= kinds
    shapes = {layer.name: layer.input_shape for layer in view.layers}
    assert shapes["block.token1"] == (12, 16)  # mixing the 16 tokens of 12 channels
    assert shapes["block.channel1"] == (16, 12)
    # a Linear layer on leading dimensions: its operator norm is its matrix's
    sigmas = dict(zip(shapes, measures.spectral_norm(view), strict=True))
    expected = float(torch.linalg.matrix_norm(model.block.token1.weight.double(), ord=2))
    assert sigmas["block.token1"] == pytest.approx(expected, rel=1e-10)


# ------------------------------------------------------------------------ branches
class _WithoutBranch(zoo.FlatRowsCNN):
    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(torch.flatten(h, 1))


def test_a_shape_dependent_branch_is_read_by_torch_export():
    model = _build(zoo.FlatRowsCNN, 0)
    twin = _WithoutBranch().eval()
    twin.load_state_dict(model.state_dict())
    X, y = _sample(twin, (1, 8, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UntracedGraphWarning)  # no fallback to hooks
        view = layers_view(model, (64,))
    assert view.tracer == "export" and view.graph == "chain" and view.folded == ["bn"]
    assert [layer.name for layer in view.layers] == ["conv", "fc"]
    expected = measures.spectral_bound(twin, X, y, input_shape=(1, 8, 8), reference="zero")
    assert measures.spectral_bound(view, X, y, reference="zero") == pytest.approx(
        expected, rel=1e-5
    )


class _Untraceable(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 5)
        self.w = nn.Parameter(torch.randn(3, 5))

    def forward(self, x):
        if x.sum() > 1e9:  # control flow on the values: neither tracer reads it
            x = x * 0
        return F.linear(torch.relu(self.fc1(x)), self.w)


def test_the_hooks_fallback_reports_the_parameters_no_module_owns():
    torch.manual_seed(0)
    model = _Untraceable().eval()
    with pytest.warns(UntracedGraphWarning, match="neither torch.fx"):
        view = layers_view(model, (4,))
    assert view.tracer == "hooks" and [path for path, _ in view.unowned] == ["w"]
    with pytest.raises(UndefinedMeasureError, match="parameter 'w'"):
        measures.product_norm(view)


def test_a_wrong_input_shape_is_one_line(capfd):
    model = _build(zoo.FlatRowsCNN, 0)
    with pytest.raises(ValueError, match=r"^input_shape=\(5,\) does not fit") as info:
        measures.path_norm(model, input_shape=(5,))
    assert "\n" not in str(info.value)
    assert capfd.readouterr().err == ""  # no tracer traceback on stderr
    with pytest.raises(ValueError, match="0 samples"):
        measures.margins(nn.Linear(4, 3), np.empty((0, 4)), [])
