"""One daemon per home: two started at once leave one, `daemon start` finds the running one, the
daemon says who it is (`daemon status --json`), and it survives the terminal that started it."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path

import psutil
import pytest
from daemon_helpers import REPO, Lab, alive, lab_in

from tuiflow import lab
from tuiflow.scheduler.identity import LOCK_NAME, read_info
from tuiflow.store import FINAL_STATUSES

FINAL = FINAL_STATUSES


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from lab_in(tmp_path, monkeypatch, cpu_slots=2)


def test_two_daemons_started_at_once_leave_exactly_one(home):
    first, second = home.spawn_daemon(), home.spawn_daemon()
    home.wait_until(lambda: first.poll() is not None or second.poll() is not None, 20, "one daemon to give way")
    loser, winner = (first, second) if first.poll() is not None else (second, first)
    assert loser.returncode == 0
    time.sleep(0.5)
    assert winner.poll() is None and alive(winner.pid)
    assert home.daemon_pid() == winner.pid
    assert f"another daemon runs for {home.home} (pid {winner.pid})" in home.daemon_log()
    [run] = home.submit(sets=["seconds=0", "steps=1"])
    assert home.wait_status(run.id, FINAL, 20).status == "done"
    assert f"run {run.id} started" in home.daemon_log()


def test_daemon_start_when_one_runs_names_it_and_exits_0(home):
    daemon = home.start_daemon()
    result = home.cli("daemon", "start")
    assert result.returncode == 0
    assert result.stdout.strip() == f"a daemon already runs for {home.home}: pid {daemon.pid}"
    time.sleep(0.3)
    assert home.daemon_pid() == daemon.pid and daemon.poll() is None
    assert home.daemon_log().count("serving") == 1


def test_a_daemon_that_dies_starting_is_reported_at_once_with_its_last_words(home):
    # It used to be a 15 s wait, then "did not start within 15 s: see daemon.log".
    started = time.monotonic()
    with pytest.raises(lab.SchedulerError) as info:
        lab.start_daemon(home.store, extra_args=["--tick", "soon"])
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert message.startswith("the daemon exited with code 2 before it started: ")
    assert "argument --tick: invalid float value: 'soon'" in message and str(home.home / "daemon.log") in message
    assert home.daemon_pid() is None


def test_a_client_probing_the_lock_does_not_make_a_starting_daemon_quit(home):
    """Clients ask whether a daemon runs all the time (`start_daemon` itself polls right after it
    spawns one; `daemon status`, the TUI) by taking the lock shared for an instant. A daemon that
    starts in that instant must not take the probe for another daemon and quit, leaving none."""
    lock = home.home / LOCK_NAME
    with open(lock, "a+") as probe:
        fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)  # a client's is_locked(), caught mid-probe
        daemon = home.spawn_daemon()
        # The probe ends as soon as the daemon has reached its lock (or has given up).
        home.wait_until(lambda: daemon.poll() is not None or _has_open(daemon.pid, lock), 20,
                        "the daemon to reach its lock", poll_s=0.002)
        fcntl.flock(probe, fcntl.LOCK_UN)
    home.wait_until(lambda: daemon.poll() is not None or read_info(home.home) is not None, 10,
                    "the daemon to serve or quit")
    assert daemon.poll() is None, f"the daemon quit with no other daemon running:\n{home.daemon_log()}"
    assert home.daemon_pid() == daemon.pid


def test_daemon_status_and_queue_json(home):
    home.env["TUIFLOW_CPU_SLOTS"] = "1"
    before = json.loads(home.cli("daemon", "status", "--json").stdout)
    assert before["running_daemon"] is False and before["pid"] is None

    started = time.time()
    daemon = home.start_daemon()
    [gpu_run] = home.submit(sets=["seconds=30", "steps=30"], gpus=1)
    cpu_runs = home.submit(sets=["seconds=30", "steps=30"], reps=2)  # one CPU slot: one stays queued
    home.wait_until(lambda: [r.status for r in home.runs()] == ["running", "running", "queued"], 20,
                    "two runs to start")

    status = json.loads(home.cli("daemon", "status", "--json").stdout)
    assert {"pid", "home", "executor", "started_at", "running", "queued"} <= set(status)
    assert status["pid"] == daemon.pid
    assert status["home"] == str(home.home)
    assert status["executor"] == "local"
    assert started - 1 <= status["started_at"] <= time.time()
    assert (status["running"], status["queued"]) == (2, 1)
    assert status["running_daemon"] is True and status["paused"] is False

    rows = json.loads(home.cli("queue", "--json").stdout)
    assert [(r["id"], r["status"]) for r in rows] == [(gpu_run.id, "running"), (cpu_runs[0].id, "running"),
                                                      (cpu_runs[1].id, "queued")]
    assert all("gpus" in row for row in rows)
    by_id = {row["id"]: row for row in rows}
    assert by_id[gpu_run.id]["gpus"] in ([0], [1]) and by_id[gpu_run.id]["gpus"] == home.run(gpu_run.id).gpus
    assert by_id[cpu_runs[0].id]["gpus"] == []
    assert by_id[cpu_runs[1].id]["gpus"] is None and by_id[cpu_runs[1].id]["position"] == 1

    home.cli("daemon", "stop")
    after = json.loads(home.cli("daemon", "status", "--json").stdout)
    assert after["running_daemon"] is False and after["running"] == 2  # the runners go on


def _has_open(pid: int, path: Path) -> bool:
    try:
        return any(Path(f.path) == path for f in psutil.Process(pid).open_files())
    except psutil.Error:
        return False


def _controlling_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # after setsid: the pty becomes this session's terminal


def test_a_daemon_started_from_a_terminal_survives_the_terminal_closing(home):
    """Like an SSH session: a shell with a controlling terminal runs `tuiflow daemon start`, then the
    terminal goes away (SIGHUP to the shell's process group and the pty's master closed)."""
    master, slave = os.openpty()
    shell = f"{sys.executable} -m tuiflow daemon start --home {home.home}; echo launched; sleep 60"
    terminal = subprocess.Popen(["/bin/sh", "-c", shell], stdin=slave, stdout=slave, stderr=slave, env=home.env,
                                cwd=REPO, start_new_session=True, preexec_fn=_controlling_terminal)
    os.close(slave)
    try:
        output = b""
        deadline = time.monotonic() + 30
        while b"launched" not in output and time.monotonic() < deadline:
            try:
                output += os.read(master, 4096)
            except OSError:
                break
        assert b"daemon started: pid" in output, output
        info = read_info(home.home)
        assert info is not None
        daemon = info.pid
        assert os.getsid(daemon) != os.getsid(terminal.pid) and os.getpgid(daemon) != terminal.pid

        os.killpg(terminal.pid, signal.SIGHUP)
    finally:
        os.close(master)
    terminal.wait(10)
    assert terminal.returncode == -signal.SIGHUP
    time.sleep(1.0)
    assert alive(daemon), "the daemon died with the terminal that started it"
    assert home.daemon_pid() == daemon
    [run] = home.submit(sets=["seconds=0", "steps=1"])
    assert home.wait_status(run.id, FINAL, 20).status == "done"
    home.cli("daemon", "stop")
    assert not alive(daemon)


def test_daemon_start_starts_a_store_in_a_new_home(tmp_path: Path, home):
    fresh = tmp_path / "new" / "home"

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tuiflow", *args, "--home", str(fresh)], capture_output=True,
                              text=True, env=home.env, cwd=REPO, timeout=60, stdin=subprocess.DEVNULL)

    try:
        started = cli("daemon", "start")
        assert started.returncode == 0 and started.stdout.startswith("daemon started: pid "), started.stderr
        assert (fresh / "tuiflow.db").is_file()
        assert cli("daemon", "stop").stdout.startswith("daemon ")
    finally:
        Lab(fresh).cleanup()  # whatever the new home's daemon left
