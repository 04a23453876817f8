"""The power-law exponent of the layers' ESDs (Martin & Mahoney's weightwatcher alpha):
recovered from exact Pareto eigenvalues, from layers built to have them, equal to the
``powerlaw`` package's estimator and to weightwatcher's ``analyze()``."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from torch import nn

from sklearn_gen.measures import UndefinedMeasureError, layers_view
from sklearn_gen.measures._spectra import (
    _fit_powerlaw,
    _fit_ww,
    layer_alphas,
    layer_eigenvalues,
    mean_alpha,
)


def _pareto(alpha: float, n: int, seed: int) -> np.ndarray:
    """n draws of density ``(alpha - 1) x^-alpha`` on ``[1, inf)`` (inverse CDF)."""
    uniform = np.random.default_rng(seed).random(n)
    return (1.0 - uniform) ** (-1.0 / (alpha - 1.0))


def _orthogonal(n: int, generator: torch.Generator) -> torch.Tensor:
    q, r = torch.linalg.qr(torch.randn(n, n, generator=generator, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


def _with_spectrum(evals: np.ndarray, out: int, generator: torch.Generator) -> torch.Tensor:
    """An ``(out, len(evals))`` matrix whose ``W^T W`` has exactly the eigenvalues ``evals``."""
    m = len(evals)
    u = _orthogonal(out, generator)[:, :m]
    v = _orthogonal(m, generator)
    return u @ torch.diag(torch.as_tensor(np.sqrt(evals))) @ v.T


def _student_t_mlp(seed: int = 0) -> nn.Sequential:
    """A small MLP with heavy-tailed (Student-t, 2.5 degrees of freedom) weights: entries
    with tail exponent 2.5 give an ESD tail of exponent about 1 + 2.5 / 2."""
    rng = np.random.default_rng(seed)
    net = nn.Sequential(
        nn.Linear(100, 200),
        nn.ReLU(),
        nn.Linear(200, 150),
        nn.ReLU(),
        nn.Linear(150, 60),
        nn.ReLU(),
        nn.Linear(60, 10),
    )
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, nn.Linear):
                layer.weight.copy_(torch.as_tensor(rng.standard_t(2.5, layer.weight.shape) * 0.05))
    return net.eval()


def _student_t_convnet(seed: int = 0) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    net = nn.Sequential(
        nn.Conv2d(3, 16, 3),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 40),
        nn.ReLU(),
        nn.Linear(40, 10),
    )
    with torch.no_grad():
        for layer in net:
            if hasattr(layer, "weight"):
                layer.weight.copy_(torch.as_tensor(rng.standard_t(2.5, layer.weight.shape) * 0.05))
    return net.eval()


# ---------------------------------------------------------------------------------- the fit
@pytest.mark.parametrize(("alpha", "seed"), [(2.5, 0), (4.0, 1)])
def test_the_fit_recovers_the_exponent_of_a_pareto_sample(alpha, seed):
    evals = _pareto(alpha, 5000, seed)
    assert _fit_ww(evals) == pytest.approx(alpha, abs=0.15)
    # the fit is invariant to the scale of the eigenvalues (W^T W or W^T W / N)
    assert _fit_ww(evals[:500] / 500) == pytest.approx(_fit_ww(evals[:500]), rel=1e-9)


@pytest.mark.filterwarnings("ignore")  # the packages' own deprecations
def test_ww_fit_is_the_powerlaw_package_estimator_without_xmax():
    """fit="ww" is Clauset et al.'s estimator as ``powerlaw.Fit`` computes it (no xmax,
    exponent range opened to (1, inf)): the same xmin candidates, MLE and KS distance."""
    powerlaw = pytest.importorskip("powerlaw")
    evals = _pareto(2.5, 1000, 3)
    fitted = powerlaw.Fit(evals, verbose=False, parameter_ranges={"alpha": [1.0, None]})
    assert _fit_ww(evals) == pytest.approx(fitted.alpha, rel=1e-9)
    # a heavy-tailed layer's ESD whose best tail has alpha > 3 (powerlaw fits numerically)
    evals = layer_eigenvalues(_student_t_mlp(), input_shape=(100,))[0]
    fitted = powerlaw.Fit(evals, verbose=False, parameter_ranges={"alpha": [1.0, None]})
    assert fitted.alpha > 3
    assert _fit_ww(evals) == pytest.approx(fitted.alpha, rel=1e-6)


@pytest.mark.filterwarnings("ignore")  # the packages' own deprecations
def test_powerlaw_fit_with_xmax_recovers_the_exponent():
    """fit="powerlaw": ``powerlaw.Fit(evals, xmax=max(evals))``, the exponent's range
    opened (powerlaw 2.0's default range (0, 3) reports at most 3 for this alpha=4 tail)."""
    powerlaw = pytest.importorskip("powerlaw")
    evals = _pareto(2.5, 2000, 0)
    assert _fit_powerlaw(evals) == pytest.approx(2.5, abs=0.15)
    # alpha > 3 takes powerlaw's numerical fit of every candidate: a smaller, noise-free
    # sample (the Pareto quantiles) keeps this fast
    quantiles = (np.arange(300) + 0.5) / 300
    evals = (1.0 - quantiles) ** (-1.0 / 3.0)  # alpha = 4
    assert _fit_powerlaw(evals) == pytest.approx(4.0, abs=0.15)
    capped = powerlaw.Fit(evals, xmax=evals.max(), verbose=False).alpha
    assert capped <= 3.0
    # through the measure: the truncated fit chooses other tails than fit="ww" on these
    # small ESDs (5.20, 4.51, 3.18, 2.17 with fit="ww")
    np.testing.assert_allclose(
        layer_alphas(_student_t_mlp(), input_shape=(100,), fit="powerlaw"),
        [2.0994, 4.4028, 2.5646, 2.7705],
        atol=1e-3,
    )


def test_small_esds_use_weightwatchers_bias_corrected_fit():
    # fewer than 20 eigenvalues: the exponent 1 + (n - 1) / sum log(x / xmin) of the
    # tails of at least 8 eigenvalues, the one with the smallest KS distance winning
    evals = np.sort(_pareto(3.0, 12, 4))
    fits = []
    for start in range(len(evals) - 7):
        tail = evals[start:]
        exponent = 1.0 + (len(tail) - 1.0) / np.log(tail / tail[0]).sum()
        model = 1.0 - (tail / tail[0]) ** (1.0 - exponent)
        fits.append((np.abs(model - np.arange(len(tail)) / len(tail)).max(), exponent))
    assert _fit_ww(evals) == pytest.approx(min(fits)[1], rel=1e-12)
    # fewer than 8: the whole ESD
    head = evals[:5]
    assert _fit_ww(head) == pytest.approx(1.0 + 4.0 / np.log(head / head[0]).sum(), rel=1e-12)
    # all equal: no exponent
    assert not np.isfinite(_fit_ww(np.ones(30)))
    assert not np.isfinite(_fit_ww(np.ones(12)))


# ------------------------------------------------------------------------------ the layers
@pytest.mark.parametrize(("alpha", "seed"), [(2.5, 0), (4.0, 1)])
def test_a_conv_layer_built_with_a_pareto_spectrum_gives_its_exponent(alpha, seed):
    """25 slices of 200 x 200 (a 5 x 5 kernel), their 5000 eigenvalues a Pareto sample:
    ``conv="slices"`` pools them into one ESD, as weightwatcher does."""
    evals = _pareto(alpha, 5000, seed)
    generator = torch.Generator().manual_seed(seed)
    conv = nn.Conv2d(200, 200, 5, bias=False)
    with torch.no_grad():
        for k, chunk in enumerate(np.split(evals, 25)):
            conv.weight[:, :, k // 5, k % 5] = _with_spectrum(chunk, 200, generator)
    net = nn.Sequential(conv)
    pooled = layer_eigenvalues(net, input_shape=(200, 5, 5), conv="slices")[0]
    np.testing.assert_allclose(pooled, np.sort(evals), rtol=1e-5)  # float32 weights
    value = layer_alphas(net, input_shape=(200, 5, 5), conv="slices")
    assert value.shape == (1,)
    assert value[0] == pytest.approx(_fit_ww(pooled), rel=1e-12)
    assert value[0] == pytest.approx(alpha, abs=0.15)
    # the reshaped kernel (200 x 5000) is another matrix: 200 eigenvalues, another ESD
    assert len(layer_eigenvalues(net, input_shape=(200, 5, 5))[0]) == 200


def test_a_linear_layer_built_with_a_pareto_spectrum_gives_its_exponent():
    evals = _pareto(3.0, 600, 5)
    generator = torch.Generator().manual_seed(5)
    net = nn.Sequential(nn.Linear(600, 800, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(_with_spectrum(evals, 800, generator))
    # float32 weights: eigenvalues to ~1e-6, alpha to the same
    assert mean_alpha(net, input_shape=(600,)) == pytest.approx(_fit_ww(evals), rel=1e-4)
    assert mean_alpha(net, input_shape=(600,)) == pytest.approx(3.0, abs=0.3)
    # the transposed layer (N and M swapped) has the same nonzero eigenvalues
    transposed = nn.Sequential(nn.Linear(800, 600, bias=False))
    with torch.no_grad():
        transposed[0].weight.copy_(net[0].weight.T)
    assert mean_alpha(transposed, input_shape=(800,)) == pytest.approx(
        mean_alpha(net, input_shape=(600,)), rel=1e-9
    )


def test_skipped_layers_and_undefined_cases():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.BatchNorm1d(30),  # not after a Linear: stays a diagonal layer, skipped
        nn.Linear(30, 40),
        nn.ReLU(),
        nn.Linear(40, 12),
        nn.ReLU(),
        nn.Linear(12, 3),  # 3 eigenvalues: skipped
    ).eval()
    view = layers_view(net, input_shape=(30,))
    assert [layer.kind for layer in view.layers] == ["diagonal", "linear", "linear", "linear"]
    assert layer_alphas(view).shape == (2,)
    assert layer_alphas(view, min_eigenvalues=13).shape == (1,)  # the 12 x 40 layer too
    assert len(layer_eigenvalues(view)) == 3
    with pytest.raises(UndefinedMeasureError, match="min_eigenvalues=50"):
        mean_alpha(view, min_eigenvalues=50)
    assert layer_alphas(view, min_eigenvalues=50).shape == (0,)
    # an orthogonal weight: every eigenvalue is 1, no tail to fit
    orthogonal = nn.Sequential(nn.Linear(20, 20, bias=False))
    with torch.no_grad():
        orthogonal[0].weight.copy_(torch.eye(20))
    with pytest.raises(UndefinedMeasureError, match="20 nonzero eigenvalues have 1 distinct"):
        mean_alpha(orthogonal, input_shape=(20,))
    # zero eigenvalues (a rank-deficient layer) are dropped before counting and fitting
    low_rank = nn.Sequential(nn.Linear(30, 30, bias=False))
    with torch.no_grad():
        low_rank[0].weight[15:] = 0.0
    assert len(layer_eigenvalues(low_rank, input_shape=(30,))[0]) == 30
    assert layer_alphas(low_rank, input_shape=(30,), min_eigenvalues=16).shape == (0,)
    assert layer_alphas(low_rank, input_shape=(30,), min_eigenvalues=15).shape == (1,)


def test_estimators_views_and_modules_agree_and_nothing_changes():
    net = _student_t_convnet()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    shape = {"input_shape": (3, 8, 8)}
    first = layer_alphas(net, **shape, conv="slices")
    assert first.shape == (4,)
    np.testing.assert_array_equal(layer_alphas(layers_view(net, **shape), conv="slices"), first)
    np.testing.assert_array_equal(layer_alphas(net, **shape, conv="slices"), first)  # memo
    assert mean_alpha(net, **shape, conv="slices") == pytest.approx(first.mean(), rel=1e-15)
    # Linear layers do not depend on conv=; the two conv layers do
    reshaped = layer_alphas(net, **shape)
    np.testing.assert_array_equal(reshaped[2:], first[2:])
    assert not np.allclose(reshaped[:2], first[:2])
    # the flat shape is read from X for a flat network
    mlp = _student_t_mlp()
    X = np.zeros((2, 100))
    np.testing.assert_array_equal(layer_alphas(mlp, X), layer_alphas(mlp, input_shape=(100,)))
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k])


def test_bad_parameters():
    net = _student_t_mlp()
    shape = {"input_shape": (100,)}
    with pytest.raises(ValueError, match="conv must be one of"):
        layer_alphas(net, **shape, conv="fft")
    with pytest.raises(ValueError, match="fit must be one of"):
        mean_alpha(net, **shape, fit="scipy")
    for bad in (1, 0, 2.5, "10", True):
        with pytest.raises((ValueError, TypeError), match="min_eigenvalues"):
            layer_alphas(net, **shape, min_eigenvalues=bad)
    with pytest.raises(ValueError, match="conv must be one of"):
        layer_eigenvalues(net, **shape, conv=None)


# ------------------------------------------------------------------------- weightwatcher
@pytest.mark.filterwarnings("ignore")  # the packages' own deprecations
def test_same_alphas_as_weightwatcher_analyze():
    """Per-layer alphas against ``weightwatcher.WeightWatcher(model=module).analyze()``.

    Measured with weightwatcher 0.7.7 and powerlaw 2.0.0 (fit="ww", the default):

    - MLP 100-200-150-60-10, Student-t(2.5) weights: weightwatcher's alphas
      5.203531, 4.505749, 3.178875, 2.165093 (N x M = 200x100, 200x150, 150x60, 60x10;
      the last with its small-sample fit), ours equal to ~1e-15 relative;
    - conv net Conv2d(3, 16, 3), Conv2d(16, 32, 3), Linear(512, 40), Linear(40, 10),
      Student-t(2.5) weights, conv="slices": 3.232619, 2.213663, 7.014786, 2.052576
      (27 and 144 pooled slice eigenvalues for the convs), ours equal to ~1e-15
      relative (weightwatcher halves the conv eigenvalues, its conv2d_norm, which leaves
      alpha unchanged).
    - ``analyze(pl_package="powerlaw", xmax="force")`` (what fit="powerlaw" computes)
      fails on every layer with powerlaw 2.0 (alpha -1: weightwatcher 0.7.7 passes a
      ``distribution=`` argument that ``powerlaw.Fit`` 2.0 no longer takes), so it is not
      compared. For reference, fit="powerlaw" gives 2.099, 4.403, 2.565, 2.770 on the MLP:
      with ``xmax=max(evals)`` powerlaw fits the power law truncated at the largest
      eigenvalue, which on these small ESDs picks other tails than the untruncated fit.
    """
    ww = pytest.importorskip("weightwatcher")
    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    mlp = _student_t_mlp()
    details = ww.WeightWatcher(model=mlp).analyze(min_evals=10)
    assert list(details["M"]) == [100, 150, 60, 10]
    ours = layer_alphas(mlp, input_shape=(100,))
    np.testing.assert_allclose(ours, details["alpha"].to_numpy(dtype=float), rtol=1e-9)
    np.testing.assert_allclose(
        ours, [5.203531, 4.505749, 3.178875, 2.165093], atol=1e-6
    )  # the numbers in the docstring
    conv = _student_t_convnet()
    details = ww.WeightWatcher(model=conv).analyze(min_evals=10)
    assert list(details["num_evals"]) == [27, 144, 40, 10]
    ours = layer_alphas(conv, input_shape=(3, 8, 8), conv="slices")
    np.testing.assert_allclose(ours, details["alpha"].to_numpy(dtype=float), rtol=1e-9)
    assert mean_alpha(conv, input_shape=(3, 8, 8), conv="slices") == pytest.approx(
        details["alpha"].mean(), rel=1e-9
    )
