"""Measures on the models researchers train: traced graphs, residual nets, batch norm anywhere.

The families are written the way torchvision and the papers write them (``model_zoo.py``,
attribute style, custom ``forward``): every public measure gives a value or an
:class:`UndefinedMeasureError` that names the assumption; exact operator norms equal the
dense operator's; folding leaves the logits unchanged; no measure changes the model.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, cross_validate
from skorch import NeuralNetClassifier
from torch import nn

from sklearn_gen import measures
from sklearn_gen.measures import (
    ChannelAffine,
    UndefinedMeasureError,
    UntracedGraphWarning,
    layers_view,
)
from sklearn_gen.metrics import make_measure_scorer, make_scoring
from sklearn_gen.networks import RecordInitialParams

# rel=1e-5 where two float32 computations of one quantity meet: float32 keeps ~7 digits
# and sums of a few hundred terms in another order (another CPU's vector width, another
# batch shape) move the last 1-2 of them; 1e-6 (pytest.approx's default) is too tight.

_HERE = Path(__file__).resolve().parent


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


zoo = _load("model_zoo", _HERE / "model_zoo.py")
table = _load("zoo_measures", _HERE.parent / "benchmarks" / "zoo_measures.py")

#: What each family's graph is, and which measures its graph leaves undefined (and why).
EXPECTED = {
    "resnet18": ("residual", {"bounds", "normalized"}),
    "vgg11_bn": ("chain", set()),
    "preact_resnet18": ("residual", {"bounds", "normalized"}),
    "mobilenet_v2": ("residual", {"bounds", "normalized", "path"}),  # ReLU6
    "nin": ("chain", set()),
    "wide_resnet16_4": ("residual", {"bounds", "normalized"}),
    "densenet": ("concatenating", {"bounds", "normalized"}),
    "mlp": ("chain", set()),
    "functional_mlp": ("chain", set()),
    "functional_cnn": ("chain", set()),
    "layernorm_mlp": ("chain", {"normalization", "path"}),
    "groupnorm_cnn": ("chain", {"normalization", "path"}),
    "gelu_mlp": ("chain", {"homogeneous", "path"}),
    "silu_mlp": ("chain", {"homogeneous", "path"}),
    "tanh_mlp": ("chain", {"homogeneous", "path"}),
    "scaled_mlp": ("chain", set()),
    "mixer": ("residual", {"bounds", "normalized", "path", "product"}),
    "flat_rows_cnn": ("chain", set()),
}
_GROUP = {
    "spectral_bound": "bounds",
    "pac_bayes_bound": "bounds",
    "normalized_loss": "normalized",
    "normalized_error": "normalized",
    "path_norm": "path",
}
#: Groups of refusals beyond the graph's kind: which measures, and what they name.
_REFUSED = {
    # a normalization undoes the scale of the layers before it
    "normalization": (
        {
            "spectral_bound",
            "pac_bayes_bound",
            "normalized_loss",
            "normalized_error",
            "product_norm",
        },
        r"(LayerNorm|GroupNorm) at",
    ),
    # the PAC-Bayes proof and the normalized network need positive homogeneity
    "homogeneous": (
        {"pac_bayes_bound", "normalized_loss", "normalized_error"},
        r"positively homogeneous.*nn\.(GELU|SiLU|Tanh) at 'act1'",
    ),
    "product": ({"product_norm"}, "a normalization undoes the scale"),
}
_MESSAGE = {
    "bounds": "defined for chain networks only: the theorem",
    "normalized": "every path from the input to the output crosses the same layers",
    "path": "path_norm is defined on graphs of linear layers",
}


def _refusals(family: str) -> dict[str, str]:
    """The measures refused on ``family``, each with the pattern its message matches."""
    refused = {}
    for group in EXPECTED[family][1]:
        if group in _REFUSED:
            names, pattern = _REFUSED[group]
            refused.update(dict.fromkeys(names, pattern))
    for group in EXPECTED[family][1]:  # the graph's own refusals come first
        refused.update({n: _MESSAGE[group] for n, g in _GROUP.items() if g == group})
    return refused


def test_the_table_covers_every_public_network_measure():
    network_measures = {
        name
        for name in measures.__all__
        if callable(getattr(measures, name))
        and name not in {"rkhs_norm", "kernel_margin_bound"}  # kernel interpolators
        and name[0].islower()
        and name not in {"layers_view", "unwrap_network", "fold_batch_norm"}
        and name != "layer_eigenvalues"  # the spectra themselves (ragged arrays)
    }
    assert network_measures == set(table.MEASURES) | set(table.HISTORY_MEASURES)


@pytest.mark.parametrize("family", list(zoo.ZOO))
def test_every_measure_gives_a_value_or_names_the_missing_assumption(family):
    model, initial, X, y, shape = table.family_sample(zoo, family, n=16)
    assert layers_view(model, shape).graph == EXPECTED[family][0]
    refused = _refusals(family)
    for name in table.MEASURES:
        if name in refused:
            with pytest.raises(UndefinedMeasureError, match=refused[name]):
                table.call(name, model, initial, X, y, shape)
            continue
        value = np.asarray(table.call(name, model, initial, X, y, shape), dtype=float)
        assert np.all(np.isfinite(value)), name
        signed = {"margins", "margin_quantile", "normalized_error", "hessian_top_eigenvalue"}
        if name not in signed | {"hessian_trace"}:  # curvature: negative at a saddle
            assert np.all(value >= 0), name


@pytest.mark.parametrize("family", list(zoo.ZOO))
def test_folding_leaves_the_logits_unchanged(family):
    model, _, X, _, shape = table.family_sample(zoo, family)
    view = layers_view(model, shape)
    x = torch.as_tensor(X).reshape(len(X), *shape)
    with torch.no_grad():
        expected = model(x)
        got = view.module(x)
    # float32 through ~20 layers: folded weights round differently from BN's two steps
    scale = float(expected.abs().max())
    assert torch.allclose(got, expected, rtol=1e-5, atol=1e-5 * max(scale, 1.0))
    batch_norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    diagonal = [layer for layer in view.layers if layer.kind == "diagonal"]
    assert len(view.folded) + len(diagonal) == len(batch_norms)
    if family in {"resnet18", "vgg11_bn", "nin", "mobilenet_v2"}:
        assert not diagonal  # every BN follows a conv it alone reads
    if family in {"preact_resnet18", "wide_resnet16_4", "densenet"}:
        assert diagonal  # pre-activation BNs read sums, concatenations or the input


def test_measures_never_change_the_model():
    # NiN: batch norms (buffers), and a chain, so that every measure runs its full path
    model, initial, X, y, shape = table.family_sample(zoo, "nin", n=16)
    model.train()  # a model left in training mode stays so
    next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d)).eval()  # mixed stays
    before = {k: v.clone() for k, v in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    grads = [p.requires_grad for p in model.parameters()]
    for name in table.MEASURES:
        try:
            table.call(name, model, initial, X, y, shape)
        except UndefinedMeasureError:
            pass
    after = model.state_dict()
    # the same tensors, untouched: exact comparison of stored values, not of computations
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert [m.training for m in model.modules()] == modes
    assert [p.requires_grad for p in model.parameters()] == grads


def _dense(layer, shape) -> torch.Tensor:
    """The layer's operator (no bias) on inputs of ``shape``: applied to the identity basis."""
    n = int(np.prod(shape))
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *shape)
    return layer.apply(basis, layer.weight.double()).reshape(n, -1).T


