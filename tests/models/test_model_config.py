"""A model config is checked before any framework is touched; every error names its key."""

from __future__ import annotations

import pytest

from tuiflow.models import ModelConfig, TFModel, TorchModel, resolve_model_class

BASE = {"inputs": (1, 16, 16), "classes": 3}


def parse(framework: str = "torch", **changes):
    return ModelConfig.parse({**BASE, **changes}, framework)


def test_defaults_per_framework():
    torch_config, tf_config = parse("torch"), parse("tf", inputs=(16, 16, 1))
    assert torch_config.data_format == "channels_first"
    assert tf_config.data_format == "channels_last"
    assert torch_config.model == "MLP"
    assert torch_config.model_args == {"units": (128, 64), "activation": "relu", "dropout": 0.0}
    assert torch_config.loss == "ce"
    assert torch_config.optimizer == "Adam"
    assert torch_config.optimizer_args == {"learning_rate": 1e-3}
    assert torch_config.device is None
    assert torch_config.seed is None


def test_aliases_and_spellings():
    config = parse(
        architecture={"name": "resnet", "blocks": [1, 2], "filters": [4, 8]},
        loss="Cross_Entropy",
        optimizer={"name": "SGD", "lr": 0.1},
        device="cuda:1",
        inputs=[1, 8, 8],
    )
    assert config.model == "ResNet"
    assert config.model_args["blocks"] == (1, 2)
    assert config.loss == "ce"
    assert config.optimizer_args == {"learning_rate": 0.1}
    assert config.device == "gpu:1"
    assert config.inputs == (1, 8, 8)
    assert parse(device="/GPU:0").device == "gpu:0"
    assert parse(device="gpu").device == "gpu:0"
    assert parse(device="CPU").device == "cpu"
    assert parse(inputs=64).inputs == (64,)
    assert parse(model={"name": "ResNet", "blocks": 3, "filters": [4, 8, 16]}).model_args["blocks"] == (3, 3, 3)


def test_round_trip_through_a_plain_dict():
    config = parse(model={"name": "VGG", "filters": [8, 16]}, seed=3, loss="dice")
    plain = config.to_dict()
    assert plain["model"]["filters"] == [8, 16]
    assert ModelConfig.parse(plain, "torch") == config
    assert ModelConfig.parse(config, "torch") == config


def test_loss_by_import_path_round_trips():
    config = parse(loss="tuiflow.models.metrics:accuracy")
    assert callable(config.loss)
    assert config.to_dict()["loss"] == "tuiflow.models.metrics:accuracy"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lr": 0.1}, "model config: unknown key 'lr'"),
        ({"classes": 0}, "model config key 'classes': expected a positive int, got 0"),
        ({"classes": True}, "model config key 'classes'"),
        ({"inputs": (0, 8)}, "model config key 'inputs'"),
        ({"inputs": (1, 2, 3, 4)}, "model config key 'inputs'"),
        ({"inputs": "64"}, "model config key 'inputs'"),
        ({"loss": "hinge"}, "model config key 'loss': expected one of"),
        ({"loss": "no.such.module:fn"}, "model config key 'loss': cannot import"),
        ({"optimizer": 3}, "model config key 'optimizer'"),
        ({"optimizer": {"name": "Adam", "lr": -1}}, "model config key 'optimizer': learning rate"),
        ({"optimizer": {"name": "Adam", "lr": 1, "learning_rate": 1}}, "model config key 'optimizer'"),
        ({"device": "tpu:0"}, "model config key 'device'"),
        ({"device": 0}, "model config key 'device'"),
        ({"seed": -1}, "model config key 'seed'"),
        ({"seed": "1"}, "model config key 'seed'"),
        ({"data_format": "NHWC"}, "model config key 'data_format'"),
        ({"model": "Transformer"}, "model config key 'model': unknown architecture 'Transformer'"),
        ({"model": {"units": [3]}}, "model config key 'model': a dict needs a 'name'"),
        ({"model": {"name": "MLP", "unit": [3]}}, "model config key 'model': MLP has no argument 'unit'"),
        ({"model": {"name": "MLP", "units": []}}, "model config key 'model': MLP argument 'units'"),
        ({"model": {"name": "MLP", "dropout": 1.5}}, "MLP argument 'dropout'"),
        ({"model": {"name": "VGG", "batchnorm": "yes"}}, "VGG argument 'batchnorm'"),
        ({"model": {"name": "UNet", "activation": "swish"}}, "UNet argument 'activation'"),
        ({"model": {"name": "ResNet", "filters": [4, 8, 16], "blocks": [1, 2]}}, "needs one count per stage"),
        ({"model": "VGG", "inputs": (64,)}, "model config key 'inputs': VGG takes images"),
        ({"model": {"name": "VGG", "filters": [4, 4, 4, 4, 4]}}, "VGG with 5 blocks needs images of at least 32x32"),
        ({"model": {"name": "UNet", "filters": [4, 8, 16]}, "inputs": (1, 18, 18)}, "divisible by 4"),
        ({"model": "UNet", "architecture": "UNet"}, "model config key 'architecture': give either"),
    ],
)
def test_bad_configs_name_the_key(changes, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")) as caught:
        parse(**changes)
    assert "\n" not in str(caught.value)


def test_missing_and_misshapen():
    with pytest.raises(ValueError, match="missing required key 'classes'"):
        ModelConfig.parse({"inputs": 64}, "torch")
    with pytest.raises(ValueError, match="expected a dict"):
        ModelConfig.parse([("inputs", 64)], "torch")


def test_layout_hint_when_channels_sit_on_the_wrong_side():
    # (1, 16, 16) read channels-last is a 1x16 image with 16 channels
    with pytest.raises(ValueError, match="these inputs are 1x16"):
        ModelConfig.parse({**BASE, "model": "VGG"}, "tf")


def test_resolve_model_class():
    assert resolve_model_class("torch") is TorchModel
    assert resolve_model_class("PyTorch") is TorchModel
    assert resolve_model_class("tf") is TFModel
    assert resolve_model_class("tensorflow") is TFModel
    assert resolve_model_class(TFModel) is TFModel
    with pytest.raises(ValueError, match="model class: expected"):
        resolve_model_class("jax")
