"""The launch form as a user meets it (issue 20, point 14), under Pilot at 80x24 and 120x40 against a
real store: each parameter's unit beside it and the focused one's help whole; a long error wrapped
whole under its field; only the focused widget drawn focused (the Launch button too); the GPU header
after a tick; a 2,000-run grid asks y/n and launches on y; the run count follows every key."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.color import Color
from textual.widget import Widget
from textual.widgets import Button, Input
from tui_helpers import Lab, daemon_home, wait_for

import tuiflow.tui.screens.launch as launch_module
from tuiflow import lab
from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.confirm import ConfirmScreen
from tuiflow.tui.screens.launch import LaunchScreen
from tuiflow.tui.widgets.gpu_picker import GpuPicker
from tuiflow.tui.widgets.param_form import ParamRow
from tuiflow.tui.widgets.recipe_list import RecipeList

SIZES = [(80, 24), (120, 40)]
IDS = ["80x24", "120x40"]


@pytest.fixture
def quiet_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    """A home with a store, two simulated GPUs and no daemon (a launch starts one)."""
    yield from daemon_home(tmp_path, monkeypatch, start=False)


def app_for(home: Path) -> TuiflowApp:
    return TuiflowApp(Options(home=home, refresh_s=0.2, hostname="test-box"))


async def open_recipe(pilot: Any, app: TuiflowApp, name: str, checked: bool = True) -> LaunchScreen:
    """Press l, pick a recipe; the launch screen once its form is built (and, with `checked`, checked)."""
    await pilot.press("l")
    screen = await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen.recipes
                            and app.screen.query_one(RecipeList).option_count and app.screen,
                            what="the launch screen's recipes")
    recipes = screen.query_one(RecipeList)
    recipes.highlighted = recipes.get_option_index(name)
    await wait_for(pilot, lambda: screen.recipe is not None and screen.recipe.name == name
                   and screen.query(ParamRow) and (screen.count is not None or not checked),
                   what=f"the form of {name}")
    return screen


async def type_into(pilot: Any, screen: LaunchScreen, field: str, text: str) -> None:
    """Clear a field and type into it key by key, as a user does."""
    widget = screen.query_one(f"#{field}", Input)
    widget.focus()
    widget.value = ""
    await pilot.press(*text)


def drawn(app: TuiflowApp) -> list[Any]:
    """The screen as drawn: one strip (segments) per line."""
    return app.screen._compositor.render_strips()


def text_of(app: TuiflowApp, widget: Widget) -> str:
    """The text drawn in a widget's region, its lines joined by spaces (what a user reads there)."""
    region = widget.region
    lines = []
    for y in range(region.y, region.bottom):
        strip = drawn(app)[y].crop(region.x, region.right)
        lines.append(strip.text.rstrip())
    return re.sub(r"\s+", " ", " ".join(lines)).strip()


def looks(app: TuiflowApp, widget: Widget) -> set[tuple[Any, bool]]:
    """The background colours and reverse attributes drawn in a widget's region."""
    region = widget.region
    found = set()
    for y in range(region.y, region.bottom):
        for segment in drawn(app)[y].crop(region.x, region.right):
            style = segment.style
            if style is not None and segment.text.strip():
                found.add(((style.bgcolor.triplet if style.bgcolor else None), bool(style.reverse)))
    return found


def highlighted(app: TuiflowApp, widget: Widget) -> bool:
    """Whether a widget is drawn as the focus is: in the theme's primary colour, or reversed."""
    primary = Color.parse(app.current_theme.primary).triplet
    return any(reverse or background == primary for background, reverse in looks(app, widget))


