"""Keys of single screens (issue 20): `w` wraps the full-log screen's long lines or cuts them again;
`z` fits Compare's curves to their last quarter of steps, whose legend is a line above the plot."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from compare_home import STEPS, accuracy, loss
from compare_home import build as compare_home_build
from fixed_home import FIXED_NOW, HOSTNAME, build, freeze
from textual.widgets import Log, Static
from textual_plot.plot_widget import Legend
from tui_helpers import wait_for

from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.compare import CompareScreen
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.screens.log import LogScreen
from tuiflow.tui.widgets.plot import CurvePlot

LONG = ("tuiflow runner: run 1 of experiment 'cnn-sweep': recipe digits-cnn (/work/main/recipes/digits.py), "
        "pid 9193, CUDA_VISIBLE_DEVICES='0' and then some more words to read at the end")


@pytest.fixture
def fixed_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    clock = freeze(monkeypatch, tmp_path)
    home = tmp_path / "home"
    build(home, clock).close()
    with open(home / "logs" / "run-1.log", "a") as log:
        log.write(LONG + "\nlast line\n")
    return home


def app_on(home: Path) -> TuiflowApp:
    return TuiflowApp(Options(home=home, refresh_s=3600, hostname=HOSTNAME, clock=lambda: FIXED_NOW))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_w_wraps_the_full_log_and_cuts_it_again(fixed_home: Path, size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app = app_on(fixed_home)
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
            app.push_screen(LogScreen(1))
            screen = await wait_for(pilot, lambda: isinstance(app.screen, LogScreen) and app.screen.lines
                                    and app.screen)
            log = screen.query_one(Log)
            assert "last line" in screen.lines
            assert [line for line in log.lines if line.startswith("tuiflow runner: run 1")][-1] == LONG  # cut
            await pilot.press("w")
            await pilot.pause()
            width = log.scrollable_content_region.width
            assert screen.wrap and all(len(row) <= width for row in log.lines)
            joined = " ".join(log.lines)
            assert LONG in joined and "last line" in log.lines  # every word there, between words
            assert log.max_scroll_x == 0  # nothing to scroll sideways to
            await pilot.press("w")
            await pilot.pause()
            assert not screen.wrap and LONG in log.lines

    asyncio.run(scenario())


# --- Compare's curves: `z`, and the legend above the plot ---------------------------------------------
@pytest.fixture
def compare_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    clock = freeze(monkeypatch, tmp_path)
    path = tmp_path / "compare-home"
    compare_home_build(path, lambda t: setattr(clock, "now", t)).close()
    return path


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_z_fits_the_curves_last_quarter_and_the_legend_is_above_the_plot(compare_home: Path,
                                                                          size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app = TuiflowApp(Options(home=compare_home, refresh_s=3600, hostname=HOSTNAME))
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.runs_view is not None)
            app.action_compare([1, 2, 3])
            screen = await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.reads
                                    and app.screen, what="the comparison")
            await pilot.press("4")
            await pilot.pause()
            plot = screen.query_one("#compare-curve", CurvePlot)
            assert not plot.query_one(Legend).display  # nothing over the curves
            head = str(screen.query_one("#compare-curve-head", Static).render())
            metric = screen.metric
            finals = {run: compare_metric(metric, run, STEPS) for run in (1, 2)}
            assert all(f"#{run} {value:.4g}" in head for run, value in finals.items()), head
            full = plot._y_max - plot._y_min  # textual-plot's axis limits
            await pilot.press("z")
            await pilot.pause()
            assert "last 25% of steps" in str(screen.query_one("#compare-curve-head", Static).render())
            assert plot._x_min >= 1 + 0.75 * (STEPS - 1) - 1e-9 and plot._x_max == STEPS
            tail = [value for curve in screen.result.curves for step, value in zip(curve.steps, curve.values)
                    if step >= plot._x_min and value is not None]
            assert plot._y_min <= min(tail) and plot._y_max >= max(tail)
            assert plot._y_max - plot._y_min < (max(tail) - min(tail)) * 1.5 < full / 4  # final values apart
            await pilot.press("z")
            await pilot.pause()
            assert plot._y_max - plot._y_min == pytest.approx(full)

    asyncio.run(scenario())


def compare_metric(metric: str | None, run_id: int, step: int) -> float:
    return {"accuracy": accuracy, "loss": loss}[metric or ""](run_id, step)