@pytest.mark.parametrize("family", ["mobilenet_v2", "preact_resnet18", "resnet18"])
def test_exact_operator_norms_equal_the_dense_operators(family):
    torch.manual_seed(0)
    model = zoo.trained_like(zoo.ZOO[family](), 0)
    view = layers_view(model, (3, 8, 8))  # small images: dense operators of <= 2,048 columns
    kinds = {(layer.kind, getattr(layer.module, "groups", 1) > 1) for layer in view.layers}
    sigmas = measures.spectral_norm(view)
    for layer, sigma in zip(view.layers, sigmas, strict=True):
        dense = _dense(layer, layer.input_shape)
        expected = float(torch.linalg.matrix_norm(dense, ord=2))
        assert sigma == pytest.approx(expected, rel=1e-5), layer.name
    if family == "mobilenet_v2":
        assert ("conv", True) in kinds  # depthwise convolutions
    if family == "preact_resnet18":
        assert ("diagonal", False) in kinds


def test_a_diagonal_layers_norms_are_its_operators_over_the_feature_map():
    torch.manual_seed(0)

    class AfterSum(nn.Module):  # a BN after a residual sum cannot be folded
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 3, padding=1)
            self.bn = nn.BatchNorm2d(2)
            self.fc = nn.Linear(2 * 4 * 4, 3)

        def forward(self, x):
            return self.fc(torch.flatten(self.bn(x + self.conv(x)), 1))

    model = zoo.trained_like(AfterSum(), 0)
    view = layers_view(model, (2, 4, 4))
    diagonal = [layer for layer in view.layers if layer.kind == "diagonal"]
    assert len(diagonal) == 1 and isinstance(diagonal[0].module, ChannelAffine)
    bn = model.bn
    scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().double()
    norms = dict(zip((la.name for la in view.layers), measures.spectral_norm(view), strict=True))
    assert norms["bn"] == pytest.approx(float(scale.abs().max()), rel=1e-6)
    fro = dict(zip((la.name for la in view.layers), measures.layer_norms(view), strict=True))
    dense = _dense(diagonal[0], (2, 4, 4))
    assert fro["bn"] == pytest.approx(float(torch.linalg.matrix_norm(dense)), rel=1e-6)


