"""One reservation table for every run of a home (issue 10, points 2 and 3): a foreground command
waits for GPUs the daemon's runs hold, a run whose foreground command died keeps its GPU while its
runner lives, and whoever records a runner's end kills what is left of its process group."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from daemon_helpers import REPO, TEST_RECIPES, Lab, lab_in


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from lab_in(tmp_path, monkeypatch, cpu_slots=4)


def foreground_command(home: Lab, *args: str, recipe: str = "sleep") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tuiflow", "run", recipe, *args, "--foreground", "--home",
                             str(home.home), "--recipes", str(TEST_RECIPES)], env=home.env, cwd=REPO,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def overlapping(home: Lab, run_ids: list[int]) -> list[tuple[int, int, int]]:
    """Pairs of these runs that had one GPU at overlapping times: (gpu, run, run)."""
    runs = home.runs(run_ids)
    clashes = []
    for a in runs:
        for b in runs:
            shared = a.id < b.id and set(a.gpus or []) & set(b.gpus or [])
            if shared and a.started_at < (b.ended_at or time.time()) and b.started_at < (a.ended_at or time.time()):
                clashes.append((sorted(shared)[0], a.id, b.id))
    return clashes


def test_a_foreground_run_waits_for_the_gpus_the_daemons_runs_hold(home):
    home.start_daemon()
    gate = home.gate("daemon-runs")  # the daemon's runs hold both GPUs until the command waits for one
    daemon_runs = home.submit("gated", sets=[f"gate={gate}", "steps=3"], reps=2, gpus=1)
    for run in daemon_runs:
        home.wait_status(run.id, "running", 20)
    assert sorted(g for r in home.runs([r.id for r in daemon_runs]) for g in r.gpus) == [0, 1]
    client = foreground_command(home, "--set", "seconds=0.2", "--set", "steps=1", "--json")
    said: list[str] = []
    reader = threading.Thread(target=lambda: said.extend(client.stderr), daemon=True)
    reader.start()
    home.wait_until(lambda: any("waits for" in line for line in said), 60, "the command to wait", process=client)
    gate.unlink()
    out = client.stdout.read()
    client.wait(60)
    reader.join(10)
    err = "".join(said)
    assert client.returncode == 0, err
    [mine] = json.loads(out)
    assert f"run {mine['id']} waits for 1 GPU (GPU0: #{daemon_runs[0].id}, GPU1: #{daemon_runs[1].id})" in err
    assert overlapping(home, [r.id for r in daemon_runs] + [mine["id"]]) == []
    # It started only once a daemon run had ended and let its GPU go.
    first_end = min(home.run(r.id).ended_at or time.time() for r in daemon_runs)
    assert home.run(mine["id"]).started_at >= first_end - 0.05


def test_a_run_whose_foreground_command_died_keeps_its_gpu_from_the_daemon(home):
    home.start_daemon()  # already serving when the command dies: it takes over the queued runs
    gate = home.gate("runs")  # its runs go on until the checks are done
    client = foreground_command(home, "--set", f"gate={gate}", "--set", "steps=6", "--reps", "3", recipe="gated")
    home.wait_until(lambda: len(home.runs()) == 3 and home.runs()[0].pid, 30, "the first foreground run",
                    process=client)
    orphan = home.runs()[0]
    client.kill()  # an SSH hangup: the command dies, its runner goes on
    client.wait()
    taken = [r.id for r in home.runs()[1:]]
    home.wait_until(lambda: any(home.run(i).status == "running" for i in taken), 20, "the daemon to take over")
    time.sleep(1)  # a few ticks of the daemon: it must not start the other one beside the orphan
    assert home.run(orphan.id).status == "running" and psutil.pid_exists(orphan.pid)
    assert sorted(home.run(i).status for i in taken) == ["queued", "running"]
    gpus = json.loads(home.cli("gpus", "--json").stdout)["gpus"]
    assert sorted(run for gpu in gpus for run in gpu["runs"]) == sorted([orphan.id, *[
        i for i in taken if home.run(i).status == "running"]]), gpus
    assert all(len(gpu["runs"]) <= 1 for gpu in gpus), gpus
    gate.unlink()
    home.wait_all_final([r.id for r in home.runs()], 60)
    assert overlapping(home, [r.id for r in home.runs()]) == []


def child_of(pid: int) -> psutil.Process:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            children = psutil.Process(pid).children()
        except psutil.Error:
            children = []
        if children:
            return children[0]
        time.sleep(0.05)
    raise AssertionError(f"runner {pid} started no child")


def gone(process: psutil.Process, timeout: float = 10) -> bool:
    try:
        process.wait(timeout)
    except psutil.TimeoutExpired:
        return False
    return True


def test_the_daemon_kills_what_a_sigkilled_runner_left_behind(home):
    home.start_daemon()
    [run] = home.submit(sets=["seconds=60", "children=1"])
    runner = home.wait_until(lambda: home.run(run.id).pid, 20, "the runner's pid")
    kid = child_of(runner)
    os.kill(runner, signal.SIGKILL)
    ended = home.wait_status(run.id, ("failed", "lost"), 20)
    assert "SIGKILL" in (ended.error or "")
    assert gone(kid), "the runner's child outlived it"


def test_a_foreground_command_kills_what_its_sigkilled_runner_left_behind(home):
    client = foreground_command(home, "--set", "seconds=60", "--set", "children=1")
    runner = home.wait_until(lambda: home.runs() and home.runs()[0].pid, 30, "the runner", process=client)
    kid = child_of(runner)
    os.kill(runner, signal.SIGKILL)
    client.communicate(timeout=30)
    assert client.returncode == 1
    assert gone(kid), "the runner's child outlived it"
    assert home.store.gpu_holds() == []
