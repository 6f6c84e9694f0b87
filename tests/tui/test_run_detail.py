"""Run detail under Pilot: a run's parameters and final metrics, its curves (another metric, a log
scale), where its time goes, its log searched with / n N, a failed run's error and traceback, and a
real running run on a real daemon whose detail follows it until it ends."""

from __future__ import annotations

import asyncio
import io
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from compare_home import CONFIGS, ERROR, FINAL, PROFILES, STEPS, build, log_lines, loss
from fixed_home import HOSTNAME, freeze
from rich.console import Console
from textual.widgets import OptionList, Static
from tui_helpers import Lab, daemon_home, wait_for

from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.screens.run_detail import RunDetailScreen
from tuiflow.tui.widgets.log_search import LogSearch
from tuiflow.tui.widgets.plot import CurvePlot, LogAxisFormatter
from tuiflow.tui.widgets.run_panes import OverviewPane, ProfilePane, TelemetryPane
from tuiflow.tui.widgets.runs_table import RunsTable

SIZES = [(80, 24), (120, 40)]


def drawn(widget: Any) -> str:
    """What a widget draws, as plain text at its width."""
    console = Console(width=max(20, widget.size.width), record=True, file=io.StringIO(), color_system=None)
    console.print(widget.render())
    return console.export_text()


def fixed_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """compare_home's runs, their times fixed; the clock stays at its NOW while the app runs."""
    clock = freeze(monkeypatch, tmp_path)
    home = tmp_path / "home"
    build(home, lambda t: setattr(clock, "now", t)).close()
    return home


def fixed_app(home: Path) -> TuiflowApp:
    return TuiflowApp(Options(home=home, refresh_s=3600, hostname=HOSTNAME, clock=time.time))


async def open_detail(pilot: Any, run_id: int) -> RunDetailScreen:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.runs_view is not None,
                   what="the dashboard")
    app.action_open_run(run_id)
    screen = await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.reads
                            and app.screen, what=f"run {run_id}'s detail")
    await pilot.pause()
    return screen


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_params_metrics_profile_and_log_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                size: tuple[int, int]) -> None:
    home = fixed_home(tmp_path, monkeypatch)

    async def scenario() -> None:
        app = fixed_app(home)
        async with app.run_test(size=size) as pilot:
            screen = await open_detail(pilot, 1)
            head = str(screen.query_one("#detail-head", Static).render())
            assert "run 1" in head and "cnn-sweep" in head and "done" in head
            overview = drawn(screen.query_one(OverviewPane))
            for key, value in CONFIGS[1].items():
                assert any(line.split()[:2] == [key, str(value)] for line in overview.splitlines()), key
            for key, value in FINAL[1].items():
                assert any(line.split()[:2] == [key, str(value)] for line in overview.splitlines()), key

            # Metrics: the first metric's curve, then another chosen from the list, then a log scale.
            await pilot.press("2")
            assert screen.active_tab == "metrics"
            plot = screen.query_one(CurvePlot)
            assert screen.curve is not None and screen.curve.key == "accuracy" and len(screen.curve.values) == STEPS
            keys = screen.query_one("#metric-keys", OptionList)
            keys.focus()
            await pilot.press("down")
            await wait_for(pilot, lambda: screen.curve is not None and screen.curve.key == "loss", what="loss")
            assert screen.curve.values == pytest.approx([loss(1, step) for step in range(1, STEPS + 1)])
            assert plot.shown is not None and plot.shown[1] is False
            await pilot.press("g")
            assert screen.log_y and plot.shown[1] is True and isinstance(plot._y_formatter, LogAxisFormatter)
            assert "log scale" in str(screen.query_one("#curve-head", Static).render())
            await pilot.press("g")
            assert not screen.log_y and plot.shown[1] is False

            # Profile: each action with its share, the slowest marked.
            await pilot.press("3")
            await pilot.pause()
            profile = drawn(screen.query_one(ProfilePane))
            total = sum(t for _, t in PROFILES[1])
            for action, seconds in PROFILES[1]:
                name = action.split(" #")[0]
                line = next(line for line in profile.splitlines() if line.split()[:1] == [name])
                assert f"{seconds / total * 100:.0f}%" in line, line
                assert ("slowest" in line or "◀" in line) == (seconds == max(t for _, t in PROFILES[1])), line

            # Telemetry: the run's CPU and memory, sampled over its life.
            await pilot.press("4")
            await pilot.pause()
            telemetry = drawn(screen.query_one(TelemetryPane))
            assert "CPU" in telemetry and "RSS" in telemetry and "GPU memory" in telemetry and "now" in telemetry

            # Log: / finds a line, n and N move between matches.
            await pilot.press("5", "slash")
            await pilot.press(*"epoch 7:", "enter")
            search = screen.query_one(LogSearch)
            expected = next(i for i, line in enumerate(log_lines(1)) if "epoch 7:" in line)
            assert search.current_line == expected
            assert search.area.selected_text.lower() == "epoch 7:"
            await pilot.press("slash")
            search.query_one("#log-find").value = ""
            await pilot.press(*"EPOCH", "enter")
            epochs = [i for i, line in enumerate(log_lines(1)) if "epoch" in line]
            assert len(search.matches) == len(epochs) and search.current_line == epochs[0]
            await pilot.press("n", "n")
            assert search.current_line == epochs[2]
            assert f"match 3 of {len(epochs)}" in str(search.query_one("#log-where", Static).render())
            await pilot.press("N")
            assert search.current_line == epochs[1]
            await pilot.press("slash", "escape")  # escape closes the search field, not the screen
            assert app.screen is screen and not search.has_class("-searching")
            await pilot.press("escape")
            assert isinstance(app.screen, DashboardScreen)

    asyncio.run(scenario())