def test_batch_norm_without_running_statistics_is_refused_clearly():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, track_running_stats=False))
    with pytest.raises(ValueError, match="track_running_stats=True"):
        layers_view(model, (3,))


@pytest.mark.parametrize(
    ("bn", "conv", "shape"),
    [
        (nn.BatchNorm1d, nn.Conv1d, (2, 9)),
        (nn.BatchNorm2d, nn.Conv2d, (2, 5, 5)),
        (nn.BatchNorm3d, nn.Conv3d, (2, 3, 4, 4)),
    ],
)
def test_batch_norm_1d_2d_3d_fold_and_stay_diagonal(bn, conv, shape):
    torch.manual_seed(0)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pre = bn(2, affine=False)  # reads the input: a diagonal layer
            self.conv = conv(2, 3, 3, padding=1, bias=False)
            self.post = bn(3)  # alone reads the conv: folded
            self.fc = nn.Linear(3 * int(np.prod(shape[1:])), 2)

        def forward(self, x):
            return self.fc(torch.relu(self.post(self.conv(self.pre(x)))).flatten(1))

    model = zoo.trained_like(Net(), 1)
    view = layers_view(model, shape)
    assert [layer.kind for layer in view.layers] == ["diagonal", "conv", "linear"]
    assert view.folded == ["post"] and view.graph == "chain"
    x = torch.randn(4, *shape)
    with torch.no_grad():
        assert torch.allclose(view.module(x), model(x), atol=1e-5)
    sigmas = measures.spectral_norm(view)
    dense = [
        float(torch.linalg.matrix_norm(_dense(la, la.input_shape), ord=2)) for la in view.layers
    ]
    np.testing.assert_allclose(sigmas, [float(d) for d in dense], rtol=1e-5)


