"""Models for tuiflow: `TorchModel`, `TFModel`, a small zoo (MLP, VGG, ResNet, UNet) and metrics.

Models of timm, torchvision and keras.applications are built by name ("timm:efficientnet_b0"), and a
model may split each batch over several devices (`device=["cuda:0", "cuda:1"]`, `"gpu:*"`).
Importing this package imports no framework or library: each is imported when the first model of it
is built, and a missing one says which extra to install.
"""

from tuiflow.models import actions  # noqa: F401 - importing it registers the model pipeline actions
from tuiflow.models.base import Model
from tuiflow.models.config import ModelConfig
from tuiflow.models.metrics import (
    ClassificationMetrics,
    ConfusionMetrics,
    SegmentationMetrics,
    accuracy,
    confusion_matrix,
    dice,
    f1_score,
    iou,
    precision,
    recall,
)
from tuiflow.models.registry import resolve_model_class
from tuiflow.models.tf.model import TFModel
from tuiflow.models.torch.model import TorchModel
from tuiflow.models.zoo import ARCHITECTURES

__all__ = [
    "ARCHITECTURES",
    "ClassificationMetrics",
    "ConfusionMetrics",
    "Model",
    "ModelConfig",
    "SegmentationMetrics",
    "TFModel",
    "TorchModel",
    "accuracy",
    "confusion_matrix",
    "dice",
    "f1_score",
    "iou",
    "precision",
    "recall",
    "resolve_model_class",
]
