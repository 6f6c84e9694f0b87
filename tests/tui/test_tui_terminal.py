"""tuiflow in a real terminal: tmux at 80x24 with TERM=screen-256color, keys sent with send-keys, the
screen read with capture-pane. Killing the tmux session ends the app within seconds; the run goes on.
Keys sent in one send-keys are one write, read by the app at once (a burst, as over SSH): typed as sent."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from tui_helpers import REPO, Lab, daemon_home


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    yield from daemon_home(tmp_path, monkeypatch)


class Terminal:
    """A tmux server of the test's own (its own socket: no other session's environment leaks in)."""

    def __init__(self, socket: str, env: dict[str, str]) -> None:
        self.socket, self.env = socket, env

    def tmux(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                                env=self.env, timeout=20)
        if check and result.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {result.stderr}")
        return result.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "app")

    def wait_screen(self, *texts: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if all(text in screen for text in texts):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{texts} not on the screen after {timeout:g} s:\n{screen}")
            time.sleep(0.2)

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", "app", key)
            time.sleep(0.3)

    def burst(self, *keys: str) -> None:
        """Every key in one write to the terminal: the app reads them together."""
        self.tmux("send-keys", "-t", "app", *keys)


def open_app(home: Lab, terminal_name: str) -> Terminal:
    """`python -m tuiflow` on this home in a tmux session "app" of its own, 80x24."""
    env = {**home.env, "TERM": "screen-256color", "PATH": os.environ.get("PATH", "")}
    variables = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if k.startswith(("TUIFLOW_", "PYTHON")))
    command = f"env TERM=screen-256color {variables} {shlex.quote(sys.executable)} -m tuiflow"
    terminal = Terminal(f"{terminal_name}-{os.getpid()}", env)
    terminal.tmux("new-session", "-d", "-s", "app", "-x", "80", "-y", "24", "-c", str(REPO), command)
    return terminal


def test_tuiflow_in_tmux_shows_the_gpus_and_a_running_run_and_ends_with_its_terminal(home: Lab) -> None:
    [run] = home.submit("sleep", sets=["seconds=120", "steps=120"], gpus=1)
    home.wait_status(run.id, "running")
    terminal = open_app(home, "tuiflow-test")
    try:
        app_pid = int(terminal.tmux("display-message", "-p", "-t", "app", "#{pane_pid}").strip())
        screen = terminal.wait_screen("GPU0", "GPU1", "running", f"#{run.id}", "sleep", "daemon up", "q quit")
        lines = screen.splitlines()
        assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
        assert "q quit" in lines[-1]
        terminal.keys("?")
        terminal.wait_screen("keys", "cancel")
        terminal.keys("Escape", "l")
        terminal.wait_screen("Launch", "images-augment")
        terminal.keys("Escape")
        terminal.wait_screen("GPU0", "runs")
        terminal.tmux("kill-session", "-t", "app")
        try:
            psutil.Process(app_pid).wait(timeout=10)
        except psutil.TimeoutExpired:
            raise AssertionError(f"the app (pid {app_pid}) outlived its terminal by 10 s") from None
        except psutil.NoSuchProcess:
            pass
        assert home.run(run.id).status == "running"  # closing the view stops only the view
        assert psutil.pid_exists(home.run(run.id).pid)
    finally:
        terminal.tmux("kill-server", check=False)


def field_text(screen: str, name: str) -> str:
    """What the Launch form's field `name` holds, as drawn (the first word after its name)."""
    for line in screen.splitlines():
        match = re.search(rf"\b{re.escape(name)}\s+(\S+)", line)
        if match:
            return match.group(1)
    raise AssertionError(f"no field {name} on the screen:\n{screen}")


def wait_field(terminal: Terminal, name: str, value: str, *also: str, timeout: float = 30.0) -> str:
    """The screen once the Launch form's field `name` shows `value` (and the screen holds `also`).

    The app draws between the keys of a burst, so a frame may show the field half typed ("30,6" on the
    way to "30,60"); what counts is where the field settles. A form that got the keys out of order
    settles elsewhere ("3") and never shows `value`: the deadline fails it, with the screen."""
    deadline = time.monotonic() + timeout
    while True:
        screen = terminal.screen()
        if re.search(rf"\b{re.escape(name)}\s", screen) and field_text(screen, name) == value \
                and all(text in screen for text in also):
            return screen
        assert time.monotonic() < deadline, f"{name} never showed {value!r} with {also}:\n{screen}"
        time.sleep(0.1)


def test_keys_sent_in_one_write_are_typed_as_sent_and_launched_as_typed(home: Lab) -> None:
    """Issue 20's bursts, each in one write: "⌫⌫⌫⌫30,60" gave `seconds 3`, "Tab ⌫⌫ 30" gave 330, and
    "25", then "⌫30" gave 253. After each burst the test waits for the field to show what was typed, and
    for the run count the form computed from it."""
    terminal = open_app(home, "tuiflow-keys-f")
    try:
        terminal.wait_screen("q quit")
        terminal.burst("l")
        terminal.wait_screen("Launch", "sleep")
        terminal.burst("End", "Up")  # the recipe list has the focus: sleep is next to last (tiny-pipeline)
        wait_field(terminal, "seconds", "1.0", "steps", "-> 1 run")
        terminal.burst("Tab", *["BSpace"] * 4, "30,60")  # Tab: seconds, its value selected
        wait_field(terminal, "seconds", "30,60", "-> 2 runs")
        terminal.burst("BTab", "Tab", "BSpace", "BSpace", "30")  # back to the recipes, and into seconds again
        wait_field(terminal, "seconds", "30", "-> 1 run")
        terminal.burst("BSpace", "BSpace", "25")
        wait_field(terminal, "seconds", "25")
        terminal.burst("BSpace", "30,1")
        wait_field(terminal, "seconds", "230,1", "-> 2 runs")
        terminal.burst("F5")
        home.wait_until(lambda: len(home.runs()) == 2, 30, "the two runs launched")
    finally:
        terminal.tmux("kill-server", check=False)
    assert sorted(run.config["seconds"] for run in home.runs()) == [1.0, 230.0]
