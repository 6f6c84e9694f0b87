"""`tuiflow run --foreground` beside a running daemon: the foreground command runs every run it
submitted itself (the daemon used to claim its queued runs), a Ctrl-C leaves the rest unstarted, a
retry goes to the daemon, and the runs of a command killed with -9 are taken over by the daemon."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
from daemon_helpers import REPO, Lab, lab_in


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from lab_in(tmp_path, monkeypatch, cpu_slots=2)


@contextmanager
def foreground(home: Lab, *args: str) -> Iterator[subprocess.Popen]:
    """``tuiflow run sleep ARGS --foreground`` in a process of its own, output piped; killed at the
    end of the block if it still runs."""
    client = subprocess.Popen([sys.executable, "-m", "tuiflow", "run", "sleep", *args, "--foreground",
                               "--home", str(home.home)], env=home.env, cwd=REPO, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield client
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()


def children_until_exit(client: subprocess.Popen, timeout: float) -> set[int]:
    """The pids of the processes ``client`` started (sampled every 10 ms) until it exits."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    parent = psutil.Process(client.pid)
    while client.poll() is None:
        assert time.monotonic() < deadline, "the foreground command did not end in time"
        try:
            seen.update(child.pid for child in parent.children())
        except psutil.Error:
            pass
        time.sleep(0.01)
    return seen


def wait_first_started(home: Lab, client: subprocess.Popen, count: int) -> None:
    """Wait until the foreground command has stored its ``count`` runs and started the first."""
    home.wait_until(lambda: len(home.runs()) == count and home.runs()[0].pid, 30, "the first foreground run",
                    process=client)


def started_by_daemon(home: Lab, run_id: int) -> bool:
    return f"run {run_id} started:" in home.daemon_log()


def test_a_foreground_command_runs_all_its_runs_itself_beside_a_daemon(home):
    home.start_daemon()
    # The simulated GPUs make each foreground run ask for one: the daemon's allocator sees them too.
    with foreground(home, "--set", "seconds=0.6", "--set", "steps=2", "--reps", "3", "--json") as client:
        home.wait_until(lambda: len(home.runs()) == 3, 30, "the foreground runs to be stored", process=client)
        [control] = home.submit(sets=["seconds=0", "steps=1"], name="for-the-daemon")  # the daemon is at work
        children = children_until_exit(client, 60)
        out, err = client.communicate(timeout=10)
    assert client.returncode == 0, err
    outcome = json.loads(out)
    ids = [run["id"] for run in outcome]
    assert len(ids) == 3 and {run["status"] for run in outcome} == {"done"}
    assert {run["executor"] for run in outcome} == {"foreground"}
    for run in home.runs(ids):
        assert run.pid in children, f"run {run.id}'s runner (pid {run.pid}) was not the foreground's child"
        assert (run.executor, run.attempt, run.gpus) == ("foreground", 1, [0])
        assert not started_by_daemon(home, run.id)
    assert home.wait_status(control.id, "done").executor == "daemon"
    assert started_by_daemon(home, control.id)

    # A retry goes to the daemon: the foreground command that ran it is gone.
    assert home.cli("retry", str(ids[1])).stdout == f"run {ids[1]} queued again\n"
    again = home.wait_status(ids[1], "done")
    assert (again.executor, again.owner_pid, again.attempt) == ("daemon", None, 2)
    assert started_by_daemon(home, ids[1]) and not started_by_daemon(home, ids[0])


def test_ctrl_c_in_the_foreground_leaves_the_rest_unstarted_beside_a_daemon(home):
    home.start_daemon()
    with foreground(home, "--set", "seconds=30", "--set", "steps=60", "--reps", "3", "--gpus", "none") as client:
        wait_first_started(home, client, 3)
        first, *rest = home.runs()
        home.wait_metric(first.id, "value", 1)
        time.sleep(0.3)  # several daemon ticks with the other two queued
        assert [home.run(r.id).status for r in rest] == ["queued", "queued"]
        client.send_signal(signal.SIGINT)
        _, err = client.communicate(timeout=20)
    assert client.returncode == 130, err
    assert err.strip().endswith("tuiflow: interrupted; the current run was cancelled, the rest were not started")
    runs = home.runs()
    assert [(r.status, r.error) for r in runs] == [("cancelled", "cancelled with Ctrl-C")] * 3
    assert [r.started_at is None for r in runs] == [False, True, True]
    assert not any(started_by_daemon(home, r.id) for r in runs)


def test_the_daemon_takes_over_the_queued_runs_of_a_foreground_command_killed_with_9(home):
    home.start_daemon()
    with foreground(home, "--set", "seconds=3", "--set", "steps=6", "--reps", "3", "--gpus", "none") as client:
        wait_first_started(home, client, 3)
        first, *rest = home.runs()
        assert [home.run(r.id).status for r in rest] == ["queued", "queued"]
        assert not any(started_by_daemon(home, r.id) for r in rest)
    # Leaving the block killed it with -9: no Ctrl-C handler ran, its queued runs stayed queued as its own.
    assert client.returncode == -signal.SIGKILL
    # Never lost: `tuiflow queue` shows them (queued, or running already under the daemon).
    listed = {row["id"] for row in json.loads(home.cli("queue", "--json").stdout)}
    assert {r.id for r in rest} <= listed
    ended = home.wait_all_final([first.id] + [r.id for r in rest], 60)
    assert [r.status for r in ended] == ["done"] * 3
    # The first run's runner outlived the command (a session of its own) and ended it itself.
    assert ended[0].executor == "foreground" and not started_by_daemon(home, first.id)
    for run in ended[1:]:
        assert (run.executor, run.owner_pid, run.attempt) == ("daemon", None, 1)
        assert started_by_daemon(home, run.id)


def test_a_daemon_started_during_a_foreground_command_neither_adopts_nor_queues_its_runs(home):
    with foreground(home, "--set", "seconds=8", "--set", "steps=8", "--reps", "2", "--gpus", "none") as client:
        wait_first_started(home, client, 2)
        first, second = home.runs()
        home.start_daemon()
        [control] = home.submit(sets=["seconds=20", "steps=20"], name="for-the-daemon")
        home.wait_status(control.id, "running")
        rows = {row["id"]: row for row in json.loads(home.cli("queue", "--json").stdout)}
        # The foreground's queued run has no place in the daemon's queue; the daemon's run is running.
        assert (rows[second.id]["executor"], rows[second.id]["position"]) == ("foreground", None)
        assert rows[first.id]["status"] == "running" and rows[control.id]["status"] == "running"
        cells = [[c.strip() for c in line.split("│")] for line in home.cli("queue").stdout.splitlines()]
        table = {row[1]: row[3] for row in cells if len(row) > 3}  # id: status
        assert table[str(second.id)] == "queued (foreground)" and table[str(first.id)] == "running (foreground)"
        assert table[str(control.id)] == "running"
        _, err = client.communicate(timeout=60)
        assert client.returncode == 0, err
    assert [r.status for r in home.runs([first.id, second.id])] == ["done", "done"]
    log = home.daemon_log()
    assert f"adopted run {first.id}" not in log, "the foreground command watches its own running run"
    assert not started_by_daemon(home, first.id) and not started_by_daemon(home, second.id)
    home.cli("cancel", str(control.id))
