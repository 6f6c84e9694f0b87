"""Clone (`n` in History): Launch opens on the run's recipe and exact parameters; an edit and F5 launch
an experiment that records the run it came from."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import Input, Select, Static
from tui_helpers import wait_for

from tuiflow import lab
from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.history import HistoryScreen
from tuiflow.tui.screens.launch import LaunchScreen
from tuiflow.tui.widgets.param_form import ParamForm


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TUIFLOW_HOME", "TUIFLOW_FAKE_GPUS", "TUIFLOW_RECIPES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "home"
    with lab.open(path, create=True) as opened:
        opened.launch(opened.plan("sleep", {"seconds": 0.5, "steps": 7, "fail": "raise"}), start_daemon=False)
    return path


def test_clone_from_history_opens_launch_with_the_runs_parameters_and_records_it(home: Path) -> None:
    async def scenario() -> None:
        app = TuiflowApp(Options(home=home, refresh_s=3600, hostname="test-box"))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("h")
            screen = await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen)
                                    and app.screen.experiments is not None and app.screen, what="History")
            await pilot.press("a")  # every run
            await wait_for(pilot, lambda: screen.page is not None and not screen.busy, what="a page of runs")
            await pilot.press("n")
            launch = await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen.source_run
                                    and app.screen.query(ParamForm) and app.screen, what="Launch, cloned")
            assert launch.source_run == 1 and launch.recipe is not None and launch.recipe.name == "sleep"
            assert "cloned from run 1" in str(launch.query_one("#recipe-head", Static).render())
            assert launch.query_one("#param-seconds", Input).value == "0.5"
            assert launch.query_one("#param-steps", Input).value == "7"
            fail = launch.query_one("#param-fail", Select)
            assert launch.query_one("#row-fail").field.choices[fail.value] == "raise"
            launch.query_one("#param-steps", Input).value = "9"
            await wait_for(pilot, lambda: launch.count == 1 and not launch.errors, what="the form checked")
            await pilot.press("f5")
            await wait_for(pilot, lambda: not isinstance(app.screen, LaunchScreen), what="the launch")
            # Once more, with the Launch screen already made: the form starts from the run again.
            await pilot.press("h")
            await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen), what="History again")
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen.source_run == 1
                           and app.screen.query("#param-steps"), what="Launch, cloned again")
            await wait_for(pilot, lambda: app.screen.query_one("#param-steps", Input).value == "7",
                           what="the run's steps, not the ones typed last time")

    asyncio.run(scenario())
    with lab.open(home) as opened:
        experiments = opened.list_experiments()
        assert len(experiments) == 2
        clone = opened.store.get_experiment(max(e["id"] for e in experiments))
        assert clone.source_run == 1
        (run,) = opened.experiment_runs(clone.id)
        source = opened.get_run(1)
        assert run.config == {**source.config, "steps": 9}
