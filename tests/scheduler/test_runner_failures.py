"""Issue 4: a runner that dies, crashes or fails still leaves a true record: its status, its signal or
exit code, an error message, the metrics it flushed, its log; and a live run shows its profile and
progress in the store while it goes. Real daemons, real runner processes, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from daemon_helpers import REPO, Lab, alive, lab_in, runner_line, wait_gone

from tuiflow.lab import log_text


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from lab_in(tmp_path, monkeypatch, cpu_slots=4)  # TUIFLOW_HOME too: a forgotten --home stays in tmp_path


def _value_steps(home: Lab, run_id: int) -> list[int]:
    return home.store.metric_series(run_id, "value").steps


# ---- SIGKILL from outside, mid-run ----------------------------------------------------------------


def test_a_daemon_child_killed_mid_run_fails_with_sigkill_and_keeps_its_flushed_metrics(home):
    home.start_daemon()
    [run] = home.submit(sets=["seconds=60", "steps=120"])  # a step every 0.5 s
    flushed = home.wait_metric(run.id, "value", 3)
    os.kill(home.run(run.id).pid, signal.SIGKILL)

    ended = home.wait_status(run.id, ("failed", "lost", "done", "cancelled"))
    assert ended.status == "failed"
    assert ended.signal == signal.SIGKILL
    assert "SIGKILL" in ended.error
    steps = _value_steps(home, run.id)
    assert len(steps) >= flushed
    assert steps == list(range(1, len(steps) + 1))
    assert "run 1 of experiment" in runner_line(home.log(run.id))


def test_a_foreground_runner_killed_mid_run_fails_with_sigkill(home):
    command = [sys.executable, "-m", "tuiflow", "run", "sleep", "--set", "seconds=60", "--set", "steps=120",
               "--foreground", "--json", "--home", str(home.home)]
    client = subprocess.Popen(command, env=home.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        home.wait_until(lambda: home.runs() and home.runs()[0].pid, 30, "the foreground run to start",
                        process=client)
        [run] = home.runs()
        flushed = home.wait_metric(run.id, "value", 2)
        os.kill(run.pid, signal.SIGKILL)
        out, err = client.communicate(timeout=30)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    assert client.returncode == 1, err
    ended = home.run(run.id)
    assert (ended.status, ended.signal) == ("failed", signal.SIGKILL)
    assert "SIGKILL" in ended.error
    assert len(_value_steps(home, run.id)) >= flushed
    assert '"status": "failed"' in out


STUBBORN = """
import signal, time
from tuiflow import recipe

@recipe(name="stubborn", params={"steps": 600})
def stubborn(run):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a recipe that will not stop when asked
    for step in range(run.config["steps"]):
        run.log(step=step, value=step)
        time.sleep(0.1)
