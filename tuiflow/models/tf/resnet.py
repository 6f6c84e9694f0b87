"""ResNet: a conv stem, stages of basic residual blocks, global average pooling."""

from __future__ import annotations

from typing import Any

from tensorflow import keras

from tuiflow.models.tf.blocks import batch_norm

layers = keras.layers


def basic_block(tensor: Any, filters: int, stride: int, activation: str) -> Any:
    """Two 3x3 conv-BN layers and a shortcut (a 1x1 conv where the shape changes)."""
    body = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(tensor)
    body = layers.Activation(activation)(batch_norm()(body))
    body = batch_norm()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(body))
    shortcut = tensor
    if stride != 1 or tensor.shape[-1] != filters:
        shortcut = batch_norm()(layers.Conv2D(filters, 1, strides=stride, use_bias=False)(tensor))
    return layers.Activation(activation)(layers.Add()([body, shortcut]))


def build_resnet(tensor: Any, classes: int, filters: tuple[int, ...], blocks: tuple[int, ...], activation: str) -> Any:
    """Stem of `filters[0]` channels; stage i has `blocks[i]` blocks of `filters[i]`, stride 2 after stage 0."""
    tensor = layers.Conv2D(filters[0], 3, padding="same", use_bias=False)(tensor)
    tensor = layers.Activation(activation)(batch_norm()(tensor))
    for stage, (size, count) in enumerate(zip(filters, blocks)):
        for index in range(count):
            tensor = basic_block(tensor, size, 2 if stage > 0 and index == 0 else 1, activation)
    return layers.Dense(classes)(layers.GlobalAveragePooling2D()(tensor))
