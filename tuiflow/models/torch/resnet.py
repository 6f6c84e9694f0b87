"""ResNet: a conv stem, stages of basic residual blocks, global average pooling."""

from __future__ import annotations

import torch
from torch import nn

from tuiflow.models.torch.blocks import activation


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers and a shortcut (a 1x1 conv where the shape changes)."""

    def __init__(self, channels_in: int, channels_out: int, stride: int, activation_name: str):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels_in, channels_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(channels_out),
            activation(activation_name),
            nn.Conv2d(channels_out, channels_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels_out),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or channels_in != channels_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(channels_in, channels_out, 1, stride=stride, bias=False), nn.BatchNorm2d(channels_out)
            )
        self.activation = activation(activation_name)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.activation(self.body(inputs) + self.shortcut(inputs))


def build_resnet(
    inputs: tuple[int, int, int], classes: int, filters: tuple[int, ...], blocks: tuple[int, ...], activation_name: str
) -> nn.Sequential:
    """Stem of `filters[0]` channels; stage i has `blocks[i]` blocks of `filters[i]`, stride 2 after stage 0."""
    layers: list[nn.Module] = [
        nn.Conv2d(inputs[0], filters[0], 3, padding=1, bias=False),
        nn.BatchNorm2d(filters[0]),
        activation(activation_name),
    ]
    channels = filters[0]
    for stage, (size, count) in enumerate(zip(filters, blocks)):
        for index in range(count):
            stride = 2 if stage > 0 and index == 0 else 1
            layers.append(BasicBlock(channels, size, stride, activation_name))
            channels = size
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, classes)]
    return nn.Sequential(*layers)
