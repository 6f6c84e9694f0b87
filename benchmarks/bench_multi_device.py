"""Training samples/s of one model on one device versus split over all of them; prints one JSON line.

A small ResNet (filters 32, 64; 2 blocks a stage) on the digits upsampled to 32x32, batch 256, Adam,
trained by `Model.train` per framework on one device and on every device given: all visible GPUs
where there are two or more, else `--cpus` CPU entries (CPU replicas on threads for torch, logical
CPUs under MirroredStrategy for TF). Each (framework, devices) pair runs in a fresh process (TF's
logical CPUs must be made before TF starts), warms up, then times `--steps` steps `--repeats`
times; the median gives samples/s, and `speedup` is all/one.

    python benchmarks/bench_multi_device.py [--frameworks torch,tf] [--devices cuda:0,cuda:1] [--cpus 2]
        [--steps 10] [--repeats 5] [--batch 256]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from _common import emit, log, ratio

BENCH = "multi_device"


def child(framework: str, devices: list[str], steps: int, repeats: int, batch: int) -> dict:
    """Measure one (framework, devices) pair in this process; returns samples/s of each repeat."""
    import numpy as np
    from sklearn.datasets import load_digits

    from tuiflow.models import TFModel, TorchModel

    data = load_digits()
    images = (data.data / 16).astype(np.float32).reshape(-1, 8, 8).repeat(4, axis=1).repeat(4, axis=2)
    targets = data.target.astype(np.int64)
    channels_first = framework == "torch"
    images = images[:, None] if channels_first else images[..., None]
    model_class = TorchModel if channels_first else TFModel
    model = model_class({"inputs": images.shape[1:], "classes": 10, "seed": 0,
                         "model": {"name": "ResNet", "filters": [32, 64], "blocks": 2},
                         "optimizer": {"name": "Adam", "lr": 1e-3}, "device": devices})
    starts = list(range(0, len(images) - batch + 1, batch))

    def step(index: int) -> float:
        start = starts[index % len(starts)]
        return model.train(images[start : start + batch], targets[start : start + batch])

    for index in range(3):  # compiles (TF), allocates, warms caches
        step(index)
    rates, losses = [], []
    for _ in range(repeats):
        began = time.perf_counter()
        losses += [step(index) for index in range(steps)]
        rates.append(steps * batch / (time.perf_counter() - began))
    return {"devices": list(model.devices), "samples_per_s": rates, "last_loss": losses[-1]}


def measure(framework: str, devices: list[str], args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--child", framework, ",".join(devices), "--steps", str(args.steps),
               "--repeats", str(args.repeats), "--batch", str(args.batch)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if result.returncode != 0:
        return {"devices": devices, "error": result.stderr.strip().splitlines()[-1:]}
    record = json.loads(result.stdout.strip().splitlines()[-1])
    rates = record.pop("samples_per_s")
    return {**record, "samples_per_s": round(statistics.median(rates), 1),
            "samples_per_s_all": [round(rate, 1) for rate in rates]}


def visible_gpus() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except ImportError:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", default="torch,tf")
    parser.add_argument("--devices", default="", help="comma-separated; default: every GPU (2+), else --cpus CPUs")
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--child", nargs=2, metavar=("FRAMEWORK", "DEVICES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        framework, devices = args.child
        print(json.dumps(child(framework, devices.split(","), args.steps, args.repeats, args.batch)))
        return
    gpus = visible_gpus()
    if args.devices:
        every = args.devices.split(",")
    elif gpus >= 2:
        every = [f"cuda:{index}" for index in range(gpus)]
    else:
        every = ["cpu"] * args.cpus
    results = {}
    for framework in args.frameworks.split(","):
        log(f"{framework}: one device ({every[0]}), then {every} ...")
        one = measure(framework, every[:1], args)
        split = measure(framework, every, args)
        results[framework] = {"one": one, "all": split,
                              "speedup": ratio(split.get("samples_per_s"), one.get("samples_per_s"))}
    emit(BENCH, {"model": "ResNet filters [32, 64], blocks 2, 32x32x1 digits", "batch": args.batch,
                 "steps": args.steps, "gpus_visible": gpus, "results": results})


if __name__ == "__main__":
    main()
