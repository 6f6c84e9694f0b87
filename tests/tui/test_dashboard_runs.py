"""The dashboard's runs table says what each run is, and gives its room back, at 80x24 and 120x40
against a real store: the parameters that tell a grid's runs apart in every row, experiment names
whole, the recipe only where it is not the experiment's name, one metric whole with its name in the
header; the selected run's parameters in its pane; the runs box as tall as its rows, a run without a
pipeline's log the whole width, and a mass cancel one row among the last that ended, read in a few
bounded queries. The GPU and host lines name their gauges and fit 80 columns."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from fixed_home import FIXED_NOW, HOSTNAME, build, freeze
from rich.text import Text
from textual.widgets.data_table import ColumnKey
from tui_helpers import wait_for

from tuiflow import lab
from tuiflow.store import RunSpec, Store
from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.render import status_line
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.views import DaemonView, NodeView
from tuiflow.tui.widgets.gpu_panel import GpuPanel, HostLine, node_title_line
from tuiflow.tui.widgets.run_panel import RunTail
from tuiflow.tui.widgets.runs_table import RunsTable
from tuiflow.tui.widgets.status_bar import StatusBar

SIZES = [(80, 24), (120, 40)]
GRID = [(lr, hidden) for lr in (0.001, 0.01, 0.1) for hidden in (32, 64)]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("TUIFLOW_FAKE_GPUS", "TUIFLOW_RECIPES", "TUIFLOW_ASCII", "TUIFLOW_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))


def finish(store: Store, run_id: int, status: str = "done", metrics: dict | None = None) -> None:
    store.start_run(run_id, pid=1, gpus=[])
    store.finish_run(run_id, status, exit_code=0 if status == "done" else 1, metrics=metrics)


def grid_home(tmp_path: Path) -> Path:
    """Six done runs of an lr x hidden grid of `digits-mlp` (named after its recipe), the other
    parameters the same in each."""
    home = tmp_path / "grid"
    store = Store.open(home, create=True)
    specs = [RunSpec(config={"lr": lr, "hidden": hidden, "epochs": 30, "batch_size": 64, "framework": "torch"})
             for lr, hidden in GRID]
    store.create_experiment(None, "digits-mlp", config={"epochs": 30}, grid={}, runs=specs)
    for index, run in enumerate(store.list_runs(), 1):
        finish(store, run.id, metrics={"accuracy": 0.9 + index / 1000, "loss": 0.00613 + index / 1e5})
    store.close()
    return home


def app_on(home: Path, refresh_s: float = 3600) -> TuiflowApp:
    return TuiflowApp(Options(home=home, refresh_s=refresh_s, hostname="test-box"))


async def drawn(pilot, app: TuiflowApp) -> DashboardScreen:  # type: ignore[no-untyped-def]
    dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.telemetry is not None
                          and app.screen.runs_view is not None and app.screen.detail is not None and app.screen,
                          what="the dashboard's data")
    await pilot.pause()
    return dash


def row_text(table: RunsTable, key: str) -> str:
    return "".join(cell.plain if isinstance(cell, Text) else str(cell) for cell in table.get_row(key))


def header(table: RunsTable, key: str) -> str | None:
    column = table.columns.get(ColumnKey(key))
    return None if column is None else column.label.plain.strip()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_each_row_says_which_run_of_the_grid_it_is(tmp_path: Path, clean_env: None, size: tuple[int, int]) -> None:
    home = grid_home(tmp_path)

    async def scenario() -> None:
        app = app_on(home)
        async with app.run_test(size=size) as pilot:
            dash = await drawn(pilot, app)
            table = dash.query_one(RunsTable)
            assert len(table.lines) == 6
            for run_id, line in table.lines.items():
                lr, hidden = line.config["lr"], line.config["hidden"]
                text = row_text(table, str(run_id))
                assert f"lr={lr:g}" in text and f"hidden={hidden}" in text, text
                assert "digits-mlp " in text and "…" not in text, text  # the name whole, nothing cut
                assert "epochs" not in text and "framework" not in text  # the same in every run: not in the row
                assert f"{line.latest[0][1]:.3g}" in text  # accuracy, whole
            assert header(table, "recipe") is None  # the experiment's name says it already
            assert header(table, "latest") == "accuracy"  # the metric named once, in the header
            # The selected run's pane: all of its parameters, those that tell it apart first.
            tail = dash.query_one(RunTail)
            selected = table.lines[table.selected_id]  # type: ignore[index]
            shown = tail.params.plain if tail.params is not None else ""
            assert shown.startswith(f"hidden={selected.config['hidden']} lr={selected.config['lr']:g}")
            for key in ("batch_size=64", "epochs=30", "framework=torch"):
                assert key in shown
            assert "hidden=" in "".join(strip.text for strip in tail.render_lines(tail.region.reset_offset))

    asyncio.run(scenario())


def test_the_recipe_is_shown_where_the_experiment_is_not_named_after_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock = freeze(monkeypatch, tmp_path)
    home = tmp_path / "home"
    build(home, clock).close()

    async def scenario() -> None:
        app = TuiflowApp(Options(home=home, refresh_s=3600, hostname=HOSTNAME, clock=lambda: FIXED_NOW))
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await drawn(pilot, app)
            table = dash.query_one(RunsTable)
            assert header(table, "recipe") == "recipe"
            assert "lr=0.01 " in row_text(table, "3") or "lr=0.01" in row_text(table, "3")
            assert "cnn-sweep" in row_text(table, "1") and "digits-cnn" in row_text(table, "1")

    asyncio.run(scenario())


def test_the_pane_names_the_recipe_where_the_experiment_does_not(tmp_path: Path, clean_env: None) -> None:
    home = grid_home(tmp_path)
    store = Store.open(home)
    named = store.create_experiment("waiting", "sleep", config={}, grid={}, runs=[RunSpec(config={"seconds": 5})])
    [run] = store.list_runs(experiment=named.id)
    finish(store, run.id, metrics={"seconds": 5})
    store.close()

    async def scenario() -> None:
        app = app_on(home)
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await drawn(pilot, app)
            table = dash.query_one(RunsTable)
            tail = dash.query_one(RunTail)
            table.select(run.id)
            await wait_for(pilot, lambda: tail.params is not None and tail.params.plain.startswith("sleep:"),
                           what="the recipe before the parameters")
            for run_id in (i for i in table.lines if i != run.id):
                assert "lr=" in row_text(table, str(run_id))  # the grid's parameters still shown whole
                assert "…" not in row_text(table, str(run_id))
            table.select(next(i for i in table.lines if i != run.id))
            await wait_for(pilot, lambda: tail.params is not None and tail.params.plain.startswith("hidden="),
                           what="a grid run's parameters, without the recipe its experiment is named after")

    asyncio.run(scenario())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_lone_run_without_a_pipeline_gives_the_room_to_its_log(tmp_path: Path, clean_env: None,
                                                                 size: tuple[int, int]) -> None:
    home = tmp_path / "lone"
    store = Store.open(home, create=True)
    store.create_experiment(None, "sleep", config={}, grid={}, runs=[RunSpec(config={"seconds": 1})])
    finish(store, 1, metrics={"value": 3})
    store.close()

    async def scenario() -> None:
        app = app_on(home)
        async with app.run_test(size=size) as pilot:
            dash = await drawn(pilot, app)
            width, height = size
            box = dash.query_one("#runs-box")
            assert box.region.height == 5  # its title, the header, the run, and the floor's two lines
            gpus = dash.query_one(GpuPanel).region.height
            tail = dash.query_one(RunTail)
            assert not dash.query_one("#profile").display  # no "no pipeline has run in it" taking half the screen
            assert tail.region.width >= width - 1
            assert tail.region.height >= height - 3 - gpus - 5 - 1  # the rest, but for its title line

    asyncio.run(scenario())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_mass_cancel_is_one_row_among_the_last_that_ended(tmp_path: Path, clean_env: None,
                                                            size: tuple[int, int]) -> None:
    home = tmp_path / "mass"
    store = Store.open(home, create=True)
    store.create_experiment("early", "sleep", config={}, grid={},
                            runs=[RunSpec(config={"seconds": s}) for s in (1, 2, 3)])
    for run in store.list_runs():
        finish(store, run.id, metrics={"value": 1})
    mass = store.create_experiment("mass", "sleep", config={}, grid={},
                                   runs=[RunSpec(config={"seconds": 1, "steps": i}) for i in range(900)])
    assert store.cancel_queued(mass.id) == 900
    late = store.create_experiment("late", "sleep", config={}, grid={},
                                   runs=[RunSpec(config={"seconds": s}) for s in (4, 5)])
    for run in store.list_runs(experiment=late.id):
        finish(store, run.id, "failed")
    store.close()

    with lab.open(home) as opened:  # what the dashboard reads: 6 rows, not 900
        rows = opened.dashboard_runs(20)
    assert [getattr(row, "count", None) or row.run.status for row in rows] == \
        ["failed", "failed", 900, "done", "done", "done"]

    async def scenario() -> None:
        app = app_on(home)
        async with app.run_test(size=size) as pilot:
            dash = await drawn(pilot, app)
            table = dash.query_one(RunsTable)
            assert table.row_count == 6
            [group] = table.ended.values()
            text = row_text(table, group.key)
            assert "900 runs" in text and "cancelled" in text and "mass" in text
            assert [row.key.value for row in table.ordered_rows][2] == group.key  # after the failed, before the done
            table.move_cursor(row=2)
            await pilot.pause()
            tail = dash.query_one(RunTail)
            await wait_for(pilot, lambda: tail.note is not None
                           and "900 runs of mass ended cancelled" in tail.note.plain,
                           what="the pane saying what the row stands for")

    asyncio.run(scenario())


def test_the_selected_rows_progress_bar_takes_the_rows_colours(tmp_path: Path, clean_env: None) -> None:
    home = grid_home(tmp_path)

    async def scenario() -> None:
        app = app_on(home)
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await drawn(pilot, app)
            table = dash.query_one(RunsTable)
            column = list(table.columns).index(ColumnKey("progress"))
            selected = table.selected_id
            other = next(i for i in table.lines if i != selected)
            assert not table.get_row(str(selected))[column].spans  # no dim or dark colours on the highlight
            assert table.get_row(str(other))[column].spans  # the others keep theirs
            table.move_cursor(row=table.get_row_index(str(other)))
            await wait_for(pilot, lambda: not table.get_row(str(other))[column].spans, what="the new row's bar plain")
            assert table.get_row(str(selected))[column].spans

    asyncio.run(scenario())


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_gpu_and_host_lines_name_their_gauges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   size: tuple[int, int]) -> None:
    clock = freeze(monkeypatch, tmp_path)
    home = tmp_path / "home"
    build(home, clock).close()

    async def scenario() -> None:
        app = TuiflowApp(Options(home=home, refresh_s=3600, hostname=HOSTNAME, clock=lambda: FIXED_NOW))
        async with app.run_test(size=size) as pilot:
            dash = await drawn(pilot, app)
            panel = dash.query_one(GpuPanel)
            lines = [line.plain for line in panel.lines(panel.size.width)]
            assert len(lines) == 2
            for line in lines:
                assert len(line) <= size[0]
                assert " util " in line and "%" in line and " mem " in line and "/80.0G" in line
                left, _, right = line.partition(" │ ")
                assert right and len(left) <= size[0] - 22  # the run's words keep 22 cells at 80 columns
            assert "#1" in lines[0]
            host = dash.query_one(HostLine)
            text = host.lines(host.size.width)[0].plain
            assert text.startswith(" CPU ") and "% (16 cores)" in text and " of 16" not in text
            assert "no daemon: queued runs will not start" in dash.query_one(StatusBar).render().plain
            node = NodeView(node="alpha", title="alpha", cpu_percent=34.0, cores=16, memory_used_mb=12288.0,
                            memory_total_mb=65536.0)
            title = node_title_line(node, 2, size[0], app.glyphs).plain  # a cluster node says it alike
            assert "CPU 34% (16 cores)" in title and len(title) == size[0]
            for paused, words in ((False, "queue running"), (True, "queue paused")):
                daemon = DaemonView(running=True, pid=1, queued=3, running_runs=2, paused=paused)
                line = status_line(HOSTNAME, daemon, FIXED_NOW, size[0], app.glyphs).plain
                assert words in line and "queue on" not in line and len(line) == size[0]

    asyncio.run(scenario())


def test_ended_rows_read_a_bounded_number_of_runs(tmp_path: Path) -> None:
    """20,000 cancelled after 5 done: a few windows and a count, not 20,000 runs read."""
    home = tmp_path / "big"
    store = Store.open(home, create=True)
    early = store.create_experiment("early", "sleep", config={}, grid={},
                                    runs=[RunSpec(config={"s": i}) for i in range(5)])
    for run in store.list_runs(experiment=early.id):
        finish(store, run.id)
    mass = store.create_experiment("mass", "sleep", config={}, grid={},
                                   runs=[RunSpec(config={"s": i}) for i in range(20_000)])
    store.cancel_queued(mass.id)
    from tuiflow.lab.dashboard import WINDOW, EndedGroup, ended_rows

    read: list[int] = []
    page = store.results_page

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = page(*args, **kwargs)
        read.append(len(result.rows))
        return result

    store.results_page = counting  # type: ignore[method-assign]
    started = time.perf_counter()
    rows = ended_rows(store, 20)
    elapsed = time.perf_counter() - started
    assert isinstance(rows[0], EndedGroup) and rows[0].count == 20_000 and rows[0].status == "cancelled"
    assert [run.id for run in rows[1:]] == [5, 4, 3, 2, 1]
    assert sum(read) <= 3 * WINDOW + 10, read
    assert elapsed < 5, elapsed
    store.close()


def test_a_failed_read_of_the_runs_is_said_once_and_the_runs_shown_stay(tmp_path: Path, clean_env: None) -> None:
    """A store that breaks under the app (here its runs table renamed by another connection) is said in
    one toast naming the runs' read, not once a tick, and the rows last read stay on screen."""
    home = grid_home(tmp_path)

    async def scenario() -> None:
        app = TuiflowApp(Options(home=home, refresh_s=0.2))
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen)
            table = dash.query_one(RunsTable)
            await wait_for(pilot, lambda: table.row_count == len(GRID), what="the grid's rows")
            polls = len(dash.poll_errors)
            conn = sqlite3.connect(home / "tuiflow.db")
            with conn:
                conn.execute("ALTER TABLE runs RENAME TO runs_gone")
            conn.close()
            await wait_for(pilot, lambda: len([e for e in dash.poll_errors[polls:] if e.startswith("runs:")]) >= 3,
                           what="three failed reads of the runs")
            said = [n.message for n in app._notifications if n.message.startswith("runs:")]
            assert len(said) == 1 and "last good read" in said[0], said
            assert table.row_count == len(GRID)

    asyncio.run(scenario())


