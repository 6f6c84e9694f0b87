"""Each zoo network trains in each framework on small real data, and saves and loads exactly."""

from __future__ import annotations

import numpy as np
import pytest

from tuiflow.models import Model, SegmentationMetrics, TFModel, TorchModel

# Both frameworks are installed by the test command (the torch and tf extras): no test skips.
FRAMEWORKS = [TorchModel, TFModel]
SMALL = {
    "MLP": {"name": "MLP", "units": [32]},
    "VGG": {"name": "VGG", "filters": [8, 16], "units": [32]},
    "ResNet": {"name": "ResNet", "filters": [8, 16], "blocks": 1},
}


def image_shape(model_class: type[Model], side: int) -> tuple[int, ...]:
    return (1, side, side) if model_class is TorchModel else (side, side, 1)


def as_images(model_class: type[Model], images: np.ndarray) -> np.ndarray:
    return images[:, None] if model_class is TorchModel else images[..., None]


def train_steps(model: Model, inputs: np.ndarray, targets: np.ndarray, steps: int, batch: int = 64) -> list[float]:
    losses = []
    for step in range(steps):
        start = step * batch % (len(inputs) - batch + 1)
        losses.append(model.train(inputs[start : start + batch], targets[start : start + batch]))
    return losses


@pytest.mark.parametrize("model_class", FRAMEWORKS)
@pytest.mark.parametrize("arch", list(SMALL))
def test_classifier_loss_falls_on_digits(model_class, arch, digits):
    inputs, targets = digits
    if arch != "MLP":
        inputs = as_images(model_class, inputs.reshape(-1, 8, 8))
    shape = inputs.shape[1:]
    model = model_class(
        {
            "inputs": shape,
            "classes": 10,
            "model": SMALL[arch],
            "optimizer": {"name": "Adam", "lr": 1e-2},
            "seed": 0,
            "device": "cpu",
        }
    )
    losses = train_steps(model, inputs[:512], targets[:512], steps=24)
    assert all(isinstance(loss, float) for loss in losses)
    assert np.mean(losses[-4:]) < 0.8 * np.mean(losses[:4]), losses
    assert model.predict(inputs[:5]).shape == (5, 10)
    assert model.device == "cpu"


@pytest.mark.parametrize("model_class", FRAMEWORKS)
def test_unet_segments_shapes(model_class, shapes):
    images, masks = shapes
    inputs = as_images(model_class, images)
    model = model_class(
        {
            "inputs": inputs.shape[1:],
            "classes": 3,
            "model": {"name": "UNet", "filters": [8, 16]},
            "optimizer": {"name": "Adam", "lr": 1e-2},
            "seed": 0,
            "device": "cpu",
        }
    )
    losses = train_steps(model, inputs, masks, steps=20, batch=16)
    assert np.mean(losses[-4:]) < 0.7 * np.mean(losses[:4]), losses
    predictions = model.predict(inputs[:8])
    axis = 1 if model_class is TorchModel else -1
    assert predictions.shape[axis] == 3
    assert np.delete(np.array(predictions.shape), axis % 4).tolist() == [8, 16, 16]
    iou = SegmentationMetrics(3).update(masks[:8], predictions).evaluate("iou")
    assert 0 <= iou <= 1


@pytest.mark.parametrize("model_class", FRAMEWORKS)
@pytest.mark.parametrize("data_format", ["channels_first", "channels_last"])
@pytest.mark.parametrize("loss", ["dice", "bce"])
def test_unet_takes_either_layout_and_gives_it_back(model_class, data_format, loss, shapes):
    images, masks = shapes
    inputs = images[:, None] if data_format == "channels_first" else images[..., None]
    model = model_class(
        {
            "inputs": inputs.shape[1:],
            "classes": 3,
            "data_format": data_format,
            "loss": loss,
            "model": {"name": "UNet", "filters": [4, 8], "convs": 1},
            "seed": 0,
            "device": "cpu",
        }
    )
    result = model.train(inputs[:4], masks[:4], fetches=["loss", "predictions"])
    expected = (4, 3, 16, 16) if data_format == "channels_first" else (4, 16, 16, 3)
    assert result["predictions"].shape == expected
    assert model.predict(inputs[:2]).shape == (2, *expected[1:])
    assert np.isfinite(result["loss"])


@pytest.mark.parametrize("model_class", FRAMEWORKS)
def test_two_dimensional_items_get_a_channel(model_class, shapes):
    images, masks = shapes
    model = model_class(
        {"inputs": (16, 16), "classes": 3, "model": {"name": "UNet", "filters": [4, 8]}, "device": "cpu"}
    )
    outputs = model.train(images[:4], masks[:4], fetches="predictions")
    assert outputs.shape == ((4, 3, 16, 16) if model_class is TorchModel else (4, 16, 16, 3))


@pytest.mark.parametrize("arch", ["MLP", "VGG", "ResNet", "UNet"])
def test_both_frameworks_build_the_same_network(arch):
    config = {"inputs": (16, 16), "classes": 3, "model": arch, "device": "cpu"}
    assert TorchModel(config).n_parameters == TFModel(config).n_parameters > 0


