"""`TFModel`: the model interface over TensorFlow/Keras; TF is imported when the first one is built."""

from __future__ import annotations

from tuiflow.models.base import Model


class TFModel(Model):
    """A Keras network from a config dict (see `tuiflow.models.config`); arrays channels-last by default."""

    framework = "tf"
    _backend_module = "tuiflow.models.tf.backend"
    _framework_module = "tensorflow"
    _package = "TensorFlow"
