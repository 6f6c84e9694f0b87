"""The TensorFlow backend of `TFModel`: devices, Keras network, loss, optimizer, a compiled train step.

On several devices the network, its optimizer and the train step live in a
`tf.distribute.MirroredStrategy` over them: each batch is split into one share per device, each
replica's loss is weighted by its share of the batch, so the gradients summed over replicas are the
whole batch's mean gradient, and every replica applies the same update. A list of CPU entries runs on
that many logical CPUs, which TensorFlow can only make before it starts: a model on N CPU entries
must be the first TF work of its process (a runner's is), else its error says so.
"""

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
from tuiflow.models.devices import DeviceSpec, resolve_devices
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


def pick_devices(spec: DeviceSpec) -> tuple[str, ...]:
    """The canonical devices ("cpu" entries or "gpu:N") a config names, checked against the GPUs TF
    sees; None means the first visible GPU, else the CPU. N CPU entries make N logical CPUs."""
    devices = resolve_devices(spec, len(tf.config.list_physical_devices("GPU")), "TensorFlow")
    if len(devices) > 1 and devices[0] == "cpu":
        split_cpu(len(devices))
    return devices


def split_cpu(count: int) -> None:
    """Make TensorFlow show at least `count` logical CPUs; only possible before TF starts its runtime."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    configured = tf.config.get_logical_device_configuration(cpu)
    if configured is not None and len(configured) >= count:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:  # TF has started: its devices are fixed
        have = len(tf.config.list_logical_devices("CPU"))
        if have < count:
            raise ValueError(
                f"model config key 'device': {count} CPU entries need {count} logical CPUs, and TensorFlow "
                f"started with {have}: build this model before any other TensorFlow work in the process"
            ) from None


def tf_device_name(name: str, position: int) -> str:
    """TF's name of a canonical device; the CPU entries of a list are logical CPUs 0, 1, ..."""
    return f"/CPU:{position}" if name == "cpu" else "/GPU:" + name.split(":")[1]


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


_STRATEGIES: dict[tuple[str, ...], Any] = {}


def mirrored_strategy(devices: tuple[str, ...]) -> Any:
    """The process's one MirroredStrategy over `devices`: models on the same devices share it, as two
    strategies over one set of devices number their collective operations alike, and clash."""
    names = tuple(tf_device_name(name, position) for position, name in enumerate(devices))
    if names not in _STRATEGIES:
        _STRATEGIES[names] = tf.distribute.MirroredStrategy(devices=list(names))
    return _STRATEGIES[names]


class TFBackend:
    """One Keras network with its optimizer and a `tf.function` train step, on one device or
    mirrored over several."""

    def __init__(self, config: ModelConfig):
        self.devices = pick_devices(config.device)
        self.device = self.devices[0]
        self.tf_device = tf_device_name(self.device, 0)
        self.strategy: Any = None
        if len(self.devices) > 1:
            self.strategy = mirrored_strategy(self.devices)
        if config.seed is not None:
            keras.utils.set_random_seed(config.seed)
        with self.strategy.scope() if self.strategy else tf.device(self.tf_device):
            self.network = build_network(config)
            self.optimizer = make_optimizer(config.optimizer, dict(config.optimizer_args))
            self.optimizer.build(self.network.trainable_variables)
        axis = 1 if config.images and config.data_format == "channels_first" else -1
        self.loss = make_loss(config.loss, config.classes, axis)
        if self.strategy:
            self._train_step = self._compile_mirrored_train_step()
            self._predict_step = self._compile_mirrored_predict_step()
        else:
            self._train_step = self._compile_train_step()
            self._predict_step = self._compile_predict_step()

    def split(self, array: Any) -> Any:
        """`array` as one share per replica (np.array_split's shares), each on its replica's device."""
        shares = np.array_split(np.asarray(array), len(self.devices))
        devices = self.strategy.extended.worker_devices

        def share(context: Any) -> tf.Tensor:
            with tf.device(devices[context.replica_id_in_sync_group]):
                return tf.identity(shares[context.replica_id_in_sync_group])

        return self.strategy.experimental_distribute_values_from_function(share)

    def _compile_mirrored_train_step(self) -> Any:
        network, optimizer, loss_function, strategy = self.network, self.optimizer, self.loss, self.strategy
        variables = network.trainable_variables

        def replica_step(inputs: tf.Tensor, targets: tf.Tensor, total: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            with tf.GradientTape() as tape:
                outputs = network(tf.cast(inputs, tf.float32), training=True)
                count = tf.shape(outputs)[0]
                share = tf.cast(count, tf.float32) / total
                # a replica with no items (a batch smaller than the devices) adds nothing
                loss = tf.where(count > 0, loss_function(outputs, targets), 0.0) * share
            gradients = tape.gradient(loss, variables)
            optimizer.apply_gradients(zip(gradients, variables))  # summed over the replicas first
            return loss, outputs

        @tf.function(reduce_retracing=True)
        def train_step(inputs: Any, targets: Any, total: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            losses, outputs = strategy.run(replica_step, args=(inputs, targets, total))
            return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None), strategy.gather(outputs, axis=0)

        def train(inputs: Any, targets: Any) -> tuple[tf.Tensor, tf.Tensor]:
            total = tf.constant(float(len(inputs)))
            return train_step(self.split(inputs), self.split(targets), total)

        return train

    def _compile_mirrored_predict_step(self) -> Any:
        network, strategy = self.network, self.strategy

        @tf.function(reduce_retracing=True)
        def predict_step(inputs: Any) -> tf.Tensor:
            outputs = strategy.run(lambda share: network(tf.cast(share, tf.float32), training=False), args=(inputs,))
            return strategy.gather(outputs, axis=0)

        return lambda inputs: predict_step(self.split(inputs))

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
