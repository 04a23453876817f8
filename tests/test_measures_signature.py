"""One signature for every measure, one forward pass shared by all, margin quantile methods."""

from __future__ import annotations

import copy
import inspect
import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

from sklearn_gen import NetworkClassifier, measures
from sklearn_gen.measures import layers_view
from sklearn_gen.metrics import make_scoring

# rel=1e-5 where two float32 computations of one quantity meet: float32 keeps ~7 digits
# and sums of a few hundred terms in another order (another CPU's vector width, another
# batch shape) move the last 1-2 of them; 1e-6 (pytest.approx's default) is too tight.

PUBLIC_MEASURES = (
    "count_parameters",
    "layer_norms",
    "product_norm",
    "distance_from_init",
    "path_norm",
    "spectral_norm",
    "margins",
    "margin_quantile",
    "normalized_loss",
    "normalized_error",
    "spectral_bound",
    "pac_bayes_bound",
    "pac_bayes_flatness",
    "jiang_pac_bayes_flatness",
    "rkhs_norm",
    "kernel_margin_bound",
    "worst_case_sharpness",
    "epsilon_sharpness",
    "hessian_top_eigenvalue",
    "hessian_trace",
    "gradient_noise",
    "layer_alphas",
    "layer_eigenvalues",
    "mean_alpha",
    "steps_to_loss",
    "steps_between_losses",
)


def test_every_public_measure_is_listed():
    helpers = {"layers_view", "unwrap_network", "fold_batch_norm"}
    public = {n for n in measures.__all__ if n[0].islower() and n not in helpers}
    assert public == set(PUBLIC_MEASURES)


class _Fitted:
    """A stand-in for a fitted network estimator with fixed (initial) weights."""

    def __init__(self, module, input_shape, classes, initial=None):
        self.module_ = module
        self.input_shape_ = tuple(input_shape)
        self.classes_ = np.asarray(classes)
        if initial is not None:
            self.initial_params_ = initial


class _Counting:
    """A chain whose first layer counts the forward passes over more than one sample, with
    a forward hook (class-wide: the hook travels with the copies the layers view makes and
    runs inside its traced graph)."""

    passes = 0

    def __new__(cls, *layers: nn.Module) -> nn.Sequential:
        net = nn.Sequential(*layers)
        net[0].register_forward_hook(_count_pass)
        return net


def _count_pass(module, args, output):
    if len(args[0]) > 1:
        _Counting.passes += 1


def _conv(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return _Counting(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, stride=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 3 * 3, 3),
    ).eval()


@pytest.fixture
def conv_sample():
    net = _conv()
    start = {k: v.clone() for k, v in _conv(seed=1).state_dict().items()}
    X = np.random.default_rng(0).random(size=(40, 64))
    with torch.no_grad():
        y = net(torch.as_tensor(X, dtype=torch.float32).reshape(-1, 1, 8, 8)).argmax(1).numpy()
    return net, _Fitted(net, (1, 8, 8), [0, 1, 2], initial=start), X, y


@pytest.mark.parametrize("name", PUBLIC_MEASURES)
def test_every_measure_has_the_common_signature(name):
    params = list(inspect.signature(getattr(measures, name)).parameters.values())
    assert [p.name for p in params[:3]] == ["estimator", "X", "y"], name
    assert params[1].default is None and params[2].default is None, name
    shape = inspect.signature(getattr(measures, name)).parameters["input_shape"]
    assert shape.kind is inspect.Parameter.KEYWORD_ONLY and shape.default is None, name


