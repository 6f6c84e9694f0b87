"""A terminal smaller than 80x24: the app says the size it needs and the size it has ("needs 80x24, this
is 60x15") instead of screens cut off with their buttons out of sight, its keys wait (q still quits),
and the notice goes when the terminal is large enough again, on whatever screen was there."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fixed_home import app_on
from textual.widgets import Button, Static
from tui_helpers import wait_for

from tuiflow.tui import TuiflowApp
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.screens.launch import LaunchScreen
from tuiflow.tui.screens.too_small import TooSmallScreen


def notice(app: TuiflowApp) -> str:
    return str(app.screen.query_one("#too-small", Static).render()) if isinstance(app.screen, TooSmallScreen) else ""


def test_a_small_terminal_is_told_the_size_and_the_app_comes_back_when_it_grows(fixed_home: Path) -> None:
    async def scenario() -> None:
        app = app_on(fixed_home)
        async with app.run_test(size=(60, 15)) as pilot:
            await wait_for(pilot, lambda: "needs 80x24, this is 60x15" in notice(app), what="the notice")
            await pilot.press("l")  # the app's keys wait
            await pilot.pause(0.2)
            assert isinstance(app.screen, TooSmallScreen) and app.current_mode == "dashboard"
            await pilot.resize_terminal(79, 30)
            await wait_for(pilot, lambda: "this is 79x30" in notice(app), what="the new size said")
            await pilot.resize_terminal(80, 24)
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard back")
            await pilot.press("l")
            launch = await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen)
            await pilot.resize_terminal(100, 20)
            await wait_for(pilot, lambda: "needs 80x24, this is 100x20" in notice(app), what="the notice on Launch")
            await pilot.resize_terminal(80, 24)
            await wait_for(pilot, lambda: app.screen is launch, what="Launch back")
            await pilot.pause()
            button = launch.query_one("#launch", Button)
            assert button.region.bottom <= 24 and button.region.right <= 80  # on the screen at 80x24

    asyncio.run(scenario())


def test_q_quits_while_the_terminal_is_too_small(fixed_home: Path) -> None:
    async def scenario() -> None:
        app = app_on(fixed_home)
        async with app.run_test(size=(60, 15)) as pilot:
            await wait_for(pilot, lambda: notice(app), what="the notice")
            await pilot.press("q")
            await wait_for(pilot, lambda: app.return_code is not None, what="q to quit")

    asyncio.run(scenario())
