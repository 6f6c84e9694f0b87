"""The queue under a real daemon: a full queue drains with every run run exactly once, priorities
decide the start order (and `tuiflow priority` changes it), `tuiflow retry` runs a run again."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from daemon_helpers import Lab, lab_in

from tuiflow.store import FINAL_STATUSES

FINAL = FINAL_STATUSES


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from lab_in(tmp_path, monkeypatch, cpu_slots=1)


def _start_order(home: Lab, ids: list[int]) -> list[int]:
    return [r.id for r in sorted(home.runs(ids), key=lambda r: r.started_at)]


def test_a_queue_of_60_runs_drains_with_none_lost_or_run_twice(home):
    home.env["TUIFLOW_CPU_SLOTS"] = "4"
    runs = home.submit(sets=["seconds=0", "steps=1"], reps=60)  # all queued before the daemon starts: 15 waves
    home.start_daemon()
    ended = home.wait_all_final([r.id for r in runs], 120)

    assert len(ended) == 60
    assert {r.status for r in ended} == {"done"}
    assert {r.attempt for r in ended} == {1}
    assert all(r.metrics == {"steps": 1, "seconds": 0.0} for r in ended)
    log = home.daemon_log()
    for run in ended:
        text = home.log(run.id).decode()
        assert len(re.findall(rf"^tuiflow runner: run {run.id} of experiment", text, re.M)) == 1, run.id
        assert text.count(f"tuiflow runner: run {run.id} done") == 1
        assert log.count(f"run {run.id} started:") == 1
    assert home.store.run_counts()["done"] == 60


def test_higher_priority_starts_first_once_the_queue_resumes(home):
    home.start_daemon()
    home.cli("pause")
    low = home.submit(sets=["seconds=0", "steps=1"], reps=2, priority=0, name="low")
    high = home.submit(sets=["seconds=0", "steps=1"], reps=2, priority=5, name="high")
    time.sleep(0.3)
    assert {r.status for r in home.runs()} == {"queued"}
    status = home.cli("daemon", "status").stdout
    assert "0 running, 4 queued, queue paused" in status

    home.cli("resume")
    ids = [r.id for r in low + high]
    ended = home.wait_all_final(ids, 30)
    assert {r.status for r in ended} == {"done"}
    assert _start_order(home, ids) == [high[0].id, high[1].id, low[0].id, low[1].id]
    assert all(r.attempt == 1 for r in ended)


def test_tuiflow_priority_changes_the_start_order(home):
    home.start_daemon()
    home.cli("pause")
    runs = home.submit(sets=["seconds=0", "steps=1"], reps=3)
    last = runs[-1]
    assert home.cli("priority", str(last.id), "7").stdout.strip() == f"run {last.id}: priority 7"
    assert home.run(last.id).priority == 7
    queue = json.loads(home.cli("queue", "--json").stdout)
    assert [row["id"] for row in queue] == [last.id, runs[0].id, runs[1].id]
    assert [row["position"] for row in queue] == [1, 2, 3]

    home.cli("resume")
    ids = [r.id for r in runs]
    assert {r.status for r in home.wait_all_final(ids, 30)} == {"done"}
    assert _start_order(home, ids) == [last.id, runs[0].id, runs[1].id]


def test_retry_runs_a_failed_run_again_as_attempt_2(home):
    home.start_daemon()
    [run] = home.submit(sets=["seconds=0.2", "steps=2", "fail=raise", "fail_at=1"])
    first = home.wait_status(run.id, FINAL)
    assert (first.status, first.attempt) == ("failed", 1)
    home.wait_until(lambda: f"run {run.id} failed" in home.daemon_log(), 10, "the daemon to reap the run")

    assert home.cli("retry", str(run.id)).stdout.strip() == f"run {run.id} queued again"
    home.wait_until(lambda: home.run(run.id).attempt == 2, 20, "the second attempt to start")
    second = home.wait_status(run.id, FINAL)
    assert (second.status, second.attempt) == ("failed", 2)
    assert second.started_at > first.ended_at
    assert home.daemon_log().count(f"run {run.id} started:") == 2
    assert home.log(run.id).decode().count(f"tuiflow runner: run {run.id} of experiment") == 2



def test_retry_of_a_run_that_has_not_ended_is_a_one_line_error(home):
    home.start_daemon()
    [run] = home.submit(sets=["seconds=30", "steps=30"])
    home.wait_status(run.id, "running", 20)
    result = home.cli("retry", str(run.id), check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == f"tuiflow: error: run {run.id} is running: only a finished run can be retried"
    assert home.run(run.id).attempt == 1
