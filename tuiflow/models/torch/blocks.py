"""Building blocks the torch zoo shares: activations, conv blocks, the input/output layout adapter."""

from __future__ import annotations

import torch
from torch import nn

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


def activation(name: str) -> nn.Module:
    """A fresh activation layer by zoo name."""
    return _ACTIVATIONS[name]()


def conv_block(channels_in: int, channels_out: int, convs: int, batchnorm: bool, act: str) -> nn.Sequential:
    """`convs` times: 3x3 convolution (same padding), optional batch norm, activation."""
    layers: list[nn.Module] = []
    for index in range(convs):
        layers.append(
            nn.Conv2d(channels_in if index == 0 else channels_out, channels_out, 3, padding=1, bias=not batchnorm)
        )
        if batchnorm:
            layers.append(nn.BatchNorm2d(channels_out))
        layers.append(activation(act))
    return nn.Sequential(*layers)


class Layout(nn.Module):
    """Wraps an image network so it takes and gives the user's layout; torch's own is NCHW.

    (H, W) items get a channel axis; channels-last items are permuted in and, for a network with
    image outputs (segmentation: 4-d outputs), permuted back out.
    """

    def __init__(self, network: nn.Module, add_channel: bool, channels_last: bool, image_outputs: bool):
        super().__init__()
        self.network = network
        self.add_channel = add_channel
        self.channels_last = channels_last
        self.image_outputs = image_outputs

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.add_channel:
            inputs = inputs.unsqueeze(1)
        elif self.channels_last:
            inputs = inputs.permute(0, 3, 1, 2)
        outputs = self.network(inputs)
        if self.channels_last and self.image_outputs and outputs.dim() == 4:
            outputs = outputs.permute(0, 2, 3, 1)
        return outputs
