"""VGG-style CNN: blocks of 3x3 convolutions and a max-pool, then dense layers."""

from __future__ import annotations

from torch import nn

from tuiflow.models.torch.blocks import activation, conv_block


def build_vgg(
    inputs: tuple[int, int, int],
    classes: int,
    filters: tuple[int, ...],
    convs: int,
    units: tuple[int, ...],
    batchnorm: bool,
    activation_name: str,
    dropout: float,
) -> nn.Sequential:
    """One conv block plus 2x2 max-pool per entry of `filters`, then dense `units`, then `classes`."""
    channels, height, width = inputs
    layers: list[nn.Module] = []
    for size in filters:
        layers += [conv_block(channels, size, convs, batchnorm, activation_name), nn.MaxPool2d(2)]
        channels, height, width = size, height // 2, width // 2
    layers.append(nn.Flatten())
    features = channels * height * width
    for size in units:
        layers += [nn.Linear(features, size), activation(activation_name)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        features = size
    layers.append(nn.Linear(features, classes))
    return nn.Sequential(*layers)
