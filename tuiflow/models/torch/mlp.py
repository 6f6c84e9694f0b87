"""MLP: dense layers on flattened inputs."""

from __future__ import annotations

import math

from torch import nn

from tuiflow.models.torch.blocks import activation


def build_mlp(
    inputs: tuple[int, ...], classes: int, units: tuple[int, ...], activation_name: str, dropout: float
) -> nn.Sequential:
    """Dense `units` with activation (and dropout), then `classes` outputs; any item shape is flattened."""
    layers: list[nn.Module] = [] if len(inputs) == 1 else [nn.Flatten()]
    width = math.prod(inputs)
    for size in units:
        layers += [nn.Linear(width, size), activation(activation_name)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, classes))
    return nn.Sequential(*layers)
