"""The PyTorch side: `TorchModel` and its zoo. Importing this package does not import torch."""

from tuiflow.models.torch.model import TorchModel

__all__ = ["TorchModel"]
