"""Builds a Keras zoo network from a checked config, in the user's data layout."""

from __future__ import annotations

from typing import Any

from tensorflow import keras

from tuiflow.models.config import ModelConfig
from tuiflow.models.tf.mlp import build_mlp
from tuiflow.models.tf.resnet import build_resnet
from tuiflow.models.tf.unet import build_unet
from tuiflow.models.tf.vgg import build_vgg
from tuiflow.models.zoo import find_architecture

layers = keras.layers
BUILDERS = {"MLP": build_mlp, "VGG": build_vgg, "ResNet": build_resnet, "UNet": build_unet}


def build_network(config: ModelConfig) -> Any:
    """The zoo network `config.model` as a functional Keras model; TF's own layout is NHWC.

    (H, W) items get a channel axis; channels-first items are permuted in and, for segmentation,
    the outputs permuted back out.
    """
    inputs = keras.Input(shape=config.inputs, name="inputs")
    tensor = inputs
    channels_first = config.images and config.data_format == "channels_first"
    if config.images and len(config.inputs) == 2:
        tensor = layers.Reshape((*config.inputs, 1))(tensor)
    elif channels_first:
        tensor = layers.Permute((2, 3, 1))(tensor)
    if find_architecture(config.model).library:
        from tuiflow.models.tf.library import build_library_layer

        outputs = build_library_layer(config.model, tuple(tensor.shape[1:]), config.classes, config.model_args)(tensor)
    else:
        outputs = BUILDERS[config.model](tensor, config.classes, **config.model_args)
    if channels_first and len(outputs.shape) == 4:
        outputs = layers.Permute((3, 1, 2))(outputs)
    return keras.Model(inputs, outputs, name=config.model.replace(":", "_"))
