"""The framework-neutral model interface: what the pipeline actions and recipes call.

A `Model` owns a checked `ModelConfig` and a framework backend (built on first use of the framework,
so importing this module imports neither torch nor TensorFlow). Arrays in and out are numpy.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Protocol

import numpy as np

from tuiflow.models.config import ModelConfig
from tuiflow.models.devices import describe

FETCHES = ("loss", "predictions")
CONFIG_FILE = "config.json"
FORMAT_VERSION = 1


class Backend(Protocol):
    """What a framework provides to `Model`; one per framework, in `tuiflow.models.<framework>`."""

    device: str
    devices: tuple[str, ...]
    network: Any
    optimizer: Any

    def train(self, inputs: Any, targets: Any, want_loss: bool, want_predictions: bool) -> tuple[Any, Any]:
        """One optimisation step; returns (loss as float or None, predictions as numpy or None)."""

    def predict(self, inputs: Any) -> np.ndarray:
        """The network's outputs for `inputs` in inference mode, as numpy."""

    def n_parameters(self) -> int:
        """How many weights the network has."""

    def save_weights(self, directory: Path) -> str:
        """Write the weights into `directory`; returns the file's name."""

    def load_weights(self, directory: Path, filename: str) -> None:
        """Read weights written by `save_weights`."""


def import_backend(module: str, framework_module: str, needed_by: str, package: str, extra: str) -> ModuleType:
    """Import a backend module, telling which extra to install when its framework is missing."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == framework_module or exc.name.startswith(framework_module + ".")):
            raise ImportError(f"{needed_by} needs {package}: pip install 'tuiflow[{extra}]'") from exc
        raise


def _fetch_plan(fetches: str | Sequence[str] | None) -> tuple[tuple[str, ...], bool]:
    if fetches is None:
        return (), False
    names = (fetches,) if isinstance(fetches, str) else tuple(fetches)
    for name in names:
        if name not in FETCHES:
            raise ValueError(f"fetches: unknown name {name!r} (choose from: {', '.join(FETCHES)})")
    return names, isinstance(fetches, str)


class Model:
    """A trainable network built from a config dict; subclasses name their framework.

    `train` runs one optimisation step, `predict` runs inference; both take and give numpy arrays.
    """

    framework: ClassVar[str] = ""
    _backend_module: ClassVar[str] = ""
    _framework_module: ClassVar[str] = ""
    _package: ClassVar[str] = ""

    def __init__(self, config: Mapping[str, Any] | ModelConfig) -> None:
        if not self.framework:
            raise TypeError("Model is abstract: use TorchModel or TFModel (or resolve_model_class)")
        self.config = ModelConfig.parse(config, self.framework)
        module = import_backend(
            self._backend_module, self._framework_module, type(self).__name__, self._package, self.framework
        )
        self._backend: Backend = module.build(self.config)
        self._plans: dict[Any, tuple[tuple[str, ...], bool]] = {}

    @property
    def device(self) -> str:
        """Where the network's weights live: "cpu" or "gpu:N" (the first of `devices`)."""
        return self._backend.device

    @property
    def devices(self) -> tuple[str, ...]:
        """Every device a batch is split over ("cpu" entries or "gpu:N"); one for a single device."""
        return self._backend.devices

    @property
    def network(self) -> Any:
        """The framework's own network object (a torch `nn.Module`, a Keras `Model`)."""
        return self._backend.network

    @property
    def optimizer(self) -> Any:
        """The framework's own optimizer object."""
        return self._backend.optimizer

    @property
    def n_parameters(self) -> int:
        """How many weights the network has."""
        return self._backend.n_parameters()

    def train(
        self, inputs: Any, targets: Any, fetches: str | Sequence[str] | None = "loss"
    ) -> float | np.ndarray | dict[str, Any] | None:
        """One optimisation step on a batch; returns the fetch named, a dict for a list, None for None.

        Fetches: "loss" (a float) and "predictions" (the outputs of the network before the step's
        update, as numpy). Only fetched values are copied off the device.
        """
        plan = self._plans.get(fetches) if type(fetches) is str else None  # the common case, first
        if plan is None:
            key = fetches if isinstance(fetches, str) or fetches is None else tuple(fetches)
            plan = self._plans.get(key)
            if plan is None:
                plan = self._plans[key] = _fetch_plan(fetches)
        names, single = plan
        loss, predictions = self._backend.train(inputs, targets, "loss" in names, "predictions" in names)
        if single:
            return loss if names[0] == "loss" else predictions
        if not names:
            return None
        return {name: loss if name == "loss" else predictions for name in names}

    def predict(self, inputs: Any) -> np.ndarray:
        """The network's raw outputs (logits) for a batch, in inference mode, as numpy."""
        return self._backend.predict(inputs)

    def save(self, path: str | Path) -> Path:
        """Write the weights and the config (as JSON, never a pickle) into the directory `path`."""
        directory = Path(path)
        config = self.config.to_dict()  # first, so an unsaveable loss fails before any file is written
        directory.mkdir(parents=True, exist_ok=True)
        weights = self._backend.save_weights(directory)
        record = {
            "format": FORMAT_VERSION,
            "framework": self.framework,
            "weights": weights,
            "n_parameters": self.n_parameters,
            "config": config,
        }
        (directory / CONFIG_FILE).write_text(json.dumps(record, indent=2) + "\n")
        return directory

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> Model:
        """Build the model saved in `path` and load its weights; `overrides` replace config keys.

        Called on `Model` itself, it picks the framework the directory was saved with.
        """
        directory = Path(path)
        try:
            record = json.loads((directory / CONFIG_FILE).read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"no saved model in {directory}: {CONFIG_FILE} is missing") from None
        framework = record.get("framework")
        model_class: type[Model] = cls
        if not cls.framework:
            from tuiflow.models.registry import resolve_model_class

            model_class = resolve_model_class(framework)
        elif framework != cls.framework:
            raise ValueError(f"{directory} holds a {framework!r} model, not one for {cls.__name__}")
        model = model_class({**record["config"], **overrides})
        model._backend.load_weights(directory, record["weights"])
        return model

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.config.model}, inputs={self.config.inputs}, "
            f"classes={self.config.classes}, device={describe(self.devices)!r})"
        )
