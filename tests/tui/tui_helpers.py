"""What the app's tests share: a home with a real daemon on two simulated GPUs, a recipe with a
pipeline to profile, and waiting on a running app without blocking it."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scheduler"))
from daemon_helpers import FAKE_GPUS, REPO, Lab

__all__ = ["FAKE_GPUS", "PIPELINE_RECIPE", "REPO", "Lab", "daemon_home", "wait_for"]

# A recipe whose run spends its time in a pipeline of two actions, one slower than the other.
PIPELINE_RECIPE = '''
import time

import numpy as np

from tuiflow import Batch, Dataset, DatasetIndex, Pipeline, action, recipe


class SlowBatch(Batch):
    @action
    def load_slowly(self):
        time.sleep(0.03)
        return self

    @action
    def crunch(self):
        time.sleep(0.005)
        return self


@recipe(name="tiny-pipeline", description="Two actions, one slow: a profile to look at",
        params={"epochs": 40})
def tiny_pipeline(run):
    dataset = Dataset(DatasetIndex(np.arange(40)), batch_class=SlowBatch)
    pipeline = dataset >> Pipeline().load_slowly().crunch()
    for epoch in range(run.config["epochs"]):
        for _ in pipeline.gen_batch(10):
            pass
        run.log(step=epoch + 1, loss=1.0 / (epoch + 1))
        run.progress(epoch + 1, run.config["epochs"])
        print(f"epoch {epoch + 1}", flush=True)
'''


def daemon_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, start: bool = True) -> Iterator[Lab]:
    """A fixture body: a home with the pipeline recipe, two simulated GPUs and (with `start`) a daemon;
    this process's environment is the daemon's, so a daemon the app starts is alike."""
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "tiny_pipeline.py").write_text(PIPELINE_RECIPE)
    home = tmp_path / "home"
    home.mkdir()
    lab = Lab(home, cpu_slots=2, env={"TUIFLOW_RECIPES": str(recipes)})
    for name in ("TUIFLOW_HOME", "TUIFLOW_FAKE_GPUS", "TUIFLOW_FAKE_GPUS_STATE", "TUIFLOW_CPU_SLOTS",
                 "TUIFLOW_REPORT_INTERVAL", "TUIFLOW_RECIPES"):
        monkeypatch.setenv(name, lab.env[name])
    monkeypatch.chdir(REPO)
    if start:
        lab.start_daemon()
    try:
        yield lab
    finally:
        lab.cleanup()


async def wait_for(pilot: Any, predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Let the app run until `predicate()` is truthy; its value. Fails naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or predicate}")
        await pilot.pause(0.05)
