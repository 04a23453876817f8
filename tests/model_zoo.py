"""Test-local re-implementations of reference architectures.

torchvision does not import beside the CPU torch wheel used here, so this module re-implements
the architectures researchers use, written the way torchvision (and the original papers' code)
writes them: attribute-style submodules (``self.conv1``, ``self.bn1``, ...) with custom
``forward`` methods rather than plain ``nn.Sequential`` chains.

Contents:

* :class:`ResNet` / :class:`BasicBlock` and :func:`resnet18` (torchvision layout, optional
  CIFAR-style stem).
* :class:`VGG` and :func:`vgg11_bn` (torchvision layout, configuration "A" with batch norm).
* :class:`PreActBlock` / :class:`PreActResNet` and :func:`preact_resnet18` (He et al. 2016,
  "Identity Mappings in Deep Residual Networks").
* :class:`InvertedResidual` / :class:`MobileNetV2` and :func:`mobilenet_v2_small`
  (torchvision's MobileNetV2 blocks, small configuration).
* :class:`NiNBlock` / :class:`NiN` and :func:`nin` (the Network-in-Network of Jiang et al. 2020,
  "Fantastic Generalization Measures and Where to Find Them").
* :class:`WRNBasicBlock` / :class:`NetworkBlock` / :class:`WideResNet` and :func:`wide_resnet`
  (Zagoruyko & Komodakis 2016, pre-activation wide residual network).
* :class:`DenseLayer` / :class:`DenseBlockNet` and :func:`densenet_tiny` (a tiny DenseNet).
* :class:`MLP`, a plain user-written multi-layer perceptron.
* Models written the other ways people write them: :class:`FunctionalMLP` and
  :class:`FunctionalCNN` (weights as parameters applied with ``F.linear`` / ``F.conv2d``),
  :class:`NormMLP` (LayerNorm) and :class:`GroupNormCNN`, :class:`ActivationMLP` (GELU,
  SiLU, tanh), :class:`ScaledMLP` (a constant in ``forward``), :class:`Mixer` (an MLP-Mixer
  block: transposes, LayerNorm, GELU, residual sums) and :class:`FlatRowsCNN` (a
  shape-dependent branch ``torch.fx`` cannot trace; ``torch.export`` can).

``ZOO`` maps a family name to a zero-argument factory building a small instance for tests, and
``INPUT_SHAPE`` gives the per-sample input shape for each entry. Every module but
:class:`FlatRowsCNN` is traceable by ``torch.fx.symbolic_trace`` (no Python control flow on
the input).

Only ``torch`` and the standard library are imported, so the file can be loaded by path with
``importlib.util`` from tests and benchmarks.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "INPUT_SHAPE",
    "MLP",
    "NIN",
    "VGG",
    "ZOO",
    "ActivationMLP",
    "BasicBlock",
    "DenseBlockNet",
    "DenseLayer",
    "FlatRowsCNN",
    "FunctionalCNN",
    "FunctionalMLP",
    "GroupNormCNN",
    "InvertedResidual",
    "Mixer",
    "MixerBlock",
    "MobileNetV2",
    "NetworkBlock",
    "NiN",
    "NiNBlock",
    "NormMLP",
    "PreActBlock",
    "PreActResNet",
    "ResNet",
    "ScaledMLP",
    "WRNBasicBlock",
    "WideResNet",
    "densenet_tiny",
    "mobilenet_v2_small",
    "nin",
    "preact_resnet18",
    "resnet18",
    "vgg11_bn",
    "wide_resnet",
]


# ---------------------------------------------------------------------------------------------
# ResNet (torchvision layout)
# ---------------------------------------------------------------------------------------------


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding (as in torchvision)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution (as in torchvision)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """torchvision's ResNet basic block: conv3x3-bn-relu-conv3x3-bn, add identity, relu."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x

        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)

        out = self.conv2(out)
        out = self.bn2(out)

        if self.downsample is not None:
            identity = self.downsample(x)

        out += identity
        out = self.relu(out)

        return out


