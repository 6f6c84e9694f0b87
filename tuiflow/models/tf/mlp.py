"""MLP: dense layers on flattened inputs."""

from __future__ import annotations

from typing import Any

from tensorflow import keras

layers = keras.layers


def build_mlp(tensor: Any, classes: int, units: tuple[int, ...], activation: str, dropout: float) -> Any:
    """Dense `units` with activation (and dropout), then `classes` outputs; any item shape is flattened."""
    if len(tensor.shape) > 2:
        tensor = layers.Flatten()(tensor)
    for size in units:
        tensor = layers.Dense(size, activation=activation)(tensor)
        if dropout:
            tensor = layers.Dropout(dropout)(tensor)
    return layers.Dense(classes)(tensor)
