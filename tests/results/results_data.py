"""Helpers for the results tests: a store holding two experiments with runs in every status, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from claiming import claim_next

from tuiflow.store import RunSpec, Store

REPO = Path(__file__).resolve().parents[2]

LOG_BYTES = b"epoch 1: loss=0.5\n\xff\xfe broken \xc3( bytes\nepoch 2: loss=0.3\ncaf\xc3\xa9 done\n"
"""Run 1's log: invalid UTF-8 in the middle, a valid two-byte character at the end."""


def tuiflow(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run the tuiflow CLI as a user would, in a subprocess, with 80 columns."""
    return subprocess.run(
        [sys.executable, "-m", "tuiflow", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "80", "NO_COLOR": "1", **(env or {})},
    )


def popen(*args: str) -> subprocess.Popen[str]:
    """Start the tuiflow CLI in a subprocess without waiting for it."""
    return subprocess.Popen(
        [sys.executable, "-m", "tuiflow", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "80"},
    )


@dataclass
class Populated:
    """The ids in a populated home: runs by name, and where run 'best' logged."""

    home: Path
    runs: dict[str, int] = field(default_factory=dict)
    log: Path | None = None


def populate(home: Path) -> Populated:
    """Two experiments: 'alpha' (runs in every status) and 'beta' (two done runs of another recipe)."""
    out = Populated(home)
    with Store.open(home) as store:
        alpha = store.create_experiment("alpha", "digits-mlp", config={"epochs": 3}, grid={"lr": [0.1, 0.01]})
        specs = [
            RunSpec(config={"epochs": 3, "lr": lr, "hidden": 32}, seed=i, rep=i % 2, gpus_requested=1)
            for i, lr in enumerate([0.1, 0.01, 0.001, 0.5, 0.2, 0.3, 0.05])
        ]
        names = ["best", "good", "failed", "cancelled", "running", "queued", "lost"]
        runs = store.add_runs(alpha.id, specs)
        out.runs = {name: run.id for name, run in zip(names, runs)}
        ids = out.runs

        claimed = claim_next(store, host="gpu-box")
        assert claimed is not None and claimed.id == ids["best"]
        out.log = home / "logs" / f"{ids['best']}.log"
        out.log.parent.mkdir(parents=True, exist_ok=True)
        out.log.write_bytes(LOG_BYTES)
        store.start_run(ids["best"], pid=4242, gpus=[0, 1], log_path=out.log)
        store.set_progress(ids["best"], 10, 10)
        with store.metric_writer(ids["best"]) as writer:
            for step in range(5):
                writer.log(step, loss=1.0 / (step + 1), acc=0.5 + step * 0.1)
            writer.log(4, {"val/loss": 0.25})
        store.write_profile(ids["best"], 0, [
            {"action": "load", "calls": 5, "total_s": 0.5, "mean_s": 0.1, "max_s": 0.2, "cpu_s": 0.4},
            {"action": "train", "calls": 5, "total_s": 2.0, "mean_s": 0.4, "max_s": 0.5, "cpu_s": 1.9},
        ])  # fmt: skip
        store.finish_run(ids["best"], "done", exit_code=0, metrics={"acc": 0.9, "loss": 0.2, "val/loss": 0.25})

        store.start_run(ids["good"], pid=4243, gpus=[1])
        store.finish_run(ids["good"], "done", exit_code=0, metrics={"acc": 0.8, "loss": 0.3})

        store.start_run(ids["failed"], pid=4244, gpus=[0])
        store.finish_run(
            ids["failed"],
            "failed",
            exit_code=1,
            error="ValueError: lr [too] small",
            traceback='Traceback (most recent call last):\n  File "r.py", line 3\nValueError: lr',
        )

        store.start_run(ids["cancelled"], pid=4245, gpus=[0])
        store.set_run_status(ids["cancelled"], "cancelled")
        store.finish_run(ids["cancelled"], "cancelled", signal=15, metrics={"acc": float("nan")})

        store.start_run(ids["running"], pid=4246, gpus=[2], log_path=home / "logs" / "missing.log")
        store.finish_run(ids["lost"], "lost", error="process vanished")

        beta = store.create_experiment(
            "beta", "sleep", runs=[RunSpec(config={"steps": 3}), RunSpec(config={"steps": 5})]
        )
        for run in store.list_runs(beta.id):
            store.start_run(run.id, pid=5000 + run.id)
            store.finish_run(run.id, "done", exit_code=0, metrics={"steps": run.config["steps"]})
            out.runs[f"beta{run.config['steps']}"] = run.id
    return out
