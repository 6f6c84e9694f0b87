"""Networks of keras.applications by name ("keras:EfficientNetB0"), with random weights (`weights=None`).

Keras comes with TensorFlow (the `tf` extra); nothing is downloaded.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from typing import Any

from tensorflow import keras


def _bad(key: str, problem: str) -> ValueError:
    return ValueError(f"model config key {key!r}: {problem}")


def applications() -> dict[str, Any]:
    """keras.applications' network builders by name (`EfficientNetB0`, `ResNet50`, ...)."""
    return {
        name: value
        for name, value in vars(keras.applications).items()
        if name[:1].isupper() and callable(value) and not inspect.ismodule(value)
    }


def build_library_layer(name: str, shape: tuple[int, int, int], classes: int, args: Mapping[str, Any]) -> Any:
    """The keras.applications network `name` ("keras:...") for NHWC items of `shape`, giving logits."""
    model = name.partition(":")[2]
    builders = applications()
    found = builders.get(model) or {key.lower(): value for key, value in builders.items()}.get(model.lower())
    if found is None:
        close = difflib.get_close_matches(model, list(builders), n=3, cutoff=0.6)
        hint = f" (close: {', '.join(close)})" if close else ""
        raise _bad("model", f"keras.applications has no model {model!r}{hint}")
    kwargs = {"weights": None, "input_shape": shape, "classes": classes, "include_top": True, **args}
    if "classifier_activation" in inspect.signature(found).parameters:
        kwargs.setdefault("classifier_activation", None)  # the losses take logits
    try:
        return found(**kwargs)
    except TypeError as exc:
        raise _bad("model", f"{name}: {exc}") from None
    except ValueError as exc:  # keras says which sizes the network takes
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _bad("inputs", f"{name} cannot take items of shape {shape} (NHWC): {first}") from None