def on_screen(app: TuiflowApp, widget: Widget) -> bool:
    width, height = app.size
    region = widget.region
    return region.height > 0 and region.x >= 0 and region.right <= width and region.bottom <= height


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_each_field_shows_its_unit_and_the_focused_ones_help_whole(quiet_home: Lab, size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app = app_for(quiet_home.home)
        async with app.run_test(size=size) as pilot:
            screen = await open_recipe(pilot, app, "sleep")
            assert text_of(app, screen.query_one("#note-seconds")).startswith("s ")  # the unit, beside it
            screen.query_one("#param-seconds").focus()
            await pilot.pause()
            help_line = screen.query_one("#field-help")
            assert on_screen(app, help_line)
            assert text_of(app, help_line) == "seconds (s): how long the whole run sleeps, split evenly over its steps"
            screen.query_one("#param-fail_at").focus()
            await pilot.pause()
            assert text_of(app, help_line) == ("fail_at: the step fail ends the run at, counted from 0 (0: before any "
                                               "sleep; steps or more: never)")
            screen.query_one("#opt-retries").focus()
            await pilot.pause()
            assert text_of(app, help_line) == ("retries: run a failed or lost run again up to this many times "
                                               "(0 to 1,000)")
            assert on_screen(app, screen.query_one("#launch"))  # the help takes no room the button needs
            screen.query_one("#gpus").focus()
            await pilot.pause()
            assert text_of(app, help_line).startswith("GPUs: space ticks or unticks the highlighted GPU")
            screen.query_one("#launch").focus()  # what space does here is said before it is pressed
            await pilot.pause()
            assert text_of(app, help_line) == ("Launch: enter or space launches the runs the form describes (f5 "
                                               "from anywhere)")

    asyncio.run(scenario())


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_a_long_error_wraps_whole_under_its_field(quiet_home: Lab, size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app = app_for(quiet_home.home)
        async with app.run_test(size=size) as pilot:
            screen = await open_recipe(pilot, app, "sleep")
            await type_into(pilot, screen, "param-steps", "99999999999999999999")
            said = ("99999999999999999999 is outside the 64-bit range a store can hold (-2**63 to 2**63 - 1)")
            await wait_for(pilot, lambda: screen.errors.get("steps") == said, what="lab's error")
            error = screen.query_one("#error-steps")
            await wait_for(pilot, lambda: error.region.height > 0, what="the error drawn")
            assert on_screen(app, error)
            assert text_of(app, error) == f"! {said}"  # whole, not cut at the right edge
            form = screen.query_one("#form")
            assert error.region.y > screen.query_one("#param-steps").region.y  # under the field
            assert error.region.right <= form.region.right
            await type_into(pilot, screen, "param-steps", "5")
            await wait_for(pilot, lambda: "steps" not in screen.errors and error.region.height == 0,
                           what="the error gone, and its room")

    asyncio.run(scenario())


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_only_the_focused_widget_is_drawn_focused(quiet_home: Lab, size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app = app_for(quiet_home.home)
        async with app.run_test(size=size) as pilot:
            screen = await open_recipe(pilot, app, "sleep")
            button = screen.query_one("#launch", Button)
            picker = screen.query_one(GpuPicker)
            await wait_for(pilot, lambda: not button.disabled and picker.option_count, what="a form ready to launch")
            names = {row.field.name: row.query_one(".param-name") for row in screen.query(ParamRow)}
            for focus in [screen.query_one("#recipes"), picker, screen.query_one("#param-seconds"),
                          screen.query_one("#opt-retries"), button]:
                focus.focus()
                await pilot.pause()
                assert screen.focused is focus
                # The Launch button looks focused only when it is; so does the GPU list's cursor.
                assert highlighted(app, button) == (focus is button), focus
                assert highlighted(app, picker) == (focus is picker), focus
                # A field's name is drawn reversed while its field has the focus, and only then.
                reversed_names = {name for name, widget in names.items() if highlighted(app, widget)}
                assert reversed_names == ({"seconds"} if focus.id == "param-seconds" else set()), focus
                option_name = screen.query_one("#opt-retries").parent.query_one(".option-name")
                assert highlighted(app, option_name) == (focus.id == "opt-retries")

    asyncio.run(scenario())


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_the_gpu_header_says_what_the_ticks_mean(quiet_home: Lab, size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app = app_for(quiet_home.home)
        async with app.run_test(size=size) as pilot:
            screen = await open_recipe(pilot, app, "sleep")
            picker = screen.query_one(GpuPicker)
            await wait_for(pilot, lambda: picker.option_count == 2, what="the two GPUs")
            head = screen.query_one("#gpu-head")
            assert "none ticked" in text_of(app, head)
            picker.focus()
            picker.highlighted = 1
            await pilot.press("space")
            await wait_for(pilot, lambda: "1 ticked" in text_of(app, head), what="the header after a tick")
            assert "none ticked" not in text_of(app, head)
            assert text_of(app, head) == "GPUs: 1 ticked: the runs use only this one"
            picker.highlighted = 0
            await pilot.press("space")
            await wait_for(pilot, lambda: "0, 1 ticked" in text_of(app, head), what="two ticked")
            await pilot.press("space")
            await wait_for(pilot, lambda: text_of(app, head) == "GPUs: 1 ticked: the runs use only this one",
                           what="one ticked again")
            picker.highlighted = 1
            await pilot.press("space")
            await wait_for(pilot, lambda: "none ticked" in text_of(app, head), what="none ticked again")
            assert picker.chosen is None

    asyncio.run(scenario())


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_more_than_a_thousand_runs_asks_y_or_n_and_launches_on_y(quiet_home: Lab, size: tuple[int, int]) -> None:
    with lab.open(quiet_home.home) as home:
        home.pause()  # the daemon the launch starts leaves the 2,000 runs queued

    async def scenario() -> None:
        app = app_for(quiet_home.home)
        async with app.run_test(size=size) as pilot:
            screen = await open_recipe(pilot, app, "sleep")
            await type_into(pilot, screen, "param-seconds", "0")
            await type_into(pilot, screen, "opt-reps", "2000")
            await wait_for(pilot, lambda: screen.count == 2000 and not screen.errors, what="2,000 runs, no error")
            assert text_of(app, screen.query_one("#run-count")) == "-> 2,000 runs"
            assert str(screen.query_one("#launch", Button).label) == "Launch 2,000 runs"
            assert not screen.query_one("#form-error").display  # no "raise the limit"
            await pilot.press("f5")
            dialog = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen,
                                    what="the y/n")
            assert "Launch all 2,000 runs?" in str(dialog.query_one("#question").render())
            await pilot.press("n")
            await wait_for(pilot, lambda: app.screen is screen, what="back on the form")
            assert quiet_home.runs() == []
            await pilot.press("f5")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the y/n again")
            await pilot.press("y")
            await wait_for(pilot, lambda: not isinstance(app.screen, (ConfirmScreen, LaunchScreen)),
                           what="the launch")

    asyncio.run(scenario())
    runs = quiet_home.runs()
    assert len(runs) == 2000 and {r.status for r in runs} == {"queued"}
    assert sorted({r.rep for r in runs}) == list(range(2000))


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_the_run_count_follows_every_key(quiet_home: Lab, size: tuple[int, int],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launch_module, "CHECK_DELAY_S", 60.0)  # lab's check never comes: the count must not wait

    async def scenario() -> None:
        app = app_for(quiet_home.home)
        async with app.run_test(size=size) as pilot:
            screen = await open_recipe(pilot, app, "sleep", checked=False)
            count = screen.query_one("#run-count")
            await type_into(pilot, screen, "param-steps", "1,2")
            await pilot.pause()
            assert text_of(app, count) == "-> 2 runs"
            await pilot.press(",", "3")
            await pilot.pause()
            assert text_of(app, count) == "-> 3 runs"
            await type_into(pilot, screen, "opt-reps", "10")
            await pilot.pause()
            assert text_of(app, count) == "-> 30 runs"
            await type_into(pilot, screen, "param-steps", "1,x")  # unreadable: said, never blank
            await pilot.pause()
            assert text_of(app, count).startswith("-> ? runs")
            recipes = screen.query_one(RecipeList)
            recipes.highlighted = recipes.get_option_index("digits-mlp")  # another form: its own count at once
            await wait_for(pilot, lambda: screen.recipe is not None and screen.recipe.name == "digits-mlp",
                           what="the form of digits-mlp")
            await pilot.pause()
            assert text_of(app, count) == "-> 10 runs"  # reps stay 10

    asyncio.run(scenario())


def test_f5_right_after_a_fix_launches_what_was_typed(quiet_home: Lab) -> None:
    """A field fixed and F5 pressed before the form's check of the fix has answered (a fast typist, a
    burst over SSH): the launch waits for that check instead of refusing on the errors of the value
    before, and launches what was typed."""
    with lab.open(quiet_home.home) as home:
        home.pause()

    async def scenario() -> None:
        app = app_for(quiet_home.home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_recipe(pilot, app, "sleep")
            await type_into(pilot, screen, "param-seconds", "oops")
            await wait_for(pilot, lambda: "seconds" in screen.errors and not screen.checking, what="the error")
            widget = screen.query_one("#param-seconds", Input)
            widget.value = ""
            await pilot.press("7", "f5")  # no pause: the check of "7" is still to come
            await wait_for(pilot, lambda: not isinstance(app.screen, LaunchScreen), what="the launch")

    asyncio.run(scenario())
    assert [run.config["seconds"] for run in quiet_home.runs()] == [7.0]
