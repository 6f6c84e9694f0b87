"""History shows what varies (issue 20, point 5): a grid's differing parameters before its final
metrics, what every run shares on a caption line; the column picker (`C`) adds or removes columns,
remembered per experiment across sessions (in $XDG_STATE_HOME), and sorts by any parameter or metric,
shown or not; at 80 columns the experiments keep every count per status."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import SelectionList, Static
from tui_helpers import wait_for

from tuiflow import lab
from tuiflow.store import RunSpec, Store
from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.history import HistoryScreen
from tuiflow.tui.widgets.experiments_table import ExperimentsTable
from tuiflow.tui.widgets.results_table import ResultsTable

CONSTANT = {"batch_size": 64, "epochs": 150, "framework": "torch"}
SLEEP = {"steps": 5, "fail": "no", "exit_code": 3, "fail_at": 0, "children": 0, "print_bytes": False}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A grid of lr x hidden (its other parameters the same in every run), and sleep runs whose
    parameters but `seconds` are the same; the column picker's memory in a folder of the test's own."""
    for name in ("TUIFLOW_HOME", "TUIFLOW_FAKE_GPUS", "TUIFLOW_RECIPES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = tmp_path / "home"
    store = Store.open(path, create=True)
    grid = store.create_experiment("lr-hidden", "digits-mlp", runs=[
        RunSpec(config={"lr": lr, "hidden": hidden, **CONSTANT}) for lr in (0.001, 0.003, 0.01) for hidden in (32, 64)])
    naps = store.create_experiment("naps", "sleep", runs=[RunSpec(config={"seconds": s, **SLEEP}) for s in (1, 2, 3)])
    with store.transaction() as conn:
        for index, run in enumerate(store.list_runs(experiment=grid.id)):
            conn.execute("UPDATE runs SET status = 'done', started_at = ?, ended_at = ?, metrics = ? WHERE id = ?",
                         (1e9 + index, 1e9 + index + 60, json.dumps({"accuracy": 0.9 + index / 100}), run.id))
        conn.execute("UPDATE runs SET status = 'done', started_at = 1e9, ended_at = 1e9 + 5, exit_code = 0 "
                     "WHERE experiment_id = ?", (naps.id,))
    store.close()
    return path


def app_on(home: Path) -> TuiflowApp:
    return TuiflowApp(Options(home=home, refresh_s=3600, hostname="test-box"))


async def runs_of(pilot: Any, name: str | None) -> tuple[HistoryScreen, ResultsTable]:
    """History open on the runs of experiment `name` (None: all runs), the page drawn."""
    await pilot.press("h")
    screen = await wait_for(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen)
                            and pilot.app.screen.experiments_best and pilot.app.screen, what="the experiments")
    if name is None:
        await pilot.press("a")
    else:
        experiments = screen.query_one(ExperimentsTable)
        experiments.move_cursor(row=[line.name for line in experiments.lines].index(name))
        await pilot.press("enter")
    await wait_for(pilot, lambda: screen.page is not None and not screen.busy and screen.mode == "runs",
                   what="a page of runs")
    await pilot.pause()
    return screen, screen.query_one(ResultsTable)


def shown(table: ResultsTable) -> list[str]:
    return [column.key for column in table.shown]


def caption(screen: HistoryScreen) -> str:
    line = screen.query_one("#caption", Static)
    return str(line.render()) if line.display else ""


def test_the_layout_is_the_results_commands(home: Path) -> None:
    """`Lab.result_layout` splits the parameters as `tuiflow results --experiment` does (one rule)."""
    from tuiflow.lab.results import varying_config

    with lab.open(home) as opened:
        layout = opened.result_layout(experiment="lr-hidden")
        rows = opened.results(experiment="lr-hidden").rows
    assert layout.differing == ["hidden", "lr"] and layout.fixed == CONSTANT and layout.metrics == ["accuracy"]
    assert varying_config(row["config"] for row in rows) == (layout.differing, layout.fixed)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_a_grid_shows_what_differs_and_says_what_is_the_same(home: Path, size: tuple[int, int]) -> None:
    async def scenario() -> None:
        async with app_on(home).run_test(size=size) as pilot:
            screen, table = await runs_of(pilot, "lr-hidden")
            keys = shown(table)
            assert keys[:4] == ["id", "status", "config.hidden", "config.lr"] and "metrics.accuracy" in keys
            assert not {"config.batch_size", "config.epochs", "config.framework"} & set(keys)
            assert "batch_size=64 epochs=150 framework=torch" in caption(screen)
            rows = len(table.page.lines)
            assert rows == 6 and table.row_count == 6

    asyncio.run(scenario())


def test_all_runs_put_what_every_run_shares_in_the_caption(home: Path) -> None:
    async def scenario() -> None:
        async with app_on(home).run_test(size=(80, 24)) as pilot:
            screen, table = await runs_of(pilot, "naps")
            assert not {f"config.{key}" for key in SLEEP} & set(shown(table))
            assert "config.seconds" in shown(table)
            assert "children=0 exit_code=3 fail=no fail_at=0 print_bytes=false steps=5" in caption(screen)
            await pilot.press("escape", "a")  # all runs: the sleep parameters are set in three runs of nine
            await wait_for(pilot, lambda: screen.scope is None and screen.page is not None and not screen.busy
                           and screen.page.query.experiment is None, what="all runs")
            await pilot.pause()
            assert not {f"config.{key}" for key in (*SLEEP, *CONSTANT)} & set(shown(table))
            assert {"config.hidden", "config.lr", "config.seconds"} <= set(shown(table))
            assert "where set:" in caption(screen) and "exit_code=3" in caption(screen)

    asyncio.run(scenario())