@pytest.mark.parametrize("model_class", FRAMEWORKS)
@pytest.mark.parametrize("arch", ["MLP", "ResNet"])
def test_save_load_gives_identical_predictions(model_class, arch, digits, tmp_path):
    inputs, targets = digits
    if arch != "MLP":
        inputs = as_images(model_class, inputs.reshape(-1, 8, 8))
    model = model_class({"inputs": inputs.shape[1:], "classes": 10, "model": SMALL[arch], "seed": 1, "device": "cpu"})
    train_steps(model, inputs[:256], targets[:256], steps=4)
    before = model.predict(inputs[:100])
    model.save(tmp_path / "saved")
    record = (tmp_path / "saved" / "config.json").read_text()
    assert '"framework"' in record
    for loaded in (model_class.load(tmp_path / "saved"), Model.load(tmp_path / "saved", device="cpu")):
        assert type(loaded) is model_class
        assert loaded.config == model.config
        np.testing.assert_array_equal(loaded.predict(inputs[:100]), before)


def test_load_refuses_the_other_framework(tmp_path):
    TorchModel({"inputs": 4, "classes": 2, "device": "cpu"}).save(tmp_path / "saved")
    with pytest.raises(ValueError, match="holds a 'torch' model, not one for TFModel"):
        TFModel.load(tmp_path / "saved")
    with pytest.raises(FileNotFoundError, match=r"config\.json is missing"):
        TorchModel.load(tmp_path / "nothing")


@pytest.mark.parametrize("model_class", FRAMEWORKS)
def test_seed_makes_the_same_network(model_class, digits):
    inputs, _ = digits
    config = {"inputs": 64, "classes": 10, "model": {"name": "MLP", "units": [16]}, "seed": 7, "device": "cpu"}
    first, second = model_class(config).predict(inputs[:10]), model_class(config).predict(inputs[:10])
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, model_class({**config, "seed": 8}).predict(inputs[:10]))


@pytest.mark.parametrize("model_class", FRAMEWORKS)
def test_fetches(model_class, digits):
    inputs, targets = digits
    model = model_class({"inputs": 64, "classes": 10, "model": {"name": "MLP", "units": [8]}, "device": "cpu"})
    assert isinstance(model.train(inputs[:32], targets[:32]), float)
    assert model.train(inputs[:32], targets[:32], fetches=None) is None
    assert model.train(inputs[:32], targets[:32], fetches="predictions").shape == (32, 10)
    both = model.train(inputs[:32], targets[:32], fetches=("predictions", "loss"))
    assert list(both) == ["predictions", "loss"]
    assert isinstance(both["loss"], float)
    assert isinstance(both["predictions"], np.ndarray)
    with pytest.raises(ValueError, match="fetches: unknown name 'accuracy'"):
        model.train(inputs[:32], targets[:32], fetches=["loss", "accuracy"])
    # float64 inputs and targets are converted, not refused
    assert np.isfinite(model.train(inputs[:32].astype(np.float64), targets[:32]))


@pytest.mark.parametrize("model_class", FRAMEWORKS)
def test_named_and_callable_losses(model_class, digits):
    inputs, targets = digits
    for loss in ("ce", "cross_entropy", "mse", "mae", "bce", "dice"):
        model = model_class(
            {"inputs": 64, "classes": 10, "loss": loss, "model": {"name": "MLP", "units": [8]}, "device": "cpu"}
        )
        assert np.isfinite(model.train(inputs[:32], targets[:32])), loss
    if model_class is TorchModel:
        import torch

        def loss_function(outputs, targets):
            return torch.nn.functional.cross_entropy(outputs, targets)
    else:
        import tensorflow as tf

        def loss_function(outputs, targets):
            return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(targets, outputs))

    model = model_class({"inputs": 64, "classes": 10, "loss": loss_function, "device": "cpu"})
    assert np.isfinite(model.train(inputs[:32], targets[:32]))
    with pytest.raises(ValueError, match="cannot save the loss"):
        model.save("never-written")


@pytest.mark.parametrize("model_class", FRAMEWORKS)
def test_framework_errors_name_the_key(model_class):
    base = {"inputs": 64, "classes": 10, "device": "cpu"}
    with pytest.raises(ValueError, match=r"model config key 'optimizer': .* has no 'Adamm'"):
        model_class({**base, "optimizer": "Adamm"})
    with pytest.raises(ValueError, match="model config key 'optimizer': SGD: "):
        model_class({**base, "optimizer": {"name": "SGD", "lr": 0.1, "nesterov_momentum": 3}})
    with pytest.raises(ValueError, match="model config key 'device': gpu:7 is not visible"):
        model_class({**base, "device": "cuda:7"})
    sgd = model_class({**base, "optimizer": {"name": "sgd", "lr": 0.5, "momentum": 0.9}})
    assert type(sgd.optimizer).__name__ == "SGD"
