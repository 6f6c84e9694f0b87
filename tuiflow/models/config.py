"""A model's config: the dict a user writes, checked once and turned into a typed record.

Keys (only `inputs` and `classes` are required):

- `inputs`: the shape of ONE item, without the batch axis: `(64,)`, or an image `(C, H, W)` /
  `(H, W, C)` as `data_format` says, or `(H, W)` for a one-channel image without a channel axis.
- `classes`: the number of outputs (channels of the mask for a segmentation network).
- `data_format`: `"channels_first"` or `"channels_last"`: the layout of the arrays the user feeds and
  gets back. Defaults to each framework's own (torch: channels_first, TF: channels_last); the other
  one is accepted and transposed inside the network.
- `model` (alias `architecture`): a zoo name (`"MLP"`, `"VGG"`, `"ResNet"`, `"UNet"`) or
  `{"name": "MLP", "units": [128, 64]}`, or a library's model with random weights:
  `"timm:NAME"` and `"torchvision:NAME"` for torch, `"keras:NAME"` (keras.applications) for TF;
  its other keys go to the library's builder. Default `"MLP"`.
- `loss`: `"ce"` (alias `"cross_entropy"`), `"bce"`, `"mse"`, `"mae"`, `"dice"`, an import path
  `"package.module:function"`, or a callable `loss(outputs, targets)` of the framework's tensors.
  Default `"ce"`.
- `optimizer`: a name in `torch.optim` / `keras.optimizers` (`"Adam"`), or
  `{"name": "Adam", "lr": 1e-3, ...}`; `lr` is an alias of `learning_rate`. Default Adam, lr 1e-3.
- `device`: `"cpu"`, `"gpu"`, `"gpu:N"`, `"cuda"`, `"cuda:N"` (also TF's `"/GPU:0"`). Default: the
  first visible GPU, else the CPU. A list (`["cuda:0", "cuda:1"]`) or `"gpu:*"` (every visible GPU)
  splits each batch over the devices; a list of CPU entries (`["cpu", "cpu"]`) runs that many
  replicas on the CPU (see `tuiflow.models.devices`).
- `seed`: an int seeding the framework's global random generators before the network is built
  (for TF, Keras' `set_random_seed`, which seeds Python's and numpy's too).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tuiflow.models.devices import DeviceSpec, parse_device, parse_devices
from tuiflow.models.zoo import LIBRARIES, find_architecture

__all__ = ["ModelConfig", "parse_device"]

LOSSES = {
    "ce": "ce",
    "cross_entropy": "ce",
    "crossentropy": "ce",
    "bce": "bce",
    "binary_cross_entropy": "bce",
    "mse": "mse",
    "mae": "mae",
    "dice": "dice",
}
DATA_FORMATS = ("channels_first", "channels_last")
NATIVE_DATA_FORMAT = {"torch": "channels_first", "tf": "channels_last"}
KEYS = ("inputs", "classes", "data_format", "model", "architecture", "loss", "optimizer", "device", "seed")


def _bad(key: str, problem: str) -> ValueError:
    return ValueError(f"model config key {key!r}: {problem}")


@dataclass(frozen=True)
class ModelConfig:
    """A checked model config; `to_dict()` gives back a JSON-able dict that parses to the same."""

    inputs: tuple[int, ...]
    classes: int
    data_format: str
    model: str = "MLP"
    model_args: Mapping[str, Any] = field(default_factory=dict)
    loss: str | Callable[..., Any] = "ce"
    optimizer: str = "Adam"
    optimizer_args: Mapping[str, Any] = field(default_factory=lambda: {"learning_rate": 1e-3})
    device: DeviceSpec = None
    seed: int | None = None

    @classmethod
    def parse(cls, config: Mapping[str, Any] | ModelConfig, framework: str) -> ModelConfig:
        """Check a user's config dict for `framework` ("torch" or "tf"); ValueError names the bad key."""
        if isinstance(config, ModelConfig):
            config = config.to_dict(portable=False)
        if not isinstance(config, Mapping):
            raise ValueError(f"model config: expected a dict, got {type(config).__name__}")
        unknown = [key for key in config if key not in KEYS]
        if unknown:
            raise ValueError(f"model config: unknown key {unknown[0]!r} (known keys: {', '.join(KEYS)})")
        for key in ("inputs", "classes"):
            if key not in config:
                raise ValueError(f"model config: missing required key {key!r}")
        if "model" in config and "architecture" in config:
            raise _bad("architecture", "give either 'model' or its alias 'architecture', not both")

        data_format = config.get("data_format", NATIVE_DATA_FORMAT[framework])
        if data_format not in DATA_FORMATS:
            raise _bad("data_format", f"expected one of {', '.join(DATA_FORMATS)}, got {data_format!r}")
        inputs = _parse_inputs(config["inputs"])
        classes = config["classes"]
        if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
            raise _bad("classes", f"expected a positive int, got {classes!r}")
        model, model_args = _parse_model(config.get("model", config.get("architecture", "MLP")))
        library = find_architecture(model).library
        if library and LIBRARIES[library] != framework:
            builder = "TorchModel" if LIBRARIES[library] == "torch" else "TFModel"
            raise _bad("model", f"{library} models are built by {builder}, not by a {framework} model")
        _check_fits(model, model_args, inputs, data_format)
        optimizer, optimizer_args = _parse_optimizer(config.get("optimizer", "Adam"))
        seed = config.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise _bad("seed", f"expected a non-negative int or null, got {seed!r}")
        return cls(
            inputs=inputs,
            classes=classes,
            data_format=data_format,
            model=model,
            model_args=model_args,
            loss=_parse_loss(config.get("loss", "ce")),
            optimizer=optimizer,
            optimizer_args=optimizer_args,
            device=parse_devices(config.get("device")),
            seed=seed,
        )

    @property
    def images(self) -> bool:
        """Whether the network takes images (so `data_format` matters)."""
        return find_architecture(self.model).images

    def to_dict(self, portable: bool = True) -> dict[str, Any]:
        """The config as plain data; `portable` turns a callable loss into its import path."""
        loss = self.loss
        if callable(loss) and portable:
            loss = _import_path(loss)
        return {
            "inputs": list(self.inputs),
            "classes": self.classes,
            "data_format": self.data_format,
            "model": {"name": self.model, **{k: _plain(v) for k, v in self.model_args.items()}},
            "loss": loss,
            "optimizer": {"name": self.optimizer, **dict(self.optimizer_args)},
            "device": list(self.device) if isinstance(self.device, tuple) else self.device,
            "seed": self.seed,
        }


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _parse_inputs(inputs: Any) -> tuple[int, ...]:
    if isinstance(inputs, int) and not isinstance(inputs, bool):
        inputs = (inputs,)
    if (
        not isinstance(inputs, (list, tuple))
        or not 1 <= len(inputs) <= 3
        or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in inputs)
    ):
        raise _bad("inputs", f"expected the shape of one item as 1 to 3 positive ints, got {inputs!r}")
    return tuple(inputs)


