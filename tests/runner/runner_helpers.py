"""Run a recipe as a user does, `tuiflow run RECIPE --foreground`, in a subprocess on a home of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def runner_env(home: Path) -> dict[str, str]:
    """The environment of a foreground command on ``home``, with simulated GPUs and fast reports."""
    env = dict(os.environ)
    env.update({"TUIFLOW_HOME": str(home), "TUIFLOW_FAKE_GPUS": "2",
                "TUIFLOW_FAKE_GPUS_STATE": str(home / "fake-gpus"), "TUIFLOW_REPORT_INTERVAL": "0.1",
                "PYTHONUNBUFFERED": "1"})
    return env


def foreground(home: Path, recipe: str, *args: str, recipes: Path | None = None) -> subprocess.Popen:
    """Start ``tuiflow run RECIPE ARGS --foreground --json`` (with ``--recipes`` when given)."""
    command = [sys.executable, "-m", "tuiflow", "run", recipe, *args, "--foreground", "--json",
               "--home", str(home)]
    if recipes is not None:
        command += ["--recipes", str(recipes)]
    return subprocess.Popen(command, env=runner_env(home), cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 120) -> tuple[str, str]:
    """Wait for a foreground command; its stdout and stderr (it is killed if it outlives ``timeout``)."""
    try:
        return process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeStore:
    """What the reporter writes, kept in lists."""

    def __init__(self) -> None:
        self.progress: list[tuple[int, int | None, float | None]] = []

    def set_progress(self, run_id: int, done: int, total: int | None, eta_s: float | None) -> None:
        self.progress.append((done, total, eta_s))

    def heartbeat(self, run_id: int) -> None:
        pass

    def write_profile(self, run_id: int, number: int, rows: list[dict[str, Any]]) -> None:
        pass

    def set_action(self, run_id: int, action: str | None) -> None:
        pass
