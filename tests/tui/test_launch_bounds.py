"""The launch options' bounds are one table in `lab` (`tuiflow.lab.limits.BOUNDS`): the launch form, the
CLI and `Lab` refuse the same numbers, with the same range in their words (issue 20, point 14). The form
under Pilot against a real store, the CLI in real subprocesses, `Lab.launch` in Python."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input
from tui_helpers import Lab, daemon_home, wait_for

from tuiflow import lab
from tuiflow.lab.limits import BOUNDS
from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.launch import OPTIONS, LaunchScreen
from tuiflow.tui.widgets.param_form import ParamRow
from tuiflow.tui.widgets.recipe_list import RecipeList

ROOT = Path(__file__).resolve().parents[2]
FLAGS = {"reps": "--reps", "num_gpus": "--num-gpus", "per_gpu": "--per-gpu", "priority": "--priority",
         "retries": "--retries"}
RANGE = re.compile(r"must be a whole number from (-?[\d,]+) to (-?[\d,]+), not (-?\d+)")


@pytest.fixture
def quiet_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    yield from daemon_home(tmp_path, monkeypatch, start=False)


def out_of_range(key: str) -> list[int]:
    return [BOUNDS[key].low - 1, BOUNDS[key].high + 1]


def cli_refusal(home: Path, key: str, value: int) -> str:
    env = dict(os.environ, TUIFLOW_HOME=str(home / "cli-home"))
    # Told to fail at once: a bound the CLI lets through shows as a run, not as a long wait.
    result = subprocess.run([sys.executable, "-m", "tuiflow", "run", "sleep", f"{FLAGS[key]}={value}", "--set",
                             "fail=raise", "--foreground", "--gpus", "none" if key != "num_gpus" else "all"],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, (key, value, result.stderr)
    assert not (home / "cli-home").exists()
    return result.stderr.removeprefix("tuiflow: error: ").strip()


def test_the_cli_the_form_and_lab_refuse_the_same_bounds_with_the_same_numbers(quiet_home: Lab) -> None:
    assert set(FLAGS) == set(BOUNDS) == {key for key, _, _ in OPTIONS}
    cli = {(key, value): cli_refusal(quiet_home.home.parent, key, value)
           for key in BOUNDS for value in out_of_range(key)}
    form: dict[tuple[str, int], str] = {}
    accepted: dict[tuple[str, int], str | None] = {}

    async def scenario() -> None:
        app = TuiflowApp(Options(home=quiet_home.home, refresh_s=0.2, hostname="test-box"))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("l")
            screen = await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen.recipes
                                    and app.screen.query_one(RecipeList).option_count and app.screen)
            recipes = screen.query_one(RecipeList)
            recipes.highlighted = recipes.get_option_index("sleep")
            await wait_for(pilot, lambda: screen.recipe is not None and screen.recipe.name == "sleep"
                           and screen.query(ParamRow) and screen.count is not None, what="the form of sleep")
            for key in BOUNDS:
                field = screen.query_one(f"#opt-{key}", Input)
                before = field.value
                for value in [*out_of_range(key), BOUNDS[key].low, BOUNDS[key].high]:
                    field.value = str(value)
                    await pilot.pause()
                    await wait_for(pilot, lambda: not screen.checking, what=f"the check of {key}={value}")
                    if value in out_of_range(key):
                        form[key, value] = screen.errors.get(key, "")
                    else:
                        accepted[key, value] = screen.errors.get(key)
                field.value = before

    asyncio.run(scenario())
    labels = {key: label for key, label, _ in OPTIONS}
    for (key, value), said in cli.items():
        assert said == BOUNDS[key].problem(value, FLAGS[key])
        assert form[key, value] == BOUNDS[key].problem(value, labels[key])
        assert RANGE.search(said).groups() == RANGE.search(form[key, value]).groups(), (key, value)
    assert {k: v for k, v in accepted.items() if v is not None and k[0] != "num_gpus"} == {}
    with lab.open(quiet_home.home) as home:
        plan = home.plan("sleep")
        for key in ("per_gpu", "priority", "retries", "num_gpus"):
            for value in out_of_range(key):
                with pytest.raises(lab.LabError) as refused:
                    home.launch(plan, gpus=[], start_daemon=False, **{key: value})
                assert RANGE.search(str(refused.value)).groups() == RANGE.search(cli[key, value]).groups()
        for value in out_of_range("reps"):
            with pytest.raises(lab.ParamError) as refused:
                home.plan("sleep", reps=value)
            assert RANGE.search(str(refused.value)).groups() == RANGE.search(cli["reps", value]).groups()
    assert quiet_home.runs() == []
