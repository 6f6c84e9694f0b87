"""The TensorFlow side: `TFModel` and its zoo. Importing this package does not import TensorFlow."""

from tuiflow.models.tf.model import TFModel

__all__ = ["TFModel"]
