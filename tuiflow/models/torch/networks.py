"""Builds a torch zoo network from a checked config, in the user's data layout."""

from __future__ import annotations

from torch import nn

from tuiflow.models.config import ModelConfig
from tuiflow.models.torch.blocks import Layout
from tuiflow.models.torch.mlp import build_mlp
from tuiflow.models.torch.resnet import build_resnet
from tuiflow.models.torch.unet import UNet
from tuiflow.models.torch.vgg import build_vgg
from tuiflow.models.zoo import find_architecture


def build_network(config: ModelConfig) -> nn.Module:
    """The zoo network `config.model` with its arguments; image networks get a `Layout` when needed."""
    args = dict(config.model_args)
    library = find_architecture(config.model).library
    act = None if library else args.pop("activation")
    if config.model == "MLP":
        return build_mlp(config.inputs, config.classes, activation_name=act, **args)
    inputs = config.inputs
    add_channel = len(inputs) == 2
    channels_last = config.data_format == "channels_last"
    if add_channel:
        shape = (1, *inputs)
    elif channels_last:
        shape = (inputs[2], inputs[0], inputs[1])
    else:
        shape = inputs
    if library:
        from tuiflow.models.torch.library import build_library_network  # imports timm or torchvision

        network: nn.Module = build_library_network(config.model, shape, config.classes, args)
    elif config.model == "VGG":
        network = build_vgg(shape, config.classes, activation_name=act, **args)
    elif config.model == "ResNet":
        network = build_resnet(shape, config.classes, activation_name=act, **args)
    elif config.model == "UNet":
        network = UNet(shape[0], config.classes, activation_name=act, **args)
    else:  # the zoo catalogue and this switch are out of step: our bug, not the user's
        raise AssertionError(f"no torch builder for {config.model}")
    if add_channel or channels_last:
        network = Layout(network, add_channel, channels_last, image_outputs=config.model == "UNet" or bool(library))
    return network
