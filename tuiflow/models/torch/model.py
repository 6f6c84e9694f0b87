"""`TorchModel`: the model interface over PyTorch; torch is imported when the first one is built."""

from __future__ import annotations

from tuiflow.models.base import Model


class TorchModel(Model):
    """A PyTorch network from a config dict (see `tuiflow.models.config`); arrays channels-first by default."""

    framework = "torch"
    _backend_module = "tuiflow.models.torch.backend"
    _framework_module = "torch"
    _package = "PyTorch"
