"""A run's error, as `tuiflow run` reports it, names the error by its public class name: what a user can
look up and catch, never an internal spelling such as ``IndexError_`` (issue 10, point 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import tuiflow

ROOT = Path(__file__).resolve().parents[2]

RECIPE = """
from tuiflow import DatasetIndex, recipe


@recipe(name="bad-batch", params={"batch_size": 0})
def bad_batch(run):
    DatasetIndex(10).next_batch(run.config["batch_size"])
"""


def test_an_index_error_in_a_run_shows_its_public_name(tmp_path: Path) -> None:
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "bad.py").write_text(RECIPE)
    env = dict(os.environ, TUIFLOW_HOME=str(tmp_path / "home"), TUIFLOW_FAKE_GPUS="0")
    result = subprocess.run([sys.executable, "-m", "tuiflow", "run", "bad-batch", "--recipes", str(folder),
                             "--foreground", "--json"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert result.returncode == 1, result.stderr[-2000:]
    (report,) = json.loads(result.stdout)
    assert report["status"] == "failed"
    assert report["error"] == "DatasetIndexError: batch_size must be a whole number >= 1, not 0"
    assert "IndexError_" not in Path(report["log_path"]).read_text()


def test_every_public_error_class_is_named_as_it_is_exported() -> None:
    for name in tuiflow.__all__:
        value = getattr(tuiflow, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert value.__name__ == name and not name.endswith("_")
    assert issubclass(tuiflow.DatasetIndexError, IndexError)  # `except IndexError` still catches it