def test_module_view_and_estimator_give_the_same_values(conv_sample):
    net, fitted, X, y = conv_sample
    view = layers_view(fitted)
    shape = {"input_shape": (1, 8, 8)}
    cases = [
        (measures.spectral_bound, {"reference": "zero"}),
        (measures.pac_bayes_bound, {"reference": "zero"}),
        (measures.margin_quantile, {}),
        (measures.normalized_loss, {}),
        (measures.path_norm, {}),
        (measures.product_norm, {"norm": "spectral"}),
    ]
    for measure, params in cases:
        expected = measure(fitted, X, y, **params)
        assert measure(view, X, y, **params) == pytest.approx(expected, rel=1e-12)
        assert measure(net, X, y, **shape, **params) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(
        measures.spectral_norm(fitted), measures.layer_norms(net, norm="spectral", **shape)
    )
    assert measures.count_parameters(view) == measures.count_parameters(net)
    assert measures.distance_from_init(view) == measures.distance_from_init(fitted) > 0


def test_errors_say_what_to_pass(conv_sample):
    net, fitted, X, y = conv_sample
    bare = nn.Sequential(*list(net))  # a conv module that does not carry its input shape
    with pytest.raises(ValueError, match=r"input_shape=\(C, H, W\)"):
        measures.margin_quantile(bare, X, y)
    with pytest.raises(ValueError, match=r"input_shape=\(C, H, W\)"):
        measures.spectral_norm(bare)
    with pytest.raises(ValueError, match="reference='zero'"):
        measures.spectral_bound(net, X, y, input_shape=(1, 8, 8))
    with pytest.raises(ValueError, match="differs"):
        measures.path_norm(layers_view(fitted), input_shape=(1, 4, 16))
    with pytest.raises(TypeError, match="LayersView"):
        measures.spectral_norm("not a network")
    # a flat raw module reads its shape from X, for every measure alike
    mlp = nn.Sequential(nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 3))
    assert measures.margins(mlp, X, y).shape == (40,)
    assert math.isfinite(
        measures.pac_bayes_bound(mlp, X, np.zeros(40, int), q=1.0, reference="zero")
    )


def test_scorers_share_one_forward_pass(conv_sample):
    net, fitted, X, y = conv_sample
    scoring = make_scoring(
        "margin_quantile", "neg_spectral_bound", "neg_pac_bayes_bound", "neg_normalized_loss"
    )
    before = _Counting.passes
    scores = {name: scorer(fitted, X, y) for name, scorer in scoring.items()}
    # one pass: on a chain the normalized network (later biases divided by the product of
    # the norms up to them, biases="auto") is the network times a constant
    assert _Counting.passes - before == 1
    # the same scorers again: another scoring call, computed again (nothing kept from one
    # call to the next), to the same values
    again = {name: scorer(fitted, X, y) for name, scorer in scoring.items()}
    assert _Counting.passes - before == 2 and again == scores
    # a direct call builds its own view: each bias by its own norm is another network
    measures.normalized_loss(fitted, X, y, biases="own")
    assert _Counting.passes - before == 3
    # never stale: a change of the weights (a refit) is a new model
    with torch.no_grad():
        net[5].weight.mul_(1.5)  # the logits scale by 1.5, the predictions stay
        net[5].bias.mul_(1.5)
    changed = {name: scorer(fitted, X, y) for name, scorer in scoring.items()}
    assert _Counting.passes - before == 4
    # float32 logits of size ~0.1 from two different weight sets round differently: about
    # n * eps * |logit| ~ 1e-6 apart at worst, absolute, in a margin of ~1e-2
    assert changed["margin_quantile"] == pytest.approx(1.5 * scores["margin_quantile"], abs=1e-6)
    assert changed["neg_spectral_bound"] != scores["neg_spectral_bound"]  # W - W0 changed
    # other data: another call, another pass
    scoring["margin_quantile"](fitted, X[:30], y[:30])
    assert _Counting.passes - before == 5


