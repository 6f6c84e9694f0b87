"""How `tuiflow` starts (issue 12): a bare `tuiflow` in a terminal draws the app's first frame with textual
and the app's own modules only: no typer CLI, no store, no recipes, no numpy. Checked by what is in
`sys.modules`, not by timing, so it holds on a loaded machine; `benchmarks/bench_tui.py` times it."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ("numpy", "sqlite_utils", "psutil", "torch", "tensorflow", "ray", "typer", "tuiflow.recipes",
         "tuiflow.flow", "tuiflow.store", "tuiflow.scheduler", "tuiflow.monitor", "tuiflow.lab.api")
"""Modules the first frame must not wait for: the store and the lab's API come in the first poll's worker."""

# Runs the console script's `main` with no arguments in a terminal. The Lab's opening is held back until the
# dashboard's first frame (status line laid out) is drawn, then the modules loaded by then are written
# out and the app quits: the list cannot depend on how far the worker got.
BARE = """
import json, os, sys, threading
import tuiflow.cli
from tuiflow.tui.app import TuiflowApp
from tuiflow.tui.data import LabData

HEAVY = {heavy!r}
framed = threading.Event()
open_lab = LabData.open

def held_open(self):
    framed.wait(30)
    return open_lab(self)

def on_mount(self):
    mounted(self)

    def look():
        from tuiflow.tui.screens.dashboard import DashboardScreen
        from tuiflow.tui.widgets.status_bar import StatusBar

        bars = self.screen.query(StatusBar) if isinstance(self.screen, DashboardScreen) else []
        if bars and bars.first().size.width and not framed.is_set():
            loaded = sorted(m for m in HEAVY if m in sys.modules)
            with open(os.environ["BARE_OUT"], "w") as out:
                json.dump({{"loaded": loaded, "argv": sys.argv[1:]}}, out)
            framed.set()
            self.exit()

    self.set_interval(0.01, look)

LabData.open, mounted, TuiflowApp.on_mount = held_open, TuiflowApp.on_mount, on_mount
tuiflow.cli.main()
"""


def _in_terminal(code: str, env: dict[str, str], seconds: float = 60) -> tuple[int, bytes]:
    """Run `python -c code` in a pty of 80x24 until it ends; its exit code and what it drew."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-c", code], stdin=terminal, stdout=terminal, stderr=terminal,
                               env=env, cwd=ROOT, close_fds=True)
    screen = b""
    try:
        deadline = time.monotonic() + seconds
        while process.poll() is None and time.monotonic() < deadline:
            if select.select([controller], [], [], 0.1)[0]:
                try:
                    screen += os.read(controller, 65536)
                except OSError:
                    break
        return process.wait(10), screen
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
        os.close(terminal)


def test_a_bare_tuiflow_draws_its_first_frame_before_typer_the_store_or_numpy(tmp_path: Path) -> None:
    out = tmp_path / "loaded.json"
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_CTYPE")}
    env.update(COLUMNS="80", LINES="24", LANG="C.UTF-8", TERM="xterm-256color", BARE_OUT=str(out),
               TUIFLOW_HOME=str(tmp_path / "home"))
    code, screen = _in_terminal(BARE.format(heavy=HEAVY), env)
    assert code == 0, screen.decode(errors="replace")
    seen = json.loads(out.read_text())
    assert seen == {"loaded": [], "argv": []}, seen
    assert not (tmp_path / "home").exists()  # looking never creates a home


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(__import__('json').dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_console_script_imports_nothing_heavy_to_find_main() -> None:
    assert _loaded_after("from tuiflow.cli import main") == []


def test_tuiflow_tui_builds_the_cli_of_tui_alone() -> None:
    # `tuiflow tui --help` goes through typer (to read tui's options), but no other command module.
    code = ("import contextlib, io, sys\nsys.argv = ['tuiflow', 'tui', '--help']\nimport tuiflow.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()) as shown, contextlib.suppress(SystemExit):\n"
            "    tuiflow.cli.main()\nassert '--refresh' in shown.getvalue(), shown.getvalue()\n"
            "assert 'tuiflow.cli.run' not in sys.modules")
    assert _loaded_after(code) == ["typer"]


def test_every_command_is_there_when_one_is_asked_for() -> None:
    result = subprocess.run([sys.executable, "-m", "tuiflow", "--help"], capture_output=True, text=True, cwd=ROOT,
                            timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    for command in ("run", "results", "queue", "top", "tui", "recipes", "daemon", "demo"):
        assert f"  {command} " in result.stdout, result.stdout


def test_the_help_of_every_command_waits_for_no_recipes_or_numpy() -> None:
    code = ("import contextlib, io, sys\nsys.argv = ['tuiflow', '--help']\nimport tuiflow.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    tuiflow.cli.main()\nassert 'tuiflow.cli.run' in sys.modules")
    assert _loaded_after(code) == ["typer"]


def test_the_app_without_a_terminal_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    """`tuiflow --ascii`, `tuiflow tui` piped or scripted would draw the app into a file and wait for keys
    that never come: each says so in one line and exits with 2 (a bare `tuiflow` prints the help)."""
    env = {**os.environ, "TUIFLOW_HOME": str(tmp_path / "home")}
    for args in (["--ascii"], ["tui"], ["tui", "--theme", "nord"]):
        done = subprocess.run([sys.executable, "-m", "tuiflow", *args], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stdout[-300:], done.stderr)
        assert done.stderr.strip().splitlines() == [
            "tuiflow: error: the app needs a terminal, and here stdin or stdout is not one "
            "(`tuiflow serve` shows it in a browser)"], (args, done.stderr)
        assert "\x1b[" not in done.stdout  # nothing drawn
    assert not (tmp_path / "home").exists()
