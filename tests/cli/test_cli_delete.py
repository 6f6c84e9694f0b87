"""`tuiflow delete EXPERIMENT`, run as a user runs it: asks y/n in a terminal, refuses without one unless
--yes, says what it removed; an unknown or a live experiment is a one-line error with exit code 2."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from history_home import build_history

from tuiflow import lab
from tuiflow.store import RunSpec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    build_history(path, (("cnn-sweep", "digits-cnn", 30), ("naps", "sleep", 20))).close()
    return path


def tuiflow(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIFLOW_")}
    return subprocess.run([sys.executable, "-m", "tuiflow", *args, "--home", str(home)], capture_output=True,
                          text=True, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, timeout=60)


def experiments(home: Path) -> list[str]:
    with lab.open(home) as opened:
        return sorted(e["name"] for e in opened.list_experiments())


def test_delete_with_yes_removes_the_experiment(home: Path) -> None:
    done = tuiflow(home, "delete", "cnn-sweep", "--yes")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "deleted experiment cnn-sweep: 30 runs with their metrics, profiles and logs\n"
    assert experiments(home) == ["naps"]
    assert not list((home / "logs").glob("run-1.log"))


def test_without_a_terminal_delete_needs_yes(home: Path) -> None:
    done = tuiflow(home, "delete", "naps")
    assert done.returncode == 2
    assert done.stderr == ("tuiflow: error: delete asks before removing experiment naps and its 20 runs (metrics, "
                           "profiles, logs): add --yes to delete without a terminal\n")
    assert experiments(home) == ["cnn-sweep", "naps"]


def test_unknown_and_live_experiments_are_one_line_errors(home: Path) -> None:
    done = tuiflow(home, "delete", "nope", "--yes")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("tuiflow: error: no experiment 'nope'")
    with lab.open(home) as opened:
        opened.store.create_experiment("live", "sleep", runs=[RunSpec(config={})] * 2)
    done = tuiflow(home, "delete", "live", "--yes")
    assert done.returncode == 2
    assert done.stderr == ("tuiflow: error: experiment live has 2 runs queued or running: cancel them first "
                           "(tuiflow cancel live), then delete it\n")
    assert "live" in experiments(home)


def answer_in_a_terminal(home: Path, answer: str) -> tuple[int, str]:
    """Run `tuiflow delete naps` in a pseudo-terminal, answer the question; its exit code and output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUIFLOW_")}
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "tuiflow", "delete", "naps", "--home", str(home)], cwd=ROOT,
                            env=env, stdin=child, stdout=child, stderr=child, close_fds=True)
    os.close(child)
    output, answered = b"", False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        if not answered and b"[y/N]" in output:
            os.write(main, answer.encode() + b"\n")
            answered = True
        if proc.poll() is not None and not ready:
            break
    os.close(main)
    return proc.wait(timeout=10), output.decode(errors="replace")


def test_in_a_terminal_delete_asks_first(home: Path) -> None:
    code, output = answer_in_a_terminal(home, "n")
    assert "Delete experiment naps and its 20 runs (metrics, profiles, logs)? This cannot be undone. [y/N]" in output
    assert code == 1 and "nothing deleted" in output
    assert experiments(home) == ["cnn-sweep", "naps"]
    code, output = answer_in_a_terminal(home, "y")
    assert code == 0 and "deleted experiment naps: 20 runs" in output
    assert experiments(home) == ["cnn-sweep"]
