"""History under Pilot on a real store of 270 ended runs of three recipes (tests/history_home.py): sort,
filter (a refused one said under the bar, the runs shown kept), pages forward and back, marks kept
across pages, an export read back, deleting an experiment (its rows gone) and refusing a live one."""

from __future__ import annotations

import asyncio
import csv
import os
from pathlib import Path
from typing import Any

import pytest
from history_home import build_history
from textual.widgets import Static
from tui_helpers import wait_for

from tuiflow import lab
from tuiflow.store import RunSpec
from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.confirm import ConfirmScreen
from tuiflow.tui.screens.export import ExportScreen
from tuiflow.tui.screens.history import HistoryScreen
from tuiflow.tui.widgets.experiments_table import ExperimentsTable
from tuiflow.tui.widgets.results_table import ResultsTable

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TUIFLOW_HOME", "TUIFLOW_FAKE_GPUS", "TUIFLOW_RECIPES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # where exports go
    path = tmp_path / "home"
    build_history(path).close()
    return path


class Toasts(list):
    """The app's notifications, as text."""

    def __call__(self, message: str, *args: Any, **kwargs: Any) -> None:
        self.append(str(message))


class Calls(list):
    """What an app action was called with (Compare and the run detail are other screens' tests)."""

    def __call__(self, *args: Any) -> None:
        self.append(args)


def app_for(home: Path) -> tuple[TuiflowApp, Toasts]:
    app = TuiflowApp(Options(home=home, refresh_s=3600, hostname="test-box"))
    toasts = Toasts()
    app.notify = toasts  # type: ignore[method-assign]
    app.action_compare = Calls()  # type: ignore[method-assign]
    app.action_open_run = Calls()  # type: ignore[method-assign]
    return app, toasts


async def open_history(pilot: Any) -> HistoryScreen:
    await pilot.press("h")
    return await wait_for(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen)
                          and pilot.app.screen.experiments_best and pilot.app.screen, what="the experiments")


async def settled(pilot: Any, screen: HistoryScreen) -> ResultsTable:
    """The runs table once its page is read and drawn."""
    await wait_for(pilot, lambda: screen.page is not None and not screen.busy, what="a page of runs")
    await pilot.pause()
    return screen.query_one(ResultsTable)


def ids(table: ResultsTable) -> list[int]:
    return [line.id for line in table.page.lines] if table.page else []


