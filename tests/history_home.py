"""A home full of past runs for History's tests and benchmark, made fast: experiments of three recipes
stored through the store's API, then every run ended at once in one transaction (done, failed,
cancelled) with final metrics, metric series, profiles, an earlier attempt, run telemetry and a log
file. Every time, value and id follows from the arguments, so snapshots draw the same every time."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from tuiflow.store import RunSpec, Store

NOW = 1_764_590_400.0  # 2025-12-01 12:00:00 UTC, as fixed_home's FIXED_NOW
EXPERIMENTS = (("mlp-sweep", "digits-mlp", 120), ("cnn-sweep", "digits-cnn", 90), ("naps", "sleep", 60))
MODELS = ("VGG", "ResNet", "MLP")
LRS = (0.001, 0.003, 0.01, 0.03, 0.1)


def status_of(index: int) -> str:
    """The status of the run made `index`-th: mostly done, some failed, a few cancelled."""
    return "failed" if index % 7 == 3 else "cancelled" if index % 11 == 5 else "done"


def build_history(home: Path, experiments: Sequence[tuple[str, str, int]] = EXPERIMENTS, *, points: int = 10,
                  now: float = NOW, store: Store | None = None) -> Store:
    """The experiments (name, recipe, runs) in `home`, every run ended; `points` steps of two metrics
    per done run. Returns the open store."""
    store = store or Store.open(home, create=True)
    logs = home / "logs"
    logs.mkdir(exist_ok=True)
    index = 0
    for number, (name, recipe, count) in enumerate(experiments):
        specs = [RunSpec(config={"lr": LRS[i % len(LRS)], "model": MODELS[(i // len(LRS)) % len(MODELS)],
                                 "epochs": 5 + i % 3}, rep=i // 15, seed=i)
                 for i in range(count)]
        experiment = store.create_experiment(name, recipe, grid={"lr": list(LRS)}, runs=specs)
        runs = store.list_runs(experiment=experiment.id)
        updates, metrics, profile, samples, attempts = [], [], [], [], []
        for run in runs:
            status = status_of(index)
            started = now - 86_400 + index * 60.0
            ended = started + 30 + (index * 37) % 400
            lr, model = run.config["lr"], run.config["model"]
            accuracy = round(0.8 + 0.15 * (1 - abs(math.log10(lr) + 2) / 2) + (index % 13) / 1000, 4)
            loss = round(1.0 - accuracy + (index % 5) / 100, 4)
            final = {"accuracy": accuracy, "loss": loss} if status == "done" else None
            log = logs / f"run-{run.id}.log"
            log.write_text(f"run {run.id} of {name}: {model} lr={lr}\n")
            updates.append((status, started, ended, ended, 0 if status == "done" else 1,
                            "RuntimeError: loss is NaN" if status == "failed" else
                            "cancelled by the user" if status == "cancelled" else None,
                            str(log), json.dumps(final) if final else None, 1 + (index % 4 == 0), "gpu-box-7",
                            json.dumps([index % 2]), run.id))
            if status == "done":
                metrics += [(run.id, key, step, value * step / points, started + step)
                            for step in range(1, points + 1) for key, value in (("accuracy", accuracy),
                                                                                 ("loss", loss))]
                profile += [(run.id, "0", action, 10 * points, total, total / (10 * points), total / 5, total * 0.9)
                            for action, total in (("load #1", 1.0 + index % 3), ("train_model #2", 4.0 + index % 5))]
            if index % 4 == 0:
                attempts.append((run.id, 1, "failed", started - 100, started - 50, "RuntimeError: CUDA out of memory"))
            samples.append((started + 1, f"run:{run.id}", "run", json.dumps({"pid": 1000 + run.id, "cpu": 50.0})))
            index += 1
        with store.transaction() as conn:
            conn.executemany(
                "UPDATE runs SET status = ?, started_at = ?, ended_at = ?, heartbeat_at = ?, exit_code = ?, error = ?, "
                "log_path = ?, metrics = ?, attempt = ?, host = ?, gpus = ? WHERE id = ?", updates)
            conn.executemany("INSERT INTO metrics (run_id, key, step, value, time) VALUES (?, ?, ?, ?, ?)", metrics)
            conn.executemany("INSERT INTO profile (run_id, pipeline, action, calls, total_s, mean_s, max_s, cpu_s) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", profile)
            conn.executemany("INSERT INTO attempts (run_id, attempt, status, started_at, ended_at, error) "
                             "VALUES (?, ?, ?, ?, ?, ?)", attempts)
            conn.executemany('INSERT INTO samples (time, device, kind, "values") VALUES (?, ?, ?, ?)', samples)
            conn.execute("UPDATE experiments SET created_at = ? WHERE id = ?", (now - 86_400 - 3600 * (9 - number),
                                                                                 experiment.id))
    return store
