"""Issue 5: ``kill -9`` of the daemon loses nothing. Runners go on and record their results; the next
daemon adopts the live ones, marks the dead ones lost (or requeues them when their retries allow),
starts the queued ones, and never mistakes a process that reused a runner's pid for the runner."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from daemon_helpers import Lab, alive, lab_in, wait_gone

from tuiflow.store import FINAL_STATUSES

FINAL = FINAL_STATUSES


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from lab_in(tmp_path, monkeypatch, cpu_slots=3)


def _running_with_pid(home: Lab, run_ids: list[int]) -> bool:
    runs = home.runs(run_ids)
    return all(r.status == "running" and r.pid for r in runs)


def test_after_kill_9_runners_go_on_live_ones_are_adopted_dead_ones_lost_queued_ones_run(home):
    daemon = home.start_daemon()
    short_gate, long_gate = home.gate("short"), home.gate("long")
    [short] = home.submit("gated", sets=[f"gate={short_gate}", "steps=3"], name="short")  # ends while no daemon runs
    [long] = home.submit("gated", sets=[f"gate={long_gate}", "steps=10"], name="long")  # outlives the daemon's absence
    [doomed] = home.submit(sets=["seconds=60", "steps=60"], name="doomed")  # its runner dies meanwhile
    queued = home.submit(sets=["seconds=0", "steps=1"], reps=3, name="queued")  # no slot left for these
    home.wait_until(lambda: _running_with_pid(home, [short.id, long.id, doomed.id]), 20, "three runs to start")
    pids = {run.id: run.pid for run in home.runs([short.id, long.id, doomed.id])}

    home.kill_daemon(daemon)
    assert all(alive(pid) for pid in pids.values()), "killing the daemon must not kill its runners"
    os.killpg(pids[doomed.id], signal.SIGKILL)

    # No daemon: the short run still records its own outcome, the queued ones stay queued.
    short_gate.unlink()
    finished = home.wait_status(short.id, FINAL, 20)
    assert finished.status == "done" and finished.metrics == {"steps": 3}
    assert home.store.metric_series(short.id, "value").steps == [1, 2, 3]
    time.sleep(0.3)
    assert [r.status for r in home.runs(r.id for r in queued)] == ["queued"] * 3
    assert home.run(long.id).status == "running" and home.run(doomed.id).status == "running"

    home.start_daemon()
    lost = home.wait_status(doomed.id, FINAL, 10)
    assert lost.status == "lost" and lost.error
    home.wait_until(lambda: f"adopted run {long.id} (pid {pids[long.id]}" in home.daemon_log(), 20,
                    "the long run to be adopted")
    long_gate.unlink()  # the adopted run now logs its other steps and ends
    ended = home.wait_all_final([long.id, *(r.id for r in queued)], 60)
    assert [r.status for r in ended] == ["done"] * 4
    adopted = home.run(long.id)
    assert adopted.metrics == {"steps": 10}
    assert adopted.attempt == 1 and adopted.pid == pids[long.id]
    assert home.store.metric_series(long.id, "value").steps == list(range(1, 11))
    assert all(r.attempt == 1 for r in home.runs())
    log = home.daemon_log()
    assert f"adopted run {long.id} (pid {pids[long.id]}" in log
    assert f"run {doomed.id} lost" in log
    assert f"adopted run {short.id}" not in log and f"adopted run {doomed.id}" not in log
    home.wait_until(lambda: f"run {long.id} done" in home.daemon_log(), 10, "the adopted run to be reaped")


def test_a_run_whose_runner_died_while_the_daemon_was_down_is_requeued_when_retries_allow(home):
    daemon = home.start_daemon()
    [run] = home.submit(sets=["seconds=60", "steps=60"], retries=1)
    home.wait_until(lambda: _running_with_pid(home, [run.id]), 20, "the run to start")
    first_pid = home.run(run.id).pid
    home.kill_daemon(daemon)
    os.killpg(first_pid, signal.SIGKILL)
    # The second attempt should be quick: make it so before the daemon comes back.
    home.store.db.execute("UPDATE runs SET config = json_set(config, '$.seconds', 0.2) WHERE id = ?", [run.id])

    home.start_daemon()
    home.wait_until(lambda: f"run {run.id} requeued" in home.daemon_log(), 10, "the run to be requeued")
    ended = home.wait_status(run.id, FINAL, 30)
    assert ended.status == "done"
    assert ended.attempt == 2
    assert ended.pid != first_pid
    log = home.daemon_log()
    assert f"run {run.id} lost" in log
    assert re.search(rf"run {run.id} requeued: attempt 1 of 2", log)


def test_a_run_without_retries_whose_runner_died_is_lost_and_stays_lost(home):
    daemon = home.start_daemon()
    [run] = home.submit(sets=["seconds=60", "steps=60"])
    home.wait_until(lambda: _running_with_pid(home, [run.id]), 20, "the run to start")
    home.kill_daemon(daemon)
    os.killpg(home.run(run.id).pid, signal.SIGKILL)
    home.start_daemon()
    assert home.wait_status(run.id, FINAL, 10).status == "lost"
    time.sleep(0.5)
    ended = home.run(run.id)
    assert (ended.status, ended.attempt) == ("lost", 1)
    assert f"run {run.id} requeued" not in home.daemon_log()


def test_a_runner_pid_with_another_start_time_is_not_adopted(home):
    """The daemon cannot tell a reused pid from its runner by the pid alone: a start time that does
    not match means another process, so the run is lost, and that process is left alone.

    The runner dies while no daemon runs and an unrelated process stands in for the one that reused
    its pid: the run's record points at it, with the runner's (earlier) start time."""
    daemon = home.start_daemon()
    [run] = home.submit(sets=["seconds=60", "steps=60"])
    home.wait_until(lambda: _running_with_pid(home, [run.id]), 20, "the run to start")
    home.kill_daemon(daemon)
    runner = home.run(run.id).pid
    os.killpg(runner, signal.SIGKILL)
    assert wait_gone([runner]) == []
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    try:
        started = psutil.Process(stranger.pid).create_time()
        with home.store.transaction() as conn:
            conn.execute("UPDATE runs SET pid = ?, pid_start_time = ? WHERE id = ?",
                         (stranger.pid, started - 3600, run.id))

        home.start_daemon()
        ended = home.wait_status(run.id, FINAL, 10)
        assert ended.status == "lost"
        assert f"adopted run {run.id}" not in home.daemon_log()
        time.sleep(0.3)
        assert stranger.poll() is None, "a process that merely has the run's old pid must not be signalled"
        # A lost run is not cancelled again (that is an error: it has ended), and its pid is not signalled.
        refused = home.cli("cancel", str(run.id), check=False)
        assert refused.returncode == 2 and "has already ended (lost)" in refused.stderr
        assert stranger.poll() is None
        assert home.run(run.id).status == "lost"
    finally:
        stranger.kill()
        stranger.wait()


def test_adopted_runs_keep_their_gpus_after_a_restart(home):
    """Two runs hold the two fake GPUs when the daemon dies; the next daemon must count them as held,
    so the queued GPU run waits for one of them to end instead of sharing a GPU."""
    daemon = home.start_daemon()
    gate = home.gate("holders")  # they hold their GPUs until the next daemon has adopted them
    holders = [home.submit("gated", sets=[f"gate={gate}", "steps=4"], gpus=1)[0] for _ in range(2)]
    [waiting] = home.submit(sets=["seconds=0.5", "steps=1"], gpus=1)
    home.wait_until(lambda: _running_with_pid(home, [r.id for r in holders]), 20, "two GPU runs to start")
    home.kill_daemon(daemon)
    assert home.run(waiting.id).status == "queued"

    home.start_daemon()
    home.wait_until(lambda: home.daemon_log().count("adopted run") == 2, 20, "both runs to be adopted")
    assert home.run(waiting.id).status == "queued"
    gate.unlink()
    runs = home.wait_all_final([*(r.id for r in holders), waiting.id], 30)
    assert [r.status for r in runs] == ["done"] * 3
    first, second, last = runs
    assert sorted(first.gpus + second.gpus) == [0, 1]
    holder = first if first.gpus == last.gpus else second
    assert last.started_at > holder.ended_at, "the queued run shared a GPU with a run the daemon adopted"


def test_a_run_claimed_by_a_daemon_that_died_before_starting_it_is_not_lost(home):
    """docs/architecture.md: "A queued run is never lost." A daemon killed between claiming a run (status running)
    and recording its runner's pid leaves a run that never ran; the next daemon must run it."""
    [run] = home.submit(sets=["seconds=0", "steps=1"])
    assert home.store.claim_run(run.id) is not None  # what the daemon does just before it spawns the runner
    home.start_daemon()
    home.wait_until(lambda: home.run(run.id).is_final, 20, "the run to end")
    ended = home.run(run.id)
    assert ended.status == "done", f"a run that never started ended {ended.status}: {ended.error}"
    assert ended.metrics == {"steps": 1, "seconds": 0.0}


def test_a_runner_started_by_a_daemon_that_died_before_recording_it_is_adopted_not_run_twice(home):
    """The daemon claimed a run and started its runner, then died before recording the pid: the
    runner records itself, and the next daemon adopts it instead of queueing the run again."""
    gate = home.gate("orphan")  # the runner goes on until the next daemon has adopted it
    [run] = home.submit("gated", sets=[f"gate={gate}", "steps=4"])
    assert home.store.claim_run(run.id) is not None
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    with open(home.home / "orphan.log", "wb") as log:
        subprocess.Popen([sys.executable, "-m", "tuiflow.runner", str(run.id), "--home", str(home.home)],
                         stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    home.wait_until(lambda: home.run(run.id).pid is not None, 20, "the runner to record itself")
    home.start_daemon()
    home.wait_until(lambda: f"adopted run {run.id}" in home.daemon_log(), 20, "the runner to be adopted")
    gate.unlink()
    home.wait_until(lambda: home.run(run.id).is_final, 30, "the run to end")
    ended = home.run(run.id)
    assert ended.status == "done" and ended.attempt == 1
