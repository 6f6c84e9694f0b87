"""Which `Model` class a pipeline means when it names a framework: "torch" or "tf"."""

from __future__ import annotations

from typing import Any

from tuiflow.models.base import Model
from tuiflow.models.tf.model import TFModel
from tuiflow.models.torch.model import TorchModel

MODEL_CLASSES: dict[str, type[Model]] = {
    "torch": TorchModel,
    "pytorch": TorchModel,
    "tf": TFModel,
    "tensorflow": TFModel,
}


def resolve_model_class(spec: Any) -> type[Model]:
    """A `Model` subclass from itself or from a framework name ("torch", "tf"); ValueError otherwise."""
    if isinstance(spec, type) and issubclass(spec, Model) and spec.framework:
        return spec
    if isinstance(spec, str) and spec.lower() in MODEL_CLASSES:
        return MODEL_CLASSES[spec.lower()]
    raise ValueError(f"model class: expected TorchModel, TFModel, 'torch' or 'tf', got {spec!r}")
