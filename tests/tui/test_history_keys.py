"""History's keys never act by surprise: the filter bar keeps what is typed while a daemon's writes
reload the page (issue 20, point 1), the cursor stays on its run when rows reorder, retry asks y/n
(point 2), `home`/`end` go to the first and last run, `s` sorts highest first as `tuiflow results
--sort` does, and counts of one say "1 run" (point 17)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from history_home import build_history
from textual.widgets import Input
from tui_helpers import Lab, daemon_home, wait_for

from tuiflow import lab
from tuiflow.store import RunSpec, Store
from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.confirm import ConfirmScreen
from tuiflow.tui.screens.export import ExportScreen
from tuiflow.tui.screens.history import HistoryScreen
from tuiflow.tui.widgets.experiments_table import ExperimentsTable
from tuiflow.tui.widgets.filter_bar import FilterBar
from tuiflow.tui.widgets.results_table import ResultsTable


class Toasts(list):
    """The app's notifications, as text."""

    def __call__(self, message: str, *args: Any, **kwargs: Any) -> None:
        self.append(str(message))


def app_on(home: Path, refresh_s: float = 3600) -> tuple[TuiflowApp, Toasts]:
    app = TuiflowApp(Options(home=home, refresh_s=refresh_s, hostname="test-box"))
    toasts = Toasts()
    app.notify = toasts  # type: ignore[method-assign]
    return app, toasts


async def open_history(pilot: Any) -> HistoryScreen:
    await pilot.press("h")
    return await wait_for(pilot, lambda: isinstance(pilot.app.screen, HistoryScreen)
                          and pilot.app.screen.experiments_best and pilot.app.screen, what="the experiments")


async def settled(pilot: Any, screen: HistoryScreen) -> ResultsTable:
    await wait_for(pilot, lambda: screen.page is not None and not screen.busy, what="a page of runs")
    await pilot.pause()
    return screen.query_one(ResultsTable)


def ids(table: ResultsTable) -> list[int]:
    return [line.id for line in table.page.lines] if table.page else []


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TUIFLOW_HOME", "TUIFLOW_FAKE_GPUS", "TUIFLOW_RECIPES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "home"
    build_history(path).close()
    return path


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    yield from daemon_home(tmp_path, monkeypatch)


def test_the_filter_bar_keeps_its_keys_while_a_daemon_writes(live: Lab) -> None:
    """With a daemon up (it writes a sample every second or so, and History's poll reloads the page
    each time), `/` then waiting two reloads, then `r`, `l`, `o`: they are typed into the filter, and
    nothing is retried, launched or opened."""
    (run,) = live.submit("sleep", sets=["seconds=0", "steps=1"])
    live.wait_status(run.id, "done")

    async def scenario() -> None:
        app, toasts = app_on(live.home, refresh_s=1)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_history(pilot)
            await pilot.press("a")
            table = await settled(pilot, screen)
            assert ids(table) == [run.id]
            await pilot.press("slash")
            field = screen.query_one("#filter-input", Input)
            assert screen.query_one(FilterBar).display and screen.focused is field
            seen = [screen.page]

            def reloaded_twice() -> bool:  # each page read and shown is a new RunsPage
                if screen.page is not seen[-1]:
                    seen.append(screen.page)
                return len(seen) >= 3

            await wait_for(pilot, reloaded_twice, timeout=60, what="two reloads of the page by the poll")
            assert screen.query_one(FilterBar).display and screen.focused is field
            await pilot.press("r", "l", "o")
            await pilot.pause()
            assert field.value == "rlo"
            assert app.screen is screen and screen.focused is field  # no Launch, no log, no question
            assert not any("queued again" in toast for toast in toasts)
            await pilot.press("ctrl+u", *"status=done", "enter")  # the filter's own page closes the bar
            await wait_for(pilot, lambda: screen.filter == "status=done" and not screen.busy, what="filtered")
            assert not screen.query_one(FilterBar).display and screen.focused is table

    asyncio.run(scenario())
    assert live.run(run.id).attempt == 1 and live.run(run.id).status == "done"


def test_the_cursor_follows_its_run_when_rows_reorder(history: Path) -> None:
    """Sorted by accuracy, a run's accuracy changes in the store (as a run ending does): on the poll's
    reload the rows reorder and the cursor stays on the run it was on."""
    async def scenario() -> None:
        app, _ = app_on(history, refresh_s=1)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_history(pilot)
            screen.query_one(ExperimentsTable).move_cursor(row=2)  # mlp-sweep
            await pilot.press("enter")
            await settled(pilot, screen)
            screen.sort_by("-metrics.accuracy")
            await wait_for(pilot, lambda: screen.sort == "-metrics.accuracy" and not screen.busy, what="sorted")
            table = screen.query_one(ResultsTable)
            table.move_cursor(row=3)
            await pilot.pause()
            chosen, climber = ids(table)[3], ids(table)[6]
            with Store.open(history) as store, store.transaction() as conn:  # another connection, as a daemon's
                conn.execute("UPDATE runs SET metrics = ? WHERE id = ?",
                             (json.dumps({"accuracy": 0.9999, "loss": 0.01}), climber))
            await wait_for(pilot, lambda: ids(table)[:1] == [climber] and not screen.busy, timeout=30,
                           what="the reload with the run that climbed on top")
            assert ids(table).index(chosen) == 4  # its row moved down one ...
            assert table.selected_id == chosen and table.cursor_row == 4  # ... and the cursor with it

    asyncio.run(scenario())


