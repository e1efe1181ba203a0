"""M: MobileNetV2 (width 1.0) with the last conv reduced to 512 channels, dropout 0.2, fc."""

from __future__ import annotations

import torch
from torch import nn
from torchvision import models as tvm
from torchvision.ops.misc import Conv2dNormActivation

from ackd_bench.models.base import EMBED_DIM, MODELS, BackboneOutput, replace_conv_in_channels, tokens_from_map


class MobileNetV2Backbone(nn.Module):
    """tokens = final 1x1 conv map (512 ch), embedding = its global average pool."""

    token_dim = EMBED_DIM

    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        net = tvm.mobilenet_v2(weights=None, width_mult=1.0)
        stem = net.features[0]
        stem[0] = replace_conv_in_channels(stem[0], in_channels)
        last_in = net.features[-1][0].in_channels  # 320
        net.features[-1] = Conv2dNormActivation(last_in, EMBED_DIM, kernel_size=1, activation_layer=nn.ReLU6)
        self.features = net.features
        self.dropout = nn.Dropout(p=0.2)
        self.fc = nn.Linear(EMBED_DIM, num_classes)
        nn.init.normal_(self.fc.weight, 0, 0.01)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> BackboneOutput:
        f = self.features(x)
        emb = f.mean(dim=(2, 3))
        return BackboneOutput(tokens_from_map(f), emb, self.fc(self.dropout(emb)))


@MODELS.register("mobilenetv2")
def mobilenetv2(in_channels: int, num_classes: int) -> MobileNetV2Backbone:
    return MobileNetV2Backbone(in_channels, num_classes)
