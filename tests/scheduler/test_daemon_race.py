"""Races around the one daemon of a home, with real processes and the real CLI: many `daemon start`
at once, `daemon stop` right after them or racing a start, and a daemon killed with SIGKILL whose
record stays behind. The lock decides who serves; every client must name that daemon, and `stop`
must leave none behind."""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from daemon_helpers import REPO, alive, lab_in, wait_gone

from tuiflow.scheduler.identity import INFO_NAME, LOCK_NAME, read_info

STARTS = 6
STARTED = re.compile(r"^daemon started: pid (\d+), home (.+)$")
RUNNING = re.compile(r"^a daemon already runs for (.+): pid (\d+)$")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from lab_in(tmp_path, monkeypatch, cpu_slots=2)


def _cli(home, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tuiflow", *args, "--home", str(home.home)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=home.env, cwd=REPO,
                            stdin=subprocess.DEVNULL)


def _finish(process: subprocess.Popen, timeout: float = 30) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out.strip(), err.strip()


def _daemons(home) -> list[int]:
    """The pids of the live daemon processes of this home (found by their command line)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = process.info["cmdline"] or []
        if (process.info["status"] != psutil.STATUS_ZOMBIE and "tuiflow.scheduler" in cmdline
                and str(home.home) in cmdline):
            found.append(process.info["pid"])
    return found


def _reported(home, out: str) -> tuple[int, bool]:
    """The pid a `daemon start` named, and whether it said it started it."""
    if match := STARTED.match(out):
        assert match.group(2) == str(home.home)
        return int(match.group(1)), True
    match = RUNNING.match(out)
    assert match and match.group(1) == str(home.home), f"unexpected `daemon start` output: {out!r}"
    return int(match.group(2)), False


def _status(home) -> dict:
    return json.loads(home.cli("daemon", "status", "--json").stdout)


def _start_race(home) -> int:
    """Start the daemon with STARTS concurrent `daemon start`; check they agree on one daemon."""
    starts = [_cli(home, "daemon", "start") for _ in range(STARTS)]
    results = [_finish(process) for process in starts]
    assert all(code == 0 for code, _, _ in results), results
    reported = [_reported(home, out) for _, out, _ in results]
    pids = {pid for pid, _ in reported}
    assert len(pids) == 1, f"the starts named different daemons: {reported}"
    [pid] = pids
    assert sum(started for _, started in reported) == 1, f"not exactly one start started it: {reported}"
    # Every start has returned: no daemon of theirs may still be on its way to the lock.
    assert _daemons(home) == [pid], f"daemons of the home: {_daemons(home)}, reported {pid}\n{home.daemon_log()}"
    assert read_info(home.home).pid == pid
    return pid


def _stop(home, pid: int) -> None:
    started = time.monotonic()
    code, out, err = _finish(_cli(home, "daemon", "stop"))
    assert (code, out) == (0, f"daemon {pid} stopped"), (code, out, err, home.daemon_log()[-3000:])
    assert time.monotonic() - started < 10
    # `stop` returns once the daemon is gone, and nothing took its place meanwhile.
    assert not alive(pid)
    assert _daemons(home) == [], f"left after stop: {_daemons(home)}\n{home.daemon_log()[-3000:]}"
    assert _status(home)["running_daemon"] is False
    assert not (home.home / INFO_NAME).exists()


def test_concurrent_starts_leave_one_daemon_that_every_start_names_and_stop_ends(home):
    pids = []
    for _ in range(3):
        pid = _start_race(home)
        pids.append(pid)
        _stop(home, pid)
    assert len(set(pids)) == 3
    time.sleep(1.2)  # longer than a loser's wait for the lock: none comes up late either
    assert _daemons(home) == []


@pytest.mark.parametrize("delay", [0.0, 0.3, 0.6])
def test_stop_racing_a_start_ends_consistent(home, delay):
    """`stop` and `start` at once, the start a little later each time, so that it meets the daemon
    serving, shutting down, or gone. Either order is a fair outcome; what is not: an error, a wait
    for the timeout, two daemons, or a home that names a daemon other than the one that runs."""
    code, out, _ = _finish(_cli(home, "daemon", "start"))
    assert code == 0, out
    first, _ = _reported(home, out)
    stop = _cli(home, "daemon", "stop")
    time.sleep(delay)
    began = time.monotonic()
    start = _cli(home, "daemon", "start")
    (stop_code, stop_out, stop_err), (start_code, start_out, start_err) = _finish(stop), _finish(start)
    assert stop_code == 0 and start_code == 0, (stop_out, stop_err, start_out, start_err, home.daemon_log()[-3000:])
    assert time.monotonic() - began < 10
    assert stop_out == f"daemon {first} stopped"
    assert not alive(first)
    named, _ = _reported(home, start_out)
    time.sleep(0.3)
    daemons = _daemons(home)
    assert len(daemons) <= 1, daemons
    info = read_info(home.home)
    assert (info.pid if info else None) == (daemons[0] if daemons else None), (info, daemons)
    if daemons:
        assert named == daemons[0]  # the start came last: its daemon serves
        _stop(home, named)
    else:
        assert not alive(named)  # the stop came last: whatever the start named is gone too
        assert not (home.home / INFO_NAME).exists()


def test_a_killed_daemon_is_not_believed_and_the_next_start_serves(home):
    code, out, _ = _finish(_cli(home, "daemon", "start"))
    old, started = _reported(home, out)
    assert code == 0 and started
    os.kill(old, signal.SIGKILL)
    assert wait_gone([old]) == []
    assert (home.home / INFO_NAME).exists()  # SIGKILL leaves its record behind
    assert _status(home)["running_daemon"] is False

    code, out, _ = _finish(_cli(home, "daemon", "start"))
    new, started = _reported(home, out)
    assert code == 0 and started and new != old and alive(new)
    assert _daemons(home) == [new]
    assert read_info(home.home).pid == new
    _stop(home, new)


@pytest.mark.parametrize("with_start_time", [True, False], ids=["record", "older-record"])
def test_a_stale_record_naming_a_reused_pid_is_not_believed(home, with_start_time):
    """The moment after a new daemon took the lock and before it wrote its record, a killed
    daemon's record is still there; its pid may belong to another process by now. (An older
    record has no pid_start_time: its started_at, before the stranger was born, gives it away.)"""
    stranger = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        record = {"pid": stranger.pid, "home": str(home.home), "executor": "local", "started_at": time.time() - 60,
                  "host": "x", "version": "0"}
        if with_start_time:
            record["pid_start_time"] = psutil.Process(stranger.pid).create_time() - 60
        (home.home / INFO_NAME).write_text(json.dumps(record))
        with open(home.home / LOCK_NAME, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the new daemon, before its record
            started = time.monotonic()
            assert read_info(home.home) is None
            assert time.monotonic() - started < 3
        assert _status(home)["running_daemon"] is False
        # And the next start serves, whatever the old record said.
        code, out, _ = _finish(_cli(home, "daemon", "start"))
        new, was_started = _reported(home, out)
        assert code == 0 and was_started and new != stranger.pid and _daemons(home) == [new]
        assert stranger.poll() is None, "the stranger was signalled"
        _stop(home, new)
    finally:
        stranger.kill()
        stranger.wait()
