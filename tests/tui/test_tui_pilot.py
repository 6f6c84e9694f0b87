"""The app under Pilot against a real store and a real daemon on two simulated GPUs: launch a grid from
the form, watch runs progress and finish, read a running pipeline's profile, cancel with c then y,
and see a bad parameter refused beside its field with nothing stored."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input
from tui_helpers import Lab, daemon_home, wait_for

from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.render import profile_lines
from tuiflow.tui.screens.confirm import ConfirmScreen
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.screens.launch import LaunchScreen
from tuiflow.tui.widgets.gpu_panel import GpuPanel
from tuiflow.tui.widgets.param_form import ParamRow
from tuiflow.tui.widgets.recipe_list import RecipeList
from tuiflow.tui.widgets.runs_table import RunsTable

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    yield from daemon_home(tmp_path, monkeypatch)


@pytest.fixture
def quiet_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    """A home with a store and no daemon."""
    yield from daemon_home(tmp_path, monkeypatch, start=False)


def app_for(home: Path) -> TuiflowApp:
    return TuiflowApp(Options(home=home, refresh_s=0.2, hostname="test-box"))


async def open_recipe(pilot, app: TuiflowApp, name: str) -> LaunchScreen:  # type: ignore[no-untyped-def]
    """Press l, pick a recipe; the launch screen once its form is built."""
    await pilot.press("l")
    screen = await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen.recipes
                            and app.screen, what="the launch screen's recipes")
    recipes = screen.query_one(RecipeList)
    recipes.highlighted = recipes.get_option_index(name)
    await wait_for(pilot, lambda: screen.recipe is not None and screen.recipe.name == name
                   and screen.query(ParamRow), what=f"the form of {name}")
    return screen


async def type_into(pilot, screen: LaunchScreen, field: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """Clear a field and type into it key by key, as a user does."""
    widget = screen.query_one(f"#{field}", Input)
    widget.focus()
    widget.value = ""
    await pilot.press(*text)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_launch_a_grid_from_the_form_and_watch_it_finish(home: Lab, size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app = app_for(home.home)
        async with app.run_test(size=size) as pilot:
            screen = await open_recipe(pilot, app, "sleep")
            await type_into(pilot, screen, "param-seconds", "1.5")
            await type_into(pilot, screen, "param-steps", "3,5")
            await wait_for(pilot, lambda: screen.count == 2 and not screen.errors, what="the run count 2")
            assert "2 values" in str(screen.query_one("#note-steps").render())
            await pilot.press("f5")
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen,
                                  what="the dashboard after the launch")
            table = dash.query_one(RunsTable)
            ids = await wait_for(pilot, lambda: sorted(i for i, r in table.lines.items() if r.recipe == "sleep"),
                                 what="the new runs in the table")
            assert len(ids) == 2
            await wait_for(pilot, lambda: table.selected_id == ids[0], what="the first new run selected")
            seen_progress = await wait_for(
                pilot, lambda: any(table.lines[i].status == "running" and (table.lines[i].progress or 0) > 0
                                   for i in ids), timeout=30, what="a run making progress")
            assert seen_progress
            panel = dash.query_one(GpuPanel)
            assert panel.telemetry is not None and len(panel.telemetry.gpus) == 2
            await wait_for(pilot, lambda: all(table.lines[i].status == "done" for i in ids), timeout=60,
                           what="both runs done")
            assert [r.status for r in home.runs(ids)] == ["done", "done"]
            assert sorted(r.config["steps"] for r in home.runs(ids)) == [3, 5]
            assert not dash.poll_errors

    asyncio.run(scenario())


def test_the_profile_of_a_running_pipeline_shows_its_actions(home: Lab) -> None:
    [run] = home.submit("tiny-pipeline", sets=["epochs=200"], gpus=1)

    async def scenario() -> None:
        app = app_for(home.home)
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen)
            table = dash.query_one(RunsTable)
            await wait_for(pilot, lambda: run.id in table.lines and table.lines[run.id].status == "running",
                           timeout=30, what="the pipeline run running")
            table.select(run.id)
            detail = await wait_for(pilot, lambda: dash.detail is not None and dash.detail.run_id == run.id
                                    and len(dash.detail.profile) == 2 and dash.detail, timeout=30,
                                    what="its profile")
            assert {p.action.split(" #")[0] for p in detail.profile} == {"load_slowly", "crunch"}
            lines = [line.plain for line in profile_lines(detail.profile, 39, app.glyphs)]
            slowest = next(line for line in lines if line.endswith("◀"))
            assert "slowest" in dash.query_one("#profile").border_title
            assert "load_slowly" in slowest
            panel = dash.query_one(GpuPanel)
            await wait_for(pilot, lambda: any(run.id in card.runs for card in panel.telemetry.gpus)
                           if panel.telemetry else False, what="the run on a GPU card")
            await wait_for(pilot, lambda: dash.detail.metric == "loss" and dash.detail.log_lines, timeout=20,
                           what="its metric and log")
            print("current action:", dash.detail.action)
            assert not dash.poll_errors

    asyncio.run(scenario())


def test_cancel_with_c_then_y_ends_the_run_cancelled(home: Lab) -> None:
    [run] = home.submit("sleep", sets=["seconds=120", "steps=120"], gpus=1)

    async def scenario() -> None:
        app = app_for(home.home)
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen)
            table = dash.query_one(RunsTable)
            await wait_for(pilot, lambda: run.id in table.lines and table.lines[run.id].status == "running",
                           timeout=30, what="the run running")
            table.select(run.id)
            table.focus()
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the y/n question")
            await pilot.press("y")
            await wait_for(pilot, lambda: table.lines[run.id].status == "cancelled", timeout=30,
                           what="the run shown cancelled")
        home.wait_status(run.id, "cancelled")

    asyncio.run(scenario())


def test_no_cancels_nothing(home: Lab) -> None:
    [run] = home.submit("sleep", sets=["seconds=60", "steps=60"], gpus=1)

    async def scenario() -> None:
        app = app_for(home.home)
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen)
            table = dash.query_one(RunsTable)
            await wait_for(pilot, lambda: run.id in table.lines, what="the run listed")
            table.select(run.id)
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the y/n question")
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="back on the dashboard")
        assert home.run(run.id).status in ("queued", "running")

    asyncio.run(scenario())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_bad_parameter_is_said_beside_its_field_and_nothing_is_stored(quiet_home: Lab,
                                                                        size: tuple[int, int]) -> None:
    before = len(quiet_home.store.list_experiments())

    async def scenario() -> None:
        app = app_for(quiet_home.home)
        async with app.run_test(size=size) as pilot:
            screen = await open_recipe(pilot, app, "sleep")
            await type_into(pilot, screen, "param-seconds", "abc")
            await wait_for(pilot, lambda: "seconds" in screen.errors, what="the form's own error")
            note = await wait_for(pilot, lambda: str(screen.query_one("#error-seconds").render()), what="the error")
            assert "not a number" in note and note.startswith("!")
            await type_into(pilot, screen, "param-seconds", "inf")  # a number lab refuses
            await wait_for(pilot, lambda: "finite" in screen.errors.get("seconds", ""), what="lab's error")
            assert "finite" in str(screen.query_one("#error-seconds").render())
            await pilot.press("f5")
            await pilot.pause(0.5)
            assert isinstance(app.screen, LaunchScreen)
            # A launch lab refuses as a whole (more GPUs per run than there are) stores nothing either.
            await type_into(pilot, screen, "param-seconds", "1")
            await type_into(pilot, screen, "opt-num_gpus", "5")
            await wait_for(pilot, lambda: not screen.errors and screen.count == 1, what="a clean form")
            await pilot.press("f5")
            refusal = screen.query_one("#launch-result")
            message = await wait_for(pilot, lambda: "nothing stored" in str(refusal.render()) and str(refusal.render()),
                                     what="the refusal")
            assert "5 GPUs" in message
            assert isinstance(app.screen, LaunchScreen)

    asyncio.run(scenario())
    assert len(quiet_home.store.list_experiments()) == before
    assert quiet_home.daemon_pid() is None


def test_an_empty_home_says_how_to_launch_and_stays_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "nothing-here"
    monkeypatch.setenv("TUIFLOW_HOME", str(home))

    async def scenario() -> None:
        app = app_for(home)
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen
                                  and app.screen.runs_view is not None and app.screen)
            note = await wait_for(pilot, lambda: str(dash.query_one("#empty").render()))
            assert "Press l to launch" in note
            await pilot.press("h")
            empty = await wait_for(pilot, lambda: type(app.screen).__name__ == "HistoryScreen"
                                   and app.screen.query_one("#empty").display
                                   and str(app.screen.query_one("#empty").render()), what="History, empty")
            assert "Nothing has run in" in empty and "Press l to launch" in empty
            await pilot.press("d", "question_mark")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen", what="the help")
            await pilot.press("escape", "q")

    asyncio.run(scenario())
    assert not home.exists() or not any(home.iterdir())