def test_the_column_picker_adds_and_sorts_and_is_remembered_per_experiment(home: Path, tmp_path: Path) -> None:
    with lab.open(home) as opened:
        by_hidden = [row["id"] for row in opened.iter_results("", "-config.hidden", experiment="lr-hidden")]

    from tuiflow.tui.screens.column_picker import ColumnPicker

    async def pick(pilot: Any, screen: HistoryScreen, key: str, *presses: str) -> None:
        await pilot.press("C")
        picker = await wait_for(pilot, lambda: isinstance(pilot.app.screen, ColumnPicker) and pilot.app.screen,
                                what="the column picker")
        options = picker.query_one(SelectionList)
        options.highlighted = [column.key for column in picker.choices].index(key)
        await pilot.press(*presses)
        await wait_for(pilot, lambda: pilot.app.screen is screen and not screen.busy, what="the picker closed")
        await pilot.pause()

    async def first_session() -> None:
        async with app_on(home).run_test(size=(80, 24)) as pilot:
            screen, table = await runs_of(pilot, "lr-hidden")
            await pick(pilot, screen, "config.epochs", "space", "escape")  # a constant, shown now
            await wait_for(pilot, lambda: "config.epochs" in shown(table), what="epochs shown")
            assert "epochs=150" not in caption(screen) and "batch_size=64" in caption(screen)
            await pick(pilot, screen, "config.hidden", "space", "escape")  # a differing one, hidden now
            await wait_for(pilot, lambda: "config.hidden" not in shown(table), what="hidden gone")
            await pick(pilot, screen, "config.hidden", "s")  # sorted by a column not shown, highest first
            await wait_for(pilot, lambda: screen.sort == "-config.hidden" and not screen.busy, what="sorted")
            assert [line.id for line in table.page.lines] == by_hidden
            assert "config.hidden" not in shown(table)
            assert "by hidden ▼" in screen.query_one("#header").render().plain  # the sort, though not shown

    async def second_session() -> None:
        async with app_on(home).run_test(size=(80, 24)) as pilot:
            screen, table = await runs_of(pilot, "lr-hidden")
            assert "config.epochs" in shown(table) and "config.hidden" not in shown(table)
            await pilot.press("escape")
            await wait_for(pilot, lambda: screen.mode == "experiments", what="the experiments")
            experiments = screen.query_one(ExperimentsTable)
            experiments.move_cursor(row=[line.name for line in experiments.lines].index("naps"))
            await pilot.press("enter")  # another experiment: its own columns
            await wait_for(pilot, lambda: screen.scope == "naps" and screen.page is not None and not screen.busy
                           and screen.page.query.experiment == "naps", what="naps' runs")
            await pilot.pause()
            assert "config.epochs" not in shown(table) and "config.seconds" in shown(table)
            await pilot.press("escape")
            await wait_for(pilot, lambda: screen.mode == "experiments", what="the experiments again")
            experiments.move_cursor(row=[line.name for line in experiments.lines].index("lr-hidden"))
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.scope == "lr-hidden" and screen.page is not None
                           and not screen.busy and screen.page.query.experiment == "lr-hidden", what="the grid")
            await pilot.pause()
            await pilot.press("C")
            await wait_for(pilot, lambda: isinstance(pilot.app.screen, ColumnPicker), what="the picker")
            await pilot.press("r")  # back to the automatic columns
            await wait_for(pilot, lambda: pilot.app.screen is screen and not screen.busy
                           and "config.hidden" in shown(table) and "config.epochs" not in shown(table),
                           what="the automatic columns")

    asyncio.run(first_session())
    saved = json.loads((tmp_path / "state" / "tuiflow" / "history.json").read_text())
    assert saved["columns"][str(home.absolute())]["lr-hidden"] == {"add": ["config.epochs"], "hide": ["config.hidden"]}
    asyncio.run(second_session())
    saved = json.loads((tmp_path / "state" / "tuiflow" / "history.json").read_text())
    assert "lr-hidden" not in saved["columns"][str(home.absolute())]


def test_the_experiments_keep_every_count_per_status_at_80_columns(home: Path) -> None:
    async def scenario() -> None:
        async with app_on(home).run_test(size=(80, 24)) as pilot:
            await pilot.press("h")
            screen = await wait_for(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen)
                                    and pilot.app.screen.experiments_best and pilot.app.screen, what="experiments")
            table = screen.query_one(ExperimentsTable)
            await pilot.pause()
            keys = [str(column.key.value) for column in table.ordered_columns]
            assert {"name", "runs", "done", "failed", "cancelled", "lost", "active", "best"} <= set(keys)
            with Store.open(home) as store:  # a long name, as a user's: the counts stay still
                store.create_experiment("digits-mlp-lr-hidden-sweep", "digits-mlp", runs=[RunSpec(config={})])
            screen.reload()
            await wait_for(pilot, lambda: len(table.lines) == 3, what="the third experiment")
            await pilot.pause()
            keys = [str(column.key.value) for column in table.ordered_columns]
            assert {"name", "runs", "done", "failed", "cancelled", "lost", "active"} <= set(keys)

    asyncio.run(scenario())
