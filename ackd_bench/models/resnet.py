"""ResNet backbones (torchvision constructors, any number of input channels)."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torchvision import models as tvm

from ackd_bench.models.base import MODELS, BackboneOutput, replace_conv_in_channels, tokens_from_map


class ResNetBackbone(nn.Module):
    """torchvision ResNet; tokens = layer4 map, embedding = global average pool (512-d)."""

    token_dim = 512

    def __init__(self, constructor: Callable[..., tvm.ResNet], in_channels: int, num_classes: int):
        super().__init__()
        net = constructor(weights=None, num_classes=num_classes)
        net.conv1 = replace_conv_in_channels(net.conv1, in_channels)
        self.net = net

    def forward(self, x: torch.Tensor) -> BackboneOutput:
        n = self.net
        f = n.maxpool(n.relu(n.bn1(n.conv1(x))))
        f = n.layer4(n.layer3(n.layer2(n.layer1(f))))
        emb = torch.flatten(n.avgpool(f), 1)
        return BackboneOutput(tokens_from_map(f), emb, n.fc(emb))


@MODELS.register("resnet34")
def resnet34(in_channels: int, num_classes: int) -> ResNetBackbone:
    """R: ResNet34 (BasicBlock [3,4,6,3])."""
    return ResNetBackbone(tvm.resnet34, in_channels, num_classes)


@MODELS.register("resnet18")
def resnet18(in_channels: int, num_classes: int) -> ResNetBackbone:
    """ResNet18, for quick CPU work (not one of the paper's architectures)."""
    return ResNetBackbone(tvm.resnet18, in_channels, num_classes)
