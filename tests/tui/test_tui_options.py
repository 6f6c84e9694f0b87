"""The app's options: ASCII glyphs only, a light theme, a keymap file in the home, and the command line."""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fixed_home import app_on
from rich.console import Console
from textual.screen import ModalScreen
from textual.widgets._toast import Toast
from tui_helpers import REPO, wait_for

from tuiflow.tui.screens.confirm import ConfirmScreen
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.screens.export import ExportScreen
from tuiflow.tui.screens.help import keys_table
from tuiflow.tui.screens.launch import LaunchScreen
from tuiflow.tui.widgets.recipe_list import RecipeList


def blocks_or_braille(text: str) -> set[str]:
    return {c for c in text if 0x2580 <= ord(c) <= 0x259F or 0x2800 <= ord(c) <= 0x28FF}




@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_ascii_draws_no_block_or_braille_glyph(fixed_home: Path, size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app = app_on(fixed_home, ascii=True)
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.detail is not None
                           and app.screen.telemetry is not None)
            await pilot.pause()
            dashboard = app.export_screenshot()
            assert "GPU0" in dashboard and "slowest" in dashboard
            assert blocks_or_braille(dashboard) == set()
            await pilot.press("l")
            screen = await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen.recipes
                                    and app.screen)
            recipes = screen.query_one(RecipeList)
            recipes.highlighted = recipes.get_option_index("sleep")  # a switch, selects and inputs
            await wait_for(pilot, lambda: screen.count is not None and screen.recipe.name == "sleep")
            await pilot.pause()
            assert blocks_or_braille(app.export_screenshot()) == set()
            await pilot.press("escape", "question_mark")
            await pilot.pause()
            assert blocks_or_braille(app.export_screenshot()) == set()

    asyncio.run(scenario())


def test_the_light_theme(fixed_home: Path) -> None:
    async def scenario() -> None:
        app = app_on(fixed_home, theme="tuiflow-light")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.theme == "tuiflow-light" and not app.current_theme.dark

    asyncio.run(scenario())


def test_a_keymap_file_in_the_home_remaps_keys_by_binding_id(fixed_home: Path) -> None:
    (fixed_home / "keymap.toml").write_text('# my keys\ncancel = "x"\nlaunch = ["f2", "L"]\n')

    async def scenario() -> None:
        app = app_on(fixed_home)
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                                  and app.screen.runs_view is not None and app.screen)
            active = dash.active_bindings
            assert active["x"].binding.action == "cancel_run" and "c" not in active
            cancel = next(b for b in DashboardScreen.BINDINGS if getattr(b, "id", None) == "cancel")
            assert app.keys_of(cancel) == "x"  # what the help screen says
            await pilot.press("x")  # the selected run (1) is running: asks
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", what="the question")
            await pilot.press("n")
            await pilot.press("c")  # no longer bound
            await pilot.pause(0.2)
            assert isinstance(app.screen, DashboardScreen) and app.screen is dash
            await pilot.press("f2")
            await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen), what="launch on f2")

    asyncio.run(scenario())


def test_a_broken_keymap_file_is_said_and_the_default_keys_are_kept(fixed_home: Path) -> None:
    (fixed_home / "keymap.toml").write_text("cancel = \n")

    async def scenario() -> None:
        app = app_on(fixed_home)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.keymap_problem and "keymap.toml" in app.keymap_problem
            await pilot.press("l")
            await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen))

    asyncio.run(scenario())


@pytest.mark.parametrize(("args", "message"), [
    (["--refresh", "0"], "--refresh must be at least 0.1 seconds"),
    (["--refresh", "nan"], "--refresh must be at least 0.1 seconds"),
    (["--theme", "no-such-theme"], "is not a theme"),
])
def test_the_command_line_refuses_bad_options_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    result = subprocess.run([sys.executable, "-m", "tuiflow", "tui", "--home", str(tmp_path / "h"), *args],
                            capture_output=True, text=True, cwd=REPO, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "h").exists()