def test_scorers_never_serve_a_value_of_an_earlier_call():
    # an attribute that changes the function, not a parameter: no fingerprint of the
    # weights sees it, the scoring call's scope does
    class Tempered(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.fc = nn.Linear(4, 3)
            self.temperature = 1.0

        def forward(self, x):
            return self.fc(x) / self.temperature

    net = Tempered().eval()
    X = np.random.default_rng(0).random(size=(30, 4))
    with torch.no_grad():
        y = net(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy()
    scoring = make_scoring("margin_quantile", "neg_path_norm")
    first = scoring["margin_quantile"](net, X, y)
    net.temperature = 10.0
    assert scoring["margin_quantile"](net, X, y) == pytest.approx(first / 10, rel=1e-5)
    assert measures.margin_quantile(net, X, y) == pytest.approx(first / 10, rel=1e-5)


def _bias_free_conv(seed: int = 0) -> nn.Sequential:
    """A positively homogeneous chain: a bias in the first layer only, ReLU, pooling."""
    torch.manual_seed(seed)
    return _Counting(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, bias=False),
        nn.ReLU(),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(6 * 2 * 2, 3, bias=False),
    ).eval()


def _dense(conv: nn.Conv2d, shape: tuple[int, int, int]) -> torch.Tensor:
    """The conv's operator matrix (no bias) on inputs of ``shape``, column by column."""
    n = int(np.prod(shape))
    basis = torch.eye(n, dtype=torch.float64).reshape(n, *shape)
    out = nn.functional.conv2d(basis, conv.weight, None, conv.stride, conv.padding)
    return out.reshape(n, -1).T


def _explicit_normalized_logits(net: nn.Sequential, X, norm: str) -> torch.Tensor:
    """The normalized network built by hand: the first layer's weight and bias divided by
    their joint norm, every later weight by its own (Frobenius or spectral, the conv by its
    operator norm at 4x4 inputs, computed densely)."""
    net = nn.Sequential(*copy.deepcopy(list(net))).double().eval()
    net[0]._forward_hooks.clear()  # not counted
    x = torch.as_tensor(X, dtype=torch.float64).reshape(-1, 1, 8, 8)
    with torch.no_grad():
        first, conv, last = net[0], net[3], net[7]
        if norm == "fro":
            joint = torch.cat([first.weight.reshape(-1), first.bias]).norm()
            conv_norm, last_norm = conv.weight.norm(), last.weight.norm()
        else:
            first_sigma = torch.linalg.matrix_norm(_dense(first, (1, 8, 8)), ord=2)
            joint = torch.sqrt(first_sigma**2 + first.bias.norm() ** 2)
            conv_norm = torch.linalg.matrix_norm(_dense(conv, (4, 4, 4)), ord=2)
            last_norm = torch.linalg.matrix_norm(last.weight, ord=2)
        first.weight /= joint
        first.bias /= joint
        conv.weight /= conv_norm
        last.weight /= last_norm
        return net(x)


@pytest.mark.parametrize("norm", ["fro", "spectral"])
def test_homogeneous_chain_needs_one_forward_pass_for_every_data_measure(norm):
    # no bias after the first layer, positively homogeneous layers in between: the
    # normalized network is the network times a constant, so the normalized loss and
    # error come from the logits the margins and the bounds use (one pass in all)
    net = _bias_free_conv()
    fitted = _Fitted(net, (1, 8, 8), [0, 1, 2])
    X = np.random.default_rng(1).random(size=(120, 64))  # one chunk: one call
    with torch.no_grad():
        logits = net(torch.as_tensor(X, dtype=torch.float32).reshape(-1, 1, 8, 8))
    y = logits.argmax(1).numpy()
    before = _Counting.passes
    scoring = make_scoring("margin_quantile", "neg_normalized_loss", "neg_normalized_error")
    params = {"reference": "zero"}
    view = layers_view(fitted)  # built once: the measures given it share its passes
    values = {
        "margin_quantile": measures.margin_quantile(view, X, y),
        "normalized_loss": measures.normalized_loss(view, X, y, norm=norm),
        "normalized_error": measures.normalized_error(view, X, y, norm=norm),
        "spectral_bound": measures.spectral_bound(view, X, y, **params),
        "pac_bayes_bound": measures.pac_bayes_bound(view, X, y, **params),
    }
    assert _Counting.passes - before == 1
    # the values are the normalized network's, built and run here by hand
    expected = _explicit_normalized_logits(net, X, norm)
    target = torch.as_tensor(y)
    loss = torch.logsumexp(expected, 1) - expected.gather(1, target[:, None])[:, 0]
    assert values["normalized_loss"] == pytest.approx(float(loss.mean()), rel=1e-6)
    assert values["normalized_error"] == float((expected.argmax(1) != target).double().mean())
    # the scorers of one scoring dict: one pass for all of them
    scores = {name: scorer(fitted, X, y) for name, scorer in scoring.items()}
    assert _Counting.passes - before == 2
    assert scores["neg_normalized_loss"] == pytest.approx(
        -measures.normalized_loss(view, X, y), rel=1e-5
    )
    # a bias after the first layer: the network's new logits, and no other pass under the
    # cumulative rule; divided by its own norm it makes the normalized network another one
    with torch.no_grad():
        net[3].bias = nn.Parameter(torch.full((6,), 0.1))
    view = layers_view(fitted)
    measures.margin_quantile(view, X, y)
    measures.normalized_loss(view, X, y, norm=norm)
    assert _Counting.passes - before == 3
    measures.normalized_loss(view, X, y, norm=norm, biases="own")
    assert _Counting.passes - before == 4


def test_small_operations_run_on_one_thread():
    from sklearn_gen.measures._cache import single_threaded

    threads = torch.get_num_threads()
    with single_threaded():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == threads


def test_refit_estimator_is_never_served_a_stale_value():
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)[:300]
    y = y[:300]
    net = NetworkClassifier(
        "mlp", module__hidden=(16,), max_epochs=2, lr=0.1, random_state=0, warm_start=True
    ).fit(X, y)
    first = measures.margin_quantile(net, X, y, q=0.5)
    net.partial_fit(X, y)  # the same estimator object, its weights updated in place
    second = measures.margin_quantile(net, X, y, q=0.5)
    assert second == measures.margin_quantile(net, X, y, q=0.5) != first