# ------------------------------------------------------------------------------ path norm
def _residual_net(p_sign: bool = False) -> nn.Module:
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2, bias=False)
            self.b = nn.Linear(2, 2, bias=False)
            self.c = nn.Linear(2, 1, bias=False)

        def forward(self, x):
            return self.c(torch.relu(self.b(torch.relu(self.a(x)))) + x)

    torch.manual_seed(3)
    return Residual().eval()


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_path_norm_of_a_residual_graph_is_the_sum_over_its_paths(p):
    net = _residual_net()
    a, b, c = (m.weight.detach().double().numpy() for m in (net.a, net.b, net.c))
    total = 0.0
    for i, j, k in itertools.product(range(2), range(2), range(2)):  # x_i -> a_j -> b_k -> c
        total += abs(a[j, i] * b[k, j] * c[0, k]) ** p
    for i in range(2):  # the shortcut: x_i -> c
        total += abs(c[0, i]) ** p
    assert measures.path_norm(net, input_shape=(2,), p=p) == pytest.approx(
        total ** (1 / p), rel=1e-5
    )


# ------------------------------------------------------------------------------ normalized loss
def test_normalized_loss_on_a_residual_graph_whose_paths_cross_the_same_layers():
    torch.manual_seed(0)

    class Same(nn.Module):  # both summands crossed conv, then fc
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1, bias=False)
            self.fc = nn.Linear(2 * 4 * 4, 3, bias=False)

        def forward(self, x):
            h = self.conv(x)
            return self.fc(torch.flatten(torch.relu(h) + h, 1))

    net = Same().eval()
    X = np.random.default_rng(0).normal(size=(10, 16))
    y = np.arange(10) % 3
    loss = measures.normalized_loss(net, X, y, input_shape=(1, 4, 4))
    with torch.no_grad():
        logits = net(torch.as_tensor(X, dtype=torch.float32).reshape(10, 1, 4, 4)).double()
    scale = float(net.conv.weight.detach().norm() * net.fc.weight.detach().norm())
    logits = logits / scale
    expected = torch.logsumexp(logits, 1) - logits[torch.arange(10), torch.as_tensor(y)]
    assert loss == pytest.approx(float(expected.mean()), rel=1e-5)


def test_normalized_loss_is_undefined_where_concatenated_paths_differ_in_depth():
    model, _, X, y, shape = table.family_sample(zoo, "densenet")
    with pytest.raises(UndefinedMeasureError, match=r"torch.cat.*crosses \d+ layers"):
        measures.normalized_loss(model, X, y, input_shape=shape)


# ------------------------------------------------------------------------------ untraceable
class _DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 5)
        self.bn = nn.BatchNorm1d(5)
        self.fc2 = nn.Linear(5, 3)

    def forward(self, x):
        if x.sum() > 1e9:  # Python control flow on the data: torch.fx cannot trace it
            x = x * 0
        return self.fc2(torch.relu(self.bn(self.fc1(x))))


def test_an_untraceable_model_is_read_with_hooks_and_says_so():
    model = zoo.trained_like(_DataDependent(), 0)
    X = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
    with torch.no_grad():
        y = model(torch.as_tensor(X)).argmax(1).numpy()
    with pytest.warns(UntracedGraphWarning, match="forward hooks"):
        view = layers_view(model, (4,))
    assert view.graph == "untraced"
    assert [layer.kind for layer in view.layers] == ["linear", "diagonal", "linear"]
    with torch.no_grad():
        assert torch.allclose(view.module(torch.as_tensor(X)), model(torch.as_tensor(X)), atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UntracedGraphWarning)
        assert measures.margin_quantile(model, X, y) > 0
        assert measures.distance_from_init(model, X, initial=_DataDependent()) > 0
        for measure in (measures.spectral_bound, measures.normalized_loss, measures.path_norm):
            with pytest.raises(UndefinedMeasureError, match="could not trace"):
                measure(model, X, y, reference="zero") if "bound" in measure.__name__ else measure(
                    model, X, y
                )


# ------------------------------------------------------------------------------ skorch
def _user_net(**kwargs) -> NeuralNetClassifier:
    settings = {
        "criterion": nn.CrossEntropyLoss,  # the module returns logits
        "module__in_features": 64,
        "module__hidden": 32,
        "max_epochs": 60,
        "lr": 0.2,
        "batch_size": 64,
        "train_split": None,
        "iterator_train__shuffle": True,
        "verbose": 0,
    }
    return NeuralNetClassifier(zoo.MLP, **{**settings, **kwargs})


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X[:300] / 16).astype(np.float32), y[:300]


