"""Compare under Pilot: three runs with only the differing parameters (all after `a`), final metrics,
each action's time as a ratio to the baseline's, a pinned baseline first in the next comparison,
overlaid curves, marking on the dashboard, and an unknown run said in one line."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from compare_home import CONFIGS, FINAL, PROFILES, build
from fixed_home import HOSTNAME, freeze
from textual.widgets import DataTable, Static
from tui_helpers import wait_for

from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.compare import CompareScreen
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.widgets.plot import CurvePlot
from tuiflow.tui.widgets.runs_table import RunsTable

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    clock = freeze(monkeypatch, tmp_path)
    path = tmp_path / "home"
    build(path, lambda t: setattr(clock, "now", t)).close()
    return path


def app_for(home: Path) -> TuiflowApp:
    return TuiflowApp(Options(home=home, refresh_s=3600, hostname=HOSTNAME, clock=time.time))


async def compare(pilot: Any, run_ids: list[int]) -> CompareScreen:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.runs_view is not None,
                   what="the dashboard")
    app.action_compare(run_ids)
    screen = await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.reads
                            and app.screen, what=f"the comparison of {run_ids}")
    await pilot.pause()
    return screen


def rows(table: DataTable) -> list[str]:
    return [str(row.key.value) for row in table.ordered_rows]


def cell(table: DataTable, row: str, run_id: int) -> str:
    return table.get_cell(row, str(run_id)).plain


def expected_ratio(action: str, run_id: int, base: int) -> str:
    times = {run: dict(PROFILES[run]) for run in PROFILES}
    return f"{times[run_id][action] / times[base][action]:.2f}x"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_three_runs_differing_params_metrics_and_profile_ratios(home: Path, size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app = app_for(home)
        async with app.run_test(size=size) as pilot:
            screen = await compare(pilot, [1, 2, 3])
            params = screen.query_one("#params-table", DataTable)
            shown = [key for key in rows(params) if key.startswith("param.")]
            assert shown == ["param.lr", "param.model"]  # epochs and batch_size are the same in all three
            assert [cell(params, "param.lr", run) for run in (1, 2, 3)] == ["0.001", "0.003", "0.01"]
            assert cell(params, "run.status", 3) == "failed"
            await pilot.press("a")
            assert [key for key in rows(params) if key.startswith("param.")] == [f"param.{k}" for k in CONFIGS[1]]
            await pilot.press("a")
            assert len([key for key in rows(params) if key.startswith("param.")]) == 2

            await pilot.press("2")
            metrics = screen.query_one("#metrics-table", DataTable)
            assert cell(metrics, "metric.accuracy", 1) == str(FINAL[1]["accuracy"])
            assert cell(metrics, "metric.accuracy", 2) == str(FINAL[2]["accuracy"])
            assert cell(metrics, "metric.accuracy", 3) == "-"

            await pilot.press("3")
            profile = screen.query_one("#profile-table", DataTable)
            for action, seconds in PROFILES[1]:
                key = f"action.0.{action}"
                assert cell(profile, key, 1) == f"{seconds:.1f}s"  # the baseline: no ratio
                assert cell(profile, key, 2).endswith(expected_ratio(action, 2, 1))
            assert cell(profile, "action.0.load #1", 2) == "21.0s 2.10x"  # run 2 is slower: load doubled
            assert cell(profile, "action.0.update #3", 3) == "-"
            head = str(screen.query_one("#compare-head", Static).render())
            assert "baseline #1" in head and "2 of 4 params differ" in head

            await pilot.press("4")
            plot = screen.query_one(CurvePlot)
            assert plot.shown is not None and [s.label for s in plot.shown[0]] == ["#1", "#2", "#3"]
            assert screen.metric == "accuracy"

    asyncio.run(scenario())


def test_pinned_baseline_is_first_in_the_next_compare(home: Path) -> None:
    async def scenario() -> None:
        app = app_for(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await compare(pilot, [1, 2, 3])
            await pilot.press("3")
            profile = screen.query_one("#profile-table", DataTable)
            profile.focus()
            await pilot.press("right")  # from run 1's column to run 2's
            assert profile.cursor_column == 2
            reads = screen.reads
            await pilot.press("b")
            await wait_for(pilot, lambda: screen.reads > reads, what="the comparison again")
            assert app.baseline_run == 2 and screen.result.comparison.ids == (2, 1, 3)
            assert cell(profile, "action.0.load #1", 1) == f"10.0s {expected_ratio('load #1', 1, 2)}"
            await pilot.press("escape")

            later = await compare(pilot, [3, 1])
            assert later.result.comparison.ids == (2, 3, 1)
            params = later.query_one("#params-table", DataTable)
            assert str(params.ordered_columns[1].label).startswith("#2 pinned")
            profile = later.query_one("#profile-table", DataTable)
            assert cell(profile, "action.0.load #1", 3) == f"5.0s {expected_ratio('load #1', 3, 2)}"
            params.focus()
            params.move_cursor(column=1)
            await pilot.press("b")  # b on the pinned run unpins it
            await wait_for(pilot, lambda: app.baseline_run is None and later.result.comparison.ids[0] == 3,
                           what="the pin gone")

    asyncio.run(scenario())


def test_mark_on_the_dashboard_then_compare(home: Path) -> None:
    async def scenario() -> None:
        app = app_for(home)
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen)
                                  and app.screen.query_one(RunsTable).lines and app.screen, what="the runs")
            table = dash.query_one(RunsTable)
            table.focus()
            for run_id in (3, 1):
                table.select(run_id)
                await pilot.press("space")
            assert dash.marked == [3, 1] and "marked #3 #1" in str(dash.query_one("#runs-box").border_title)
            await pilot.press("m")
            screen = await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.reads
                                    and app.screen, what="the comparison")
            assert screen.result.comparison.ids == (3, 1)

    asyncio.run(scenario())


def test_an_unknown_run_is_one_line(home: Path) -> None:
    async def scenario() -> None:
        app = app_for(home)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
            app.action_compare([1, 99])
            screen = await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.problem
                                    and app.screen, what="the error")
            assert "99" in screen.problem and "\n" not in screen.problem

    asyncio.run(scenario())


def test_ascii_history_detail_and_compare_draw_no_block_or_braille_glyph(home: Path) -> None:
    """--ascii reaches the screens of issue 13 too: History, a run's curve and profile, overlaid curves."""
    from tuiflow.tui.screens.history import HistoryScreen
    from tuiflow.tui.screens.run_detail import RunDetailScreen

    def glyphs(text: str) -> set[str]:
        return {c for c in text if 0x2580 <= ord(c) <= 0x259F or 0x2800 <= ord(c) <= 0x28FF}

    async def scenario() -> None:
        app = TuiflowApp(Options(home=home, refresh_s=3600, hostname=HOSTNAME, clock=time.time, ascii=True))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await compare(pilot, [1, 2, 3])
            for tab in ("1", "2", "3", "4"):
                await pilot.press(tab)
                await pilot.pause()
                assert glyphs(app.export_screenshot()) == set(), f"compare tab {tab}"
            assert screen.query_one(CurvePlot).display
            await pilot.press("escape")
            app.action_open_run(1)
            detail = await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.curve
                                    is not None and app.screen, what="the run's detail")
            for tab in ("1", "2", "3", "4", "5"):
                await pilot.press(tab)
                await pilot.pause()
                assert glyphs(app.export_screenshot()) == set(), f"detail tab {tab}"
            assert detail.curve is not None
            await pilot.press("escape", "h")
            history = await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen)
                                     and app.screen.experiments_best and app.screen, what="History")
            await pilot.press("a")
            await wait_for(pilot, lambda: history.page is not None and not history.busy, what="all runs")
            await pilot.pause()
            assert glyphs(app.export_screenshot()) == set(), "History"

    asyncio.run(scenario())
