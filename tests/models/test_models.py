"""Pinned parameter counts of the papers' models, and clear errors for bad input."""
import pytest
import torch

from sparsebook import models


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def n_weights(model):
    return sum(w.numel() for w in models.conv_linear_weights(model).values())


@pytest.mark.parametrize("name, total", [("lenet_300_100", 266_610), ("lenet5", 431_080)])
def test_lenet_parameter_counts(name, total):
    model = models.build(name)
    assert n_params(model) == total
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("kwargs, weights", [
    ({}, 1_855_584),
    ({"num_classes": 100}, 1_867_104),
    ({"num_classes": 200, "image_size": 64}, 1_879_904),
    ({"width": 16}, 464_432),
])
def test_resnet32_weight_counts(kwargs, weights):
    assert n_weights(models.build("resnet32", **kwargs)) == weights


@pytest.mark.parametrize("kwargs, weights", [
    ({}, 20_024_000), ({"num_classes": 100}, 20_070_080), ({"num_classes": 200, "image_size": 64}, 20_121_280),
])
def test_vgg19_weight_counts(kwargs, weights):
    assert n_weights(models.build("vgg19", **kwargs)) == weights


@pytest.mark.parametrize("name, kwargs, weights", [
    ("vgg11", {"num_classes": 100}, 9_268_928),             # VGG-11 (configuration A) at the paper's width
    ("vgg11", {"num_classes": 100, "width": 16}, 589_232),  # a miniature: every stage a quarter as wide
    ("vgg19", {"num_classes": 100, "width": 64}, 20_070_080),
])
def test_vgg_family_weight_counts(name, kwargs, weights):
    assert n_weights(models.build(name, **kwargs)) == weights


@pytest.mark.parametrize("name, size", [("resnet32", 32), ("vgg19", 32), ("vgg19", 64), ("resnet20", 32),
                                        ("vgg11", 32)])
def test_forward_shapes(name, size):
    model = models.build(name, num_classes=7, image_size=size, **({"width": 8} if "resnet" in name else {}))
    assert model(torch.zeros(2, 3, size, size)).shape == (2, 7)


def test_paper_initialisations():
    torch.manual_seed(0)
    resnet = models.build("resnet32")
    assert resnet.fc.weight.std().item() == pytest.approx(0.01, rel=0.1)
    conv = resnet.blocks[0].conv1.weight  # kaiming normal, fan_out = 32 * 9
    assert conv.std().item() == pytest.approx((2 / (32 * 9)) ** 0.5, rel=0.1)
    vgg = models.build("vgg19")
    first = vgg.features[0]
    assert first.weight.std().item() == pytest.approx((2 / 27) ** 0.5, rel=0.15)
    assert torch.all(first.bias == 0)


def test_conv_linear_weights_exclude_bias_and_bn():
    names = list(models.conv_linear_weights(models.build("resnet32", width=8)))
    assert all(n.endswith(".weight") for n in names)
    assert not any("bn" in n for n in names)
    assert names[0] == "conv1.weight" and names[-1] == "fc.weight"
    assert any("shortcut" in n for n in names)


def test_unknown_model_lists_valid_names():
    with pytest.raises(ValueError, match="unknown model 'lenet7'.*lenet5.*resnet32.*vgg19"):
        models.build("lenet7")


@pytest.mark.parametrize("kwargs, match", [
    ({"num_classes": 1}, "num_classes"), ({"num_classes": 0}, "num_classes"), ({"num_classes": 2.5}, "num_classes"),
    ({"in_channels": -1}, "in_channels"),
])
def test_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.build("lenet5", **kwargs)


def test_width_only_where_defined():
    with pytest.raises(ValueError, match="width is only defined"):
        models.build("lenet5", width=16)
    with pytest.raises(ValueError, match="multiple of 4 up to 64"):
        models.build("vgg19", width=18)
    with pytest.raises(ValueError, match="image_size"):
        models.build("vgg19", image_size=40)