def test_retry_of_an_ended_run_asks_first(history: Path) -> None:
    with lab.open(history) as opened:
        failed = opened.results("status=failed experiment=naps", "-id", limit=1).rows[0]["id"]

    async def scenario() -> None:
        app, toasts = app_on(history)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_history(pilot)
            await pilot.press("a")
            table = await settled(pilot, screen)
            await pilot.press("slash", *"status=failed experiment=naps", "enter")
            await wait_for(pilot, lambda: screen.filter and ids(table)[:1] == [failed], what="the failed runs")
            await pilot.press("r")
            confirm = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen,
                                     what="the question")
            assert confirm.question == f"Retry run {failed} (failed)?"
            await pilot.press("n")
            await wait_for(pilot, lambda: app.screen is screen, what="the answer no")
            await pilot.pause()
            assert not any("queued again" in toast for toast in toasts)
            with lab.open(history) as opened:
                assert opened.get_run(failed).status == "failed"
            await pilot.press("r")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question again")
            await pilot.press("y")
            await wait_for(pilot, lambda: f"run {failed} queued again" in toasts, what="the retry")

    asyncio.run(scenario())
    with lab.open(history) as opened:
        assert opened.get_run(failed).status == "queued"


def test_home_and_end_go_to_the_first_and_the_last_run(history: Path) -> None:
    with lab.open(history) as opened:
        everything = [row["id"] for row in opened.iter_results("", "-id")]

    async def scenario() -> None:
        app, _ = app_on(history)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_history(pilot)
            experiments = screen.query_one(ExperimentsTable)
            await pilot.press("end")
            assert experiments.cursor_row == len(experiments.lines) - 1
            await pilot.press("home")
            assert experiments.cursor_row == 0
            await pilot.press("a")
            table = await settled(pilot, screen)
            rows = len(ids(table))
            pages = -(-len(everything) // rows)
            await pilot.press("end")
            await wait_for(pilot, lambda: ids(table)[-1:] == everything[-1:] and not screen.busy, what="the last page")
            assert ids(table) == everything[(pages - 1) * rows:]
            assert table.selected_id == everything[-1]
            assert f"page {pages}/{pages}" in screen.query_one("#header").render().plain
            await pilot.press("pageup")  # the page before the last, though its key was never read
            await wait_for(pilot, lambda: ids(table) == everything[(pages - 2) * rows:(pages - 1) * rows]
                           and not screen.busy, what="the page before the last")
            await pilot.press("pagedown")
            await wait_for(pilot, lambda: ids(table) == everything[(pages - 1) * rows:] and not screen.busy,
                           what="the last page again")
            await pilot.press("home")
            await wait_for(pilot, lambda: ids(table) == everything[:rows] and not screen.busy, what="the first page")
            assert table.cursor_row == 0 and len(screen.pages) == 1
            table.move_cursor(row=5)
            await pilot.press("end")  # on the first page: the last run is pages away
            await wait_for(pilot, lambda: table.selected_id == everything[-1] and not screen.busy, what="end again")

    asyncio.run(scenario())


def test_s_sorts_highest_first_as_the_cli_does(history: Path) -> None:
    cli = subprocess.run([sys.executable, "-m", "tuiflow", "results", "--home", str(history), "--json", "--all",
                          "--experiment", "mlp-sweep", "--sort", "accuracy"],
                         capture_output=True, text=True, timeout=120, check=True)
    by_cli = [row["id"] for row in json.loads(cli.stdout)]

    async def scenario() -> None:
        app, _ = app_on(history)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_history(pilot)
            screen.query_one(ExperimentsTable).move_cursor(row=2)  # mlp-sweep
            await pilot.press("enter")
            table = await settled(pilot, screen)
            keys = [column.key for column in table.shown]
            for _ in range(keys.index("metrics.accuracy")):
                await pilot.press("s")
                await wait_for(pilot, lambda: not screen.busy, what="sorted")
            await wait_for(pilot, lambda: screen.sort == "-metrics.accuracy" and not screen.busy, what="by accuracy")
            assert ids(table) == by_cli[:len(ids(table))]
            assert "accuracy ▼" in table.ordered_columns[1].label.plain

    asyncio.run(scenario())


def test_one_run_is_one_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A home with one run: History's header, the export's toast, the delete question and its answer, and
    the CLI's export line say "1 run"."""
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    with Store.open(home, create=True) as store:
        experiment = store.create_experiment("single", "sleep", runs=[RunSpec(config={"seconds": 1})])
        (run,) = store.list_runs(experiment=experiment.id)
        with store.transaction() as conn:
            conn.execute("UPDATE runs SET status = 'done', started_at = 1, ended_at = 2 WHERE id = ?", (run.id,))

    async def scenario() -> None:
        app, toasts = app_on(home)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_history(pilot)
            assert "1 experiment  1 run" in screen.query_one("#header").render().plain
            await pilot.press("enter")
            await settled(pilot, screen)
            assert screen.query_one("#header").render().plain.rstrip().endswith(" 1 run")
            await pilot.press("e")
            await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="the export")
            await pilot.press("enter")
            await wait_for(pilot, lambda: any(t.startswith("exported") for t in toasts), what="the export's toast")
            assert toasts[-1].startswith("exported 1 run to ")
            await pilot.press("D")
            confirm = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen) and app.screen,
                                     what="the question")
            assert confirm.detail.startswith("Its 1 run goes, with its metrics, profile and log.")
            await pilot.press("y")
            await wait_for(pilot, lambda: any(t.startswith("deleted") for t in toasts), what="the deletion")
            assert toasts[-1] == "deleted experiment single: 1 run"

    out = subprocess.run([sys.executable, "-m", "tuiflow", "export", "--home", str(home), "--format", "json",
                          "--output", str(tmp_path / "one.json")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr.startswith("tuiflow: exported 1 run and 0 metric values to ")
    asyncio.run(scenario())
