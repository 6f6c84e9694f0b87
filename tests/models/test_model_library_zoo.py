"""Models of timm, torchvision and keras.applications by name: random weights, shapes from the config.

Each library trains one small model for a few steps on the digits upsampled to 32x32 (the smallest
side these networks take); the models the issue names are built and run once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tuiflow.models import Model, ModelConfig, TFModel, TorchModel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def digits32(digits) -> tuple[np.ndarray, np.ndarray]:
    """The first 32 digits as 32x32 images (each pixel repeated 4x4), one channel last, in [0, 1]."""
    inputs, targets = digits
    images = inputs[:32].reshape(-1, 8, 8).repeat(4, axis=1).repeat(4, axis=2)
    return images[..., None], targets[:32]


def losses_on_one_batch(model: Model, inputs: np.ndarray, targets: np.ndarray, steps: int) -> list[float]:
    return [model.train(inputs, targets) for _ in range(steps)]


@pytest.mark.parametrize(
    ("model_class", "spec", "channels", "scale"),
    [
        (TorchModel, "timm:test_efficientnet", 1, 1.0),  # timm's smallest EfficientNet
        (TorchModel, "torchvision:mobilenet_v3_small", 1, 1.0),  # one channel: repeated to RGB
        (TFModel, {"name": "keras:MobileNet", "alpha": 0.25}, 3, 255.0),  # keras' own pixel range
    ],
    ids=["timm", "torchvision", "keras"],
)
def test_a_library_model_trains_on_digits(model_class, spec, channels, scale, digits32):
    images, targets = digits32
    images = np.repeat(images, channels, axis=-1) * scale
    if model_class is TorchModel:
        images = np.ascontiguousarray(images.transpose(0, 3, 1, 2))
    model = model_class({"inputs": images.shape[1:], "classes": 10, "model": spec, "seed": 0, "device": "cpu",
                         "optimizer": {"name": "Adam", "lr": 1e-3}})
    losses = losses_on_one_batch(model, images, targets, steps=6)
    assert np.mean(losses[-2:]) < 0.8 * np.mean(losses[:2]), losses
    assert model.predict(images[:3]).shape == (3, 10)
    assert model.config.to_dict()["model"]["name"] == (spec if isinstance(spec, str) else spec["name"])


@pytest.mark.parametrize("name", ["timm:efficientnet_b0", "torchvision:densenet121"])
def test_the_named_torch_models_build_with_random_weights(name, digits32):
    images, _ = digits32
    inputs = np.ascontiguousarray(np.repeat(images[:2], 3, axis=-1).transpose(0, 3, 1, 2))
    model = TorchModel({"inputs": (3, 32, 32), "classes": 7, "model": name, "device": "cpu"})
    assert model.predict(inputs).shape == (2, 7)
    assert model.n_parameters > 1_000_000


def test_a_library_model_takes_channels_last_and_saves_and_loads(digits32, tmp_path):
    images, targets = digits32
    model = TorchModel({"inputs": (32, 32, 1), "data_format": "channels_last", "classes": 10, "seed": 0,
                        "model": {"name": "timm:test_resnet", "drop_rate": 0.1}, "device": "cpu"})
    model.train(images, targets)
    before = model.predict(images[:8])
    assert before.shape == (8, 10)
    model.save(tmp_path / "saved")
    loaded = Model.load(tmp_path / "saved")
    assert loaded.config.model == "timm:test_resnet" and loaded.config.model_args == {"drop_rate": 0.1}
    np.testing.assert_array_equal(loaded.predict(images[:8]), before)


@pytest.mark.parametrize(
    ("model_class", "model", "inputs", "message"),
    [
        (TorchModel, "timm:efficientnet_b99", (3, 32, 32),
         r"model config key 'model': timm has no model 'efficientnet_b99' \(close: efficientnet_b"),
        (TorchModel, "torchvision:resnet19", (3, 32, 32),
         r"model config key 'model': torchvision has no model 'resnet19' \(close: resnet1"),
        (TFModel, "keras:EfficientNetB9", (32, 32, 3),
         r"model config key 'model': keras.applications has no model 'EfficientNetB9' \(close: EfficientNetB"),
        (TorchModel, {"name": "timm:test_resnet", "wings": 2}, (3, 32, 32),
         "model config key 'model': timm:test_resnet: .*wings"),
        (TFModel, "keras:MobileNet", (8, 8, 3), "model config key 'inputs': keras:MobileNet cannot take items of shape"
         r" \(8, 8, 3\) \(NHWC\): .*32"),
    ],
)
def test_library_errors_name_the_key_in_one_line(model_class, model, inputs, message):
    with pytest.raises(ValueError, match=message) as caught:
        model_class({"inputs": inputs, "classes": 10, "model": model, "device": "cpu"})
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("framework", "model", "message"),
    [
        ("tf", "timm:resnet18", "timm models are built by TorchModel, not by a tf model"),
        ("torch", "keras:ResNet50", "keras models are built by TFModel, not by a torch model"),
        ("torch", "hub:resnet18", "'hub:resnet18' names no library model"),
        ("torch", "timm:", "'timm:' names no library model"),
        ("torch", {"name": "timm:resnet18", "7": 1}, "timm:resnet18 argument '7' is not a name"),
    ],
)
def test_library_names_are_checked_before_any_library_is_imported(framework, model, message):
    with pytest.raises(ValueError, match="model config key 'model': " + message):
        ModelConfig.parse({"inputs": (3, 32, 32), "classes": 2, "model": model}, framework)
    config = ModelConfig.parse({"inputs": (3, 32, 32), "classes": 2, "model": "TIMM:resnet18"}, "torch")
    assert config.model == "timm:resnet18" and config.images


BLOCKER = """
import importlib.abc, sys
blocked = {"torchvision"}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
from tuiflow.models import TorchModel
TorchModel({"inputs": 4, "classes": 2, "device": "cpu"})  # a zoo network needs no library
def build(model):
    try:
        TorchModel({"inputs": (3, 32, 32), "classes": 2, "model": model, "device": "cpu"})
    except ImportError as error:
        print(error)
build("torchvision:resnet18")
build("timm:resnet18")  # timm needs torchvision too
blocked = {"timm"}
build("timm:resnet18")
print(sorted(name for name in ("timm", "torchvision") if name in sys.modules))
"""


def test_a_missing_library_names_the_extra():
    result = subprocess.run([sys.executable, "-c", BLOCKER], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines() == [
        "model torchvision:resnet18 needs torchvision: pip install 'tuiflow[zoo]'",
        "model timm:resnet18 needs torchvision: pip install 'tuiflow[zoo]'",
        "model timm:resnet18 needs timm: pip install 'tuiflow[zoo]'",
        "['torchvision']",
    ]