# a bound on a held-out fold the network does not fit is NaN (no score), as documented
@pytest.mark.filterwarnings("ignore:One or more of the test scores are non-finite")
def test_a_plain_skorch_net_in_grid_search_with_bound_scorers(digits):
    X, y = digits
    torch.manual_seed(0)
    scoring = make_scoring(
        "accuracy",
        "neg_spectral_bound",
        "neg_pac_bayes_bound",
        "neg_distance_from_init",
        "neg_path_norm",
        "neg_product_spectral_norm",
        "margin_quantile",
    )
    search = GridSearchCV(
        _user_net(callbacks=[RecordInitialParams()]),
        {"lr": [0.1, 0.3]},
        scoring=scoring,
        refit="accuracy",
        cv=2,
        return_train_score=True,
        error_score="raise",
    ).fit(X, y)
    results = search.cv_results_
    for name in scoring:
        train = results[f"mean_train_{name}"]
        assert np.all(np.isfinite(train)), name
    assert np.all(results["mean_train_neg_distance_from_init"] < 0)  # negated, so > 0 moved
    assert np.all(results["mean_train_accuracy"] > 0.8)


def test_without_the_callback_initial_weights_are_asked_for(digits):
    X, y = digits
    net = _user_net(max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="RecordInitialParams"):
        measures.distance_from_init(net, X)
    # with initial= the same measure works
    start = _user_net(max_epochs=1).initialize().module_
    assert measures.distance_from_init(net, X, initial=start) > 0
    assert measures.distance_from_init(net, X, initial=start.state_dict()) > 0
    with pytest.raises(TypeError, match="initial must be"):
        measures.distance_from_init(net, X, initial=[1, 2])


def test_partial_fit_keeps_the_first_start_and_fit_records_a_new_one(digits):
    X, y = digits
    net = _user_net(max_epochs=1, callbacks=[RecordInitialParams()]).fit(X, y)
    first = {k: v.clone() for k, v in net.initial_params_.items()}
    net.partial_fit(X, y)
    assert all(torch.equal(first[k], net.initial_params_[k]) for k in first)
    torch.manual_seed(123)
    net.fit(X, y)
    assert not torch.equal(first["fc1.weight"], net.initial_params_["fc1.weight"])


def test_image_models_in_cross_validate_read_the_shape_from_x_or_input_shape():
    torch.manual_seed(0)
    X = np.random.default_rng(0).normal(size=(64, 3, 16, 16)).astype(np.float32)
    y = np.arange(64) % 4
    net = NeuralNetClassifier(
        zoo.resnet18,
        criterion=nn.CrossEntropyLoss,
        module__num_classes=4,
        module__width=4,
        max_epochs=2,
        lr=0.05,
        train_split=None,
        verbose=0,
        batch_size=32,
        callbacks=[RecordInitialParams()],
    )
    scorers = {
        "margin": make_measure_scorer(measures.margin_quantile, greater_is_better=True),
        "dist": make_measure_scorer(measures.distance_from_init),
        "path": make_measure_scorer(measures.path_norm),
        "bound": make_measure_scorer(measures.spectral_bound),
    }
    result = cross_validate(net, X, y, cv=2, scoring=scorers, return_train_score=True)
    assert np.all(np.isfinite(result["train_dist"])) and np.all(np.isfinite(result["test_path"]))
    assert np.all(result["train_dist"] < 0)
    assert np.all(np.isnan(result["train_bound"]))  # a ResNet: no chain, no bound, no traceback
    # the same module on flat rows: input_shape= on the scorer says what one sample is
    fitted = net.fit(X, y)
    flat = X.reshape(64, -1)
    scorer = make_measure_scorer(measures.path_norm, input_shape=(3, 16, 16))
    assert scorer(fitted, flat, y) == pytest.approx(-measures.path_norm(fitted, X, y))
