"""--ascii: not one character of any screen is outside ASCII, at 80x24 and 120x40 (the panel titles'
borders, the plot's axes, the tabs' underline, a select's arrow, a toast's edge included), and a bare
`tuiflow --ascii` opens the app as `tuiflow tui --ascii` does."""

from __future__ import annotations

import asyncio
import io
import os
import shlex
import sys
from pathlib import Path

import pytest
from fixed_home import FIXED_NOW, HOSTNAME
from rich.console import Console
from test_tui_terminal import Terminal
from tui_helpers import REPO, wait_for

from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.compare import CompareScreen
from tuiflow.tui.screens.confirm import ConfirmScreen
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.screens.export import ExportScreen
from tuiflow.tui.screens.history import HistoryScreen
from tuiflow.tui.screens.launch import LaunchScreen
from tuiflow.tui.screens.log import LogScreen
from tuiflow.tui.screens.run_detail import RunDetailScreen
from tuiflow.tui.widgets.recipe_list import RecipeList


def screen_text(app: TuiflowApp) -> str:
    """Every character the screen shows now (the screens under a dialog too), as the terminal gets them."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, record=True,
                      color_system="truecolor", legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


def not_ascii(text: str) -> list[str]:
    """The lines of `text` holding a character outside ASCII."""
    return [line for line in text.splitlines() if not line.isascii()]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_no_screen_shows_a_character_outside_ascii(fixed_home: Path, size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app = TuiflowApp(Options(home=fixed_home, refresh_s=3600, ascii=True, hostname=HOSTNAME,
                                 clock=lambda: FIXED_NOW))
        seen: dict[str, list[str]] = {}
        screens: list[str] = []

        async def look(name: str) -> None:
            await pilot.pause()
            text = screen_text(app)
            screens.append(text)
            seen[name] = not_ascii(text)

        async with app.run_test(size=size, notifications=True) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.detail is not None
                           and app.screen.telemetry is not None, what="the dashboard")
            app.notify("a toast, with its edge")
            await look("dashboard")
            await pilot.press("l")
            launch = await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen)
            recipes = launch.query_one(RecipeList)
            await wait_for(pilot, lambda: any(option.id == "digits-cnn" for option in recipes.options), what="recipes")
            recipes.highlighted = recipes.get_option_index("digits-cnn")  # selects (arrows), notes cut
            await wait_for(pilot, lambda: launch.recipe is not None and launch.recipe.name == "digits-cnn")
            await look("launch")
            await pilot.press("escape", "h")
            await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
            await look("history: experiments")
            await pilot.press("enter")
            await look("history: runs")
            await pilot.press("d")
            app.action_open_run(1)
            await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.reads)
            for tab in "12345":
                await pilot.press(tab)
                await look(f"run detail {tab}")
            await pilot.press("escape")
            app.push_screen(LogScreen(1))
            await wait_for(pilot, lambda: isinstance(app.screen, LogScreen) and app.screen.lines)
            await look("log")
            await pilot.press("escape", "question_mark")
            await look("help")
            await pilot.press("escape")
            app.push_screen(ConfirmScreen("Cancel run 1?", "It is running."))
            await look("a question")
            await pilot.press("n")
            app.push_screen(ExportScreen("Export 4 runs", "to a file in ~"))
            await look("export")
            await pilot.press("escape")
            app.action_compare([1, 3, 4])
            await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.reads)
            for tab in "1234":
                await pilot.press(tab)
                await look(f"compare {tab}")
        assert {name: lines for name, lines in seen.items() if lines} == {}
        assert any("GPU0" in text for text in screens) and any("run 1" in text for text in screens)

    asyncio.run(scenario())


def test_a_bare_tuiflow_takes_ascii_as_tuiflow_tui_does(fixed_home: Path) -> None:
    env = {**os.environ, "TERM": "screen-256color", "TUIFLOW_HOME": str(fixed_home), "TUIFLOW_FAKE_GPUS": "0"}
    env.pop("TUIFLOW_ASCII", None)
    command = f"{shlex.quote(sys.executable)} -m tuiflow --ascii; sleep 30"
    terminal = Terminal(f"tuiflow-ascii-f-{os.getpid()}", env)
    terminal.tmux("new-session", "-d", "-s", "app", "-x", "80", "-y", "24", "-c", str(REPO), command)
    try:
        screen = terminal.wait_screen("runs", "q quit")
        assert not_ascii(screen) == [], screen
    finally:
        terminal.tmux("kill-server", check=False)
