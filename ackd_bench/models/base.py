"""Backbone output type, the MODELS registry and `build_model`."""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch
from torch import nn

from ackd_bench.errors import ConfigError
from ackd_bench.registry import Registry

EMBED_DIM = 512  # every backbone pools to a 512-d embedding (spec §3)


class BackboneOutput(NamedTuple):
    """What every backbone returns: token map (B,N,C), pooled embedding (B,512), logits (B,K)."""

    tokens: torch.Tensor
    embedding: torch.Tensor
    logits: torch.Tensor


MODELS: Registry[Callable[[int, int], nn.Module]] = Registry("model")


def tokens_from_map(fmap: torch.Tensor) -> torch.Tensor:
    """(B,C,H,W) feature map -> (B, H*W, C) token sequence."""
    return fmap.flatten(2).transpose(1, 2)


def replace_conv_in_channels(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    """A freshly initialised copy of `conv` that takes `in_channels` input channels."""
    return nn.Conv2d(
        in_channels,
        conv.out_channels,
        kernel_size=conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=1,
        bias=conv.bias is not None,
    )


def build_model(name: str, in_channels: int, num_classes: int) -> nn.Module:
    """Build a registered backbone (random init, no downloads)."""
    factory = MODELS.get(name)
    if not isinstance(in_channels, int) or isinstance(in_channels, bool) or in_channels < 1:
        raise ConfigError(f"model {name!r}: in_channels must be a positive integer, got {in_channels!r}")
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ConfigError(f"model {name!r}: num_classes must be a positive integer, got {num_classes!r}")
    return factory(in_channels, num_classes)
