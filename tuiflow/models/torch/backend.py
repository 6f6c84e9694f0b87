"""The PyTorch backend of `TorchModel`: devices, network, loss, optimizer, the train step, weights I/O."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from tuiflow.models.config import ModelConfig
from tuiflow.models.devices import DeviceSpec, resolve_devices
from tuiflow.models.torch.losses import make_loss
from tuiflow.models.torch.networks import build_network
from tuiflow.models.torch.parallel import spread

WEIGHTS_FILE = "weights.pt"
_FLOAT32, _INT64 = np.dtype(np.float32), np.dtype(np.int64)  # numpy's own dtype objects: `is` compares them


def build(config: ModelConfig) -> TorchBackend:
    """The backend for a checked config (what `Model` calls)."""
    return TorchBackend(config)


def pick_devices(spec: DeviceSpec) -> tuple[str, ...]:
    """The canonical devices a config names, checked against the GPUs torch sees; None means the
    first visible GPU, else the CPU."""
    return resolve_devices(spec, torch.cuda.device_count() if torch.cuda.is_available() else 0, "torch")


def torch_device(name: str) -> torch.device:
    """The torch device of a canonical name ("cpu" or "gpu:N")."""
    return torch.device("cpu") if name == "cpu" else torch.device("cuda", int(name.split(":")[1]))


def make_optimizer(name: str, args: dict[str, Any], parameters: Any) -> torch.optim.Optimizer:
    """An optimizer of `torch.optim` by name (case-insensitive); `learning_rate` is passed as `lr`."""
    choices = {
        key: value
        for key, value in vars(torch.optim).items()
        if isinstance(value, type) and issubclass(value, torch.optim.Optimizer) and value is not torch.optim.Optimizer
    }
    found = {key.lower(): value for key, value in choices.items()}.get(name.lower())
    if found is None:
        raise ValueError(
            f"model config key 'optimizer': torch.optim has no {name!r} (choose from: {', '.join(sorted(choices))})"
        )
    kwargs = dict(args)
    kwargs["lr"] = kwargs.pop("learning_rate")
    try:
        return found(parameters, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"model config key 'optimizer': {found.__name__}: {exc}") from None


class TorchBackend:
    """One network with its optimizer, on one device or split over several (see `parallel`); arrays
    in and out are numpy."""

    def __init__(self, config: ModelConfig):
        self.devices = pick_devices(config.device)
        self.device = self.devices[0]
        self.torch_device = torch_device(self.device)  # where the weights, the outputs and the loss live
        if config.seed is not None:
            torch.manual_seed(config.seed)
        self.network = build_network(config).to(self.torch_device)
        self._forward, self.replicas = spread(self.network, self.devices)
        axis = -1 if config.images and config.data_format == "channels_last" else 1
        self.loss = make_loss(config.loss, config.classes, axis)
        self.optimizer = make_optimizer(config.optimizer, dict(config.optimizer_args), self.network.parameters())
        self._training: bool | None = None  # the network's mode, switched only when it changes
        self._on_cpu = self.torch_device.type == "cpu"

    def _inputs(self, inputs: Any) -> torch.Tensor:
        return self._tensor(inputs, _FLOAT32, torch.float32)

    def _tensor(self, value: Any, fast_dtype: Any, dtype: Any = None) -> torch.Tensor:
        # A writable numpy array of the expected dtype goes through from_numpy: it shares the
        # array's memory, and its short path matters between steps, when caches are cold (it
        # saves about 5 us a tensor against as_tensor on a 2-vCPU VM). Everything else: as_tensor.
        if type(value) is np.ndarray and value.dtype is fast_dtype and value.flags.writeable:
            tensor = torch.from_numpy(value)
            return tensor if self._on_cpu else tensor.to(self.torch_device, non_blocking=True)
        return torch.as_tensor(value, dtype=dtype, device=self.torch_device)

    def train(self, inputs: Any, targets: Any, want_loss: bool, want_predictions: bool) -> tuple[Any, Any]:
        """One optimisation step; only the fetched values are synchronised and copied to the host."""
        if self._training is not True:
            self.network.train()
            self._training = True
        inputs = self._inputs(inputs)
        targets = self._tensor(targets, _INT64)
        if targets.dtype == torch.float64:
            targets = targets.float()
        outputs = self._forward(inputs)
        loss = self.loss(outputs, targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return (
            loss.item() if want_loss else None,
            outputs.detach().cpu().numpy() if want_predictions else None,
        )

    def predict(self, inputs: Any) -> np.ndarray:
        """Outputs in eval mode (batch norm uses its running statistics, dropout is off)."""
        if self._training is not False:
            self.network.eval()
            self._training = False
        with torch.inference_mode():
            return self._forward(self._inputs(inputs)).cpu().numpy()

    def n_parameters(self) -> int:
        """The count of the network's parameters (buffers such as running means not included)."""
        return sum(parameter.numel() for parameter in self.network.parameters())

    def save_weights(self, directory: Path) -> str:
        """The state dict (tensors only, loadable with weights_only=True)."""
        torch.save(self.network.state_dict(), directory / WEIGHTS_FILE)
        return WEIGHTS_FILE

    def load_weights(self, directory: Path, filename: str) -> None:
        """Load a state dict saved by `save_weights`, mapped to this backend's device."""
        state = torch.load(directory / filename, map_location=self.torch_device, weights_only=True)
        self.network.load_state_dict(state)