def _parse_model(spec: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, Mapping):
        if "name" not in spec:
            raise _bad("model", f"a dict needs a 'name' (e.g. {{'name': 'MLP', 'units': [64]}}), got {spec!r}")
        args = {key: value for key, value in spec.items() if key != "name"}
        spec = spec["name"]
    else:
        args = {}
    arch = find_architecture(spec)
    return arch.name, arch.parse_args(args)


def _check_fits(model: str, args: Mapping[str, Any], inputs: tuple[int, ...], data_format: str) -> None:
    arch = find_architecture(model)
    if not arch.images:
        return
    if len(inputs) == 1:
        raise _bad(
            "inputs", f"{model} takes images, got the flat shape {inputs!r}; give (C, H, W), (H, W, C) or (H, W)"
        )
    if len(inputs) == 2:
        height, width = inputs
    elif data_format == "channels_first":
        height, width = inputs[1:]
    else:
        height, width = inputs[:2]
    problem = arch.check_image(args, height, width)
    if problem:
        hint = "" if len(inputs) == 2 else f" (with data_format={data_format!r} these inputs are {height}x{width})"
        raise _bad("inputs", f"{problem}, got {height}x{width}{hint}")


def _parse_optimizer(spec: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
        raise _bad("optimizer", f"expected a name or a dict with a 'name', got {spec!r}")
    args = {key: value for key, value in spec.items() if key != "name"}
    if "lr" in args:
        if "learning_rate" in args:
            raise _bad("optimizer", "give either 'lr' or 'learning_rate', not both")
        args["learning_rate"] = args.pop("lr")
    args.setdefault("learning_rate", 1e-3)
    rate = args["learning_rate"]
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0:
        raise _bad("optimizer", f"learning rate must be a positive number, got {rate!r}")
    return spec["name"], args


def _parse_loss(loss: Any) -> str | Callable[..., Any]:
    if callable(loss):
        return loss
    if isinstance(loss, str) and loss.lower() in LOSSES:
        return LOSSES[loss.lower()]
    if isinstance(loss, str) and ":" in loss:
        module, _, name = loss.partition(":")
        try:
            target: Any = importlib.import_module(module)
            for part in name.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as exc:
            raise _bad("loss", f"cannot import {loss!r}: {exc}") from None
        if not callable(target):
            raise _bad("loss", f"{loss!r} is not callable")
        return target
    raise _bad("loss", f"expected one of {', '.join(LOSSES)}, 'module:function' or a callable, got {loss!r}")


def _import_path(function: Callable[..., Any]) -> str:
    module, name = getattr(function, "__module__", None), getattr(function, "__qualname__", "")
    if not module or module == "__main__" or "<" in name:
        raise ValueError(
            f"model config key 'loss': cannot save the loss {function!r}: "
            "use a loss name or a function defined at module level of an importable module"
        )
    return f"{module}:{name}"
