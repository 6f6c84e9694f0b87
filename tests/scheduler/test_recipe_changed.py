"""A run executes the recipe it was submitted with (issue 11): a recipe file edited between submission
and start is refused with a clear error, and `retry --refresh` runs the file as it is now."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from daemon_helpers import Lab, lab_in

RECIPE = '''
from tuiflow import recipe

@recipe(name="versioned", description="says its version", params={"n": 1})
def versioned(run):
    return {"version": VERSION}

VERSION = %d
'''


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from lab_in(tmp_path, monkeypatch, cpu_slots=2)


def tuiflow(home: Lab, folder: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "tuiflow", *args, "--home", str(home.home)], cwd=folder,
                            env=home.env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert not check or result.returncode == 0, result.stdout + result.stderr
    return result


def test_an_edited_recipe_file_is_refused_until_retry_refresh(home, tmp_path):
    folder = tmp_path / "work"
    (folder / "recipes").mkdir(parents=True)
    recipe_file = folder / "recipes" / "versioned.py"
    recipe_file.write_text(RECIPE % 1)
    tuiflow(home, folder, "pause")
    [queued] = json.loads(tuiflow(home, folder, "run", "versioned", "--json").stdout)
    recipe_file.write_text(RECIPE % 2)  # edited while the run waits in the queue
    tuiflow(home, folder, "resume")
    failed = home.wait_status(queued["id"], ("done", "failed"), 30)
    assert failed.status == "failed"
    assert f"{recipe_file} has changed since run {queued['id']} was submitted" in failed.error
    assert f"tuiflow retry {queued['id']} --refresh" in failed.error
    home.wait_until(lambda: tuiflow(home, folder, "retry", str(queued["id"]), "--refresh", check=False).returncode
                    == 0, 20, "the retry")
    done = home.wait_status(queued["id"], ("done", "failed"), 30)
    assert done.status == "done" and done.metrics == {"version": 2}
