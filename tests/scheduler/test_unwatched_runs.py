"""A run whose runner is gone while nothing watches it (issue 10, point 4): with no daemon, a runner
killed with -9 used to stay `running` for ever, and `tuiflow logs RUN -f` never returned. Any reader
now marks it lost at once, and `logs -f` ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from daemon_helpers import REPO, lab_in


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from lab_in(tmp_path, monkeypatch, cpu_slots=2)


def test_a_killed_runner_with_no_daemon_is_lost_for_every_reader(home):
    home.start_daemon()
    [run] = home.submit(sets=["seconds=60", "children=1"])
    runner = home.wait_until(lambda: home.run(run.id).pid, 20, "the runner's pid")
    home.stop_daemon()  # runs go on without it
    follower = subprocess.Popen([sys.executable, "-m", "tuiflow", "logs", str(run.id), "-f", "--home",
                                 str(home.home)], env=home.env, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    assert follower.poll() is None, "logs -f must follow a live run"
    os.kill(runner, signal.SIGKILL)
    follower.communicate(timeout=15)  # it ends: the run's process is gone
    assert follower.returncode == 0
    shown = json.loads(home.cli("show", str(run.id), "--json").stdout)
    assert shown["status"] == "lost" and "nothing was watching" in shown["error"]
    queue = json.loads(home.cli("queue", "--json").stdout)
    assert run.id not in [row["id"] for row in (queue["runs"] if isinstance(queue, dict) else queue)]


def test_queue_settles_a_dead_foreground_run_whose_command_died(home):
    client = subprocess.Popen([sys.executable, "-m", "tuiflow", "run", "sleep", "--set", "seconds=60", "--foreground",
                               "--home", str(home.home)], env=home.env, cwd=REPO, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    runner = home.wait_until(lambda: home.runs() and home.runs()[0].pid, 30, "the runner", process=client)
    client.kill()
    client.wait()
    os.kill(runner, signal.SIGKILL)
    out = home.cli("queue").stdout
    [run] = home.runs()
    assert run.status == "lost", out
    assert home.store.gpu_holds() == []
