"""How much the model API and a pipeline cost over a hand-written training loop; prints one JSON line.

On the digits data (1797 x 64 float32, batch 64), an MLP 64-128-64-10 with Adam trains epoch by
epoch, per framework: a hand-written loop (PyTorch; or a tf.GradientTape step in a tf.function),
`Model.train` in the same loop, and a tuiflow pipeline (`load` -> `init_model` -> `train_model`).
Epochs go in order (the hand loop slices views of the data; the pipeline copies each batch, as
batches own their data) and shuffled (both sides take a permutation by fancy indexing). The
pipeline also runs with its per-action profile on, as in a recipe run (for information). Every
variant fetches the loss of every step as a Python float. The variants of one framework take
turns, repeat by repeat, and the median epoch time of each gives samples/s. The target: the
pipeline at >= 0.95 of the hand loop, in order and shuffled.

    python benchmarks/bench_models.py [--epochs 3] [--repeats 7] [--frameworks torch,tf] [--device cpu]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BATCH = 64
UNITS = (128, 64)
LEARNING_RATE = 1e-3


def load_data() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.data / 16).astype(np.float32), data.target.astype(np.int64)


def model_config(device: str) -> dict:
    return {
        "inputs": (64,),
        "classes": 10,
        "model": {"name": "MLP", "units": list(UNITS)},
        "optimizer": {"name": "Adam", "lr": LEARNING_RATE},
        "device": device,
        "seed": 0,
    }


def epoch_runner(
    step: Callable[[np.ndarray, np.ndarray], float], inputs: np.ndarray, targets: np.ndarray, shuffled: bool = False
) -> Callable[[], float]:
    """An epoch over the data in batches, in order (slices) or shuffled each epoch (a permutation
    and fancy indexing, as training loops are usually written); returns its seconds."""
    starts = range(0, len(inputs), BATCH)
    rng = np.random.default_rng(0)

    def epoch() -> float:
        began = time.perf_counter()
        if shuffled:
            order = rng.permutation(len(inputs))
            for start in starts:
                positions = order[start : start + BATCH]
                step(inputs[positions], targets[positions])
        else:
            for start in starts:
                step(inputs[start : start + BATCH], targets[start : start + BATCH])
        return time.perf_counter() - began

    return epoch


def pipeline_runner(framework: str, inputs: np.ndarray, targets: np.ndarray, device: str,
                    shuffled: bool = False, profile: bool = False) -> Callable[[], float]:
    """An epoch of the same training driven by a tuiflow pipeline: load, then train_model
    (``profile``: with the per-action profile on, as every pipeline of a recipe run is)."""
    from tuiflow import B, Batch, Dataset, Pipeline

    class DigitsBatch(Batch):
        components = ("images", "labels")

    dataset = Dataset(len(inputs), batch_class=DigitsBatch, preloaded=(inputs, targets))
    pipeline = dataset >> (Pipeline()
                           .load()
                           .init_model("mlp", framework, model_config(device))
                           .train_model("mlp", inputs=B("images"), targets=B("labels"), fetches="loss"))

    rng = np.random.default_rng(0)

    def epoch() -> float:
        began = time.perf_counter()
        pipeline.run(BATCH, n_epochs=1, shuffle=rng if shuffled else False, profile=profile)
        return time.perf_counter() - began

    return epoch


def torch_variants(inputs: np.ndarray, targets: np.ndarray, device: str) -> dict[str, Callable[[], float]]:
    import torch
    import torch.nn.functional as F
    from torch import nn

    from tuiflow.models import TorchModel

    model = TorchModel(model_config(device))
    torch_device = model._backend.torch_device
    torch.manual_seed(0)
    network = nn.Sequential(
        nn.Linear(64, UNITS[0]), nn.ReLU(), nn.Linear(UNITS[0], UNITS[1]), nn.ReLU(), nn.Linear(UNITS[1], 10)
    ).to(torch_device)
    optimizer = torch.optim.Adam(network.parameters(), lr=LEARNING_RATE)
    network.train()

    def hand_step(batch_inputs: np.ndarray, batch_targets: np.ndarray) -> float:
        batch_inputs = torch.from_numpy(batch_inputs).to(torch_device)
        batch_targets = torch.from_numpy(batch_targets).to(torch_device)
        loss = F.cross_entropy(network(batch_inputs), batch_targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    return {
        "torch_hand": epoch_runner(hand_step, inputs, targets),
        "torch_model": epoch_runner(model.train, inputs, targets),
        "torch_pipeline": pipeline_runner("torch", inputs, targets, device),
        "torch_pipeline_profiled": pipeline_runner("torch", inputs, targets, device, profile=True),
        "torch_hand_shuffled": epoch_runner(hand_step, inputs, targets, shuffled=True),
        "torch_pipeline_shuffled": pipeline_runner("torch", inputs, targets, device, shuffled=True),
    }


def tf_variants(inputs: np.ndarray, targets: np.ndarray, device: str) -> dict[str, Callable[[], float]]:
    import tensorflow as tf
    from tensorflow import keras

    from tuiflow.models import TFModel

    model = TFModel(model_config(device))
    keras.utils.set_random_seed(0)
    with tf.device(model._backend.tf_device):
        network = keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(UNITS[0], activation="relu"),
                keras.layers.Dense(UNITS[1], activation="relu"),
                keras.layers.Dense(10),
            ]
        )
        optimizer = keras.optimizers.Adam(LEARNING_RATE)

    @tf.function
    def train_step(batch_inputs: tf.Tensor, batch_targets: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            logits = network(batch_inputs, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(batch_targets, logits))
        gradients = tape.gradient(loss, network.trainable_variables)
        optimizer.apply_gradients(zip(gradients, network.trainable_variables))
        return loss

    def hand_step(batch_inputs: np.ndarray, batch_targets: np.ndarray) -> float:
        return float(train_step(batch_inputs, batch_targets))

    return {
        "tf_hand": epoch_runner(hand_step, inputs, targets),
        "tf_model": epoch_runner(model.train, inputs, targets),
        "tf_pipeline": pipeline_runner("tf", inputs, targets, device),
        "tf_pipeline_profiled": pipeline_runner("tf", inputs, targets, device, profile=True),
        "tf_hand_shuffled": epoch_runner(hand_step, inputs, targets, shuffled=True),
        "tf_pipeline_shuffled": pipeline_runner("tf", inputs, targets, device, shuffled=True),
    }


def measure(variants: dict[str, Callable[[], float]], epochs: int, repeats: int, samples: int) -> dict[str, float]:
    """Median samples/s of each variant; the variants take turns so drifts in machine load hit all alike."""
    for epoch in variants.values():  # warm-up: tracing, allocator, caches
        epoch()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, epoch in variants.items():
            times[name].append(sum(epoch() for _ in range(epochs)) / epochs)
    return {name: samples / statistics.median(seconds) for name, seconds in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per repeat and variant")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved repeats; the median is reported")
    parser.add_argument("--frameworks", default="torch,tf", help="comma-separated: torch, tf")
    parser.add_argument("--device", default="cpu", help="cpu, gpu:0, ...")
    args = parser.parse_args()

    inputs, targets = load_data()
    result: dict[str, object] = {
        "bench": "models",
        "data": "digits",
        "samples": len(inputs),
        "batch": BATCH,
        "model": f"MLP 64-{UNITS[0]}-{UNITS[1]}-10, Adam",
        "epochs": args.epochs,
        "repeats": args.repeats,
        "device": args.device,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    variants = {"torch": (torch_variants, "torch"), "tf": (tf_variants, "tensorflow")}
    for name in args.frameworks.split(","):
        make, module = variants[name]
        speeds = measure(make(inputs, targets, args.device), args.epochs, args.repeats, len(inputs))
        result.update({f"{variant}_samples_per_s": round(value) for variant, value in speeds.items()})
        result[f"{name}_ratio"] = round(speeds[f"{name}_model"] / speeds[f"{name}_hand"], 3)
        result[f"{name}_pipeline_ratio"] = round(speeds[f"{name}_pipeline"] / speeds[f"{name}_hand"], 3)
        result[f"{name}_shuffled_pipeline_ratio"] = round(
            speeds[f"{name}_pipeline_shuffled"] / speeds[f"{name}_hand_shuffled"], 3)
        result[f"{name}_profiled_pipeline_ratio_info"] = round(
            speeds[f"{name}_pipeline_profiled"] / speeds[f"{name}_hand"], 3)
        result[f"{name}_version"] = importlib.import_module(module).__version__
    ratios = [v for k, v in result.items() if k.endswith("_pipeline_ratio")]
    result["target"] = {"pipeline_over_hand_min": 0.95}
    result["meets_target"] = bool(ratios) and all(r >= 0.95 for r in ratios)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
