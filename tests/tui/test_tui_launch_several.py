"""Launch (issue 12): a choice field and a yes/no field take several values too. ctrl+g turns the focused
one into an input; two choices times two yes/no values plan four runs and store exactly those configs,
and a value that is not one of the field's is said beside it, with nothing stored."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input, Select, Switch
from tui_helpers import Lab, daemon_home, wait_for

from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.launch import LaunchScreen
from tuiflow.tui.widgets.param_form import ParamRow
from tuiflow.tui.widgets.recipe_list import RecipeList

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def quiet_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    """A home with a store and no daemon (a launch starts one)."""
    yield from daemon_home(tmp_path, monkeypatch, start=False)


async def sleep_form(pilot, app: TuiflowApp) -> LaunchScreen:  # type: ignore[no-untyped-def]
    """Press l and pick `sleep` (fail: a choice of five, print_bytes: yes/no); the screen once its form is built."""
    await pilot.press("l")
    screen = await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen.recipes
                            and app.screen, what="the launch screen's recipes")
    recipes = screen.query_one(RecipeList)
    recipes.highlighted = recipes.get_option_index("sleep")
    await wait_for(pilot, lambda: screen.recipe is not None and screen.recipe.name == "sleep"
                   and screen.query(ParamRow), what="the form of sleep")
    return screen


async def several(pilot, screen: LaunchScreen, name: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """Focus a choice or yes/no field, press ctrl+g, and type `text` into the input it becomes."""
    screen.query_one(f"#param-{name}").focus()
    await pilot.pause()
    assert screen.check_action("several", ()) is True  # shown in the footer on this field
    await pilot.press("ctrl+g")
    field = await wait_for(pilot, lambda: screen.query(f"#param-{name}").first(), what=f"the field {name}")
    assert isinstance(field, Input) and screen.focused is field
    field.value = ""
    await pilot.press(*text)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_two_choices_and_both_yes_and_no_launch_four_runs(quiet_home: Lab, size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app = TuiflowApp(Options(home=quiet_home.home, refresh_s=0.2, hostname="test-box"))
        async with app.run_test(size=size) as pilot:
            screen = await sleep_form(pilot, app)
            assert isinstance(screen.query_one("#param-fail"), Select)
            assert isinstance(screen.query_one("#param-print_bytes"), Switch)
            screen.query_one("#param-seconds", Input).value = "0.1"
            await several(pilot, screen, "fail", "no,raise")
            await several(pilot, screen, "print_bytes", "yes,no")
            await wait_for(pilot, lambda: screen.count == 4 and not screen.errors, what="the run count 4")
            assert "-> 4 runs" in str(screen.query_one("#run-count").render())
            assert "2 values" in str(screen.query_one("#note-fail").render())
            assert "2 values" in str(screen.query_one("#note-print_bytes").render())
            screen.query_one("#recipes").focus()  # not on a choice field: ctrl+g leaves the footer
            await pilot.pause()
            assert screen.check_action("several", ()) is False
            await pilot.press("f5")
            await wait_for(pilot, lambda: not isinstance(app.screen, LaunchScreen), what="the launch")

    asyncio.run(scenario())
    runs = quiet_home.runs()
    assert len(runs) == 4
    assert sorted((r.config["fail"], r.config["print_bytes"], r.config["seconds"]) for r in runs) == [
        ("no", False, 0.1), ("no", True, 0.1), ("raise", False, 0.1), ("raise", True, 0.1)]


def test_ctrl_g_again_gives_the_field_its_one_value_form_back(quiet_home: Lab) -> None:
    async def scenario() -> None:
        app = TuiflowApp(Options(home=quiet_home.home, refresh_s=0.2, hostname="test-box"))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await sleep_form(pilot, app)
            await several(pilot, screen, "fail", "exit")
            await wait_for(pilot, lambda: screen.count == 1 and not screen.errors, what="one run")
            await pilot.press("ctrl+g")
            select = await wait_for(pilot, lambda: screen.query(Select).first(), what="the select again")
            assert select.id == "param-fail" and screen.focused is select
            assert select.value == ["no", "raise", "exit", "segfault", "kill"].index("exit")  # what was typed

    asyncio.run(scenario())


@pytest.mark.parametrize(("field", "typed", "said"), [
    ("fail", "no,bogus", "'bogus' is not one of no, raise, exit, segfault, kill"),
    ("fail", "raise,raise", "'raise' is given twice"),
    ("print_bytes", "yes,maybe", "'maybe' is not yes or no"),
    ("print_bytes", "yes,", "a value is missing"),
])
def test_a_value_not_of_the_field_is_said_beside_it_and_nothing_is_stored(quiet_home: Lab, field: str, typed: str,
                                                                         said: str) -> None:
    async def scenario() -> None:
        app = TuiflowApp(Options(home=quiet_home.home, refresh_s=0.2, hostname="test-box"))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await sleep_form(pilot, app)
            await several(pilot, screen, field, typed)
            # Checked as typed: the form's last check, of the whole text, is the one to wait for.
            await wait_for(pilot, lambda: screen.errors.get(field) == said, what=f"the error {said!r}")
            assert str(screen.query_one(f"#error-{field}").render()) == f"! {said}"  # under the field, whole
            await pilot.press("f5")
            await pilot.pause(0.5)
            assert isinstance(app.screen, LaunchScreen)

    asyncio.run(scenario())
    assert quiet_home.store.list_experiments() == []
    assert quiet_home.daemon_pid() is None