def test_the_cursor_the_screen_placed_goes_to_a_run_that_starts_but_one_the_user_placed_stays(
        tmp_path: Path, clean_env: None) -> None:
    """Runs started elsewhere (the CLI) while the cursor sits where the screen put it: on the run that was
    running at the start and has ended since. It goes to the newest running one, so a running run is
    never out of sight under an old one nobody chose; once the user moves it, it stays on the user's run."""
    home = grid_home(tmp_path)
    with Store.open(home) as store:
        experiment = store.create_experiment(None, "sleep", runs=[RunSpec(config={"seconds": s}) for s in (1, 2, 3)])
        first, second, third = (run.id for run in store.list_runs(experiment=experiment.id))
        store.start_run(first, pid=1, gpus=[])

    async def scenario() -> None:
        app = TuiflowApp(Options(home=home, refresh_s=0.2))
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen)
            table = dash.query_one(RunsTable)
            await wait_for(pilot, lambda: table.row_count == len(GRID) + 3, what="every row")
            await wait_for(pilot, lambda: table.selected_id == first, what=f"the cursor on #{first}, running")
            with Store.open(home) as store:
                store.finish_run(first, "done", exit_code=0)
            await wait_for(pilot, lambda: table.lines.get(first) and table.lines[first].status == "done",
                           what=f"#{first} done")
            assert table.selected_id == first  # the cursor follows its run
            with Store.open(home) as store:
                store.start_run(second, pid=1, gpus=[])
            await wait_for(pilot, lambda: table.selected_id == second, what=f"the cursor on #{second}, started")
            await pilot.press("down", "down")  # the user's choice now
            chosen = table.selected_id
            assert chosen is not None and chosen != second
            with Store.open(home) as store:
                store.finish_run(second, "done", exit_code=0)
                store.start_run(third, pid=1, gpus=[])
            await wait_for(pilot, lambda: table.lines.get(third) and table.lines[third].status == "running",
                           what=f"#{third} running")
            assert table.selected_id == chosen

    asyncio.run(scenario())


def test_lone_runs_leave_out_an_empty_parameters_column(tmp_path: Path, clean_env: None) -> None:
    """Runs that no parameter tells apart (one run an experiment) get no parameters column: its room
    would sit empty beside them. A grid's runs bring it back."""
    home = tmp_path / "lone"
    with Store.open(home, create=True) as store:
        store.create_experiment(None, "sleep", runs=[RunSpec(config={"seconds": 20.0})])
        finish(store, store.list_runs()[0].id, metrics={"value": 1.0})

    async def scenario() -> None:
        app = TuiflowApp(Options(home=home, refresh_s=0.2))
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen)
            table = dash.query_one(RunsTable)
            await wait_for(pilot, lambda: table.row_count == 1, what="the lone run")
            assert header(table, "experiment") == "experiment" and header(table, "params") is None
            with Store.open(home) as store:
                store.create_experiment(None, "sleep", runs=[RunSpec(config={"seconds": s}) for s in (1.0, 2.0)])
            await wait_for(pilot, lambda: table.row_count == 3 and header(table, "params") == "parameters",
                           what="the grid's parameters column")

    asyncio.run(scenario())
