"""Numbers the daemon's commands take are checked where they are typed, in one line, before anything
starts (a detached daemon would only say so in its log); and stopping a daemon that is not running is
no error, like `systemctl stop`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from daemon_helpers import REPO, lab_in

from tuiflow.store import RunSpec


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from lab_in(tmp_path, monkeypatch, cpu_slots=1)


@pytest.mark.parametrize(("args", "message"), [
    (["daemon", "start", "--min-free-memory", "-5"], "--min-free-memory must be 0 MiB or more, not -5"),
    (["daemon", "start", "--min-free-memory", "nan"], "--min-free-memory must be 0 MiB or more, not nan"),
    (["daemon", "start", "--sample-interval", "nan"], "--sample-interval must be at least 0.25 s, not nan"),
    (["cancel", "1", "--grace", "-1"], "--grace must be 0 s or more, not -1"),
])  # fmt: skip
def test_a_bad_number_is_one_line_and_starts_nothing(home, args, message):
    home.store.create_experiment("e", "sleep", runs=[RunSpec({})])
    out = home.cli(*args, check=False)
    assert (out.returncode, out.stdout, out.stderr) == (2, "", f"tuiflow: error: {message}\n")
    assert home.daemon_pid() is None and home.run(1).status == "queued"


def test_a_bad_number_creates_no_home(home, tmp_path):
    fresh = tmp_path / "new" / "home"
    out = subprocess.run([sys.executable, "-m", "tuiflow", "daemon", "start", "--min-free-memory", "-1", "--home",
                          str(fresh)], capture_output=True, text=True, env=home.env, cwd=REPO, timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and not fresh.parent.exists()


@pytest.mark.parametrize(("tick", "extra"), [(0.05, ["--min-free-memory", "-1"]), (0, []),
                                             (0.05, ["--sample-interval", "0.1"])])
def test_the_daemon_itself_refuses_bad_numbers_before_serving(home, tick, extra):
    assert home.spawn_daemon(tick, *extra).wait(30) == 2
    log = home.daemon_log()
    assert (extra[0] if extra else "--tick") + " must be" in log and "Traceback" not in log
    assert home.daemon_pid() is None


def test_stopping_a_daemon_that_is_not_running_says_so_and_succeeds(home):
    home.cli("daemon", "start", "--min-free-memory", "0")  # zero: any memory others hold makes a GPU busy
    pid = home.daemon_pid()
    assert pid is not None
    assert home.cli("daemon", "stop").stdout == f"daemon {pid} stopped\n"
    again = home.cli("daemon", "stop")
    assert (again.returncode, again.stdout, again.stderr) == (0, f"no daemon was running in {home.home}\n", "")
