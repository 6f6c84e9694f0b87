"""Snapshots of History at 80x24 and 120x40 on fixed data (tests/history_home.py, times fixed, the clock
frozen as in fixed_home): the experiments, and one experiment's runs sorted by accuracy with two marked.
Update with `pytest tests/tui/test_history_snapshots.py --snapshot-update`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fixed_home import FIXED_NOW, HOSTNAME, freeze
from history_home import build_history
from tui_helpers import wait_for

from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.history import HistoryScreen
from tuiflow.tui.widgets.experiments_table import ExperimentsTable

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def history_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TuiflowApp:
    freeze(monkeypatch, tmp_path)
    home = tmp_path / "home"
    build_history(home, now=FIXED_NOW).close()
    return TuiflowApp(Options(home=home, refresh_s=3600, hostname=HOSTNAME, clock=lambda: FIXED_NOW))


async def experiments_drawn(pilot: Any) -> HistoryScreen:
    await pilot.press("h")
    screen = await wait_for(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen)
                            and pilot.app.screen.experiments_best and pilot.app.screen, what="the experiments")
    # The best metrics widen columns: the table is laid out again after they are shown (once, under load,
    # the snapshot caught the layout before it).
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    return screen


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_history_experiments(snap_compare: Any, history_app: TuiflowApp, size: tuple[int, int]) -> None:
    assert snap_compare(history_app, terminal_size=size, run_before=experiments_drawn)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_history_runs(snap_compare: Any, history_app: TuiflowApp, size: tuple[int, int]) -> None:
    async def runs_drawn(pilot: Any) -> None:
        screen = await experiments_drawn(pilot)
        screen.query_one(ExperimentsTable).move_cursor(row=1)  # cnn-sweep
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.page is not None and not screen.busy, what="its runs")
        await pilot.press("slash", *"status=done", "enter")
        await wait_for(pilot, lambda: screen.filter == "status=done" and not screen.busy, what="filtered")
        screen.sort_by("-metrics.accuracy")
        await wait_for(pilot, lambda: screen.sort == "-metrics.accuracy" and not screen.busy, what="sorted")
        await pilot.press("down", "space", "space")
        await pilot.pause()

    assert snap_compare(history_app, terminal_size=size, run_before=runs_drawn)
