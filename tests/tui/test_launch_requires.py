"""The launch form says what the install lacks beside the field it depends on (issue 20, point 15):
under Pilot against a real store, with PyTorch made unfindable at the lowest layer (the import system's
``importlib.util.find_spec``), digits-mlp's framework says "needs pip install 'tuiflow[torch]'", the
form launches nothing, and choosing tf (installed) clears it."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Button, Select
from tui_helpers import Lab, daemon_home, wait_for

from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.launch import LaunchScreen
from tuiflow.tui.widgets.param_form import ParamRow
from tuiflow.tui.widgets.recipe_list import RecipeList


@pytest.fixture
def quiet_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    yield from daemon_home(tmp_path, monkeypatch, start=False)


@pytest.fixture
def without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """PyTorch cannot be found, as on an install without tuiflow[torch] (whether or not it was imported)."""
    find_spec = importlib.util.find_spec

    def blocked(name: str, package: str | None = None):  # type: ignore[no-untyped-def]
        return None if name.split(".")[0] == "torch" else find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", blocked)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_the_form_says_which_extra_a_value_needs_and_launches_nothing(quiet_home: Lab, without_torch: None,
                                                                    size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app = TuiflowApp(Options(home=quiet_home.home, refresh_s=0.2, hostname="test-box"))
        async with app.run_test(size=size) as pilot:
            await pilot.press("l")
            screen = await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen.recipes
                                    and app.screen.query_one(RecipeList).option_count and app.screen)
            recipes = screen.query_one(RecipeList)
            recipes.highlighted = recipes.get_option_index("digits-mlp")
            await wait_for(pilot, lambda: screen.recipe is not None and screen.recipe.name == "digits-mlp"
                           and screen.query(ParamRow), what="the form of digits-mlp")
            said = "'torch' needs pip install 'tuiflow[torch]' (no module named 'torch' here)"
            await wait_for(pilot, lambda: screen.errors.get("framework") == said, what="the missing extra")
            error = screen.query_one("#error-framework")
            await wait_for(pilot, lambda: str(error.render()) == f"! {said}" and error.region.height > 0,
                           what="the hint under the framework field")
            assert error.region.y > screen.query_one("#param-framework").region.y
            assert screen.query_one("#launch", Button).disabled
            assert screen.count == 1  # the count stands; the launch does not
            await pilot.press("f5")
            await pilot.pause(0.3)
            assert isinstance(app.screen, LaunchScreen)
            screen.query_one("#param-framework", Select).value = 1  # tf: installed
            await wait_for(pilot, lambda: not screen.checking and "framework" not in screen.errors
                           and not screen.query_one("#launch", Button).disabled, what="tf taken")
            assert error.display is False

    asyncio.run(scenario())
    assert quiet_home.runs() == []
    assert quiet_home.daemon_pid() is None
