"""A home with fixed data for the snapshot tests: every time stamp, id and reading is fixed, and the
clock reads FIXED_NOW while the app runs, so each screen draws the same on every machine."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import psutil
import pytest

from tuiflow.store import RunSpec, Sample, Store

FIXED_NOW = 1_764_590_400.0  # 2025-12-01 12:00:00 UTC
HOSTNAME = "gpu-box-7"


class Clock:
    """time.time, set by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def freeze(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Clock:
    """Stop the clock at FIXED_NOW (UTC), make $HOME the test's folder (paths show as ~/...), and take
    away anything of this machine the app could read instead of the store (simulated GPUs, recipes)."""
    clock = Clock(FIXED_NOW)
    monkeypatch.setattr(time, "time", clock)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("TUIFLOW_FAKE_GPUS", "TUIFLOW_RECIPES", "TUIFLOW_ASCII", "TUIFLOW_HOME"):
        monkeypatch.delenv(name, raising=False)
    return clock


def build(home: Path, clock: Clock) -> Store:
    """Four runs of a sweep (running on GPU0, queued, done, failed), its metrics, profile and log, and a
    minute of samples of two GPUs and a 16-core host."""
    store = Store.open(home, create=True)
    clock.now = FIXED_NOW - 900
    specs = [RunSpec(config={"lr": lr, "model": "VGG"}, gpus_requested=1) for lr in (0.001, 0.003, 0.01, 0.03)]
    store.create_experiment("cnn-sweep", "digits-cnn", config={"model": "VGG"}, grid={"grid": {"lr": [0.001]}},
                            runs=specs)
    me = psutil.Process()  # a live process to hold GPU0 (a dead one's hold would be dropped)
    logs = home / "logs"
    logs.mkdir(exist_ok=True)
    # run 3: done an hour ago-ish; run 4: failed
    clock.now = FIXED_NOW - 800
    store.start_run(3, pid=1, gpus=[1], log_path=logs / "run-3.log", host=HOSTNAME)
    clock.now = FIXED_NOW - 500
    store.finish_run(3, "done", exit_code=0, metrics={"accuracy": 0.952, "loss": 0.171})
    store.release_gpus(3)
    clock.now = FIXED_NOW - 450
    store.start_run(4, pid=2, gpus=[1], log_path=logs / "run-4.log", host=HOSTNAME)
    clock.now = FIXED_NOW - 430
    store.finish_run(4, "failed", exit_code=1, error="RuntimeError: loss is NaN at step 12")
    store.release_gpus(4)
    # run 1: running on GPU0 for 5 minutes
    clock.now = FIXED_NOW - 300
    log = logs / "run-1.log"
    log.write_text("tuiflow runner: run 1 of experiment 'cnn-sweep': recipe digits-cnn\n"
                   + "".join(f"epoch {e}: loss {0.9 / e:.3f} accuracy {0.8 + e / 100:.3f}\n" for e in range(1, 8)))
    store.start_run(1, pid=me.pid, pid_start_time=me.create_time(), gpus=[0], log_path=log, host=HOSTNAME)
    store.set_progress(1, 41, 64, eta_s=185.0)
    store.set_action(1, "train_model #3")
    store.write_metrics([(1, key, step, value, FIXED_NOW - 300 + step * 10)
                         for step in range(1, 29)
                         for key, value in (("accuracy", 0.5 + 0.45 * (1 - math.exp(-step / 8))),
                                            ("loss", 1.2 * math.exp(-step / 9)))])
    store.write_profile(1, 0, [
        {"action": "load #1", "calls": 412, "total_s": 12.4, "mean_s": 0.0301, "max_s": 0.21, "cpu_s": 10.0},
        {"action": "train_model #3", "calls": 412, "total_s": 41.0, "mean_s": 0.0995, "max_s": 0.42, "cpu_s": 40.0},
        {"action": "update #4", "calls": 412, "total_s": 5.1, "mean_s": 0.0124, "max_s": 0.05, "cpu_s": 5.0},
        {"action": "augment #2", "calls": 412, "total_s": 2.3, "mean_s": 0.0056, "max_s": 0.02, "cpu_s": 2.2},
    ])
    # run 2 stays queued. A minute of telemetry, one sample a second.
    samples = []
    for second in range(60):
        t = FIXED_NOW - 60 + second + 1
        wave = math.sin(second / 6)
        samples += [
            Sample(t, "gpu0", "gpu", {"index": 0, "name": "NVIDIA A100-SXM4-80GB", "memory_total_mb": 81920.0,
                                      "memory_used_mb": 42188.0, "utilization": 70 + 20 * wave, "temperature": 64.0,
                                      "power_w": 301.0, "power_limit_w": 400.0, "processes": [[me.pid, 42000.0]]}),
            Sample(t, "gpu1", "gpu", {"index": 1, "name": "NVIDIA A100-SXM4-80GB", "memory_total_mb": 81920.0,
                                      "memory_used_mb": 2048.0, "utilization": 12 + 4 * wave, "temperature": 38.0,
                                      "power_w": 61.0, "power_limit_w": 400.0, "processes": [[31337, 2000.0]]}),
            Sample(t, "host", "host", {"cpu_percent": 38 + 10 * wave, "memory_total_mb": 257000.0,
                                       "memory_used_mb": 41984.0, "memory_available_mb": 215000.0,
                                       "swap_total_mb": 8192.0, "swap_used_mb": 0.0, "disk_read_bps": 0.0,
                                       "disk_write_bps": 0.0, "net_recv_bps": 0.0, "net_sent_bps": 0.0,
                                       "load_1": 6.2, "load_5": 5.9, "load_15": 5.5}),
            Sample(t, "cpu", "host", {"total": 38 + 10 * wave,
                                      "cores": [float((c * 37 + second) % 100) for c in range(16)]}),
        ]
    store.add_samples(samples)
    clock.now = FIXED_NOW
    os.utime(log, (FIXED_NOW, FIXED_NOW))
    return store


def app_on(home: Path, **options: object) -> object:
    """The app on `home` as a still picture: its clock at `FIXED_NOW`, its refresh an hour away."""
    from tuiflow.tui import Options, TuiflowApp

    return TuiflowApp(Options(home=home, refresh_s=3600, hostname=HOSTNAME, clock=lambda: FIXED_NOW,
                              **options))  # type: ignore[arg-type]
