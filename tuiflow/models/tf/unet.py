"""UNet: an encoder-decoder with skip connections; outputs `classes` channels at the input's size."""

from __future__ import annotations

from typing import Any

from tensorflow import keras

from tuiflow.models.tf.blocks import conv_block

layers = keras.layers


def build_unet(
    tensor: Any, classes: int, filters: tuple[int, ...], convs: int, batchnorm: bool, activation: str
) -> Any:
    """Levels of `filters` channels; 2x2 max-pool down, 2x2 transposed conv up, concatenated skips."""
    skips = []
    for index, size in enumerate(filters):
        if index:
            tensor = layers.MaxPooling2D(2)(tensor)
        tensor = conv_block(tensor, size, convs, batchnorm, activation)
        skips.append(tensor)
    for size, skip in zip(reversed(filters[:-1]), reversed(skips[:-1])):
        tensor = layers.Conv2DTranspose(size, 2, strides=2)(tensor)
        tensor = conv_block(layers.Concatenate()([tensor, skip]), size, convs, batchnorm, activation)
    return layers.Conv2D(classes, 1)(tensor)
