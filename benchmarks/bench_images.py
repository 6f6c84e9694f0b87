"""ImagesBatch actions (issue 3): each action on a batch of 16 full-size photos (640x427 RGB) vs the
same per-image functions in a plain Python loop, the floor without the engine.

`action_over_loop` < 1 means the in-batch threads won time; > 1 is what the machinery (the random
decisions, the output arrays, the hand-off to threads) costs. On a machine that delivers about one
core (`effective_cores`), threads cannot win and the target is only that the machinery costs little
on the heavy actions (cheap ones, tens of microseconds an image, are reported for information; their
times on a shared VM are mostly page faults of fresh arrays). A p=0.5 case shows whether threads are
still used when some items are skipped. Prints one JSON line.

    python benchmarks/bench_images.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _common import emit, log, parallel_capacity, ratio, summary, tuiflow_available

TARGET_MAX_OVERHEAD = 1.25  # action time <= 1.25 x the plain loop, even with no second core
HEAVY = ("resize", "rotate", "scale", "additive_noise", "elastic_transform")
BATCH = 16


def photos() -> np.ndarray:
    from sklearn.datasets import load_sample_images

    images = load_sample_images().images
    return np.stack([images[i % 2] for i in range(BATCH)])


def cases() -> dict[str, tuple[dict[str, Any], Callable[[np.ndarray, np.random.Generator], Any]]]:
    from tuiflow.flow.images import ops, warp

    def elastic(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return warp.remap(image, *warp.displacement(image.shape[:2], 40, 5, rng))

    return {
        "resize": ({"size": (320, 213)}, lambda im, rng: warp.resize(im, (320, 213))),
        "rotate": ({"angle": 20}, lambda im, rng: warp.rotate(im, 20)),
        "scale": ({"factor": 1.2, "preserve_shape": True},
                  lambda im, rng: warp.scale(im, (768, 512), (64, 42))),
        "flip": ({}, lambda im, rng: ops.flip(im)),
        "crop": ({"shape": (300, 200), "origin": "random"},
                 lambda im, rng: ops.crop(im, ops.resolve_origin("random", (300, 200), (640, 427), rng),
                                          (300, 200))),
        "pad": ({"pad_width": 8}, lambda im, rng: ops.pad(im, 8)),
        "shift": ({"offset": (5, 5)}, lambda im, rng: ops.shift(im, (5, 5))),
        "invert": ({}, lambda im, rng: ops.invert(im)),
        "additive_noise": ({"noise": 5}, lambda im, rng: ops.additive_noise(im, 5, rng)),
        "cutout": ({"origin": "random", "shape": 50},
                   lambda im, rng: ops.cutout(im, ops.resolve_origin("random", (50, 50), (640, 427), rng), (50, 50))),
        "elastic_transform": ({"alpha": 40, "sigma": 5}, elastic),
    }


def best_ms(func: Callable[[], Any], repeats: int) -> list[float]:
    func()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    why = tuiflow_available()
    if why:
        emit("images", {"error": why, "meets_target": False})
        return
    from tuiflow import Dataset
    from tuiflow.flow.images import ImagesBatch

    images = photos()
    batch = Dataset(BATCH, ImagesBatch, preloaded=images).create_batch(np.arange(BATCH)).load()
    rng = np.random.default_rng(0)
    results: dict[str, Any] = {}
    for name, (kwargs, per_image) in cases().items():
        action = getattr(batch, name)
        loop = best_ms(lambda per_image=per_image: [per_image(image, rng) for image in images], args.repeats)
        direct = best_ms(lambda action=action, kwargs=kwargs: action(**kwargs, dst="out"), args.repeats)
        results[name] = {"loop_ms": summary(loop, 2, lower_is_better=True),
                         "action_ms": summary(direct, 2, lower_is_better=True),
                         "action_over_loop": ratio(min(direct), min(loop))}
        log(f"{name:>20}: loop {min(loop):7.1f} ms, action {min(direct):7.1f} ms")
    half = best_ms(lambda: batch.rotate(angle=20, p=0.5, dst="out"), args.repeats * 4)
    results["rotate_p0.5"] = {"action_ms": summary(half, 2, lower_is_better=True),
                              "over_half_loop": ratio(min(half), min_loop := results["rotate"]["loop_ms"]["best"] / 2)}
    log(f"{'rotate p=0.5':>20}: action {min(half):7.1f} ms vs half the loop {min_loop:7.1f} ms")
    overheads = {name: results[name]["action_over_loop"] for name in HEAVY}
    meets = {name: value is not None and value <= TARGET_MAX_OVERHEAD for name, value in overheads.items()}
    emit("images", {
        "batch": BATCH, "image": [427, 640, 3], "actions": results,
        "targets": {"action_over_loop_max": TARGET_MAX_OVERHEAD}, "meets": meets,
        "meets_target": all(meets.values()), "capacity": parallel_capacity(),
    })


if __name__ == "__main__":
    main()
