"""Keys that arrive together (one read of the terminal: a burst over SSH) are handled in the order sent.

Textual 8.2.8 runs a bound key (backspace, Tab) only once it has bubbled back up to the app, after the
characters sent with it were typed (Textualize/textual#6605): `tuiflow.tui.key_order.KeysInOrder` holds
each key until the one before it is done. The bursts here are posted to the app all at once, as the
terminal driver posts one read; tests/tui/test_tui_terminal.py sends them through a real terminal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Input
from tui_helpers import Lab, daemon_home, wait_for

from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.key_order import KeysInOrder
from tuiflow.tui.screens.launch import LaunchScreen
from tuiflow.tui.widgets.param_form import ParamRow
from tuiflow.tui.widgets.recipe_list import RecipeList

NAMED = {"backspace": "\x7f", "tab": "\t", "enter": "\r", "left": None, "end": None}
PUNCTUATION = {",": "comma", ".": "full_stop", " ": "space"}

# (the first field's value, focused with its text selected; the burst; what each field holds after it)
BURSTS = [
    pytest.param("1.0", ["backspace"] * 4 + list("30,60"), ("30,60", "5"), id="four-backspaces-then-30,60"),
    pytest.param("1.0", ["tab", "backspace", "backspace", *"30"], ("1.0", "30"), id="tab-backspaces-then-30"),
    pytest.param("", [*"25", "backspace", *"30"], ("230", "5"), id="25-backspace-30"),
    pytest.param("1.0", [*"30", "enter", *"7"], ("30", "7"), id="enter-moves-on-then-7"),
]


def key_event(key: str) -> events.Key:
    """The event the terminal driver makes of one key (a character, or a named key)."""
    if key in NAMED:
        return events.Key(key, NAMED[key])
    return events.Key(PUNCTUATION.get(key, key), key)


async def burst(app: App, keys: list[str]) -> None:
    """Post every key at once, as the driver posts the keys of one read, and let them be handled."""
    for key in keys:
        app.post_message(key_event(key))
    await asyncio.sleep(0)


class TwoFields(App[None]):
    """A bare Textual app: two inputs, the second moved to on enter (as Launch does)."""

    def compose(self) -> ComposeResult:
        yield Input(id="first")
        yield Input("5", id="second")

    def on_input_submitted(self) -> None:
        self.screen.focus_next()


class TwoFieldsInOrder(KeysInOrder, TwoFields):
    """The same app with tuiflow's fix mixed in."""


async def fill_and_burst(app: TwoFields, first: str, keys: list[str]) -> tuple[str, str]:
    async with app.run_test(size=(80, 24)) as pilot:
        fields = list(app.query(Input))
        fields[0].value = first
        fields[0].focus()
        await pilot.pause()
        fields[0].selection = (0, len(first))  # focused and selected, as Launch selects a field tabbed into
        await burst(app, keys)
        if isinstance(app, KeysInOrder):
            await wait_for(pilot, lambda: not app.keys_pending, what="the burst")
        await pilot.pause(0.3)
        return fields[0].value, fields[1].value


@pytest.mark.parametrize(("first", "keys", "expected"), BURSTS)
def test_keys_in_order_types_a_burst_as_sent(first: str, keys: list[str], expected: tuple[str, str]) -> None:
    assert asyncio.run(fill_and_burst(TwoFieldsInOrder(), first, keys)) == expected


def test_textual_alone_still_reorders_a_burst() -> None:
    """The reason key_order.py exists. When this fails, Textual keeps the order itself: drop KeysInOrder
    from TuiflowApp (and this module's canary) once the tests above pass without it."""
    values = asyncio.run(fill_and_burst(TwoFields(), "1.0", ["backspace"] * 4 + list("30,60")))
    assert values != ("30,60", "5"), "Textual 8.2.8's key-order bug is fixed: tuiflow/tui/key_order.py can go"


# --- the real Launch form ------------------------------------------------------------------------------
@pytest.fixture
def quiet_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    """A home with a store and no daemon (the launch starts one)."""
    yield from daemon_home(tmp_path, monkeypatch, start=False)


async def sleep_form(pilot, app: TuiflowApp) -> LaunchScreen:  # type: ignore[no-untyped-def]
    await pilot.press("l")
    screen = await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen, what="Launch")
    recipes = screen.query_one(RecipeList)
    await wait_for(pilot, lambda: any(option.id == "sleep" for option in recipes.options), what="the recipes")
    recipes.highlighted = recipes.get_option_index("sleep")
    await wait_for(pilot, lambda: screen.recipe is not None and screen.recipe.name == "sleep"
                   and screen.query(ParamRow), what="the form of sleep")
    return screen


def test_launch_takes_bursts_as_typed_and_launches_exactly_those_values(quiet_home: Lab) -> None:
    async def scenario() -> None:
        app = TuiflowApp(Options(home=quiet_home.home, refresh_s=0.2, hostname="test-box"))
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await sleep_form(pilot, app)
            seconds = screen.query_one("#param-seconds", Input)
            steps = screen.query_one("#param-steps", Input)
            seconds.focus()
            await pilot.pause()
            seconds.selection = (0, len(seconds.value))
            await burst(app, ["backspace"] * 4 + list("30,60"))
            await wait_for(pilot, lambda: seconds.value != "1.0" and not app.keys_pending, what="the burst")
            assert seconds.value == "30,60"
            await burst(app, ["tab", "backspace", "backspace", *"2"])  # the selected steps, then one more
            await wait_for(pilot, lambda: screen.focused is steps and not app.keys_pending, what="tab")
            assert (seconds.value, steps.value) == ("30,60", "2")
            await wait_for(pilot, lambda: screen.count == 2 and not screen.errors, what="-> 2 runs")
            await pilot.press("f5")
            await wait_for(pilot, lambda: not isinstance(app.screen, LaunchScreen), what="the launch")

    asyncio.run(scenario())
    runs = quiet_home.runs()
    assert sorted((r.config["seconds"], r.config["steps"]) for r in runs) == [(30.0, 2), (60.0, 2)]