class ResNet(nn.Module):
    """torchvision's ResNet (basic blocks), with a configurable base width and stem.

    ``small_input=True`` replaces the 7x7 stride-2 stem convolution and the max pool by a 3x3
    stride-1 convolution and an identity (the usual CIFAR adaptation).
    """

    def __init__(
        self,
        block: type[BasicBlock],
        layers: list[int],
        num_classes: int = 10,
        in_channels: int = 3,
        width: int = 64,
        small_input: bool = True,
    ) -> None:
        super().__init__()
        self.inplanes = width
        if small_input:
            self.conv1 = nn.Conv2d(
                in_channels, width, kernel_size=3, stride=1, padding=1, bias=False
            )
        else:
            self.conv1 = nn.Conv2d(
                in_channels, width, kernel_size=7, stride=2, padding=3, bias=False
            )
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        if small_input:
            self.maxpool: nn.Module = nn.Identity()
        else:
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d | nn.GroupNorm):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def _make_layer(
        self, block: type[BasicBlock], planes: int, blocks: int, stride: int = 1
    ) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )

        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))

        return nn.Sequential(*layers)

    def _forward_impl(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)

        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)

        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.fc(x)

        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward_impl(x)


def resnet18(
    num_classes: int = 10, in_channels: int = 3, width: int = 64, small_input: bool = True
) -> ResNet:
    """ResNet-18 (layers [2, 2, 2, 2]); ``width`` is the base channel count (64 in torchvision)."""
    return ResNet(
        BasicBlock,
        [2, 2, 2, 2],
        num_classes=num_classes,
        in_channels=in_channels,
        width=width,
        small_input=small_input,
    )


# ---------------------------------------------------------------------------------------------
# VGG (torchvision layout)
# ---------------------------------------------------------------------------------------------

VGG_CFG_A: list[int | str] = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]


