"""Cancel: a running run's whole process group goes (the children its recipe spawned included), a
queued run never starts, and an experiment's name cancels all its unfinished runs."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil
import pytest
from daemon_helpers import lab_in, wait_gone

from tuiflow.store import FINAL_STATUSES

FINAL = FINAL_STATUSES


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from lab_in(tmp_path, monkeypatch, cpu_slots=2)


def _group(pgid: int) -> list[int]:
    members = []
    for process in psutil.process_iter(["pid", "status"]):
        try:
            if process.info["status"] != psutil.STATUS_ZOMBIE and psutil.os.getpgid(process.pid) == pgid:
                members.append(process.pid)
        except (psutil.Error, OSError):
            continue
    return members


def test_cancel_of_a_run_with_children_leaves_no_process_of_its_group(home):
    home.start_daemon()
    [run] = home.submit(sets=["seconds=60", "steps=60", "children=2"])
    home.wait_until(lambda: home.run(run.id).pid and len(_group(home.run(run.id).pid)) == 3, 20,
                    "the runner and its two children")
    runner = home.run(run.id).pid
    children = [p.pid for p in psutil.Process(runner).children(recursive=True)]
    assert len(children) == 2
    home.wait_metric(run.id, "value", 1)

    result = home.cli("cancel", str(run.id), "--grace", "5")
    assert f"cancelled 1 run: {run.id}" in result.stdout
    assert wait_gone([runner, *children], 5) == []
    assert _group(runner) == []
    ended = home.wait_status(run.id, FINAL, 10)
    assert ended.status == "cancelled"
    assert ended.error == "cancelled by the user"
    assert ended.signal in (None, 15)
    assert home.store.metric_series(run.id, "value").steps  # what it logged is kept
    home.wait_until(lambda: f"run {run.id} cancelled" in home.daemon_log(), 10, "the daemon to reap the run")


def test_a_cancelled_queued_run_never_starts(home):
    home.start_daemon()
    home.cli("pause")
    [keep, drop] = home.submit(sets=["seconds=0", "steps=1"], reps=2)
    time.sleep(0.3)
    assert [r.status for r in home.runs()] == ["queued", "queued"]

    result = home.cli("cancel", str(drop.id))
    assert f"cancelled 1 run: {drop.id}" in result.stdout
    home.cli("resume")
    assert home.wait_status(keep.id, FINAL, 20).status == "done"
    time.sleep(0.3)
    dropped = home.run(drop.id)
    assert dropped.status == "cancelled"
    assert (dropped.pid, dropped.started_at, dropped.log_path, dropped.attempt) == (None, None, None, 0)
    assert not (home.home / "logs" / f"run-{drop.id}.log").exists()
    assert f"run {drop.id} started" not in home.daemon_log()


def test_cancel_by_experiment_name_stops_its_running_and_queued_runs_only(home):
    home.start_daemon()
    mine = home.submit(sets=["seconds=60", "steps=60"], reps=3, name="mine")  # 2 slots: one stays queued
    [other] = home.submit(sets=["seconds=1", "steps=2"], name="other")
    home.wait_until(lambda: sum(r.status == "running" for r in home.runs(r.id for r in mine)) == 2, 20,
                    "two runs of 'mine' to start")
    pids = [r.pid for r in home.runs(r.id for r in mine) if r.pid]

    result = home.cli("cancel", "mine", "--grace", "5")
    assert "cancelled 3 runs" in result.stdout
    assert wait_gone(pids, 5) == []
    ended = home.wait_all_final([r.id for r in mine], 10)
    assert [r.status for r in ended] == ["cancelled"] * 3
    assert sum(r.started_at is None for r in ended) == 1
    assert home.wait_status(other.id, FINAL, 20).status == "done"
    again = home.cli("cancel", "mine")
    assert "cancelled 0 runs (nothing was queued or running)" in again.stdout


def test_a_cancelled_run_says_the_user_cancelled_it_and_sigterm_from_elsewhere_says_sigterm(home):
    """Both runners get SIGTERM and unwind the same way; only the one cancelled through tuiflow had its
    cancel recorded in the store first, and that reason is what its record, the runner's log and the
    daemon's log keep."""
    home.start_daemon()
    [cancelled, killed] = home.submit(sets=["seconds=60", "steps=60"], reps=2)
    for run in (cancelled, killed):
        home.wait_metric(run.id, "value", 1)

    assert f"cancelled 1 run: {cancelled.id}" in home.cli("cancel", str(cancelled.id), "--grace", "5").stdout
    os.kill(home.run(killed.id).pid, signal.SIGTERM)  # `kill PID` by someone else

    by_user = home.wait_status(cancelled.id, FINAL, 10)
    assert (by_user.status, by_user.error, by_user.signal, by_user.exit_code) == (
        "cancelled", "cancelled by the user", signal.SIGTERM, 128 + signal.SIGTERM)
    by_kill = home.wait_status(killed.id, FINAL, 10)
    assert (by_kill.status, by_kill.error, by_kill.signal, by_kill.exit_code) == (
        "failed", "stopped by SIGTERM", signal.SIGTERM, 128 + signal.SIGTERM)
    assert f"tuiflow runner: run {cancelled.id} cancelled: cancelled by the user" in home.log(cancelled.id).decode()
    assert f"tuiflow runner: run {killed.id} failed: stopped by SIGTERM" in home.log(killed.id).decode()
    home.wait_until(lambda: f"run {killed.id} failed: stopped by SIGTERM" in home.daemon_log(), 10,
                    "the daemon to reap the killed run")
    assert f"run {cancelled.id} cancelled: cancelled by the user" in home.daemon_log()
    shown = home.cli("show", str(cancelled.id), "--json").stdout
    assert '"error": "cancelled by the user"' in shown


def test_cancelling_a_finished_run_by_its_id_is_an_error_and_changes_nothing(home):
    [run] = home.submit(sets=["seconds=0", "steps=1"], name="over")
    home.store.start_run(run.id, pid=os.getpid())
    home.store.finish_run(run.id, "done", exit_code=0, metrics={"steps": 1})
    result = home.cli("cancel", str(run.id), check=False)
    assert result.returncode == 2 and result.stdout == "", result.stdout
    assert result.stderr == (f"tuiflow: error: run {run.id} has already ended (done): only a queued or running run "
                             "can be cancelled\n")
    ended = home.run(run.id)
    assert (ended.status, ended.error, ended.metrics) == ("done", None, {"steps": 1})
    # An experiment is a set of runs: none left to cancel is nothing to do, not a mistake.
    assert home.cli("cancel", "over").stdout.strip() == "cancelled 0 runs (nothing was queued or running)"
