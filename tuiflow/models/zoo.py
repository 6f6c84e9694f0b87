"""The model zoo's catalogue: architecture names, their arguments and defaults, framework-neutral.

Both frameworks build the same four architectures from the same checked arguments, so a config that
passes here builds in torch and in TF alike. The networks themselves live in `tuiflow.models.torch`
and `tuiflow.models.tf`.

Beyond these four, a name `"library:model"` takes a model of the library that keeps it, always with
random weights: `"timm:efficientnet_b0"` and `"torchvision:densenet121"` in torch, and
`"keras:EfficientNetB0"` (keras.applications) in TF. Their arguments go to the library's builder
as they are; the library itself is imported only when the network is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid")


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected a positive int, got {value!r}")
    return value


def _positive_ints(value: Any) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"expected a non-empty list of positive ints, got {value!r}")
    try:
        return tuple(_positive_int(item) for item in value)
    except ValueError:
        raise ValueError(f"expected a non-empty list of positive ints, got {value!r}") from None


def _fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"expected a number in [0, 1), got {value!r}")
    return float(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _activation(value: Any) -> str:
    if value not in ACTIVATIONS:
        raise ValueError(f"expected one of {', '.join(ACTIVATIONS)}, got {value!r}")
    return value


@dataclass(frozen=True)
class Architecture:
    """One zoo entry: its arguments with defaults and checks, and whether it takes images."""

    name: str
    defaults: Mapping[str, Any]
    checks: Mapping[str, Callable[[Any], Any]]
    images: bool
    segmentation: bool = False
    doc: str = ""
    library: str = ""  # "timm", "torchvision" or "keras" for a model of that library

    def parse_args(self, args: Mapping[str, Any]) -> dict[str, Any]:
        """Return the full argument dict: defaults overlaid with `args`, each checked.

        A library model's arguments are the library's to check, when it builds the network.
        """
        if self.library:
            for key in args:
                if not isinstance(key, str) or not key.isidentifier():
                    raise ValueError(f"model config key 'model': {self.name} argument {key!r} is not a name")
            return dict(args)
        parsed = dict(self.defaults)
        for key, value in args.items():
            if key not in self.checks:
                raise ValueError(
                    f"model config key 'model': {self.name} has no argument {key!r} "
                    f"(arguments: {', '.join(self.checks)})"
                )
            try:
                parsed[key] = self.checks[key](value)
            except ValueError as exc:
                raise ValueError(f"model config key 'model': {self.name} argument {key!r}: {exc}") from None
        if self.name == "ResNet" and isinstance(parsed["blocks"], tuple):
            if len(parsed["blocks"]) == 1:
                parsed["blocks"] = parsed["blocks"] * len(parsed["filters"])
            elif len(parsed["blocks"]) != len(parsed["filters"]):
                raise ValueError(
                    "model config key 'model': ResNet argument 'blocks' needs one count per stage "
                    f"({len(parsed['filters'])} filters), got {list(parsed['blocks'])}"
                )
        return parsed

    def check_image(self, args: Mapping[str, Any], height: int, width: int) -> str | None:
        """Why an image of this size cannot go through this network, or None when it can."""
        if self.name == "VGG":
            side = 2 ** len(args["filters"])
            if min(height, width) < side:
                blocks = len(args["filters"])
                return f"VGG with {blocks} block{'s' if blocks != 1 else ''} needs images of at least {side}x{side}"
        if self.name == "UNet":
            side = 2 ** (len(args["filters"]) - 1)
            if height % side or width % side:
                levels = len(args["filters"])
                return f"UNet with {levels} level{'s' if levels != 1 else ''} needs image sides divisible by {side}"
        return None


ARCHITECTURES: dict[str, Architecture] = {
    arch.name: arch
    for arch in (
        Architecture(
            "MLP",
            defaults={"units": (128, 64), "activation": "relu", "dropout": 0.0},
            checks={"units": _positive_ints, "activation": _activation, "dropout": _fraction},
            images=False,
            doc="Dense layers of `units`, then a dense layer of `classes` outputs; inputs are flattened.",
        ),
        Architecture(
            "VGG",
            defaults={
                "filters": (16, 32),
                "convs": 2,
                "units": (64,),
                "batchnorm": True,
                "activation": "relu",
                "dropout": 0.0,
            },
            checks={
                "filters": _positive_ints,
                "convs": _positive_int,
                "units": _positive_ints,
                "batchnorm": _flag,
                "activation": _activation,
                "dropout": _fraction,
            },
            images=True,
            doc="One block of `convs` 3x3 convolutions and a 2x2 max-pool per entry of `filters`, "
            "then dense layers of `units`.",
        ),
        Architecture(
            "ResNet",
            defaults={"filters": (16, 32), "blocks": (2,), "activation": "relu"},
            checks={"filters": _positive_ints, "blocks": _positive_ints, "activation": _activation},
            images=True,
            doc="A 3x3 stem, then one stage per entry of `filters` with `blocks` residual blocks "
            "(an int for all stages or one per stage), stride 2 between stages, global average pool.",
        ),
        Architecture(
            "UNet",
            defaults={"filters": (8, 16, 32), "convs": 2, "batchnorm": True, "activation": "relu"},
            checks={
                "filters": _positive_ints,
                "convs": _positive_int,
                "batchnorm": _flag,
                "activation": _activation,
            },
            images=True,
            segmentation=True,
            doc="An encoder of one level per entry of `filters` (depth = len(filters) - 1 poolings), "
            "a mirrored decoder with skip connections, and `classes` output channels at input size.",
        ),
    )
}


# which framework builds each library's models
LIBRARIES = {"timm": "torch", "torchvision": "torch", "keras": "tf"}


def find_architecture(name: Any) -> Architecture:
    """The zoo entry called `name` (case-insensitive), or a library model "library:model"; ValueError
    naming the choices otherwise."""
    if isinstance(name, str):
        for key, arch in ARCHITECTURES.items():
            if key.lower() == name.lower():
                return arch
        library, colon, model = name.partition(":")
        if colon:
            if library.lower() not in LIBRARIES or not model.strip():
                raise ValueError(
                    f"model config key 'model': {name!r} names no library model (give timm:NAME, "
                    "torchvision:NAME or keras:NAME)"
                )
            return library_architecture(library.lower(), model.strip())
    raise ValueError(
        f"model config key 'model': unknown architecture {name!r} (choose one of: {', '.join(ARCHITECTURES)}, "
        "or a library model such as timm:efficientnet_b0, torchvision:resnet18, keras:EfficientNetB0)"
    )


def library_architecture(library: str, model: str) -> Architecture:
    """The catalogue entry of a library model: any arguments (the library checks them), image inputs."""
    return Architecture(
        f"{library}:{model}", defaults={}, checks={}, images=True, library=library,
        doc=f"{model} from {library}, random weights",
    )
