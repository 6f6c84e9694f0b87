"""What `Lab` gives the CLI (issue 11: the CLI is a client of `Lab` only), on real homes, stores, runners
and daemons: launches from Python values, selections as the CLI's options make them, the daemon's
start and stop, foreground runs and telemetry."""

from __future__ import annotations

import os
import re
import time

import pytest

from tuiflow import lab
from tuiflow.store import RunSpec, Store


def test_launch_checks_a_list_of_gpus_against_the_machine_before_storing_anything(home):
    opened = lab.open(home, missing_ok=True)
    plan = opened.plan("sleep", overrides={"seconds": 0.0, "steps": 1})
    for gpus, count, message in (
        ([5], None, "GPU 5 does not exist: this machine has GPUs 0, 1"),
        (["0"], None, "gpus must be a list of GPU indices"),
        ("0,1", None, "gpus must be a list of GPU indices"),
        ([1], 2, "each run asks for 2 GPUs but there is only 1 among the GPUs allowed (GPUs 1)"),
        (None, 3, "each run asks for 3 GPUs but there are only 2 on this machine"),
        (None, -1, "num_gpus must be a whole number from 0 to 64, not -1"),
    ):
        with pytest.raises(lab.LabError, match=re.escape(message)):
            opened.launch(plan, gpus=gpus, num_gpus=count)
    assert not (home / "tuiflow.db").exists()  # refused before the store was created

    on_one = opened.launch(plan, gpus=[1, 1], start_daemon=False)
    run = opened.get_run(on_one.run_ids[0])
    assert (run.gpus_allowed, run.gpus_requested) == ([1], 1)
    cpu_only = opened.launch(plan, gpus=[], start_daemon=False)
    assert opened.get_run(cpu_only.run_ids[0]).gpus_requested == 0


def _finish(store: Store, run_id: int, metrics: dict) -> None:
    store.start_run(run_id, pid=os.getpid())
    store.finish_run(run_id, "done", exit_code=0, metrics=metrics)


def test_results_select_by_experiment_and_status_as_the_cli_options_do(home):
    with Store.open(home) as store:
        alpha = store.create_experiment("alpha", "sleep",
                                        runs=[RunSpec(config={"lr": lr}) for lr in (0.1, 0.01, 0.001)])
        store.create_experiment("beta", "sleep", runs=[RunSpec(config={"lr": 1.0})])
        runs = store.list_runs(experiment=alpha.id)
        _finish(store, runs[0].id, {"acc": 0.5})
        _finish(store, runs[1].id, {"acc": 0.9})
    with lab.open(home) as opened:
        page = opened.results(sort="-acc", experiment="alpha", status=["done"])
        assert [row["id"] for row in page.rows] == [runs[1].id, runs[0].id] and page.total == 2
        assert page.sort == "-metrics.acc"
        assert [row["id"] for row in opened.results(experiment=f"exp:{alpha.id}", offset=1, limit=1).rows] == [
            runs[1].id]
        assert opened.count_results(experiment="alpha") == 3 and opened.count_results("status=done") == 2
        assert [row["id"] for row in opened.iter_results("lr<0.5", experiment="alpha")] == [r.id for r in runs]
        assert opened.result_columns(experiment="beta")[-1] == "config.lr"
        with pytest.raises(lab.ResultsError, match="unknown run status 'over'"):
            opened.results(status=["over"])
        details = opened.run_details(runs[1].id)
        assert (details["experiment"], details["metrics"], details["status"]) == ("alpha", {"acc": 0.9}, "done")

        assert opened.cancel(experiment="alpha") == 1  # the one queued run
        [ended] = list(opened.watch("alpha", poll_s=0))
        assert [run.status for run in ended] == ["done", "done", "cancelled"]
        with pytest.raises(lab.LabError, match="has already ended"):
            opened.cancel_and_wait(run_id=runs[0].id)
        done = opened.cancel_and_wait(experiment="beta", grace_s=1)
        assert (done.count, done.experiment, done.stopped) == (1, "beta", ())


def test_a_foreground_launch_runs_here_and_reports_each_run(home):
    opened = lab.open(home, missing_ok=True)
    submission = opened.launch(opened.plan("sleep", overrides={"seconds": 0.0, "steps": 2}, reps=2),
                               num_gpus=0, foreground=True)
    assert submission.daemon_pid is None and opened.daemon_pid() is None
    seen: list[tuple[int, str]] = []
    ended = opened.run_foreground(submission.run_ids, on_update=lambda run: seen.append((run.id, str(run.status))))
    assert [run.status for run in ended] == ["done", "done"]
    assert {(run_id, "done") for run_id in submission.run_ids} <= set(seen)
    assert opened.log_text(submission.run_ids[0]) and opened.log_text(submission.run_ids[0], tail=0) == ""


def test_the_daemon_says_whether_this_call_started_it_and_what_it_samples(home):
    opened = lab.open(home, create=True)
    first = opened.start_daemon(sample_interval=0.25)
    assert first.started and first.home == str(home)
    assert first.pid == opened.daemon_pid() == opened.daemon_status().pid
    again = opened.start_daemon()
    assert (again.pid, again.started) == (first.pid, False)

    deadline = time.monotonic() + 20
    while opened.telemetry().empty or not opened.telemetry_series("gpu0", "utilization", window_s=60)[0]:
        assert time.monotonic() < deadline, "no telemetry sampled"
        time.sleep(0.1)
    snapshot = opened.telemetry()
    assert [gpu.index for gpu in snapshot.gpus] == [0, 1] and not snapshot.is_stale()
    assert opened.running_runs(snapshot) == []

    assert opened.stop_daemon() == first.pid
    assert opened.daemon_pid() is None and opened.stop_daemon() is None
