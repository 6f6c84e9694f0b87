"""VGG-style CNN: blocks of 3x3 convolutions and a max-pool, then dense layers."""

from __future__ import annotations

from typing import Any

from tensorflow import keras

from tuiflow.models.tf.blocks import conv_block

layers = keras.layers


def build_vgg(
    tensor: Any,
    classes: int,
    filters: tuple[int, ...],
    convs: int,
    units: tuple[int, ...],
    batchnorm: bool,
    activation: str,
    dropout: float,
) -> Any:
    """One conv block plus 2x2 max-pool per entry of `filters`, then dense `units`, then `classes`."""
    for size in filters:
        tensor = layers.MaxPooling2D(2)(conv_block(tensor, size, convs, batchnorm, activation))
    tensor = layers.Flatten()(tensor)
    for size in units:
        tensor = layers.Dense(size, activation=activation)(tensor)
        if dropout:
            tensor = layers.Dropout(dropout)(tensor)
    return layers.Dense(classes)(tensor)