# ------------------------------------------------------------------------------ quantiles
def test_margin_quantile_methods_reproduce_the_published_conventions(conv_sample):
    _, fitted, X, y = conv_sample
    values = measures.margins(fitted, X[:25], y[:25])  # m = 25
    q = 0.1
    lower = measures.margin_quantile(fitted, X[:25], y[:25], q=q)
    linear = measures.margin_quantile(fitted, X[:25], y[:25], q=q, method="linear")
    kth = measures.margin_quantile(fitted, X[:25], y[:25], q=q, method="kth")
    ordered = np.sort(values)
    assert lower == ordered[math.floor(q * 24)] == np.quantile(values, q, method="lower")
    assert linear == pytest.approx(np.percentile(values, 100 * q), rel=1e-12)
    assert kth == ordered[25 // 10 - 1] == float(torch.kthvalue(torch.as_tensor(values), 2)[0])
    # floor(0.5) = 0: the smallest margin; a batch of 5 is not a batch of 25 to float32
    # GEMM (other blocking, other sums): the logits (~0.1) agree to ~1e-6, not bit for bit
    assert measures.margin_quantile(fitted, X[:5], y[:5], q=0.1, method="kth") == pytest.approx(
        np.min(values[:5]), abs=1e-6, rel=1e-5
    )
    with pytest.raises(ValueError, match="method must be"):
        measures.margin_quantile(fitted, X, y, method="nearest")
    bound = measures.spectral_bound(fitted, X, y, q=0.3, quantile_method="linear")
    ratio = bound / measures.spectral_bound(fitted, X, y, q=0.3)
    gammas = [measures.margin_quantile(fitted, X, y, q=0.3, method=m) for m in ("lower", "linear")]
    assert ratio == pytest.approx(gammas[0] / gammas[1], rel=1e-9)
