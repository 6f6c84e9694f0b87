"""The TensorFlow backend of `TFModel`: device, Keras network, loss, optimizer, a compiled train step."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # TF's INFO lines on import drown a run's log
import tensorflow as tf
from tensorflow import keras

from tuiflow.models.config import ModelConfig
from tuiflow.models.tf.losses import make_loss
from tuiflow.models.tf.networks import build_network

WEIGHTS_FILE = "model.weights.h5"


def _allow_memory_growth() -> None:
    # TF takes all of a GPU's memory by default; runs that share a GPU need it to take what it uses
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # the GPU is initialised already: too late, and nothing to undo
            pass


_allow_memory_growth()


def build(config: ModelConfig) -> TFBackend:
    """The backend for a checked config (what `Model` calls)."""
    return TFBackend(config)


def pick_device(device: str | None) -> str:
    """The canonical device ("cpu" or "gpu:N"); None means the first visible GPU, else the CPU."""
    visible = len(tf.config.list_physical_devices("GPU"))
    if device is None:
        return "gpu:0" if visible else "cpu"
    if device != "cpu" and int(device.split(":")[1]) >= visible:
        raise ValueError(f"model config key 'device': {device} is not visible (TensorFlow sees "
                         f"{visible} GPU{'s' if visible != 1 else ''})")
    return device


def make_optimizer(name: str, args: dict[str, Any]) -> keras.optimizers.Optimizer:
    """An optimizer of `keras.optimizers` by name (case-insensitive)."""
    choices = {}
    for key in dir(keras.optimizers):
        value = getattr(keras.optimizers, key)
        if isinstance(value, type) and issubclass(value, keras.optimizers.Optimizer):
            choices[key] = value
    choices.pop("Optimizer", None)
    choices.pop("LossScaleOptimizer", None)
    found = {key.lower(): value for key, value in choices.items()}.get(name.lower())
    if found is None:
        raise ValueError(
            f"model config key 'optimizer': keras.optimizers has no {name!r} "
            f"(choose from: {', '.join(sorted(choices))})"
        )
    try:
        return found(**args)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"model config key 'optimizer': {found.__name__}: {exc}") from None


class TFBackend:
    """One Keras network on one device with its optimizer and a `tf.function` train step."""

    def __init__(self, config: ModelConfig):
        self.device = pick_device(config.device)
        self.tf_device = "/CPU:0" if self.device == "cpu" else "/GPU:" + self.device.split(":")[1]
        if config.seed is not None:
            keras.utils.set_random_seed(config.seed)
        with tf.device(self.tf_device):
            self.network = build_network(config)
            self.optimizer = make_optimizer(config.optimizer, dict(config.optimizer_args))
            self.optimizer.build(self.network.trainable_variables)
        axis = 1 if config.images and config.data_format == "channels_first" else -1
        self.loss = make_loss(config.loss, config.classes, axis)
        self._train_step = self._compile_train_step()
        self._predict_step = self._compile_predict_step()

    def _compile_train_step(self) -> Any:
        network, optimizer, loss_function, device = self.network, self.optimizer, self.loss, self.tf_device
        variables = network.trainable_variables

        # reduce_retracing: a short last batch makes one more trace, not one per new size
        @tf.function(reduce_retracing=True)
        def train_step(inputs: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            with tf.device(device):  # applied while tracing: no cost per step
                with tf.GradientTape() as tape:
                    outputs = network(tf.cast(inputs, tf.float32), training=True)
                    loss = loss_function(outputs, targets)
                gradients = tape.gradient(loss, variables)
                optimizer.apply_gradients(zip(gradients, variables))
            return loss, outputs

        return train_step

    def _compile_predict_step(self) -> Any:
        network, device = self.network, self.tf_device

        @tf.function(reduce_retracing=True)
        def predict_step(inputs: tf.Tensor) -> tf.Tensor:
            with tf.device(device):
                return network(tf.cast(inputs, tf.float32), training=False)

        return predict_step

    def train(self, inputs: Any, targets: Any, want_loss: bool, want_predictions: bool) -> tuple[Any, Any]:
        """One optimisation step; only the fetched values are copied to the host."""
        loss, outputs = self._train_step(inputs, targets)
        return (float(loss) if want_loss else None, outputs.numpy() if want_predictions else None)

    def predict(self, inputs: Any) -> np.ndarray:
        """Outputs in inference mode (batch norm uses its moving statistics, dropout is off)."""
        return self._predict_step(inputs).numpy()

    def n_parameters(self) -> int:
        """The count of trainable weights (batch norm's moving statistics not included, as in torch)."""
        return sum(int(np.prod(weight.shape)) for weight in self.network.trainable_weights)

    def save_weights(self, directory: Path) -> str:
        """Keras' weights file (HDF5)."""
        with warnings.catch_warnings():
            # Keras converts its variables with np.array(x), which numpy 2 warns about; harmless here
            warnings.filterwarnings("ignore", "__array__ implementation", DeprecationWarning)
            self.network.save_weights(str(directory / WEIGHTS_FILE))
        return WEIGHTS_FILE

    def load_weights(self, directory: Path, filename: str) -> None:
        """Load weights saved by `save_weights`."""
        self.network.load_weights(str(directory / filename))