def make_vgg_layers(
    cfg: list[int | str], in_channels: int = 3, batch_norm: bool = True
) -> nn.Sequential:
    """Build torchvision's VGG ``features`` from a configuration list."""
    layers: list[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            v = int(v)
            conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            else:
                layers += [conv2d, nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """torchvision's VGG: ``features``, ``avgpool``, flatten, ``classifier``.

    The adaptive pooling output is (1, 1) instead of torchvision's (7, 7) so small inputs work.
    """

    def __init__(
        self,
        features: nn.Module,
        num_classes: int = 10,
        feature_channels: int = 512,
        hidden: int = 4096,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Sequential(
            nn.Linear(feature_channels, hidden),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


def vgg11_bn(
    num_classes: int = 10, in_channels: int = 3, width_div: int = 1, hidden: int = 4096
) -> VGG:
    """VGG-11 with batch norm (configuration "A"); channel counts are divided by ``width_div``."""
    cfg: list[int | str] = [v if v == "M" else max(1, int(v) // width_div) for v in VGG_CFG_A]
    feature_channels = int([v for v in cfg if v != "M"][-1])
    features = make_vgg_layers(cfg, in_channels=in_channels, batch_norm=True)
    return VGG(features, num_classes=num_classes, feature_channels=feature_channels, hidden=hidden)


# ---------------------------------------------------------------------------------------------
# Pre-activation ResNet (He et al. 2016, identity mappings)
# ---------------------------------------------------------------------------------------------


class PreActBlock(nn.Module):
    """Pre-activation basic block: bn1-relu-conv1-bn2-relu-conv2, plus (projected) shortcut."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(
            in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False
        )
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_planes != self.expansion * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(
                    in_planes, self.expansion * planes, kernel_size=1, stride=stride, bias=False
                )
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        out = out + shortcut
        return out


class PreActResNet(nn.Module):
    """Pre-activation ResNet; final bn + relu before global average pooling."""

    def __init__(
        self,
        block: type[PreActBlock],
        num_blocks: list[int],
        num_classes: int = 10,
        in_channels: int = 3,
        width: int = 64,
    ) -> None:
        super().__init__()
        self.in_planes = width
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=3, stride=1, padding=1, bias=False)
        self.layer1 = self._make_layer(block, width, num_blocks[0], stride=1)
        self.layer2 = self._make_layer(block, width * 2, num_blocks[1], stride=2)
        self.layer3 = self._make_layer(block, width * 4, num_blocks[2], stride=2)
        self.layer4 = self._make_layer(block, width * 8, num_blocks[3], stride=2)
        self.bn = nn.BatchNorm2d(width * 8 * block.expansion)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.linear = nn.Linear(width * 8 * block.expansion, num_classes)

    def _make_layer(
        self, block: type[PreActBlock], planes: int, num_blocks: int, stride: int
    ) -> nn.Sequential:
        strides = [stride] + [1] * (num_blocks - 1)
        layers = []
        for s in strides:
            layers.append(block(self.in_planes, planes, s))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)
        out = self.layer1(out)
        out = self.layer2(out)
        out = self.layer3(out)
        out = self.layer4(out)
        out = F.relu(self.bn(out))
        out = self.avgpool(out)
        out = torch.flatten(out, 1)
        out = self.linear(out)
        return out


def preact_resnet18(num_classes: int = 10, in_channels: int = 3, width: int = 64) -> PreActResNet:
    """Pre-activation ResNet-18 (blocks [2, 2, 2, 2]); ``width`` is the base channel count."""
    return PreActResNet(
        PreActBlock, [2, 2, 2, 2], num_classes=num_classes, in_channels=in_channels, width=width
    )


# ---------------------------------------------------------------------------------------------
# MobileNetV2 (torchvision blocks)
# ---------------------------------------------------------------------------------------------


def _make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """torchvision's channel rounding: round to a multiple of ``divisor``, never below 90%."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class ConvBNReLU6(nn.Sequential):
    """Conv2d + BatchNorm2d + ReLU6 (torchvision's ``ConvBNReLU`` / ``Conv2dNormActivation``)."""

    def __init__(
        self,
        in_planes: int,
        out_planes: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
    ) -> None:
        padding = (kernel_size - 1) // 2
        super().__init__(
            nn.Conv2d(
                in_planes, out_planes, kernel_size, stride, padding, groups=groups, bias=False
            ),
            nn.BatchNorm2d(out_planes),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """torchvision's MobileNetV2 inverted residual block."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        self.stride = stride
        if stride not in (1, 2):
            raise ValueError(f"stride should be 1 or 2 instead of {stride}")

        hidden_dim = round(inp * expand_ratio)
        self.use_res_connect = self.stride == 1 and inp == oup

        layers: list[nn.Module] = []
        if expand_ratio != 1:
            # pw
            layers.append(ConvBNReLU6(inp, hidden_dim, kernel_size=1))
        layers.extend(
            [
                # dw
                ConvBNReLU6(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim),
                # pw-linear
                nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
                nn.BatchNorm2d(oup),
            ]
        )
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        else:
            return self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision's MobileNetV2 with a configurable block setting (stride-1 stem)."""

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        width_mult: float = 1.0,
        inverted_residual_setting: list[list[int]] | None = None,
        input_channel: int = 32,
        last_channel: int = 1280,
        dropout: float = 0.2,
        round_nearest: int = 8,
    ) -> None:
        super().__init__()
        if inverted_residual_setting is None:
            inverted_residual_setting = [
                # t, c, n, s
                [1, 16, 1, 1],
                [6, 24, 2, 2],
                [6, 32, 3, 2],
                [6, 64, 4, 2],
                [6, 96, 3, 1],
                [6, 160, 3, 2],
                [6, 320, 1, 1],
            ]
        input_channel = _make_divisible(input_channel * width_mult, round_nearest)
        self.last_channel = _make_divisible(last_channel * max(1.0, width_mult), round_nearest)
        features: list[nn.Module] = [ConvBNReLU6(in_channels, input_channel, stride=1)]
        for t, c, n, s in inverted_residual_setting:
            output_channel = _make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                stride = s if i == 0 else 1
                features.append(InvertedResidual(input_channel, output_channel, stride, t))
                input_channel = output_channel
        features.append(ConvBNReLU6(input_channel, self.last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)

        self.classifier = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(self.last_channel, num_classes),
        )

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d | nn.GroupNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return x


def mobilenet_v2_small(
    num_classes: int = 10, in_channels: int = 3, width_mult: float = 0.25
) -> MobileNetV2:
    """A small MobileNetV2 for 16x16 / 32x32 inputs.

    Block settings (t, c, n, s): [1, 16, 1, 1] (residual, no expansion), [6, 24, 2, 2]
    (stride 2, then a residual block), [6, 32, 2, 2]. The last 1x1 conv has
    ``1280 * width_mult`` channels (rounded to a multiple of 8).
    """
    setting = [
        [1, 16, 1, 1],
        [6, 24, 2, 2],
        [6, 32, 2, 2],
    ]
    return MobileNetV2(
        num_classes=num_classes,
        in_channels=in_channels,
        width_mult=width_mult,
        inverted_residual_setting=setting,
        input_channel=32,
        last_channel=_make_divisible(1280 * width_mult, 8),
    )


# ---------------------------------------------------------------------------------------------
# Network-in-Network (Jiang et al. 2020, "Fantastic generalization measures")
# ---------------------------------------------------------------------------------------------


class NiNBlock(nn.Module):
    """conv3x3 (stride 2) -> BN -> ReLU -> conv1x1 -> BN -> ReLU -> conv1x1 -> BN -> ReLU."""

    def __init__(self, in_planes: int, planes: int, stride: int = 2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=1)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv3 = nn.Conv2d(planes, planes, kernel_size=1)
        self.bn3 = nn.BatchNorm2d(planes)
        self.relu3 = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.relu3(self.bn3(self.conv3(out)))
        return out


class NiN(nn.Module):
    """Network-in-Network as used by Jiang et al. (2020).

    ``depth`` NiN blocks of width ``width``, then a 1x1 convolution to ``num_classes`` followed
    (as in their code) by BN and ReLU, then global average pooling over the spatial dimensions.
    ``final_bn_relu=False`` drops the final BN + ReLU so the logits are a plain 1x1 conv output.
    """

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        width: int = 32,
        depth: int = 2,
        final_bn_relu: bool = True,
    ) -> None:
        super().__init__()
        blocks = []
        planes = in_channels
        for _ in range(depth):
            blocks.append(NiNBlock(planes, width, stride=2))
            planes = width
        self.blocks = nn.Sequential(*blocks)
        self.conv_out = nn.Conv2d(planes, num_classes, kernel_size=1)
        self.final_bn_relu = final_bn_relu
        if final_bn_relu:
            self.bn_out: nn.Module = nn.BatchNorm2d(num_classes)
            self.relu_out: nn.Module = nn.ReLU(inplace=True)
        else:
            self.bn_out = nn.Identity()
            self.relu_out = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(x)
        x = self.relu_out(self.bn_out(self.conv_out(x)))
        x = x.mean(dim=(2, 3))
        return x


NIN = NiN


def nin(num_classes: int = 10, in_channels: int = 3, width: int = 32, depth: int = 2) -> NiN:
    """Network-in-Network of Jiang et al. (2020) with ``depth`` blocks of ``width`` channels."""
    return NiN(num_classes=num_classes, in_channels=in_channels, width=width, depth=depth)


# ---------------------------------------------------------------------------------------------
# Wide ResNet (Zagoruyko & Komodakis 2016, pre-activation)
# ---------------------------------------------------------------------------------------------


class WRNBasicBlock(nn.Module):
    """The reference WideResNet ``BasicBlock`` (pre-activation, ``equalInOut`` shortcut logic).

    Named ``WRNBasicBlock`` here only to avoid clashing with the ResNet :class:`BasicBlock`.
    """

    def __init__(self, in_planes: int, out_planes: int, stride: int, dropRate: float = 0.0) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(
            in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False
        )
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(
            out_planes, out_planes, kernel_size=3, stride=1, padding=1, bias=False
        )
        self.droprate = dropRate
        self.equalInOut = in_planes == out_planes
        self.convShortcut: nn.Module | None = None
        if not self.equalInOut:
            self.convShortcut = nn.Conv2d(
                in_planes, out_planes, kernel_size=1, stride=stride, padding=0, bias=False
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.equalInOut:
            x = self.relu1(self.bn1(x))
            out = x
        else:
            out = self.relu1(self.bn1(x))
        out = self.relu2(self.bn2(self.conv1(out)))
        if self.droprate > 0:
            out = F.dropout(out, p=self.droprate, training=self.training)
        out = self.conv2(out)
        if self.equalInOut:
            return torch.add(x, out)
        assert self.convShortcut is not None
        return torch.add(self.convShortcut(x), out)


class NetworkBlock(nn.Module):
    """A group of ``nb_layers`` WideResNet basic blocks."""

    def __init__(
        self,
        nb_layers: int,
        in_planes: int,
        out_planes: int,
        block: type[WRNBasicBlock],
        stride: int,
        dropRate: float = 0.0,
    ) -> None:
        super().__init__()
        self.layer = self._make_layer(block, in_planes, out_planes, nb_layers, stride, dropRate)

    @staticmethod
    def _make_layer(
        block: type[WRNBasicBlock],
        in_planes: int,
        out_planes: int,
        nb_layers: int,
        stride: int,
        dropRate: float,
    ) -> nn.Sequential:
        layers = []
        for i in range(int(nb_layers)):
            layers.append(
                block(
                    in_planes if i == 0 else out_planes,
                    out_planes,
                    stride if i == 0 else 1,
                    dropRate,
                )
            )
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class WideResNet(nn.Module):
    """WRN-``depth``-``widen_factor``; channel widths base, base*k, 2*base*k, 4*base*k."""

    def __init__(
        self,
        depth: int = 16,
        widen_factor: int = 4,
        num_classes: int = 10,
        in_channels: int = 3,
        base: int = 16,
        dropRate: float = 0.0,
    ) -> None:
        super().__init__()
        nChannels = [base, base * widen_factor, 2 * base * widen_factor, 4 * base * widen_factor]
        if (depth - 4) % 6 != 0:
            raise ValueError("WideResNet depth must be 6n + 4")
        n = (depth - 4) // 6
        block = WRNBasicBlock
        # 1st conv before any network block
        self.conv1 = nn.Conv2d(
            in_channels, nChannels[0], kernel_size=3, stride=1, padding=1, bias=False
        )
        # 1st block
        self.block1 = NetworkBlock(n, nChannels[0], nChannels[1], block, 1, dropRate)
        # 2nd block
        self.block2 = NetworkBlock(n, nChannels[1], nChannels[2], block, 2, dropRate)
        # 3rd block
        self.block3 = NetworkBlock(n, nChannels[2], nChannels[3], block, 2, dropRate)
        # global average pooling and classifier
        self.bn1 = nn.BatchNorm2d(nChannels[3])
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(nChannels[3], num_classes)
        self.nChannels = nChannels[3]

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1)
                m.bias.data.zero_()
            elif isinstance(m, nn.Linear):
                m.bias.data.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(x)
        out = self.block1(out)
        out = self.block2(out)
        out = self.block3(out)
        out = self.relu(self.bn1(out))
        # the reference code uses F.avg_pool2d(out, 8) for 32x32 inputs; adaptive pooling is the
        # same there and also handles smaller inputs.
        out = F.adaptive_avg_pool2d(out, 1)
        out = out.view(-1, self.nChannels)
        return self.fc(out)


def wide_resnet(
    depth: int = 16,
    widen_factor: int = 4,
    num_classes: int = 10,
    in_channels: int = 3,
    base: int = 16,
) -> WideResNet:
    """WideResNet (WRN-16-4 by default); ``base`` shrinks the channel counts for tests."""
    return WideResNet(
        depth=depth,
        widen_factor=widen_factor,
        num_classes=num_classes,
        in_channels=in_channels,
        base=base,
    )


# ---------------------------------------------------------------------------------------------
# Tiny DenseNet
# ---------------------------------------------------------------------------------------------


class DenseLayer(nn.Module):
    """BN -> ReLU -> conv3x3 producing ``growth`` new feature maps."""

    def __init__(self, in_planes: int, growth: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(in_planes)
        self.relu = nn.ReLU(inplace=False)
        self.conv = nn.Conv2d(in_planes, growth, kernel_size=3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.relu(self.bn(x)))


class DenseBlockNet(nn.Module):
    """Stem conv, one dense block (each layer sees the concatenation of all earlier maps),
    final BN + ReLU, global average pooling, flatten, linear classifier."""

    def __init__(
        self, num_classes: int = 10, in_channels: int = 3, growth: int = 4, num_layers: int = 3
    ) -> None:
        super().__init__()
        stem_planes = 2 * growth
        self.conv0 = nn.Conv2d(in_channels, stem_planes, kernel_size=3, padding=1, bias=False)
        self.layers = nn.ModuleList(
            [DenseLayer(stem_planes + i * growth, growth) for i in range(num_layers)]
        )
        out_planes = stem_planes + num_layers * growth
        self.bn = nn.BatchNorm2d(out_planes)
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Linear(out_planes, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [self.conv0(x)]
        for layer in self.layers:
            new = layer(torch.cat(features, 1))
            features.append(new)
        out = torch.cat(features, 1)
        out = self.relu(self.bn(out))
        out = self.avgpool(out)
        out = torch.flatten(out, 1)
        return self.classifier(out)


def densenet_tiny(num_classes: int = 10, in_channels: int = 3, growth: int = 4) -> DenseBlockNet:
    """A tiny DenseNet: stem conv, a 3-layer dense block, pooling and a linear classifier."""
    return DenseBlockNet(
        num_classes=num_classes, in_channels=in_channels, growth=growth, num_layers=3
    )


# ---------------------------------------------------------------------------------------------
# Plain MLP
# ---------------------------------------------------------------------------------------------


class MLP(nn.Module):
    """A plain user-written MLP: fc1 -> relu -> fc2 -> relu -> fc3."""

    def __init__(self, in_features: int = 64, hidden: int = 32, num_classes: int = 10) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


# ---------------------------------------------------------------------------------------------
# Models written the other ways people write them
# ---------------------------------------------------------------------------------------------


class FunctionalMLP(nn.Module):
    """Weights as ``nn.Parameter`` attributes, applied with ``F.linear`` (no Linear module)."""

    def __init__(self, in_features: int = 64, hidden: int = 32, num_classes: int = 10) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.w = nn.Parameter(torch.randn(num_classes, hidden) / hidden**0.5)
        self.b = nn.Parameter(torch.zeros(num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(F.relu(self.fc1(x)), self.w, self.b)


class FunctionalCNN(nn.Module):
    """A convolution written with ``F.conv2d`` on a parameter, then a Linear classifier."""

    def __init__(self, in_channels: int = 1, width: int = 4, num_classes: int = 10) -> None:
        super().__init__()
        self.kernel = nn.Parameter(torch.randn(width, in_channels, 3, 3) / 3.0)
        self.fc = nn.Linear(width * 4 * 4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(F.conv2d(x, self.kernel, stride=2, padding=1))
        return self.fc(torch.flatten(h, 1))


class NormMLP(nn.Module):
    """fc1 -> LayerNorm -> ReLU -> fc2 (``norm="layer"``) or the conv twin with GroupNorm."""

    def __init__(self, in_features: int = 64, hidden: int = 32, num_classes: int = 10) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.ln = nn.LayerNorm(hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.ln(self.fc1(x))))


class GroupNormCNN(nn.Module):
    """conv -> GroupNorm -> ReLU -> average pooling -> Linear."""

    def __init__(self, in_channels: int = 1, width: int = 8, num_classes: int = 10) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, width, 3, padding=1)
        self.gn = nn.GroupNorm(2, width)
        self.fc = nn.Linear(width * 4 * 4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.avg_pool2d(F.relu(self.gn(self.conv(x))), 2)
        return self.fc(torch.flatten(h, 1))


class ActivationMLP(nn.Module):
    """fc1 -> activation -> fc2 -> activation -> fc3, the activation a module given."""

    def __init__(
        self,
        activation: Callable[[], nn.Module] = nn.GELU,
        in_features: int = 64,
        hidden: int = 32,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.act1 = activation()
        self.fc2 = nn.Linear(hidden, hidden)
        self.act2 = activation()
        self.fc3 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(self.act2(self.fc2(self.act1(self.fc1(x)))))


class ScaledMLP(nn.Module):
    """A constant in ``forward``: ``fc2(relu(fc1(scale * x)))``."""

    def __init__(
        self, in_features: int = 64, hidden: int = 32, num_classes: int = 10, scale: float = 100.0
    ) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(x * self.scale)))


class MixerBlock(nn.Module):
    """One MLP-Mixer block (Tolstikhin et al. 2021): token mixing through a transpose, then
    channel mixing, each a LayerNorm -> Linear -> GELU -> Linear with a residual sum."""

    def __init__(self, tokens: int, channels: int, hidden: int = 16) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(channels)
        self.token1 = nn.Linear(tokens, hidden)
        self.token2 = nn.Linear(hidden, tokens)
        self.norm2 = nn.LayerNorm(channels)
        self.channel1 = nn.Linear(channels, hidden)
        self.channel2 = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, tokens, channels)
        y = self.norm1(x).transpose(1, 2)
        x = x + self.token2(F.gelu(self.token1(y))).transpose(1, 2)
        return x + self.channel2(F.gelu(self.channel1(self.norm2(x))))


class Mixer(nn.Module):
    """Patches of a ``(C, H, W)`` image as tokens, one Mixer block, mean over tokens, head."""

    def __init__(
        self, in_channels: int = 1, patch: int = 4, size: int = 8, dim: int = 8, classes: int = 10
    ) -> None:
        super().__init__()
        self.stem = nn.Conv2d(in_channels, dim, patch, stride=patch)
        self.block = MixerBlock((size // patch) ** 2, dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.stem(x).flatten(2).transpose(1, 2)
        return self.head(self.block(tokens).mean(1))


class FlatRowsCNN(nn.Module):
    """A conv chain that also takes flat rows: ``if x.dim() == 2: x = x.reshape(...)``, a
    shape-dependent branch ``torch.fx`` cannot trace."""

    def __init__(self, in_channels: int = 1, width: int = 4, num_classes: int = 10) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.conv = nn.Conv2d(in_channels, width, 3, padding=1)
        self.bn = nn.BatchNorm2d(width)
        self.fc = nn.Linear(width * 4 * 4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.reshape(x.shape[0], self.in_channels, 8, 8)
        h = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(torch.flatten(h, 1))


# ---------------------------------------------------------------------------------------------
# Small instances for tests
# ---------------------------------------------------------------------------------------------


def trained_like(model: nn.Module, seed: int) -> nn.Module:
    """Give every batch norm random running statistics and affine parameters (as after
    training, so that folding them is not the identity), then eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                module.running_mean.copy_(0.3 * torch.randn(n, generator=gen))
                module.running_var.copy_(0.5 + torch.rand(n, generator=gen))
                if module.affine:
                    module.weight.copy_(0.5 + torch.rand(n, generator=gen))
                    module.bias.copy_(0.1 * torch.randn(n, generator=gen))
    return model.eval()


ZOO: dict[str, Callable[[], nn.Module]] = {
    "resnet18": lambda: resnet18(num_classes=10, in_channels=3, width=8, small_input=True),
    "vgg11_bn": lambda: vgg11_bn(num_classes=10, in_channels=3, width_div=8, hidden=64),
    "preact_resnet18": lambda: preact_resnet18(num_classes=10, in_channels=3, width=8),
    "mobilenet_v2": lambda: mobilenet_v2_small(num_classes=10, in_channels=3, width_mult=0.25),
    "nin": lambda: nin(num_classes=10, in_channels=3, width=32, depth=2),
    "wide_resnet16_4": lambda: wide_resnet(
        depth=16, widen_factor=4, num_classes=10, in_channels=3, base=4
    ),
    "densenet": lambda: densenet_tiny(num_classes=10, in_channels=3, growth=4),
    "mlp": lambda: MLP(in_features=64, hidden=32, num_classes=10),
    "functional_mlp": lambda: FunctionalMLP(in_features=64, hidden=32, num_classes=10),
    "functional_cnn": lambda: FunctionalCNN(in_channels=1, width=4, num_classes=10),
    "layernorm_mlp": lambda: NormMLP(in_features=64, hidden=32, num_classes=10),
    "groupnorm_cnn": lambda: GroupNormCNN(in_channels=1, width=8, num_classes=10),
    "gelu_mlp": lambda: ActivationMLP(nn.GELU),
    "silu_mlp": lambda: ActivationMLP(nn.SiLU),
    "tanh_mlp": lambda: ActivationMLP(nn.Tanh),
    "scaled_mlp": lambda: ScaledMLP(scale=100.0),
    "mixer": lambda: Mixer(in_channels=1, patch=2, size=8, dim=12, classes=10),
    "flat_rows_cnn": lambda: FlatRowsCNN(in_channels=1, width=4, num_classes=10),
}

INPUT_SHAPE: dict[str, tuple[int, ...]] = {
    "resnet18": (3, 16, 16),
    "vgg11_bn": (3, 32, 32),
    "preact_resnet18": (3, 16, 16),
    "mobilenet_v2": (3, 16, 16),
    "nin": (3, 16, 16),
    "wide_resnet16_4": (3, 16, 16),
    "densenet": (3, 16, 16),
    "mlp": (64,),
    "functional_mlp": (64,),
    "functional_cnn": (1, 8, 8),
    "layernorm_mlp": (64,),
    "groupnorm_cnn": (1, 8, 8),
    "gelu_mlp": (64,),
    "silu_mlp": (64,),
    "tanh_mlp": (64,),
    "scaled_mlp": (64,),
    "mixer": (1, 8, 8),
    "flat_rows_cnn": (64,),
}
