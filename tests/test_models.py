"""Backbone shapes, any number of input channels, the MODELS registry and pair resolution."""

from __future__ import annotations

import pytest
import torch

from ackd_bench.errors import ConfigError
from ackd_bench.models import MODELS, PAIRS, BackboneOutput, build_model, pair_key, resolve_pair

torch.set_num_threads(1)

TOKEN_DIM = {"resnet18": 512, "resnet34": 512, "mobilenetv2": 512, "shufflenetv2_x0_5": 1024}


def test_registry_has_the_four_backbones():
    assert MODELS.names() == sorted(TOKEN_DIM)


@pytest.mark.parametrize("name", sorted(TOKEN_DIM))
@pytest.mark.parametrize("in_channels", [3, 10, 14])
def test_backbone_shapes_64px(name: str, in_channels: int):
    torch.manual_seed(0)
    model = build_model(name, in_channels=in_channels, num_classes=7).eval()
    with torch.inference_mode():
        out = model(torch.randn(2, in_channels, 64, 64))
    assert isinstance(out, BackboneOutput)
    assert model.token_dim == TOKEN_DIM[name]
    assert out.tokens.shape == (2, 4, TOKEN_DIM[name])  # 64/32 = 2 -> N = 2*2
    assert out.embedding.shape == (2, 512)
    assert out.logits.shape == (2, 7)
    assert all(torch.isfinite(t).all() for t in out)


@pytest.mark.parametrize("name", sorted(TOKEN_DIM))
def test_backbone_other_channel_counts_and_size(name: str):
    model = build_model(name, in_channels=1, num_classes=3).eval()
    with torch.inference_mode():
        out = model(torch.randn(1, 1, 128, 128))
    assert out.tokens.shape == (1, 16, TOKEN_DIM[name])
    assert out.logits.shape == (1, 3)


def test_tokens_are_the_flattened_last_map():
    """Mean of the tokens equals the pooled feature (ResNet: the embedding itself)."""
    model = build_model("resnet18", 3, 4).eval()
    with torch.inference_mode():
        out = model(torch.randn(2, 3, 64, 64))
    torch.testing.assert_close(out.tokens.mean(dim=1), out.embedding)


def test_architecture_details():
    m = build_model("mobilenetv2", 3, 5)
    assert m.features[-1][0].out_channels == 512
    assert m.dropout.p == pytest.approx(0.2)
    assert m.fc.in_features == 512
    s = build_model("shufflenetv2_x0_5", 10, 5)
    assert (s.embed.in_features, s.embed.out_features) == (1024, 512)
    assert s.conv1[0].in_channels == 10
    r = build_model("resnet34", 14, 5)
    assert r.net.conv1.in_channels == 14
    assert [len(r.net.layer1), len(r.net.layer2), len(r.net.layer3), len(r.net.layer4)] == [3, 4, 6, 3]


def test_build_model_errors():
    with pytest.raises(ConfigError, match="unknown model 'vgg16'"):
        build_model("vgg16", 3, 10)
    with pytest.raises(ConfigError, match="in_channels"):
        build_model("resnet18", 0, 10)
    with pytest.raises(ConfigError, match="num_classes"):
        build_model("resnet18", 3, 0)


def test_pairs_and_resolve_pair():
    assert list(PAIRS) == ["R-R", "M-M", "S-S", "R-M", "R-S", "M-S"]
    assert resolve_pair("R-S") == ("resnet34", "shufflenetv2_x0_5")
    assert resolve_pair("M-S") == ("mobilenetv2", "shufflenetv2_x0_5")
    assert resolve_pair("R-M") == ("resnet34", "mobilenetv2")
    assert resolve_pair("resnet18:shufflenetv2_x0_5") == ("resnet18", "shufflenetv2_x0_5")
    for bad in ("S-R", "X-Y", "resnet18:vgg", "resnet18", "a:b:c"):
        with pytest.raises(ConfigError):
            resolve_pair(bad)


def test_pair_key_round_trips():
    for key, (teacher, student) in PAIRS.items():
        assert pair_key(teacher, student) == key
    assert pair_key("resnet18", "mobilenetv2") == "resnet18:mobilenetv2"
    assert resolve_pair(pair_key("resnet18", "mobilenetv2")) == ("resnet18", "mobilenetv2")
