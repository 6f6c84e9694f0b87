"""UNet: an encoder-decoder with skip connections; outputs `classes` channels at the input's size."""

from __future__ import annotations

import torch
from torch import nn

from tuiflow.models.torch.blocks import conv_block


class UNet(nn.Module):
    """Levels of `filters` channels; 2x2 max-pool down, 2x2 transposed conv up, concatenated skips."""

    def __init__(
        self,
        channels_in: int,
        classes: int,
        filters: tuple[int, ...],
        convs: int,
        batchnorm: bool,
        activation_name: str,
    ):
        super().__init__()
        self.down = nn.ModuleList()
        channels = channels_in
        for size in filters:
            self.down.append(conv_block(channels, size, convs, batchnorm, activation_name))
            channels = size
        self.pool = nn.MaxPool2d(2)
        self.upsample = nn.ModuleList()
        self.up = nn.ModuleList()
        for size in reversed(filters[:-1]):
            self.upsample.append(nn.ConvTranspose2d(channels, size, 2, stride=2))
            self.up.append(conv_block(2 * size, size, convs, batchnorm, activation_name))
            channels = size
        self.head = nn.Conv2d(channels, classes, 1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        skips = []
        outputs = inputs
        for index, block in enumerate(self.down):
            if index:
                outputs = self.pool(outputs)
            outputs = block(outputs)
            skips.append(outputs)
        for upsample, block, skip in zip(self.upsample, self.up, reversed(skips[:-1])):
            outputs = block(torch.cat([upsample(outputs), skip], dim=1))
        return self.head(outputs)