def test_the_app_imports_no_framework() -> None:
    code = ("import sys; import tuiflow.cli; import tuiflow.tui.app, tuiflow.tui.screens.dashboard, "
            "tuiflow.tui.screens.launch; print(sorted(m for m in ('torch', 'tensorflow', 'ray') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


def test_a_keymap_entry_with_no_such_id_or_taking_quit_or_help_is_said_and_not_applied(fixed_home: Path) -> None:
    (fixed_home / "keymap.toml").write_text('cancel = "q"\nhistroy = "y"\nretry = ["?", "R"]\nlaunch = "f2"\n')

    async def scenario() -> None:
        app = app_on(fixed_home)
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                                  and app.screen.runs_view is not None and app.screen)
            await wait_for(pilot, lambda: app.keymap_refused, what="the keymap checked")
            assert app.keymap_refused == [
                "keymap.toml: no binding 'histroy' (? lists the ids): not applied",
                'keymap.toml: cancel = "q" would take q from quit: not applied',
                'keymap.toml: retry = "?,R" would take ? from help: not applied',
            ]
            toasts = [n.message for n in app._notifications]
            assert all(line in toasts for line in app.keymap_refused)
            assert all("\n" not in line and len(line) < 80 for line in app.keymap_refused)
            active = dash.active_bindings
            assert active["c"].binding.action == "cancel_run" and active["r"].binding.action == "retry_run"
            await pilot.press("f2")  # the entry that is fine is applied
            await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen), what="launch on f2")
            await pilot.press("escape", "question_mark")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen", what="help on ?")
            await pilot.press("escape", "q")
            await wait_for(pilot, lambda: app.return_code is not None, what="q to quit")

    asyncio.run(scenario())


def test_the_help_shows_every_binding_id_whole_at_80_columns(fixed_home: Path) -> None:
    async def scenario() -> None:
        app = app_on(fixed_home)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("question_mark")
            screen = await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen" and app.screen)
            keys = screen.query_one("#keys")
            await wait_for(pilot, lambda: keys.size.width > 0, what="the help laid out")
            console = Console(width=keys.size.width, record=True, file=io.StringIO())
            console.print(keys_table(app))
            lines = console.export_text().splitlines()
            ids = [b.id for _, bindings in app.binding_groups() for b in bindings if b.id and not b.system]
            assert "history.priority_down" in ids and "history.open_experiment" in ids
            missing = [i for i in ids if not any(re.search(rf"(^|\s){re.escape(i)}(\s|$)", line) for line in lines)]
            assert missing == [], "\n".join(lines)

    asyncio.run(scenario())


# --- what every screen shares: toasts and dialogs -----------------------------------------------------
def test_a_toast_reaches_the_right_edge(fixed_home: Path) -> None:
    """The toast rack's scrollbar column (never drawn) let the screen under it show at a toast's right
    edge, a stray character; a toast now ends at the last column."""
    async def scenario() -> None:
        app = app_on(fixed_home)
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
            app.notify("a toast long enough to take the whole width a toast is given at 80 columns")
            toast = await wait_for(pilot, lambda: next((t for t in app.screen.query(Toast) if t.region.width), None),
                                   what="the toast")
            assert toast.region.right == 80

    asyncio.run(scenario())


@pytest.mark.parametrize("dialog", ["confirm", "export"])
def test_a_dialog_shows_the_screen_it_asks_over(fixed_home: Path, dialog: str) -> None:
    async def scenario() -> None:
        app = app_on(fixed_home)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.runs_view is not None)
            await pilot.pause()
            assert "GPU0" in app.export_screenshot()
            screens = {"confirm": lambda: ConfirmScreen("Cancel run 1?", "It is running."),
                       "export": lambda: ExportScreen("Export 3 runs", "to a file in ~")}
            app.push_screen(screens[dialog]())
            await wait_for(pilot, lambda: isinstance(app.screen, ModalScreen), what="the dialog")
            await pilot.pause()
            shot = app.export_screenshot()
            assert "GPU0" in shot  # the dashboard under the dialog, dimmed

    asyncio.run(scenario())