"""


def test_a_second_ctrl_c_in_the_foreground_kills_a_runner_that_ignores_sigterm(home, tmp_path):
    """The first Ctrl-C cancels the run and gives it a 10 s grace; a second one used to leave the CLI
    at once with the runner still alive. Now it cuts the grace short: SIGKILL, then exit."""
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "stubborn.py").write_text(STUBBORN)
    command = [sys.executable, "-m", "tuiflow", "run", "stubborn", "--recipes", str(tmp_path / "recipes"),
               "--reps", "2", "--foreground", "--home", str(home.home)]
    client = subprocess.Popen(command, env=home.env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        home.wait_until(lambda: home.runs() and home.runs()[0].pid, 30, "the foreground run to start",
                        process=client)
        first, second = home.runs()
        home.wait_metric(first.id, "value", 2)  # past its SIG_IGN
        client.send_signal(signal.SIGINT)
        home.wait_status(first.id, "cancelled", 10)
        time.sleep(0.5)  # into the grace period, SIGTERM sent and ignored
        assert alive(first.pid)
        client.send_signal(signal.SIGINT)
        _, err = client.communicate(timeout=5)  # well inside the 10 s grace
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    assert client.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().endswith("tuiflow: interrupted; the current run was cancelled, the rest were not started")
    assert wait_gone([first.pid], 5) == []
    assert [(r.status, r.error) for r in home.runs()] == [("cancelled", "cancelled with Ctrl-C")] * 2
    assert home.run(second.id).started_at is None


def test_an_adopted_runner_killed_mid_run_is_lost_and_keeps_its_flushed_metrics(home):
    daemon = home.start_daemon()
    [run] = home.submit(sets=["seconds=60", "steps=120"])
    home.wait_metric(run.id, "value", 1)
    home.kill_daemon(daemon)
    home.start_daemon()
    home.wait_until(lambda: f"adopted run {run.id}" in home.daemon_log(), 10, "the run to be adopted")
    flushed = home.wait_metric(run.id, "value", 3)
    os.kill(home.run(run.id).pid, signal.SIGKILL)

    ended = home.wait_status(run.id, ("failed", "lost", "done", "cancelled"))
    assert ended.status == "lost"
    assert ended.error
    assert len(_value_steps(home, run.id)) >= flushed


# ---- the runner kills itself: segfault, SIGKILL, os._exit ------------------------------------------


CRASHES = {
    "segfault": (["fail=segfault"], signal.SIGSEGV, None, "SIGSEGV"),
    "kill": (["fail=kill"], signal.SIGKILL, None, "SIGKILL"),
    "exit": (["fail=exit", "exit_code=3"], None, 3, "code 3"),
}


def test_a_runner_that_crashes_fails_with_its_signal_or_exit_code_and_keeps_what_it_logged(home):
    home.start_daemon()
    # A step every 0.75 s, the crash at the 4th: step 1 was logged 1.5 s before, so it was flushed.
    runs = {how: home.submit(sets=["seconds=3", "steps=4", "fail_at=3", *sets], name=how)[0]
            for how, (sets, *_) in CRASHES.items()}
    ended = {how: home.wait_status(run.id, ("failed", "lost", "done", "cancelled")) for how, run in runs.items()}

    for how, (_, sig, code, words) in CRASHES.items():
        run = ended[how]
        assert run.status == "failed", how
        assert (run.signal, run.exit_code) == (sig, code), how
        assert words in run.error, how
        steps = _value_steps(home, run.id)
        assert steps and steps == list(range(1, len(steps) + 1)), how
        log = home.log(run.id)
        assert b"failing on purpose: " + how.encode() in log, how
    assert b"Segmentation fault" in home.log(runs["segfault"].id)  # faulthandler's traceback


def test_a_recipe_that_raises_fails_with_message_and_traceback_in_store_and_log(home):
    home.start_daemon()
    [run] = home.submit(sets=["seconds=1", "steps=2", "fail=raise", "fail_at=1"])
    ended = home.wait_status(run.id, ("failed", "lost", "done", "cancelled"))

    assert ended.status == "failed"
    assert ended.exit_code == 1 and ended.signal is None
    assert ended.error == "RuntimeError: the sleep recipe was told to fail"
    assert "Traceback (most recent call last)" in ended.traceback
    assert "sleep.py" in ended.traceback and "RuntimeError: the sleep recipe was told to fail" in ended.traceback
    log = home.log(run.id).decode()
    assert "Traceback (most recent call last)" in log
    assert "RuntimeError: the sleep recipe was told to fail" in log
    assert _value_steps(home, run.id) == [1]  # logged before the failure, flushed when the writer closed


def test_a_log_with_invalid_utf8_reads_back_as_text(home):
    home.start_daemon()
    [run] = home.submit(sets=["seconds=0", "steps=1", "print_bytes=true"])
    ended = home.wait_status(run.id, ("failed", "lost", "done", "cancelled"))
    assert ended.status == "done"
    assert b"\xff\xfe" in home.log(run.id)

    text = log_text(ended)
    assert "bytes that are not UTF-8: \ufffd\ufffd" in text
    assert "slept 0.0 s in 1 steps" in text
    shown = home.cli("logs", str(run.id))
    assert "bytes that are not UTF-8" in shown.stdout
    assert "slept 0.0 s in 1 steps" in shown.stdout


# ---- live records while a run goes ---------------------------------------------------------------


def test_profile_rows_and_progress_appear_while_the_run_goes(home):
    home.start_daemon()
    [images] = home.submit("images-augment", sets=["images=48", "size=96", "out=64", "batch_size=8", "epochs=40"])

    def live(run_id: int, check) -> bool:
        seen = check()
        return bool(seen) and home.run(run_id).status == "running"  # seen before the run ended

    def timed_rows():
        rows = home.store.profile(images.id)
        return rows if rows and all(row.calls >= 1 for row in rows) else None

    home.wait_until(lambda: live(images.id, timed_rows), 30, "live profile rows of images-augment")
    rows = home.store.profile(images.id)
    assert {"load #1", "rotate #1", "crop #1", "elastic_transform #1"} <= {row.action for row in rows}
    assert all(row.pipeline == 1 and row.total_s >= 0 and row.max_s <= row.total_s for row in rows)
    home.wait_until(lambda: live(images.id, lambda: home.run(images.id).progress_done), 30,
                    "live progress of images-augment")

    # Submitted only now, so that it is still going however long the waits above took on a busy machine.
    [sleeper] = home.submit(sets=["seconds=6", "steps=6"])
    progress = []

    def more_progress() -> bool:
        run = home.run(sleeper.id)
        if run.status == "running" and run.progress_done and run.progress_done not in progress:
            progress.append(run.progress_done)
        return len(progress) >= 2

    home.wait_until(more_progress, 30, "the sleep run's progress to move while it runs")
    assert home.run(sleeper.id).progress_total == 6

    for run_id in (images.id, sleeper.id):
        assert home.wait_status(run_id, ("failed", "lost", "done", "cancelled"), 60).status == "done"


def test_the_stored_profile_of_a_run_counts_every_batch_of_every_epoch(home):
    """Recipes run a pipeline once per epoch (images-augment, digits, segmentation all do): the run's
    profile in the store is the whole run's, not the last epoch's."""
    home.start_daemon()
    epochs, batches_per_epoch = 3, 2
    [run] = home.submit("images-augment", sets=["images=16", "size=64", "out=32", "batch_size=8",
                                                 f"epochs={epochs}", "prefetch=0"])
    assert home.wait_status(run.id, ("failed", "lost", "done", "cancelled"), 60).status == "done"
    assert home.run(run.id).metrics["images"] == 16 * epochs
    calls = {row.action: row.calls for row in home.store.profile(run.id)}
    assert calls["load #1"] == epochs * batches_per_epoch, calls
    assert set(calls.values()) == {epochs * batches_per_epoch}
