"""How much the model API and a pipeline cost over a hand-written training loop; prints one JSON line.

On the digits data (1797 x 64 float32, batch 64), an MLP 64-128-64-10 with Adam trains epoch by
epoch, per framework: a hand-written loop (PyTorch; or a tf.GradientTape step in a tf.function),
`Model.train` in the same loop, and a tuiflow pipeline (`import_model` -> `load` -> `train_model`).
Epochs go in order (the hand loop slices views of the data; so does the pipeline's `run()`, as
only model actions follow `load`) and shuffled (both sides take a permutation by fancy indexing).
The pipeline also runs with its per-action profile on, as in a recipe run, and with
`load(copy=True)`, which copies in-order batches too (both for information). Every
variant fetches the loss of every step as a Python float. All variants of a framework train one
and the same model (so only the driving of the steps differs), with denormals flushed to zero in
torch. They take turns, in an order that turns each repeat; the median epoch time of each gives
samples/s, and a ratio is the median over repeats of the ratio within a repeat. The target:
the pipeline at >= 0.95 of the hand loop, in order and shuffled.

    python benchmarks/bench_models.py [--epochs 3] [--repeats 21] [--frameworks torch,tf] [--device cpu]
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


def pipeline_runner(model: object, inputs: np.ndarray, targets: np.ndarray, shuffled: bool = False,
                    profile: bool = False, copy: bool | None = None) -> Callable[[], float]:
    """An epoch of the same training driven by a tuiflow pipeline: load, then train_model
    (``profile``: with the per-action profile on, as every pipeline of a recipe run is; ``copy``:
    given to ``load``, where the default lets ``run()`` take views of in-order batches)."""
    from tuiflow import B, Batch, Dataset, Pipeline

    class DigitsBatch(Batch):
        components = ("images", "labels")

    dataset = Dataset(len(inputs), batch_class=DigitsBatch, preloaded=(inputs, targets))
    # import_model: the pipeline trains the very model the other variants train (init_model would
    # build its own, and costs the same per batch: one look-up that finds the model there).
    loading = Pipeline().import_model("mlp", {"mlp": model})
    loading = loading.load() if copy is None else loading.load(copy=copy)
    pipeline = dataset >> loading.train_model("mlp", inputs=B("images"), targets=B("labels"), fetches="loss")

    rng = np.random.default_rng(0)

    def epoch() -> float:
        began = time.perf_counter()
        pipeline.run(BATCH, n_epochs=1, shuffle=rng if shuffled else False, profile=profile)
        return time.perf_counter() - began

    return epoch


def pipeline_variants(framework: str, model: object, inputs: np.ndarray, targets: np.ndarray) -> dict:
    return {
        f"{framework}_pipeline": pipeline_runner(model, inputs, targets),
        f"{framework}_pipeline_profiled": pipeline_runner(model, inputs, targets, profile=True),
        f"{framework}_pipeline_shuffled": pipeline_runner(model, inputs, targets, shuffled=True),
        f"{framework}_pipeline_copies": pipeline_runner(model, inputs, targets, copy=True),
    }


def torch_variants(inputs: np.ndarray, targets: np.ndarray, device: str) -> dict[str, Callable[[], float]]:
    import torch
    import torch.nn.functional as F

    from tuiflow.models import TorchModel

    # Every variant trains this one model, so they differ in how the steps are driven and in
    # nothing else (two networks of one shape can differ by a few % in speed, by where their
    # weights happen to lie in memory). Denormal floats are flushed to zero: as the loss falls,
    # Adam's moments get tiny, and denormal arithmetic would slow whichever variant met it first.
    torch.set_flush_denormal(True)
    model = TorchModel(model_config(device))
    network, optimizer = model.network, model.optimizer
    torch_device = model._backend.torch_device
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
        "torch_hand_shuffled": epoch_runner(hand_step, inputs, targets, shuffled=True),
        **pipeline_variants("torch", model, inputs, targets),
    }


def tf_variants(inputs: np.ndarray, targets: np.ndarray, device: str) -> dict[str, Callable[[], float]]:
    import tensorflow as tf

    from tuiflow.models import TFModel

    model = TFModel(model_config(device))  # one model for every variant, as with torch
    network, optimizer = model.network, model.optimizer

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
        "tf_hand_shuffled": epoch_runner(hand_step, inputs, targets, shuffled=True),
        **pipeline_variants("tf", model, inputs, targets),
    }


def measure(variants: dict[str, Callable[[], float]], epochs: int, repeats: int) -> dict[str, list[float]]:
    """Seconds per epoch of each variant, one value per repeat; the variants take turns, so drifts
    in machine load hit all alike."""
    for epoch in variants.values():  # warm-up: tracing, allocator, caches
        epoch()
    times: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for repeat in range(repeats):
        # The order turns each repeat, so that no variant always runs right after the same other.
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(sum(variants[name]() for _ in range(epochs)) / epochs)
    return times


def paired_ratio(times: dict[str, list[float]], variant: str, baseline: str) -> float:
    """Speed of ``variant`` over ``baseline``: the median, over repeats, of the ratio within each
    repeat (both measured within a second of each other, so a slow spell of the machine cancels)."""
    return round(statistics.median(b / v for b, v in zip(times[baseline], times[variant])), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per repeat and variant")
    parser.add_argument("--repeats", type=int, default=21, help="interleaved repeats; medians are reported")
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
        times = measure(make(inputs, targets, args.device), args.epochs, args.repeats)
        result.update({f"{variant}_samples_per_s": round(len(inputs) / statistics.median(seconds))
                       for variant, seconds in times.items()})
        result[f"{name}_ratio"] = paired_ratio(times, f"{name}_model", f"{name}_hand")
        result[f"{name}_pipeline_ratio"] = paired_ratio(times, f"{name}_pipeline", f"{name}_hand")
        result[f"{name}_shuffled_pipeline_ratio"] = paired_ratio(
            times, f"{name}_pipeline_shuffled", f"{name}_hand_shuffled")
        result[f"{name}_profiled_pipeline_ratio_info"] = paired_ratio(
            times, f"{name}_pipeline_profiled", f"{name}_hand")
        result[f"{name}_copies_pipeline_ratio_info"] = paired_ratio(times, f"{name}_pipeline_copies", f"{name}_hand")
        result[f"{name}_version"] = importlib.import_module(module).__version__
    ratios = [v for k, v in result.items() if k.endswith("_pipeline_ratio")]
    result["target"] = {"pipeline_over_hand_min": 0.95}
    result["meets_target"] = bool(ratios) and all(r >= 0.95 for r in ratios)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
