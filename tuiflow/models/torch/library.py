"""Networks of timm and torchvision by name ("timm:efficientnet_b0", "torchvision:densenet121").

Always random weights (timm `pretrained=False`, torchvision `weights=None`): nothing is downloaded.
The libraries are imported here, when such a network is built, never at `import tuiflow`.
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn

EXTRA = "pip install 'tuiflow[zoo]'"


def _bad(key: str, problem: str) -> ValueError:
    return ValueError(f"model config key {key!r}: {problem}")


@contextlib.contextmanager
def _ops_optional() -> Iterator[None]:
    # torchvision registers shape functions for its C++ operators (nms, roi_align...) at import. Where
    # its C++ library cannot load (PyPI's torchvision is built for CUDA torch; beside a CPU build of
    # torch its library misses CUDA symbols) those registrations raise and the whole import fails,
    # although no classification or segmentation network uses these operators. Skipping the
    # registrations of operators that do not exist lets those networks build; the detection
    # operators then fail when called, with torchvision's own error.
    register_fake = torch.library.register_fake

    def tolerant(op: Any, func: Any = None, /, *args: Any, **kwargs: Any) -> Any:
        if func is None:  # used as a decorator: the registration happens when it is applied
            return lambda function: tolerant(op, function, *args, **kwargs)
        try:
            return register_fake(op, func, *args, **kwargs)
        except RuntimeError as exc:
            if "does not exist" not in str(exc):
                raise
            return func

    torch.library.register_fake = tolerant
    try:
        yield
    finally:
        torch.library.register_fake = register_fake


def import_library(library: str, model: str) -> Any:
    """Import timm or torchvision, naming the extra when it is missing (both need torchvision)."""
    try:
        if "torchvision" not in sys.modules:
            with _ops_optional():  # a build whose C++ operators do not load still gives its networks
                importlib.import_module("torchvision")
        return importlib.import_module(library)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in ("timm", "torchvision"):
            raise ImportError(f"model {library}:{model} needs {missing}: {EXTRA}") from exc
        raise


def _suggest(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return f" (close: {', '.join(close)})" if close else ""


def _build_timm(model: str, channels: int, classes: int, args: Mapping[str, Any]) -> nn.Module:
    timm = import_library("timm", model)
    if not timm.is_model(model):
        raise _bad("model", f"timm has no model {model!r}{_suggest(model, timm.list_models())}")
    return timm.create_model(model, pretrained=False, num_classes=classes, in_chans=channels, **args)


def _build_torchvision(model: str, channels: int, classes: int, args: Mapping[str, Any]) -> nn.Module:
    torchvision = import_library("torchvision", model)
    names = torchvision.models.list_models()
    if model not in names:
        raise _bad("model", f"torchvision has no model {model!r}{_suggest(model, names)}")
    network = torchvision.models.get_model(model, weights=None, num_classes=classes, **args)
    if channels == 3:
        return network
    # torchvision's networks take RGB: one channel is repeated, others mixed by a learned 1x1 convolution
    adapter: nn.Module = RepeatChannels(3) if channels == 1 else nn.Conv2d(channels, 3, 1)
    return nn.Sequential(adapter, network)


class RepeatChannels(nn.Module):
    """A one-channel image repeated to `channels` channels (grey to RGB)."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.expand(-1, self.channels, -1, -1)


class Logits(nn.Module):
    """A library network whose outputs are the logits tensor, whatever it returns besides.

    torchvision's segmentation networks return {"out": ..., "aux": ...}, Inception and GoogLeNet a
    named tuple with `logits` while training.
    """

    def __init__(self, network: nn.Module):
        super().__init__()
        self.network = network

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs = self.network(inputs)
        if isinstance(outputs, torch.Tensor):
            return outputs
        if isinstance(outputs, Mapping):
            return outputs["out"]
        logits = getattr(outputs, "logits", None)
        return logits if isinstance(logits, torch.Tensor) else outputs[0]


BUILDERS = {"timm": _build_timm, "torchvision": _build_torchvision}


def build_library_network(
    name: str, shape: tuple[int, int, int], classes: int, args: Mapping[str, Any]
) -> nn.Module:
    """The library network `name` ("timm:..." or "torchvision:...") for NCHW items of `shape`.

    One item of zeros goes through it here, so inputs too small for it fail now, naming the key.
    """
    library, _, model = name.partition(":")
    try:
        network = Logits(BUILDERS[library](model, shape[0], classes, args))
    except TypeError as exc:  # an argument the builder does not take
        raise _bad("model", f"{name}: {exc}") from None
    training = network.training
    network.eval()
    try:
        with torch.no_grad():
            outputs = network(torch.zeros(1, *shape))
    except (RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _bad("inputs", f"{name} cannot take items of shape {shape} (NCHW): {first}") from None
    network.train(training)
    if outputs.shape[1] != classes:
        raise _bad("model", f"{name} gives {outputs.shape[1]} outputs per item, not {classes} classes")
    return network