def test_failed_run_shows_its_error_and_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = fixed_home(tmp_path, monkeypatch)

    async def scenario() -> None:
        app = fixed_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_detail(pilot, 3)
            assert "failed" in str(screen.query_one("#detail-head", Static).render())
            overview = drawn(screen.query_one(OverviewPane))
            assert "failed (exit 1)" in overview and ERROR in overview
            assert 'raise RuntimeError(f"loss is NaN at step {step}")' in overview
            assert screen._timer is None  # an ended run is read once

    asyncio.run(scenario())


def test_enter_on_the_dashboard_opens_the_run_detail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = fixed_home(tmp_path, monkeypatch)

    async def scenario() -> None:
        app = fixed_app(home)
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                                  and app.screen.query_one(RunsTable).lines and app.screen, what="the runs")
            table = dash.query_one(RunsTable)
            table.select(2)
            table.focus()
            await pilot.press("enter")
            screen = await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen,
                                    what="the run detail")
            assert screen.run_id == 2

    asyncio.run(scenario())


@pytest.fixture
def live_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    yield from daemon_home(tmp_path, monkeypatch)


def test_a_running_runs_detail_follows_it_until_it_ends(live_home: Lab) -> None:
    run = live_home.submit("sleep", sets=["seconds=6", "steps=24"])[0]

    async def scenario() -> None:
        app = TuiflowApp(Options(home=live_home.home, refresh_s=0.2, hostname="test-box"))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
            app.action_open_run(run.id)
            screen = await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.read
                                    and app.screen.read.info.status == "running" and app.screen, timeout=30,
                                    what="the run running")
            await wait_for(pilot, lambda: screen.curve is not None and 0 < len(screen.curve.values) < 24,
                           timeout=30, what="part of the curve")
            await pilot.press("4")  # the daemon samples the run's processes: shown while the tab is
            pane = screen.query_one(TelemetryPane)
            await wait_for(pilot, lambda: pane.series and any(v is not None for _, v in pane.series["rss_mb"]),
                           timeout=30, what="the run's memory sampled")
            first = len(screen.curve.values)
            await pilot.press("2")
            await wait_for(pilot, lambda: screen.curve is not None and len(screen.curve.values) > first, timeout=30,
                           what="the curve growing")
            await wait_for(pilot, lambda: screen.read.info.status == "done", timeout=60, what="the run done")
            assert screen.curve is not None
            assert "slept 6" in "\n".join(screen.query_one(LogSearch).lines)
            assert "steps" in screen.read.info.metrics
            reads = screen.reads
            await pilot.pause(0.8)
            assert screen.reads == reads and screen._timer is None  # no polling once it has ended
            assert math.isclose(screen.read.info.metrics["seconds"], 6.0)

    asyncio.run(scenario())



def test_log_axis_ticks_are_round_values() -> None:
    formatter = LogAxisFormatter()
    decades = formatter.get_ticks(math.log10(0.003), math.log10(40.0))
    assert formatter.get_labels_for_ticks(decades) == ["0.01", "0.1", "1", "10"]
    narrow = formatter.get_ticks(math.log10(0.55), math.log10(0.94))
    assert formatter.get_labels_for_ticks(narrow) == ["0.55", "0.6", "0.65", "0.7", "0.75", "0.8", "0.85", "0.9"]
