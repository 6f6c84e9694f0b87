"""History: every experiment and every run the home has kept, a page at a time.

It opens on the experiments (runs per status, best final metric); enter shows an experiment's runs, `a`
all runs of all experiments. Runs come a screen-full at a time from `Lab.results` by keyset (a stack
of `after` keys goes back), sorted by any column (`s`, `S`, a click on a header) and filtered by the
lab's filter language (`/`); a refused filter is said under the bar and the runs shown stay. Every
read and act is a thread worker that hands its result back with `call_from_thread`; the store's data
version is polled (in a worker too) so a view follows runs that end meanwhile.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static
from textual.worker import get_current_worker

from tuiflow.lab.pages import best_first, reverse_sort
from tuiflow.tui.data import ActionError
from tuiflow.tui.history_data import (
    ColumnChoice,
    DeleteCheck,
    ExperimentLine,
    HistoryData,
    Offset,
    RunsPage,
    RunsQuery,
    filtered_names,
    runs_text,
)
from tuiflow.tui.history_state import ColumnChoices
from tuiflow.tui.render import home_path
from tuiflow.tui.screens.run_actions import RunActions
from tuiflow.tui.widgets.experiments_table import ExperimentsTable
from tuiflow.tui.widgets.filter_bar import FilterBar
from tuiflow.tui.widgets.history_header import HistoryHeader
from tuiflow.tui.widgets.results_table import ResultsTable

if TYPE_CHECKING:
    from tuiflow.tui.app import TuiflowApp

DEFAULT_SORT = "-id"  # newest first
PRIORITY = Binding.Group("prio", compact=True)
SORT = Binding.Group("sort", compact=True)


class HistoryScreen(RunActions, Screen[None]):
    """Experiments, and their runs a page at a time; `marked` holds the run ids marked for compare."""

    CSS_PATH = "history.tcss"
    AUTO_FOCUS = "#experiments"
    BINDINGS = [
        Binding("escape", "back", "back", id="history.back", show=False,
                tooltip="Back: from runs to the experiments, from the experiments to the dashboard"),
        Binding("enter", "open", "open", id="history.open", show=False,
                tooltip="Open the selected experiment's runs, or the selected run"),
        Binding("a", "toggle_all", "all runs", id="history.all",
                tooltip="All runs of all experiments, or back to the experiments"),
        Binding("space", "mark", "mark", id="history.mark", tooltip="Mark the selected run, or unmark it"),
        Binding("m", "compare", "compare", id="history.compare", tooltip="Compare the marked runs"),
        Binding("n", "clone", "clone", id="history.clone", tooltip="Clone the selected run into Launch"),
        Binding("slash", "filter", "filter", id="history.filter", key_display="/",
                tooltip="Filter the runs: status=done lr<0.01 accuracy>0.9 recipe=digits-mlp"),
        Binding("s", "sort", "sort", id="history.sort", group=SORT,
                tooltip="Sort by the next column shown"),
        Binding("S", "reverse", "reverse", id="history.reverse", group=SORT,
                tooltip="Reverse the sort"),
        Binding("e", "export", "export", id="history.export",
                tooltip="Export the runs shown (filter, sort, experiment; from the experiments: the selected "
                        "one's) to a file here"),
        Binding("c", "cancel_run", "cancel", id="history.cancel", show=False,
                tooltip="Cancel the selected run (asks y/n)"),
        Binding("r", "retry_run", "retry", id="history.retry", show=False,
                tooltip="Queue the selected finished run again"),
        Binding("plus", "priority(1)", "prio+", id="history.priority_up", key_display="+", group=PRIORITY,
                show=False, tooltip="Raise the selected run's priority by one"),
        Binding("minus", "priority(-1)", "prio-", id="history.priority_down", key_display="-", group=PRIORITY,
                show=False, tooltip="Lower the selected run's priority by one"),
        Binding("D", "delete_experiment", "delete", id="history.delete", show=False,
                tooltip="Delete the selected finished experiment and its runs (asks y/n)"),
        Binding("C", "pick_columns", "columns", id="history.columns", show=False,
                tooltip="Choose the columns shown, and sort by any parameter or metric (remembered per "
                        "experiment)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.mode = "experiments"  # or "runs"
        self.scope: str | None = None  # the experiment whose runs are shown; None: all runs
        self.filter = ""
        self.sort: str | None = DEFAULT_SORT
        self.pages: list[Any] = [None]  # the `after` key of each page up to the one shown
        self.page: RunsPage | None = None
        self.experiments: list[ExperimentLine] | None = None
        self.experiments_best = False  # whether `experiments` hold their best final metrics yet
        self.errors: list[str] = []  # what reads failed on, newest last (tests read it)
        self._marked: dict[int, None] = {}  # insertion-ordered set
        self._loading = False
        self._timer: Timer | None = None
        self._hidden = False
        self._version: int | None = None
        self._history: HistoryData | None = None
        self._column_choices: ColumnChoices | None = None

    @property
    def tui(self) -> TuiflowApp:
        return self.app  # type: ignore[return-value]

    @property
    def history(self) -> HistoryData:
        """The History reads over the app's Lab."""
        if self._history is None:
            self._history = HistoryData(self.tui.data)
        return self._history

    @property
    def marked(self) -> list[int]:
        """The run ids marked (space), in the order they were marked; kept across pages and views."""
        return list(self._marked)

    def compose(self) -> ComposeResult:
        yield HistoryHeader(id="header")
        yield FilterBar(id="filter-bar")
        yield Static("", id="caption")
        yield ExperimentsTable(id="experiments")
        yield ResultsTable(id="runs")
        yield Static("", id="empty")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(FilterBar).display = False
        self.query_one("#caption").display = False
        self.query_one(ResultsTable).display = False
        self.query_one("#empty").display = False
        self.query_one(HistoryHeader).count = "reading..."
        self.tui.when_open(self.load_experiments)

    def on_screen_resume(self) -> None:
        self._hidden = False
        if self.experiments is not None:
            self._schedule()

    def on_screen_suspend(self) -> None:
        self._hidden = True
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    # --- reading -------------------------------------------------------------------------------------
    def load_experiments(self) -> None:
        """Read the experiments again (in a worker)."""
        self._read_experiments()

    @work(thread=True, exclusive=True, group="experiments", exit_on_error=False)
    def _read_experiments(self) -> None:
        """The experiments with their counts first, drawn at once; then with their best final metrics
        (every final metric read: the slower part)."""
        worker = get_current_worker()
        first = self.experiments is None
        for best in (False, True) if first else (True,):
            try:
                result: Any = (self.history.experiments(best=best), self.history.version())
            except Exception as exc:
                result = exc
            if worker.is_cancelled:
                return
            self.app.call_from_thread(self._show_experiments, result, best)
            if isinstance(result, BaseException):
                return

    def _show_experiments(self, result: Any, best: bool = True) -> None:
        if isinstance(result, BaseException):
            self._failed("experiments", result)
            return
        lines, version = result
        self.experiments, self.experiments_best = lines, best
        if self.mode == "experiments":
            self._version = version
        self.query_one(ExperimentsTable).show(lines)
        if self.mode == "experiments":
            self._draw_experiments()
        self._schedule()

    def _draw_experiments(self) -> None:
        lines = self.experiments or []
        header = self.query_one(HistoryHeader)
        header.place, header.filter, header.extra = "experiments", "", ""
        header.count = f"{len(lines):,} experiment{'s' * (len(lines) != 1)}  {runs_text(sum(e.runs for e in lines))}"
        self._show_empty(not lines and self.experiments is not None)

    def _query(self, after: Any = None, *, filter: str | None = None, sort: str | bool | None = False) -> RunsQuery:
        table = self.query_one(ResultsTable)
        rows = table.size.height - 1 if table.display and table.size.height > 1 else self.size.height - 3
        offset = after.rows if isinstance(after, Offset) else 0
        return RunsQuery(experiment=self.scope, filter=self.filter if filter is None else filter,
                         sort=self.sort if sort is False else sort,  # type: ignore[arg-type]
                         after=None if isinstance(after, Offset) else after, limit=max(5, rows), offset=offset)

    def load_page(self, query: RunsQuery, cursor: int = 0, *, turn: int = 0, fresh: bool = False,
                  applied: bool = False, follow: int | None = None, stack: list[Any] | None = None) -> None:
        """Read a page of runs (in a worker); `turn` says which way the pages stack moves once it is read
        (`stack`: what it is then, for a jump); `applied`: the page of a filter the user applied (its bar
        closes once it is read); `follow`: a run id the cursor stays on, wherever its row is now."""
        self._loading = True
        self._read_page(query, cursor, turn, fresh, applied, follow, stack)

    @work(thread=True, exclusive=True, group="page", exit_on_error=False)
    def _read_page(self, query: RunsQuery, cursor: int, turn: int, fresh: bool, applied: bool,
                   follow: int | None, stack: list[Any] | None) -> None:
        worker = get_current_worker()
        try:
            choice = self.column_choices.get(query.experiment)
            result: RunsPage | BaseException = self.history.page(query, fresh_columns=fresh, choice=choice)
        except Exception as exc:
            result = exc
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show_page, query, result, cursor, turn, applied, follow, stack)

    def _show_page(self, query: RunsQuery, result: RunsPage | BaseException, cursor: int, turn: int,
                   applied: bool = False, follow: int | None = None, stack: list[Any] | None = None) -> None:
        self._loading = False
        bar = self.query_one(FilterBar)
        if isinstance(result, BaseException):
            if isinstance(result, ActionError) and query.filter != self.filter:
                bar.show_error(str(result))  # the filter refused: said under the bar, the runs shown stay
            elif isinstance(result, ActionError):
                self.notify(str(result), severity="error")
            else:
                self._failed("runs", result)
            return
        if query.filter != self.filter or query.sort != self.sort or query.experiment != self.scope:
            self.pages = [None]
        self.filter, self.sort = query.filter, query.sort
        if stack is not None:
            self.pages = stack
        elif turn > 0:
            self.pages.append(Offset(query.offset) if query.offset else query.after)
        elif turn < 0 and len(self.pages) > 1:
            self.pages.pop()
        if applied:  # only the filter's own page closes its bar: a poll's reload leaves what is typed alone
            bar.show_error(None)
            if bar.display and self.focused is bar.query_one("#filter-input"):
                bar.display = False
                self.query_one(ResultsTable).focus()
        self.page = result
        self._version = result.version
        table = self.query_one(ResultsTable)
        table.filtered = filtered_names(self.filter)
        if self.mode == "runs":
            table.show(result, self.sort, self._marked, cursor, follow=follow)
            self._draw_runs_header()
            self._show_empty(not result.lines)
            self._show_caption(result.caption)
        self._schedule()

    def _show_caption(self, text: str) -> None:
        """What every run of the view shares, on a line under the header; the page is read again to fit
        the rows left when the line comes or goes."""
        caption = self.query_one("#caption", Static)
        shown = bool(text) and self.mode == "runs"
        caption.update(f"same in every run: {text}" if text and not text.startswith("where set") else text)
        if caption.display != shown:
            caption.display = shown
            self.call_after_refresh(self._fit_page)

    def _fit_page(self) -> None:
        page = self.page
        if self.mode == "runs" and page is not None and not self._loading \
                and self._query(self.pages[-1]).limit != page.query.limit:
            table = self.query_one(ResultsTable)
            self.load_page(self._query(self.pages[-1]), table.cursor_row, follow=table.selected_id)

    def _draw_runs_header(self) -> None:
        page = self.page
        header = self.query_one(HistoryHeader)
        header.place = self.scope if self.scope is not None else "all runs"
        header.filter = self.filter
        if page is None:
            header.count, header.extra = "reading...", ""
            return
        runs = f"{page.total:,} of {runs_text(page.scope_total)}" if self.filter else runs_text(page.total)
        header.count = runs
        pages = -(-page.total // max(1, page.query.limit))
        extra = [f"page {len(self.pages)}/{max(pages, len(self.pages))}"] if page.total > len(page.lines) else []
        table = self.query_one(ResultsTable)
        key = (self.sort or "").removeprefix("-")
        if key and key not in {column.key for column in table.shown}:  # sorted by a column not in sight
            label = next((c.label for c in page.choices if c.key == key), key.partition(".")[2] or key)
            arrow = ("v" if table.glyphs_ascii else "▼") if (self.sort or "").startswith("-") else \
                ("^" if table.glyphs_ascii else "▲")
            extra.append(f"by {label} {arrow}")
        if self._marked:
            extra.append(f"{len(self._marked)} marked")
        header.extra = "  ".join(extra)

    def _show_empty(self, empty: bool) -> None:
        note = self.query_one("#empty", Static)
        runs_mode = self.mode == "runs"
        self.query_one(ExperimentsTable).display = not runs_mode and not empty
        self.query_one(ResultsTable).display = runs_mode and not empty
        note.display = empty
        if empty:
            if runs_mode and self.filter:
                note.update(f"No run matches {self.filter}.\n\nPress / to change the filter.")
            elif runs_mode:
                note.update("No runs here.")
            else:
                home = home_path(self.tui.data.home) if self.tui.data.opened else "this home"
                note.update(f"Nothing has run in {home} yet.\n\nPress {self.tui.key_for('launch')} to launch a "
                            "recipe; its runs are kept here.")

    def _failed(self, source: str, exc: BaseException) -> None:
        line = f"{source}: {exc}".splitlines()[0]
        self.errors = [*self.errors[-9:], line]
        self.log.error(line)
        self.notify(line, severity="error")

    # --- following the store -------------------------------------------------------------------------
    def _schedule(self) -> None:
        if self._timer is None and self.is_attached and not self._hidden:
            self._timer = self.set_timer(max(1.0, self.tui.options.refresh_s), self._poll_version, name="history")

    def _poll_version(self) -> None:
        self._timer = None
        if not self._hidden:
            self._check_version(self._version)

    @work(thread=True, exclusive=True, group="version", exit_on_error=False)
    def _check_version(self, known: int | None) -> None:
        try:
            version = self.history.version()
        except Exception:
            version = known
        self.app.call_from_thread(self._version_read, version != known)

    def _version_read(self, changed: bool) -> None:
        if changed and not self._loading:
            self.reload()
        else:
            self._schedule()

    def reload(self) -> None:
        """Read what the view shows again: the experiments, and the runs page where it is."""
        self.load_experiments()
        if self.mode == "runs":
            table = self.query_one(ResultsTable)
            self.load_page(self._query(self.pages[-1]), table.cursor_row, fresh=True, follow=table.selected_id)

    # --- moving around -------------------------------------------------------------------------------
    def open_runs(self, experiment: str | None) -> None:
        """Show the runs of one experiment (None: of all), first page, the filter kept."""
        self.mode, self.scope, self.pages, self.page = "runs", experiment, [None], None
        self.query_one(ExperimentsTable).display = False
        table = self.query_one(ResultsTable)
        table.display = True
        table.clear(columns=True)
        table.focus()
        self._draw_runs_header()
        self.load_page(self._query())

    def show_experiments(self) -> None:
        """Back to the experiments."""
        self.mode, self.page = "experiments", None
        self.query_one(ResultsTable).display = False
        self.query_one("#caption").display = False
        table = self.query_one(ExperimentsTable)
        table.display = True
        table.focus()
        self._draw_experiments()
        self.load_experiments()

    def action_back(self) -> None:
        if self.mode == "runs":
            self.show_experiments()
        else:
            self.app.action_show_dashboard()  # type: ignore[attr-defined]

    def action_toggle_all(self) -> None:
        if self.mode == "runs" and self.scope is None:
            self.show_experiments()
        else:
            self.open_runs(None)

    def action_open(self) -> None:
        if self.mode == "experiments":
            line = self.query_one(ExperimentsTable).selected
            if line is not None:
                self.open_runs(line.name)
            return
        run_id = self.query_one(ResultsTable).selected_id
        if run_id is None:
            return
        opener = getattr(self.app, "action_open_run", None)
        if opener is not None:
            opener(run_id)
        else:
            from tuiflow.tui.screens.log import LogScreen

            self.app.push_screen(LogScreen(run_id))

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    @on(ResultsTable.Turn)
    def _turn(self, event: ResultsTable.Turn) -> None:
        page = self.page
        if page is None or self._loading:
            return
        if event.step > 0 and page.next is not None:
            self.load_page(self._query(page.next), 0, turn=1)
        elif event.step < 0 and len(self.pages) > 1:
            self.load_page(self._query(self.pages[-2]), -1, turn=-1)
        else:  # no page that way: to the first or last row of this one
            table = self.query_one(ResultsTable)
            table.move_cursor(row=0 if event.step < 0 else max(0, table.row_count - 1))

    @on(ResultsTable.Jump)
    def _jump(self, event: ResultsTable.Jump) -> None:
        """Home: the listing's first run; End: its last (the last page read by how many rows come before)."""
        page = self.page
        if page is None or self._loading:
            return
        table = self.query_one(ResultsTable)
        limit = max(1, page.query.limit)
        if event.step < 0:
            if len(self.pages) == 1:
                table.move_cursor(row=0)
            else:
                self.load_page(self._query(None), 0, stack=[None])
            return
        last = max(0, (page.total - 1) // limit)
        if last == len(self.pages) - 1:
            table.move_cursor(row=max(0, table.row_count - 1))
        else:
            self.load_page(self._query(Offset(last * limit)), -1,
                           stack=[None, *(Offset(number * limit) for number in range(1, last + 1))])

    def on_resize(self) -> None:
        if self.mode == "runs" and self.page is not None and not self._loading:
            wanted = self._query(self.pages[-1]).limit
            if wanted != self.page.query.limit:
                table = self.query_one(ResultsTable)
                self.load_page(self._query(self.pages[-1]), table.cursor_row, follow=table.selected_id)

    # --- filter and sort -----------------------------------------------------------------------------
    def action_filter(self) -> None:
        if self.mode == "experiments":  # a filter from the experiments looks at all runs
            self.open_runs(None)
        self.query_one(FilterBar).open(self.filter)

    @on(FilterBar.Applied)
    def _filter_applied(self, event: FilterBar.Applied) -> None:
        if self.mode != "runs":
            self.open_runs(None)
        self.load_page(self._query(filter=event.text), applied=True)

    @on(FilterBar.Closed)
    def _filter_closed(self) -> None:
        self.query_one(ResultsTable if self.mode == "runs" else ExperimentsTable).focus()

    def sort_by(self, sort: str | None) -> None:
        """Sort the runs by a column key (``-key``: highest first), from the first page."""
        if self.mode == "runs":
            self.load_page(self._query(sort=sort))

    def action_sort(self) -> None:
        table = self.query_one(ResultsTable)
        keys = [column.key for column in table.shown]
        if self.mode != "runs" or not keys:
            return
        current = (self.sort or "id").removeprefix("-")
        following = keys[(keys.index(current) + 1) % len(keys)] if current in keys else keys[0]
        self.sort_by(best_first(following))

    def action_reverse(self) -> None:
        self.sort_by(reverse_sort(self.sort or "id"))

    @on(DataTable.HeaderSelected)
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()  # a runs table's header click says which column itself (ResultsTable.SortBy)

    @on(ResultsTable.SortBy)
    def _header_clicked(self, event: ResultsTable.SortBy) -> None:
        first = best_first(event.key)  # as `tuiflow results --sort`; a second click the other way
        self.sort_by(reverse_sort(first) if self.sort == first else first)

    # --- the columns --------------------------------------------------------------------------------
    @property
    def column_choices(self) -> ColumnChoices:
        """The columns the user added to or took from each view, remembered across sessions."""
        if self._column_choices is None:
            self._column_choices = ColumnChoices(self.tui.data.home)
        return self._column_choices

    def action_pick_columns(self) -> None:
        if self.mode != "runs" or self.page is None:
            self.notify("Open an experiment's runs (enter) or all runs (a) first", severity="warning")
            return
        page = self.page
        what = self.scope if self.scope is not None else "all runs"
        from tuiflow.tui.screens.column_picker import ColumnPicker, Picked

        def picked(result: Picked | None) -> None:
            if result is None:
                return
            if result.reset:
                choice = ColumnChoice()
            else:
                choice = ColumnChoice(add=frozenset(result.shown - page.automatic),
                                      hide=frozenset(page.automatic - result.shown - {"id"}))
            try:
                self.column_choices.set(self.scope, choice)
            except OSError as exc:
                self.notify(f"cannot remember the columns in {self.column_choices.path}: {exc.strerror or exc}",
                            severity="warning")
            if result.sort is not None:
                self.sort_by(result.sort)
            else:
                table = self.query_one(ResultsTable)
                self.load_page(self._query(self.pages[-1]), table.cursor_row, follow=table.selected_id)

        self.app.push_screen(ColumnPicker(f"Columns of {what}", page.choices, [c.key for c in page.columns],
                                          page.shared), picked)

    # --- marks and acts ------------------------------------------------------------------------------
    def _selected_run(self) -> int | None:
        if self.mode != "runs":
            self.notify("Select a run first: enter shows this experiment's runs", severity="warning")
            return None
        run_id = self.query_one(ResultsTable).selected_id
        if run_id is None:
            self.notify("No run selected", severity="warning")
        return run_id

    def action_mark(self) -> None:
        if (run_id := self._selected_run()) is None:
            return
        if run_id in self._marked:
            del self._marked[run_id]
        else:
            self._marked[run_id] = None
        table = self.query_one(ResultsTable)
        table.marked = self._marked
        table.redraw_marks()
        self._draw_runs_header()
        table.action_cursor_down()

    def action_compare(self) -> None:
        ids = self.marked
        if not ids:
            self.notify("Mark runs with space first, then m compares them", severity="warning")
            return
        compare = getattr(self.app, "action_compare", None)
        if compare is None:
            self.notify("compare: coming")
            return
        compare(ids)

    def action_clone(self) -> None:
        if (run_id := self._selected_run()) is None:
            return
        clone = getattr(self.app, "action_clone", None)
        if clone is None:
            self.notify("clone: coming")
            return
        clone(run_id)

    def _shown_status(self, run_id: int) -> str | None:
        line = self.query_one(ResultsTable).selected
        return line.status if line is not None and line.id == run_id else None

    def _after_action(self) -> None:
        self.reload()

    # --- export --------------------------------------------------------------------------------------
    def action_export(self) -> None:
        if self.mode == "runs":
            query = self._query()
        else:
            line = self.query_one(ExperimentsTable).selected
            if line is None:
                self.notify("No experiment to export", severity="warning")
                return
            query = RunsQuery(experiment=line.name, sort=None)
        what = query.experiment if query.experiment is not None else "all runs"
        shown = f"{what}, {query.filter}" if query.filter else what
        from tuiflow.tui.screens.export import ExportScreen

        def chosen(fmt: str | None) -> None:
            if fmt:
                self._export(fmt, query)

        self.app.push_screen(ExportScreen(f"Export {shown}", f"to a file in {home_path(Path.cwd())}"), chosen)

    @work(thread=True, group="export", exit_on_error=False)
    def _export(self, fmt: str, query: RunsQuery) -> None:
        try:
            path, runs = self.history.export(fmt, Path.cwd(), query, self.tui.options.clock())
            message, severity = f"exported {runs_text(runs)} to {path}", "information"
        except ActionError as exc:
            message, severity = str(exc), "error"
        self.app.call_from_thread(self.notify, message, severity=severity, timeout=8)

    # --- deleting an experiment ----------------------------------------------------------------------
    def _selected_experiment(self) -> str | None:
        if self.mode == "experiments":
            line = self.query_one(ExperimentsTable).selected
            return line.name if line else None
        if self.scope is not None:
            return self.scope
        selected = self.query_one(ResultsTable).selected
        return selected.experiment if selected else None

    def action_delete_experiment(self) -> None:
        name = self._selected_experiment()
        if name is None:
            self.notify("No experiment selected", severity="warning")
            return
        self._check_delete(name)

    @work(thread=True, exclusive=True, group="delete", exit_on_error=False)
    def _check_delete(self, name: str) -> None:
        try:
            result: DeleteCheck | ActionError = self.history.delete_check(name)
        except ActionError as exc:
            result = exc
        self.app.call_from_thread(self._ask_delete, result)

    def _ask_delete(self, check: DeleteCheck | ActionError) -> None:
        if isinstance(check, ActionError):
            self.notify(str(check), severity="error")
            return
        if check.active:
            them = "it" if check.active == 1 else "them"
            self.notify(f"Experiment {check.experiment} has {runs_text(check.active)} queued or running: cancel "
                        f"{them} first", severity="error")
            return
        from tuiflow.tui.screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(check.experiment)

        if check.runs == 1:
            detail = "Its 1 run goes, with its metrics, profile and log."
        else:
            detail = f"Its {runs_text(check.runs)} go, with their metrics, profiles and logs."
        self.app.push_screen(ConfirmScreen(f"Delete experiment {check.experiment}?",
                                           f"{detail} This cannot be undone."), answered)

    @work(thread=True, exclusive=True, group="delete", exit_on_error=False)
    def _delete(self, name: str) -> None:
        try:
            runs = self.history.delete(name)
            message, severity = f"deleted experiment {name}: {runs_text(runs)}", "information"
        except ActionError as exc:
            message, severity = str(exc), "error"
        self.app.call_from_thread(self._deleted, name, message, severity)

    def _deleted(self, name: str, message: str, severity: str) -> None:
        self.notify(message, severity=severity)  # type: ignore[arg-type]
        if severity == "information" and self.mode == "runs" and self.scope == name:
            self.show_experiments()
        else:
            self.reload()

    # --- for tests and benchmarks --------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Whether a page is being read."""
        return self._loading
