"""Snapshots of Run detail and Compare at 80x24 and 120x40 on fixed data (compare_home's runs, the
clock frozen at its NOW). Update with `pytest tests/tui/test_detail_snapshots.py --snapshot-update`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from compare_home import build
from fixed_home import HOSTNAME, freeze
from tui_helpers import wait_for

from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.compare import CompareScreen
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.screens.run_detail import RunDetailScreen

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def fixed_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TuiflowApp:
    clock = freeze(monkeypatch, tmp_path)
    home = tmp_path / "home"
    build(home, lambda t: setattr(clock, "now", t)).close()
    return TuiflowApp(Options(home=home, refresh_s=3600, hostname=HOSTNAME, clock=time.time))


async def dashboard(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.runs_view is not None
                   and app.screen.detail is not None, what="the dashboard")


def detail_on(run_id: int, tab: str) -> Any:
    async def drawn(pilot: Any) -> None:
        await dashboard(pilot)
        app = pilot.app
        app.action_open_run(run_id)
        screen = await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.reads
                                and app.screen, what="the run detail")
        screen.action_tab(tab)
        await pilot.pause(0.3)

    return drawn


def compare_on(tab: str) -> Any:
    async def drawn(pilot: Any) -> None:
        await dashboard(pilot)
        app = pilot.app
        app.action_compare([1, 2, 3])
        screen = await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.reads
                                and app.screen, what="the comparison")
        screen.action_tab(tab)
        await pilot.pause(0.3)

    return drawn


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_failed_run_overview(snap_compare: Any, fixed_app: TuiflowApp, size: tuple[int, int]) -> None:
    assert snap_compare(fixed_app, terminal_size=size, run_before=detail_on(3, "overview"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_run_metrics(snap_compare: Any, fixed_app: TuiflowApp, size: tuple[int, int]) -> None:
    assert snap_compare(fixed_app, terminal_size=size, run_before=detail_on(1, "metrics"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare_profile(snap_compare: Any, fixed_app: TuiflowApp, size: tuple[int, int]) -> None:
    assert snap_compare(fixed_app, terminal_size=size, run_before=compare_on("profile"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare_params(snap_compare: Any, fixed_app: TuiflowApp, size: tuple[int, int]) -> None:
    assert snap_compare(fixed_app, terminal_size=size, run_before=compare_on("params"))
