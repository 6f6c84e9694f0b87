"""Where runs and the daemon execute (issue 10, point 1): a folder named ``tuiflow`` in the current
directory (a clone of the project, say) used to shadow the installed package in every runner and in
a daemon started there. Runs now execute in the folder they were submitted from, recorded on the
run, and the daemon in its home; neither imports from its working directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from daemon_helpers import Lab, lab_in

WHERE = '''
import os
from tuiflow import recipe

@recipe(name="where", description="print the working directory", params={"n": 1})
def where(run):
    print("cwd=" + os.getcwd(), flush=True)
    return {"n": run.config["n"]}
'''


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from lab_in(tmp_path, monkeypatch, cpu_slots=2)


@pytest.fixture
def shadowed(tmp_path: Path) -> Path:
    """A folder holding a ``tuiflow`` package of its own, and a recipe file."""
    folder = tmp_path / "work"
    (folder / "tuiflow").mkdir(parents=True)
    (folder / "tuiflow" / "__init__.py").write_text("raise ImportError('the wrong tuiflow was imported')\n")
    (folder / "recipes").mkdir()
    (folder / "recipes" / "where.py").write_text(WHERE)
    return folder


def tuiflow_in(home: Lab, folder: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    """The installed ``tuiflow`` command, run from ``folder``."""
    command = [str(Path(sys.executable).with_name("tuiflow")), *args, "--home", str(home.home)]
    return subprocess.run(command, cwd=folder, env=home.env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_a_foreground_run_from_a_folder_holding_a_tuiflow_package_runs_there(home, shadowed):
    result = tuiflow_in(home, shadowed, "run", "where", "--foreground", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    [run] = json.loads(result.stdout)
    assert run["status"] == "done"
    assert f"cwd={shadowed}\n" in home.log(run["id"]).decode()
    assert home.run(run["id"]).workdir == str(shadowed)


def test_a_daemon_started_from_such_a_folder_runs_every_run_in_its_own_folder(home, shadowed, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "recipes").mkdir()
    (other / "recipes" / "where.py").write_text(WHERE)
    started = tuiflow_in(home, shadowed, "run", "where", "--json")  # starts the daemon in the shadowed folder
    assert started.returncode == 0, started.stderr
    second = tuiflow_in(home, other, "run", "where", "--json")
    first_id, second_id = json.loads(started.stdout)[0]["id"], json.loads(second.stdout)[0]["id"]
    for run_id in (first_id, second_id):
        assert home.wait_status(run_id, ("done", "failed", "lost"), 60).status == "done", home.log(run_id)
    assert f"cwd={shadowed}\n" in home.log(first_id).decode()
    assert f"cwd={other}\n" in home.log(second_id).decode()
    daemon = psutil.Process(home.daemon_pid())
    assert os.path.samefile(daemon.cwd(), home.home)
