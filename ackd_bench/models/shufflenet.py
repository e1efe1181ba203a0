"""S: ShuffleNetV2 x0.5 (stages [4,8,4], channels [24,48,96,192,1024]) + Linear(1024->512) before the fc."""

from __future__ import annotations

import torch
from torch import nn
from torchvision import models as tvm

from ackd_bench.models.base import EMBED_DIM, MODELS, BackboneOutput, replace_conv_in_channels, tokens_from_map


class ShuffleNetV2Backbone(nn.Module):
    """tokens = conv5 map (1024 ch), embedding = Linear(1024->512) of its global average pool."""

    token_dim = 1024

    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        net = tvm.shufflenet_v2_x0_5(weights=None)
        net.conv1[0] = replace_conv_in_channels(net.conv1[0], in_channels)
        self.conv1, self.maxpool = net.conv1, net.maxpool
        self.stage2, self.stage3, self.stage4, self.conv5 = net.stage2, net.stage3, net.stage4, net.conv5
        self.embed = nn.Linear(self.token_dim, EMBED_DIM)
        self.fc = nn.Linear(EMBED_DIM, num_classes)

    def forward(self, x: torch.Tensor) -> BackboneOutput:
        f = self.maxpool(self.conv1(x))
        f = self.conv5(self.stage4(self.stage3(self.stage2(f))))
        emb = self.embed(f.mean(dim=(2, 3)))
        return BackboneOutput(tokens_from_map(f), emb, self.fc(emb))


@MODELS.register("shufflenetv2_x0_5")
def shufflenetv2_x0_5(in_channels: int, num_classes: int) -> ShuffleNetV2Backbone:
    return ShuffleNetV2Backbone(in_channels, num_classes)
