"""What the screens look like where the snapshots do not reach: many GPUs, a history shorter than its
sparkline, one screen's styles leaking into another's widgets."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from fixed_home import app_on
from tui_helpers import wait_for

from tuiflow.lab.gauges import Glyphs
from tuiflow.tui import TuiflowApp
from tuiflow.tui.render import spark
from tuiflow.tui.screens.confirm import ConfirmScreen
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.screens.launch import LaunchScreen
from tuiflow.tui.views import Telemetry
from tuiflow.tui.widgets.gpu_panel import GpuPanel


async def drawn(pilot, app: TuiflowApp) -> DashboardScreen:  # type: ignore[no-untyped-def]
    return await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.telemetry is not None
                          and app.screen.runs_view is not None and app.screen, what="the dashboard's data")


def with_gpus(telemetry: Telemetry, count: int) -> Telemetry:
    """The same reading with `count` GPUs (copies of the first, renumbered)."""
    first = telemetry.gpus[0]
    gpus = tuple(dataclasses.replace(first, index=i, runs=()) for i in range(count))
    return dataclasses.replace(telemetry, gpus=gpus)


def test_a_short_history_fills_the_sparkline_from_the_right() -> None:
    glyphs = Glyphs.pick(False)
    line = spark([50.0, 100.0], 6, glyphs).plain
    assert line[:4] == "    " and line[4:] == "▅█"
    assert len(spark([], 6, glyphs).plain) == 6
    assert " " not in spark([float(v) for v in range(30)], 6, glyphs).plain  # more values than cells: no gaps


@pytest.mark.parametrize(("size", "shown"), [((80, 24), 7), ((120, 40), 12)], ids=["80x24", "120x40"])
def test_more_gpus_than_fit_say_how_many_more(fixed_home: Path, size: tuple[int, int], shown: int) -> None:
    async def scenario() -> None:
        app = app_on(fixed_home)
        async with app.run_test(size=size) as pilot:
            dash = await drawn(pilot, app)
            panel = dash.query_one(GpuPanel)
            panel.show(with_gpus(dash.telemetry, 12))
            await pilot.pause()
            lines = [line.plain for line in panel.lines(panel.size.width)]
            text = "\n".join(lines)
            assert sum(line.startswith("GPU") for line in lines) == shown
            if shown < 12:
                assert f"+{12 - shown} more GPUs" in text and panel.region.height == shown + 1
            else:
                assert "more GPUs" not in text and panel.region.height == 12

    asyncio.run(scenario())


def test_the_launch_screens_styles_stay_on_the_launch_screen(fixed_home: Path) -> None:
    """Both screens have a #gpus; the launch form's (at most 6 lines) must not cut the dashboard's."""
    async def scenario() -> None:
        app = app_on(fixed_home)
        async with app.run_test(size=(120, 40)) as pilot:
            dash = await drawn(pilot, app)
            await pilot.press("l")
            await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen.recipes)
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is dash)
            panel = dash.query_one(GpuPanel)
            panel.show(with_gpus(dash.telemetry, 8))
            await pilot.pause()
            assert panel.region.height == 8

    asyncio.run(scenario())


def test_the_cancel_question_is_as_tall_as_what_it_says(fixed_home: Path) -> None:
    async def scenario() -> None:
        app = app_on(fixed_home)
        async with app.run_test(size=(80, 24)) as pilot:
            await drawn(pilot, app)
            await pilot.press("c")
            screen = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen)
            await pilot.pause()
            assert screen.query_one("#detail").region.height == 1  # not the dashboard's #detail (9 lines)
            await pilot.press("n")

    asyncio.run(scenario())
