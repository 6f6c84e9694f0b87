"""A home of ended runs to look at in detail and compare: three runs of one recipe (two done, one
failed with a traceback) and one of another, with configs that differ in some keys, final metrics,
metric series, per-action profiles, run telemetry and logs. Every time and value is fixed (the store
stamps times with time.time, which `clock` sets), so the screens draw the same every time."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuiflow.store import RunSpec, Sample, Store

NOW = 1_764_590_400.0  # 2025-12-01 12:00:00 UTC, as fixed_home's FIXED_NOW

CONFIGS = {
    1: {"lr": 0.001, "model": "VGG", "epochs": 10, "batch_size": 64},
    2: {"lr": 0.003, "model": "VGG", "epochs": 10, "batch_size": 64},
    3: {"lr": 0.01, "model": "ResNet", "epochs": 10, "batch_size": 64},
}
FINAL = {1: {"accuracy": 0.952, "loss": 0.171}, 2: {"accuracy": 0.961, "loss": 0.152}, 3: None}
# (action, total_s): run 2's load takes 2.1x run 1's.
PROFILES = {
    1: [("load #1", 10.0), ("train_model #2", 40.0), ("update #3", 5.0)],
    2: [("load #1", 21.0), ("train_model #2", 42.0), ("update #3", 5.0)],
    3: [("load #1", 5.0), ("train_model #2", 20.0)],
}
ERROR = "RuntimeError: loss is NaN at step 12"
TRACEBACK = ('Traceback (most recent call last):\n  File "recipes/digits_cnn.py", line 88, in train\n'
             "    raise RuntimeError(f\"loss is NaN at step {step}\")\nRuntimeError: loss is NaN at step 12\n")
STEPS = 30


def accuracy(run_id: int, step: int) -> float:
    """The accuracy a run logged at a step."""
    return 0.5 + (0.44 + run_id / 100) * (1 - math.exp(-step / 8))


def loss(run_id: int, step: int) -> float:
    """The loss a run logged at a step (spans decades: a log scale shows it best)."""
    return 2.0 * math.exp(-step / (3 + run_id))


def log_lines(run_id: int) -> list[str]:
    """What a run printed."""
    lines = [f"tuiflow runner: run {run_id}: recipe digits-cnn"]
    lines += [f"epoch {e}: loss {loss(run_id, e * 3):.3f} accuracy {accuracy(run_id, e * 3):.3f}" for e in range(1, 11)]
    if run_id == 3:
        lines = lines[:5] + TRACEBACK.rstrip("\n").split("\n")
    return lines


def build(home: Path, set_time: Callable[[float], Any] | None = None) -> Store:
    """Runs 1-3 (digits-cnn: done, done, failed) and 4 (sleep, done) in `home`; the store, open.
    `set_time(t)` makes the store's clock read t (a fixed clock); without it, times are real."""
    def at(t: float) -> None:
        if set_time is not None:
            set_time(t)

    store = Store.open(home, create=True)
    logs = home / "logs"
    logs.mkdir(exist_ok=True)
    at(NOW - 3600)
    store.create_experiment("cnn-sweep", "digits-cnn", config={"model": "VGG"}, grid={"lr": [0.001]},
                            runs=[RunSpec(config=CONFIGS[i], gpus_requested=1) for i in (1, 2, 3)])
    store.create_experiment("naps", "sleep", config={"seconds": 1}, runs=[RunSpec(config={"seconds": 1})])
    for run_id in (1, 2, 3):
        start = NOW - 3000 + run_id * 600
        at(start)
        log = logs / f"run-{run_id}.log"
        log.write_text("\n".join(log_lines(run_id)) + "\n")
        store.start_run(run_id, pid=100 + run_id, gpus=[0], log_path=log, host="gpu-box-7")
        store.write_metrics([(run_id, key, step, fn(run_id, step), start + step * 10)
                             for step in range(1, STEPS + 1) for key, fn in (("accuracy", accuracy), ("loss", loss))])
        store.write_profile(run_id, 0, [{"action": action, "calls": 100, "total_s": total, "mean_s": total / 100,
                                         "max_s": total / 50, "cpu_s": total * 0.9}
                                        for action, total in PROFILES[run_id]])
        store.add_samples([Sample(start + s * 5, f"run:{run_id}", "run",
                                  {"pid": 100 + run_id, "processes": 2, "cpu_percent": 90.0 + 10 * math.sin(s / 3),
                                   "rss_mb": 500.0 + s * 10, "threads": 8, "gpu_memory_mb": 2000.0 + s * 50})
                           for s in range(1, 40)])
        at(start + 400)
        if FINAL[run_id] is None:
            store.finish_run(run_id, "failed", exit_code=1, error=ERROR, traceback=TRACEBACK)
        else:
            store.finish_run(run_id, "done", exit_code=0, metrics=FINAL[run_id])
        store.release_gpus(run_id)
    at(NOW - 500)
    store.start_run(4, pid=104, log_path=logs / "run-4.log", host="gpu-box-7")
    (logs / "run-4.log").write_text("slept 1 s\n")
    at(NOW - 499)
    store.finish_run(4, "done", exit_code=0, metrics={"slept_s": 1.0})
    at(NOW)
    return store



__all__ = ["CONFIGS", "ERROR", "FINAL", "NOW", "PROFILES", "STEPS", "build"]
