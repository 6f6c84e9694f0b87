"""Building blocks the TF zoo shares: conv blocks and batch norm set like torch's defaults."""

from __future__ import annotations

from typing import Any

from tensorflow import keras

layers = keras.layers


def batch_norm() -> Any:
    """Batch norm with torch's momentum and epsilon, so both zoos train alike."""
    return layers.BatchNormalization(momentum=0.9, epsilon=1e-5)


def conv_block(tensor: Any, filters: int, convs: int, batchnorm: bool, activation: str) -> Any:
    """`convs` times: 3x3 convolution (same padding), optional batch norm, activation."""
    for _ in range(convs):
        tensor = layers.Conv2D(filters, 3, padding="same", use_bias=not batchnorm)(tensor)
        if batchnorm:
            tensor = batch_norm()(tensor)
        tensor = layers.Activation(activation)(tensor)
    return tensor
