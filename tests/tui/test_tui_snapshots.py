"""Snapshots of the Dashboard, Launch and Help at 80x24 and 120x40, on a home of fixed data with the
clock and the host name frozen (see fixed_home). Update with `pytest tests/tui --snapshot-update`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fixed_home import FIXED_NOW, HOSTNAME, build, freeze
from tui_helpers import wait_for

from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.screens.launch import LaunchScreen

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def fixed_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TuiflowApp:
    clock = freeze(monkeypatch, tmp_path)
    home = tmp_path / "home"
    build(home, clock).close()
    return TuiflowApp(Options(home=home, refresh_s=3600, hostname=HOSTNAME, clock=lambda: FIXED_NOW))


async def dashboard_drawn(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.telemetry is not None
                   and app.screen.runs_view is not None and app.screen.detail is not None
                   and app.screen.detail.run_id == 1, what="the dashboard's data")
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard(snap_compare: Any, fixed_app: TuiflowApp, size: tuple[int, int]) -> None:
    assert snap_compare(fixed_app, terminal_size=size, run_before=dashboard_drawn)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_launch(snap_compare: Any, fixed_app: TuiflowApp, size: tuple[int, int]) -> None:
    async def launch_drawn(pilot: Any) -> None:
        await dashboard_drawn(pilot)
        await pilot.press("l")
        app = pilot.app
        await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen.recipe is not None
                       and app.screen.count is not None and app.screen.query_one("#gpus").option_count == 2,
                       what="the launch form")
        await pilot.pause()

    assert snap_compare(fixed_app, terminal_size=size, run_before=launch_drawn)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare: Any, fixed_app: TuiflowApp, size: tuple[int, int]) -> None:
    async def help_drawn(pilot: Any) -> None:
        await dashboard_drawn(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == "HelpScreen", what="the help")
        await pilot.pause()

    assert snap_compare(fixed_app, terminal_size=size, run_before=help_drawn)
