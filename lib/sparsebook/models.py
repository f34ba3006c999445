"""The papers' networks, built by name.

``build("lenet5", num_classes=10)`` returns a freshly initialised model. Every
builder follows the original code's architecture and initialisation (see
``shared/reference``): DeepHoyer's LeNets keep PyTorch's default init as the
original did; HyperSparse's ResNet-32 (the width-doubled GraSP variant) and
VGG-19-BN use Kaiming-normal / N(0, 0.01) as the original did.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn
import torch.nn.functional as F

__all__ = ["MODELS", "build", "conv_linear_weights", "prunable_layers"]


def _init_hypersparse(model: nn.Module, conv_init: Callable[[nn.Conv2d], None]) -> None:
    """HyperSparse's initialisation: ``conv_init`` for convs, N(0, 0.01) Linear, BN weight 1 bias 0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            conv_init(m)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class LeNet300100(nn.Module):
    """DeepHoyer's MLP: 784-300-100-10 with ReLU (266,610 parameters on MNIST)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, image_size: int = 28):
        super().__init__()
        self.fc1 = nn.Linear(in_channels * image_size * image_size, 300)
        self.fc2 = nn.Linear(300, 100)
        self.fc3 = nn.Linear(100, num_classes)

    def forward(self, x):
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class LeNet5(nn.Module):
    """DeepHoyer's Caffe LeNet-5: conv20@5 - pool - conv50@5 - pool - fc500 - fc (431,080 parameters)."""

    #: evaluation copies on the CPU run channels_last (:func:`sparsebook.fast.inference.inference_copy`): max-pooling
    #: in NCHW takes half of an NCHW forward pass here; channels_last evaluates 2.3x faster (benchmark page)
    cpu_eval_channels_last = True

    def __init__(self, num_classes: int = 10, in_channels: int = 1, image_size: int = 28):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        side = ((image_size - 4) // 2 - 4) // 2
        self.fc1 = nn.Linear(50 * side * side, 500)
        self.fc2 = nn.Linear(500, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class CifarResNet(nn.Module):
    """CIFAR ResNet of depth 6n+2 (GraSP's variant used by HyperSparse).

    ``width`` is the first stage's channel count: 32 is HyperSparse's
    width-doubled ResNet-32 (32/64/128), 16 the classic one (16/32/64).
    """

    cpu_eval_channels_last = True  # as LeNet5; the ResNets also train faster so (VGG-19 does not: 0.9x)

    def __init__(self, depth: int = 32, num_classes: int = 10, in_channels: int = 3, width: int = 32):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"ResNet depth must be 6n+2 (20, 32, 44, ...), got {depth}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        blocks, cin = [], width
        for stage, cout in enumerate((width, 2 * width, 4 * width)):
            for i in range(n):
                blocks.append(BasicBlock(cin, cout, 2 if stage > 0 and i == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, num_classes)
        _init_hypersparse(self, lambda conv: nn.init.kaiming_normal_(conv.weight, mode="fan_out",
                                                                     nonlinearity="relu"))

    def forward(self, x):
        x = self.blocks(F.relu(self.bn1(self.conv1(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


VGG19_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512)
#: VGG-11 (configuration A), the family's shallowest member: a miniature for machines without a GPU
VGG11_CFG = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512)


class VGG19(nn.Module):
    """HyperSparse's VGG-19 with BN: 16 conv3x3(+bias)-BN-ReLU, 4 max-pools, avg-pool, one Linear.

    ``cfg`` and ``width`` (first-stage channels, the paper's 64; every stage scales with it) give the
    family's smaller members with the same blocks, initialisation and head."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, image_size: int = 32, cfg=VGG19_CFG,
                 width: int = 64):
        super().__init__()
        layers, cin = [], in_channels
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                v = v * width // 64
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                cin = v
        layers.append(nn.AvgPool2d(image_size // 16))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(cin, num_classes)

        def conv_init(conv):
            fan_in = conv.kernel_size[0] * conv.kernel_size[1] * conv.in_channels
            nn.init.normal_(conv.weight, 0, math.sqrt(2.0 / fan_in))
            nn.init.zeros_(conv.bias)
        _init_hypersparse(self, conv_init)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def _resnet(depth: int) -> Callable[..., nn.Module]:
    def builder(num_classes: int, in_channels: int, image_size: int, width: int | None = None):
        return CifarResNet(depth, num_classes, in_channels, width or 32)
    return builder


def _plain(cls) -> Callable[..., nn.Module]:
    def builder(num_classes: int, in_channels: int, image_size: int, width: int | None = None):
        if width is not None:
            raise ValueError(f"width is only defined for the ResNets, not {cls.__name__}")
        return cls(num_classes, in_channels, image_size)
    return builder


def _vgg(cfg) -> Callable[..., nn.Module]:
    def builder(num_classes: int, in_channels: int, image_size: int, width: int | None = None):
        return VGG19(num_classes, in_channels, image_size, cfg=cfg, width=width or 64)
    return builder


# name -> (builder, default in_channels, default image_size)
MODELS: dict[str, tuple[Callable[..., nn.Module], int, int]] = {
    "lenet_300_100": (_plain(LeNet300100), 1, 28),
    "lenet5": (_plain(LeNet5), 1, 28),
    "resnet20": (_resnet(20), 3, 32),
    "resnet32": (_resnet(32), 3, 32),
    "vgg19": (_vgg(VGG19_CFG), 3, 32),
    "vgg11": (_vgg(VGG11_CFG), 3, 32),
}


def build(name: str, num_classes: int = 10, in_channels: int | None = None,
          image_size: int | None = None, width: int | None = None) -> nn.Module:
    """Build a model by name; ``width`` selects the first-stage channels: the ResNets' (32 paper, 16 classic)
    and the VGGs' (64 paper; smaller for a miniature)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(sorted(MODELS))}")
    builder, default_channels, default_size = MODELS[name]
    for param, value in (("num_classes", num_classes), ("in_channels", in_channels),
                         ("image_size", image_size), ("width", width)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ValueError(f"{param} must be a positive integer, got {value!r}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    size = image_size or default_size
    if name.startswith("vgg") and size % 16:
        raise ValueError(f"{name} needs an image_size divisible by 16 (32 or 64), got {size}")
    if name.startswith("vgg") and width is not None and (width % 4 or width > 64):
        raise ValueError(f"{name}: width (first-stage channels) must be a multiple of 4 up to 64, got {width}")
    if name == "lenet5" and size < 16:
        raise ValueError(f"lenet5 needs an image_size of at least 16, got {size}")
    return builder(num_classes, in_channels or default_channels, size, width=width)


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The Conv2d and Linear layers, in forward order: what ART regularizes and prunes."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def conv_linear_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """``{"<layer>.weight": tensor}`` for every Conv2d and Linear layer (biases and BN excluded)."""
    return {f"{n}.weight": m.weight for n, m in prunable_layers(model)}
