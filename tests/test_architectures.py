"""Tests for the papers' architectures (sklearn_gen.networks.architectures)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn

from sklearn_gen.networks.architectures import (
    ARCHITECTURES,
    MLP,
    ConvNet,
    DeepFCNet,
    NiN,
    SmallAlexNet,
    SmallInception,
    count_parameters,
    get_architecture,
    is_chain,
)

CIFAR = (3, 28, 28)  # Zhang et al.'s 28x28 CIFAR-10 crops

CHAIN_CLASSES = [MLP, DeepFCNet, SmallAlexNet, ConvNet]


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _batch(shape: tuple[int, ...], n: int = 3, *, flat: bool = False) -> torch.Tensor:
    x = torch.randn(n, *shape)
    return x.reshape(n, -1) if flat else x


# --------------------------------------------------------------------------------------------
# Parameter counts (Zhang et al. 2017, Table 1; Liao et al. 2018)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        pytest.param(lambda: MLP(CIFAR, 10, hidden=(512,)), 1_209_866, id="mlp1x512"),
        pytest.param(lambda: MLP(CIFAR, 10, hidden=(512, 512, 512)), 1_735_178, id="mlp3x512"),
        pytest.param(lambda: SmallAlexNet(CIFAR, 10), 1_387_786, id="alexnet"),
        pytest.param(lambda: SmallInception(CIFAR, 10), 1_649_402, id="inception"),
        pytest.param(
            lambda: SmallInception(CIFAR, 10, batch_norm=False), 1_649_402, id="inception-no-bn"
        ),
        pytest.param(lambda: ConvNet((3, 32, 32), 10), 154_464, id="convnet"),
    ],
)
def test_parameter_counts(model, expected):
    assert count_parameters(model()) == expected


def test_mlp_default_hidden_is_1x512():
    assert count_parameters(MLP(CIFAR, 10)) == 1_209_866


def test_batch_norm_switches_do_not_change_the_count():
    # Biases are kept under batch norm and batch-norm parameters are not counted.
    assert count_parameters(MLP(CIFAR, 10, batch_norm=True, dropout=0.5)) == 1_209_866
    assert count_parameters(SmallAlexNet(CIFAR, 10, batch_norm=True)) == 1_387_786
    assert count_parameters(ConvNet((3, 32, 32), 10, batch_norm=True)) == 154_464


def test_small_inception_per_block_counts():
    model = SmallInception(CIFAR, 10)
    blocks = [*model.features, model.classifier]
    counts = [count_parameters(block) for block in blocks]
    assert counts == [
        2688,
        30784,
        29776,
        57680,
        87200,
        107680,
        128160,
        146064,
        124512,
        388176,
        543312,
        3370,
    ]


def test_include_batch_norm_counts_affine_parameters():
    model = SmallInception(CIFAR, 10)
    n_bn = sum(
        m.weight.numel() + m.bias.numel() for m in model.modules() if isinstance(m, nn.BatchNorm2d)
    )
    assert n_bn > 0
    assert count_parameters(model, include_batch_norm=True) == 1_649_402 + n_bn
    mlp = MLP(CIFAR, 10, batch_norm=True)
    assert count_parameters(mlp, include_batch_norm=True) == 1_209_866 + 2 * 512


def test_count_parameters_counts_shared_parameters_once_and_includes_frozen():
    shared = nn.Linear(4, 4)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert count_parameters(model) == 20
    shared.weight.requires_grad_(False)
    assert count_parameters(model) == 20


def test_count_parameters_rejects_non_modules():
    with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
        count_parameters([torch.zeros(3)])  # type: ignore[arg-type]


def test_deep_fc_net_is_bias_free_with_depth_linear_layers():
    model = DeepFCNet(CIFAR, 10)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert len(linears) == 5
    assert all(m.bias is None for m in linears)
    assert [m.out_features for m in linears] == [1024] * 4 + [10]
    assert count_parameters(model) == 2352 * 1024 + 3 * 1024 * 1024 + 1024 * 10
    assert isinstance(model, MLP)
    assert (model.depth, model.width) == (5, 1024)


def test_deep_fc_net_depth_one_is_linear():
    model = DeepFCNet(64, 3, depth=1, width=7)
    assert [type(m) for m in model] == [nn.Flatten, nn.Linear]
    assert count_parameters(model) == 64 * 3


def test_convnet_layer_biases():
    model = ConvNet((3, 32, 32), 10)
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    linear = [m for m in model if isinstance(m, nn.Linear)]
    assert [c.bias is not None for c in convs] == [True, False]
    assert [c.padding for c in convs] == [(0, 0), (0, 0)]
    assert len(linear) == 1 and linear[0].bias is None
    assert linear[0].in_features == 24 * 24 * 24
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in model)


# --------------------------------------------------------------------------------------------
# Layer structure
# --------------------------------------------------------------------------------------------


def test_mlp_layer_order_with_switches():
    model = MLP(10, 4, hidden=(8, 6), batch_norm=True, dropout=0.25)
    assert [type(m) for m in model] == [
        nn.Flatten,
        nn.Linear,
        nn.BatchNorm1d,
        nn.ReLU,
        nn.Dropout,
        nn.Linear,
        nn.BatchNorm1d,
        nn.ReLU,
        nn.Dropout,
        nn.Linear,
    ]
    assert all(m.p == 0.25 for m in model if isinstance(m, nn.Dropout))
    assert not any(isinstance(m, nn.Dropout) for m in MLP(10, 4, dropout=0.0))


def test_mlp_without_bias():
    model = MLP(10, 4, hidden=(8,), bias=False)
    assert all(m.bias is None for m in model if isinstance(m, nn.Linear))


def test_small_alexnet_layer_order():
    model = SmallAlexNet(CIFAR, 10)
    block = [nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.LocalResponseNorm]
    head = [nn.Flatten, nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert [type(m) for m in model] == [nn.Flatten, nn.Unflatten, *block, *block, *head]
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (64 * 7 * 7, 384),
        (384, 192),
        (192, 10),
    ]
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    assert all(c.kernel_size == (5, 5) and c.padding == (2, 2) for c in convs)
    assert all(c.out_channels == 64 for c in convs)


def test_small_alexnet_switches_add_layers():
    model = SmallAlexNet(CIFAR, 10, batch_norm=True, dropout=0.5)
    kinds = [type(m) for m in model]
    assert kinds.count(nn.BatchNorm2d) == 2
    assert kinds.count(nn.BatchNorm1d) == 2
    assert kinds.count(nn.Dropout) == 2


def test_local_response_norm_matches_tensorflow_cifar10_tutorial():
    # tf.nn.lrn(x, depth_radius=4, bias=1.0, alpha=0.001 / 9, beta=0.75)
    lrn = next(m for m in SmallAlexNet((3, 4, 4), 10) if isinstance(m, nn.LocalResponseNorm))
    x = torch.randn(2, 64, 3, 3, dtype=torch.float64) * 5
    sq = x.square()
    window = torch.stack(
        [sq[:, max(c - 4, 0) : c + 5].sum(dim=1) for c in range(x.shape[1])], dim=1
    )
    expected = x / (1.0 + 0.001 / 9 * window) ** 0.75
    torch.testing.assert_close(lrn(x), expected)


def test_small_inception_spatial_sizes():
    model = SmallInception(CIFAR, 10).eval()
    sizes = []
    x = torch.zeros(1, *CIFAR)
    for block in model.features:
        x = block(x)
        sizes.append(tuple(x.shape[1:]))
    assert sizes[0] == (96, 28, 28)  # stem
    assert sizes[3] == (160, 13, 13)  # first downsample: 28 -> 13
    assert sizes[8] == (240, 6, 6)  # second downsample: 13 -> 6
    assert sizes[-1] == (336, 6, 6)
    assert model.classifier.in_features == 336


def test_small_inception_batch_norm_switch():
    with_bn = SmallInception(CIFAR, 10)
    without = SmallInception(CIFAR, 10, batch_norm=False)
    assert any(isinstance(m, nn.BatchNorm2d) for m in with_bn.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in without.modules())
    assert isinstance(SmallInception(CIFAR, 10, dropout=0.3).drop, nn.Dropout)
    assert isinstance(SmallInception(CIFAR, 10).drop, nn.Identity)


# --------------------------------------------------------------------------------------------
# Forward passes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "shape", "n_classes"),
    [
        pytest.param(lambda: MLP(CIFAR, 10), CIFAR, 10, id="mlp-cifar"),
        pytest.param(lambda: MLP((1, 8, 8), 10, hidden=(32, 16)), (1, 8, 8), 10, id="mlp-digits"),
        pytest.param(lambda: MLP(64, 3, hidden=()), (64,), 3, id="mlp-linear"),
        pytest.param(lambda: DeepFCNet((1, 8, 8), 4, width=16), (1, 8, 8), 4, id="deepfc"),
        pytest.param(lambda: SmallAlexNet(CIFAR, 10), CIFAR, 10, id="alexnet-cifar"),
        pytest.param(lambda: SmallAlexNet((1, 28, 28), 7), (1, 28, 28), 7, id="alexnet-mnist"),
        pytest.param(lambda: SmallAlexNet((1, 5, 3), 2), (1, 5, 3), 2, id="alexnet-tiny"),
        pytest.param(lambda: SmallInception(CIFAR, 10), CIFAR, 10, id="inception-cifar"),
        pytest.param(
            lambda: SmallInception((1, 28, 28), 5, batch_norm=False),
            (1, 28, 28),
            5,
            id="inception-mnist-nobn",
        ),
        pytest.param(lambda: SmallInception((2, 7, 9), 3), (2, 7, 9), 3, id="inception-min"),
        pytest.param(lambda: ConvNet((3, 32, 32), 10), (3, 32, 32), 10, id="convnet-cifar"),
        pytest.param(
            lambda: ConvNet((1, 8, 8), 10, width=6, kernel_size=3), (1, 8, 8), 10, id="convnet-8x8"
        ),
        pytest.param(lambda: ConvNet((1, 9, 12), 1), (1, 9, 12), 1, id="convnet-min"),
    ],
)
def test_forward_flat_and_image_batches(build, shape, n_classes):
    model = build().eval()
    image = _batch(shape, n=2)
    flat = image.reshape(2, -1)
    with torch.no_grad():
        out_image = model(image)
        out_flat = model(flat)
    assert out_image.shape == (2, n_classes)
    assert out_image.dtype == torch.float32
    torch.testing.assert_close(out_image, out_flat)
    assert torch.isfinite(out_image).all()


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: MLP((1, 8, 8), 3, hidden=(16, 16), batch_norm=True, dropout=0.5)),
        pytest.param(lambda: SmallAlexNet((1, 12, 12), 3, batch_norm=True, dropout=0.5)),
        pytest.param(lambda: SmallInception((1, 12, 12), 3, batch_norm=True, dropout=0.5)),
        pytest.param(lambda: SmallInception((1, 12, 12), 3, batch_norm=False, dropout=0.2)),
        pytest.param(lambda: ConvNet((1, 8, 8), 3, width=4, kernel_size=3, batch_norm=True)),
    ],
    ids=["mlp", "alexnet", "inception-bn", "inception-nobn", "convnet"],
)
def test_switch_variants_train_and_eval(build):
    model = build()
    x = torch.randn(4, math.prod(model.input_shape))
    model.train()
    out = model(x)
    assert out.shape == (4, 3)
    out.sum().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x))


def test_eval_forward_is_deterministic_for_a_seed():
    torch.manual_seed(123)
    a = SmallAlexNet((1, 8, 8), 4).eval()
    torch.manual_seed(123)
    b = SmallAlexNet((1, 8, 8), 4).eval()
    x = torch.randn(2, 64)
    with torch.no_grad():
        torch.testing.assert_close(a(x), b(x))


def test_mlp_flattens_any_trailing_shape():
    model = MLP((4, 6), 2, hidden=(5,)).eval()
    x = torch.randn(3, 24)
    with torch.no_grad():
        torch.testing.assert_close(model(x.reshape(3, 2, 3, 4)), model(x))


def test_numpy_integers_are_accepted():
    model = ConvNet(tuple(np.array([1, 9, 9])), np.int64(3))
    assert model.input_shape == (1, 9, 9)
    assert isinstance(model.n_classes, int)
    assert MLP(np.int32(5), 2).input_shape == (5,)


# --------------------------------------------------------------------------------------------
# Chains
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        MLP((1, 8, 8), 3, hidden=(8, 8), batch_norm=True, dropout=0.1),
        DeepFCNet((1, 8, 8), 3, depth=3, width=8),
        SmallAlexNet((1, 8, 8), 3, batch_norm=True, dropout=0.1),
        ConvNet((1, 10, 10), 3, width=4, batch_norm=True),
    ],
    ids=["mlp", "deepfc", "alexnet", "convnet"],
)
def test_chains_are_flat_and_walkable(model):
    assert is_chain(model)
    assert isinstance(model, nn.Sequential)
    assert all(next(child.children(), None) is None for child in model)
    model.eval()
    x = torch.randn(2, 64 if model.input_shape != (1, 10, 10) else 100)
    h = x
    with torch.no_grad():
        for layer in model:
            h = layer(h)
        torch.testing.assert_close(h, model(x))


def test_chain_slices_are_plain_sequentials_sharing_weights():
    model = SmallAlexNet((1, 8, 8), 3).eval()
    head = model[:-1]
    assert type(head) is nn.Sequential
    assert len(head) == len(model) - 1
    assert head[2] is model[2]
    assert isinstance(model[-1], nn.Linear)
    x = torch.randn(2, 64)
    with torch.no_grad():
        torch.testing.assert_close(model[-1](head(x)), model(x))
        assert head(x.reshape(2, 1, 8, 8)).shape == (2, 192)
    mlp = MLP(6, 2, hidden=(5,))
    assert mlp.pop(-1) is not None and len(mlp) == 3


def test_chains_survive_deepcopy():
    model = ConvNet((1, 9, 9), 3, width=2).eval()
    clone = copy.deepcopy(model)
    assert type(clone) is ConvNet and clone.input_shape == (1, 9, 9)
    x = torch.randn(2, 81)
    with torch.no_grad():
        torch.testing.assert_close(clone(x), model(x))


def test_is_chain():
    assert not is_chain(SmallInception((3, 8, 8), 2))
    assert not is_chain(nn.Sequential(nn.Sequential(nn.Linear(2, 2)), nn.ReLU()))
    assert not is_chain(nn.Linear(2, 2))
    assert is_chain(nn.Sequential(nn.Linear(2, 2), nn.ReLU()))
    for cls in CHAIN_CLASSES:
        assert is_chain(cls)
    assert not is_chain(SmallInception)
    with pytest.raises(TypeError):
        is_chain("mlp")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        is_chain(int)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


def test_registry_names():
    assert set(ARCHITECTURES) == {
        "mlp",
        "deep_fc",
        "small_alexnet",
        "small_inception",
        "convnet",
        "nin",
    }
    assert ARCHITECTURES["small_inception"] is SmallInception
    assert all(issubclass(cls, nn.Module) for cls in ARCHITECTURES.values())


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_get_architecture_by_name(name):
    assert get_architecture(name) is ARCHITECTURES[name]


def test_get_architecture_is_lenient_about_case_and_dashes():
    assert get_architecture("Small-AlexNet") is SmallAlexNet
    assert get_architecture(" MLP ") is MLP


def test_get_architecture_accepts_module_subclasses():
    class Custom(nn.Module):
        pass

    assert get_architecture(Custom) is Custom
    assert get_architecture(ConvNet) is ConvNet


def test_get_architecture_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="resnet") as info:
        get_architecture("resnet")
    for name in ARCHITECTURES:
        assert repr(name) in str(info.value)


@pytest.mark.parametrize("bad", [3, None, MLP(4, 2), int])
def test_get_architecture_rejects_other_types(bad):
    with pytest.raises(TypeError, match=r"torch\.nn\.Module subclass"):
        get_architecture(bad)


def test_every_architecture_follows_the_constructor_convention():
    for name, cls in ARCHITECTURES.items():
        shape = (1, 12, 12)
        model = cls(shape, n_classes=4).eval()
        with torch.no_grad():
            assert model(torch.zeros(2, *shape)).shape == (2, 4), name


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", list(ARCHITECTURES.values()))
@pytest.mark.parametrize(
    ("n_classes", "error"), [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError)]
)
def test_bad_n_classes(cls, n_classes, error):
    with pytest.raises(error, match="n_classes"):
        cls((1, 12, 12), n_classes)


@pytest.mark.parametrize("cls", [SmallAlexNet, SmallInception, ConvNet, NiN])
@pytest.mark.parametrize(
    ("shape", "error", "match"),
    [
        ((28, 28), ValueError, "3 entries"),
        ((1, 1, 28, 28), ValueError, "3 entries"),
        (784, TypeError, r"\(C, H, W\)"),
        ((1, 0, 28), ValueError, "positive"),
        ((1, 28.0, 28), TypeError, "ints"),
        ("1x28x28", TypeError, "sequence"),
    ],
)
def test_conv_nets_reject_bad_input_shapes(cls, shape, error, match):
    with pytest.raises(error, match=match):
        cls(shape, 10)


@pytest.mark.parametrize(
    ("shape", "error"), [((), ValueError), ((0, 3), ValueError), (-1, ValueError), ("a", TypeError)]
)
def test_mlps_reject_bad_input_shapes(shape, error):
    with pytest.raises(error, match="input_shape"):
        MLP(shape, 10)


def test_images_too_small_name_the_minimum_size():
    with pytest.raises(ValueError, match="at least 7x7"):
        SmallInception((3, 6, 28), 10)
    with pytest.raises(ValueError, match="at least 9x9"):
        ConvNet((1, 8, 8), 10)
    with pytest.raises(ValueError, match="at least 5x5"):
        ConvNet((1, 4, 8), 10, kernel_size=3)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"dropout": 1.0}, ValueError, "dropout"),
        ({"dropout": -0.1}, ValueError, "dropout"),
        ({"dropout": "0.5"}, TypeError, "dropout"),
        ({"batch_norm": 1}, TypeError, "batch_norm"),
        ({"bias": "yes"}, TypeError, "bias"),
        ({"hidden": (512, 0)}, ValueError, "hidden"),
        ({"hidden": (512.0,)}, TypeError, "hidden"),
    ],
)
def test_mlp_rejects_bad_switches(kwargs, error, match):
    with pytest.raises(error, match=match):
        MLP(CIFAR, 10, **kwargs)


def test_other_bad_switches():
    with pytest.raises(ValueError, match="depth"):
        DeepFCNet(CIFAR, 10, depth=0)
    with pytest.raises(TypeError, match="width"):
        DeepFCNet(CIFAR, 10, width=10.0)
    with pytest.raises(ValueError, match="width"):
        ConvNet((3, 32, 32), 10, width=0)
    with pytest.raises(ValueError, match="kernel_size"):
        ConvNet((3, 32, 32), 10, kernel_size=0)
    with pytest.raises(ValueError, match="dropout"):
        SmallAlexNet(CIFAR, 10, dropout=2)
    with pytest.raises(TypeError, match="batch_norm"):
        SmallInception(CIFAR, 10, batch_norm=None)
    with pytest.raises(TypeError):
        ConvNet((3, 32, 32), 10, 24)  # switches are keyword-only


@pytest.mark.parametrize(
    "model",
    [
        MLP((1, 8, 8), 3, hidden=(4,)),
        SmallAlexNet((1, 8, 8), 3),
        SmallInception((1, 8, 8), 3),
        ConvNet((1, 9, 9), 3, width=2),
    ],
    ids=["mlp", "alexnet", "inception", "convnet"],
)
def test_forward_rejects_wrong_batch_shapes(model):
    n = math.prod(model.input_shape)
    with pytest.raises(ValueError, match="expects a batch of shape"):
        model(torch.zeros(2, n + 1))
    with pytest.raises(ValueError, match="expects a batch of shape"):
        model(torch.zeros(n))
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        model(np.zeros((2, n), dtype=np.float32))


def test_conv_nets_reject_permuted_images():
    model = ConvNet((3, 9, 10), 2, width=2)
    with pytest.raises(ValueError, match=r"\(N, 3, 9, 10\)"):
        model(torch.zeros(2, 10, 9, 3))


# --------------------------------------------------------------------------------------------
# NiN (Jiang et al. 2020's zoo)
# --------------------------------------------------------------------------------------------


def test_nin_blocks_downsample_and_the_logits_are_class_map_means():
    model = NiN((3, 32, 32), 10, width=8, depth=3, batch_norm=True, dropout=0.25).eval()
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(3, 3), (1, 1), (1, 1)] * 3 + [(1, 1)]
    assert [c.stride for c in convs[::3][:3]] == [(2, 2)] * 3
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model) == 9
    assert sum(isinstance(m, nn.Dropout) for m in model) == 3
    x = torch.randn(4, 3, 32, 32)
    features = model[:-2](x)  # the class maps before the average pooling
    assert features.shape == (4, 10, 4, 4)  # 32 -> 16 -> 8 -> 4
    torch.testing.assert_close(model(x), features.mean(dim=(2, 3)))
    assert is_chain(model)
    # 3x3 convolution 3 -> 8, two 1x1 8 -> 8, then two blocks 8 -> 8, then 1x1 8 -> 10
    first = 8 * 27 + 8 + 2 * (8 * 8 + 8)
    later = 8 * 72 + 8 + 2 * (8 * 8 + 8)
    assert count_parameters(model) == first + 2 * later + 8 * 10 + 10