def expected(home: Path, sort: str | None, filter: str = "", experiment: str | None = None) -> list[int]:
    with lab.open(home) as opened:
        return [row["id"] for row in opened.iter_results(filter, sort, experiment=experiment)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_pages_forward_and_back_and_sorting(home: Path, size: tuple[int, int]) -> None:
    everything = expected(home, "-id")

    async def scenario() -> None:
        app, _ = app_for(home)
        async with app.run_test(size=size) as pilot:
            screen = await open_history(pilot)
            assert [line.name for line in screen.query_one(ExperimentsTable).lines] == ["naps", "cnn-sweep",
                                                                                      "mlp-sweep"]
            await pilot.press("a")
            table = await settled(pilot, screen)
            size_of_page = len(table.page.lines)
            assert size_of_page == size[1] - 3  # a screen of rows: the header line, the table's, the footer
            assert ids(table) == everything[:size_of_page]
            assert "270 runs" in screen.query_one("#header").render().plain
            await pilot.press("pagedown")
            await wait_for(pilot, lambda: ids(table) == everything[size_of_page:2 * size_of_page], what="page 2")
            await pilot.press("pagedown")
            await wait_for(pilot, lambda: ids(table) == everything[2 * size_of_page:3 * size_of_page], what="page 3")
            await pilot.press("pageup")
            await wait_for(pilot, lambda: ids(table) == everything[size_of_page:2 * size_of_page], what="page 2 again")
            assert table.cursor_row == size_of_page - 1  # coming back from below: on its last row
            await pilot.press("down")  # past the last row: the next page, on its first row
            await wait_for(pilot, lambda: ids(table) == everything[2 * size_of_page:3 * size_of_page],
                           what="page 3 by moving down")
            assert table.cursor_row == 0
            await pilot.press("up")  # past the first row: the page before, on its last row
            await wait_for(pilot, lambda: ids(table) == everything[size_of_page:2 * size_of_page],
                           what="page 2 by moving up")
            assert table.cursor_row == size_of_page - 1 and len(screen.pages) == 2

            # s: the next column shown, highest first (as `tuiflow results --sort`); S: the other way; a
            # header clicked twice: highest first, then the other way
            await pilot.press("s")
            await wait_for(pilot, lambda: screen.sort == f"-{table.shown[1].key}" and not screen.busy,
                           what="sort by s")
            assert ids(table) == expected(home, screen.sort)[:size_of_page] and len(screen.pages) == 1
            await pilot.press("S")
            await wait_for(pilot, lambda: screen.sort == table.shown[1].key and not screen.busy,
                           what="the sort reversed")
            assert ids(table) == expected(home, screen.sort)[:size_of_page]
            left, _ = table.offsets["metrics.accuracy"]
            x = 2 + 3 * table.cell_padding + left + 1  # the mark column, the paddings, into the column
            assert table.column_at(x) == "metrics.accuracy"
            await pilot.click(ResultsTable, offset=(x, 0))
            await wait_for(pilot, lambda: screen.sort == "-metrics.accuracy" and not screen.busy, what="a click")
            assert ids(table) == expected(home, "-metrics.accuracy")[:size_of_page]
            assert "accuracy ▼" in table.ordered_columns[1].label.plain
            await pilot.click(ResultsTable, offset=(x, 0))
            await wait_for(pilot, lambda: screen.sort == "metrics.accuracy" and not screen.busy,
                           what="a second click")
            assert ids(table) == expected(home, "metrics.accuracy")[:size_of_page]
            await pilot.press("escape")  # back to the experiments
            await wait_for(pilot, lambda: screen.mode == "experiments", what="the experiments again")

    asyncio.run(scenario())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_filter_and_a_refused_filter_said_under_the_bar(home: Path, size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app, _ = app_for(home)
        async with app.run_test(size=size) as pilot:
            screen = await open_history(pilot)
            screen.query_one(ExperimentsTable).move_cursor(row=2)
            await pilot.press("enter")  # mlp-sweep's runs
            table = await settled(pilot, screen)
            assert screen.scope == "mlp-sweep" and len(ids(table)) == min(120, size[1] - 3)
            await pilot.press("slash", *"status=done lr<0.01", "enter")
            await wait_for(pilot, lambda: screen.filter == "status=done lr<0.01" and not screen.busy, what="filtered")
            wanted = expected(home, "-id", "status=done lr<0.01", "mlp-sweep")
            assert ids(table) == wanted[:len(ids(table))] and ids(table)
            assert f"{len(wanted)} of 120 runs" in screen.query_one("#header").render().plain
            assert "filter: status=done lr<0.01" in screen.query_one("#header").render().plain
            assert {line.cells["status"] for line in table.page.lines} == {"done"}
            shown = ids(table)

            await pilot.press("slash", *" bogus<x", "enter")
            error = screen.query_one("#filter-error", Static)
            await wait_for(pilot, lambda: error.display and "bogus<x" in str(error.render()), what="the error")
            assert "compares numbers" in str(error.render())
            assert screen.filter == "status=done lr<0.01" and ids(table) == shown  # the runs shown stay
            await pilot.press("escape")  # closes the bar; the filter applied stays
            assert not screen.query_one("#filter-bar").display and screen.filter == "status=done lr<0.01"
            await pilot.press("slash", "ctrl+u", *"recipe=digits-mlp accuracy>0.95", "enter")
            await wait_for(pilot, lambda: screen.filter == "recipe=digits-mlp accuracy>0.95" and not screen.busy,
                           what="another filter")
            assert ids(table) == expected(home, "-id", "recipe=digits-mlp accuracy>0.95", "mlp-sweep")[:len(ids(table))]

    asyncio.run(scenario())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_marks_are_kept_across_pages_and_the_export_holds_what_is_shown(home: Path, tmp_path: Path,
                                                                         size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app, toasts = app_for(home)
        async with app.run_test(size=size) as pilot:
            screen = await open_history(pilot)
            await pilot.press("a")
            table = await settled(pilot, screen)
            first = ids(table)
            await pilot.press("space", "space")  # marks a run and moves down: two runs marked
            assert screen.marked == first[:2]
            await pilot.press("pagedown")
            await wait_for(pilot, lambda: ids(table) and ids(table)[0] not in first, what="page 2")
            await pilot.press("space")
            assert screen.marked == [*first[:2], ids(table)[0]]
            assert "3 marked" in screen.query_one("#header").render().plain
            await pilot.press("pageup")
            await wait_for(pilot, lambda: ids(table) == first, what="page 1 again")
            assert "●" in str(table.get_cell(str(first[0]), "mark")) and "●" in str(table.get_cell(str(first[1]),
                                                                                                   "mark"))
            await pilot.press("m")
            assert app.action_compare == [([*first[:2], screen.marked[-1]],)]
            table.move_cursor(row=1)
            await pilot.press("enter")
            assert app.action_open_run == [(first[1],)]
            table.move_cursor(row=0)
            await pilot.press("space")  # unmarks
            assert first[0] not in screen.marked

            await pilot.press("slash", *"status=done", "enter")
            await wait_for(pilot, lambda: screen.filter == "status=done" and not screen.busy, what="filtered")
            await pilot.press("s")
            await wait_for(pilot, lambda: screen.sort != "-id" and not screen.busy, what="sorted")
            sort = screen.sort
            await pilot.press("e")
            await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="the export choice")
            await pilot.press("enter")  # CSV, the first choice
            await wait_for(pilot, lambda: any(t.startswith("exported") for t in toasts), what="the export")
            (written,) = tmp_path.glob("tuiflow-export-*.csv")
            assert str(written.resolve()) in toasts[-1]
            rows = list(csv.DictReader(written.open()))
            assert [int(row["id"]) for row in rows] == expected(home, sort, "status=done")
            assert {row["status"] for row in rows} == {"done"}

    asyncio.run(scenario())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_delete_an_experiment_and_refuse_a_live_one(home: Path, size: tuple[int, int]) -> None:
    with lab.open(home) as opened:
        live = opened.store.create_experiment("live", "sleep", runs=[RunSpec(config={"seconds": 1})] * 2)
        running = opened.store.list_runs(experiment=live.id)[0].id
        opened.store.start_run(running, pid=os.getpid())  # running (this process: alive), the other queued
        cnn = [run.id for run in opened.experiment_runs("cnn-sweep")]

    async def scenario() -> None:
        app, toasts = app_for(home)
        async with app.run_test(size=size) as pilot:
            screen = await open_history(pilot)
            experiments = screen.query_one(ExperimentsTable)
            assert experiments.lines[0].name == "live"
            await pilot.press("D")  # "live" is selected: refused, nothing asked
            await wait_for(pilot, lambda: toasts, what="the refusal")
            assert toasts[-1] == "Experiment live has 2 runs queued or running: cancel them first"
            assert not isinstance(app.screen, ConfirmScreen)

            experiments.move_cursor(row=2)  # cnn-sweep
            await pilot.press("enter")
            await settled(pilot, screen)
            await pilot.press("D")  # from its runs
            confirm = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen,
                                     what="the question")
            assert confirm.question == "Delete experiment cnn-sweep?" and "Its 90 runs go" in confirm.detail
            await pilot.press("y")
            await wait_for(pilot, lambda: any(t.startswith("deleted experiment cnn-sweep") for t in toasts),
                           what="the deletion")
            await wait_for(pilot, lambda: screen.mode == "experiments" and screen.experiments is not None
                           and [line.name for line in screen.experiments] == ["live", "naps", "mlp-sweep"],
                           what="the experiments without cnn-sweep")
            assert toasts[-1] == "deleted experiment cnn-sweep: 90 runs"

    asyncio.run(scenario())
    with lab.open(home) as opened:
        assert opened.count_results() == 182
        assert not any(opened.count_results(f"id={run_id}") for run_id in cnn[:5])
        assert not (home / "logs" / f"run-{cnn[0]}.log").exists()


def test_a_parameter_and_a_metric_of_one_name_are_told_apart_by_their_keys() -> None:
    from tuiflow.lab.history import ResultLayout
    from tuiflow.tui.history_data import layout_columns

    layout = ResultLayout(4, ["seconds", "steps"], {}, {}, ["loss", "seconds"])
    columns, _, _, _ = layout_columns(layout, scoped=True)
    labels = {column.key: column.label for column in columns}
    assert labels["config.seconds"] == "config.seconds" and labels["metrics.seconds"] == "metrics.seconds"
    assert labels["config.steps"] == "steps" and labels["metrics.loss"] == "loss"


def test_retry_priority_and_cancel_from_history(home: Path) -> None:
    """The dashboard's run keys in History: r then y queues a finished run again, + raises its priority,
    c then y cancels it (queued); c on a run that has ended says so and asks nothing."""
    async def scenario() -> None:
        app, toasts = app_for(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_history(pilot)
            await pilot.press("a")
            table = await settled(pilot, screen)
            run_id = table.selected_id
            await pilot.press("c")
            await wait_for(pilot, lambda: any("has already ended" in t for t in toasts), what="the refusal")
            assert not isinstance(app.screen, ConfirmScreen)
            await pilot.press("r")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the retry's question")
            await pilot.press("y")
            await wait_for(pilot, lambda: f"run {run_id} queued again" in toasts, what="the retry")
            await pilot.press("plus")
            await wait_for(pilot, lambda: f"run {run_id}: priority 1" in toasts, what="the priority")
            await wait_for(pilot, lambda: table.selected is not None and table.selected.status == "queued",
                           what="the run shown queued")
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
            await pilot.press("y")
            await wait_for(pilot, lambda: f"run {run_id} cancelled" in toasts, what="the cancel")
            return run_id

    run_id = asyncio.run(scenario())
    with lab.open(home) as opened:
        run = opened.get_run(run_id)
        assert run.status == "cancelled" and run.priority == 1
