"""Compare: any number of runs side by side, the baseline first. Parameters (only those that differ;
`a` all), final metrics, the per-action profile with each time as a ratio to the baseline's, and one
metric's curves overlaid. `b` pins the run under the cursor as the baseline: kept on the app, it
stays first in every later comparison and the ratios are against it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, OptionList, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from tuiflow.tui.detail_data import CompareRead, read_compare
from tuiflow.tui.widgets.compare_tables import Row, about_rows, metric_rows, param_rows, profile_rows, run_headers
from tuiflow.tui.widgets.plot import TAIL, CurvePlot, Series

if TYPE_CHECKING:
    from tuiflow.tui.app import TuiflowApp

TABLES = ("params", "metrics", "profile")


class CompareScreen(Screen[None]):
    """Runs side by side: tables that scroll sideways when the runs do not fit, and overlaid curves."""

    CSS_PATH = "compare.tcss"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "back", id="compare.back", tooltip="Back to the screen before"),
        Binding("a", "toggle_all", "all params", id="compare.all",
                tooltip="Show every parameter, or only those that differ"),
        Binding("b", "pin", "pin baseline", id="compare.pin",
                tooltip="Pin the run under the cursor as the baseline (again: unpin)"),
        Binding("enter", "open_run", "detail", id="compare.open", show=False,
                tooltip="Open the run under the cursor in detail"),
        Binding("1", "tab('params')", "params", id="compare.params", show=False, tooltip="Parameters side by side"),
        Binding("2", "tab('metrics')", "metrics", id="compare.metrics", show=False,
                tooltip="Final metrics side by side"),
        Binding("3", "tab('profile')", "profile", id="compare.profile", show=False,
                tooltip="Time per action per run, as ratios to the baseline"),
        Binding("4", "tab('curves')", "curves", id="compare.curves", show=False, tooltip="A metric's curves overlaid"),
        Binding("g", "toggle_log_scale", "log scale", id="compare.log_scale", show=False,
                tooltip="Plot the curves on a log scale, or a linear one"),
        Binding("z", "toggle_zoom", "zoom", id="compare.zoom", show=False,
                tooltip="Show the curves' last quarter of steps, the y-axis fitted to them (again: all)"),
        Binding("e", "export", "export", id="compare.export", show=False,
                tooltip="Export the compared runs (CSV, JSON or Parquet) into a file in the current folder"),
    ]

    def __init__(self, run_ids: list[int]) -> None:
        super().__init__()
        self.run_ids = list(dict.fromkeys(run_ids))
        self.every = False
        self.log_y = False
        self.zoom = False  # the curves' last TAIL of steps only
        self.metric: str | None = None
        self.result: CompareRead | None = None
        self.problem: str | None = None
        self.reads = 0
        self._keys: tuple[str, ...] = ()

    @property
    def tui(self) -> TuiflowApp:
        return self.app  # type: ignore[return-value]

    @property
    def pinned(self) -> int | None:
        """The app's pinned baseline run."""
        return getattr(self.app, "baseline_run", None)

    def compose(self) -> ComposeResult:
        yield Static(f" Compare {len(self.run_ids)} runs  reading...", id="compare-head")
        with TabbedContent(id="compare-tabs"):
            with TabPane("Params", id="params"):
                yield DataTable(id="params-table", cursor_type="column", zebra_stripes=True)
            with TabPane("Metrics", id="metrics"):
                yield DataTable(id="metrics-table", cursor_type="column", zebra_stripes=True)
            with TabPane("Profile", id="profile"):
                yield DataTable(id="profile-table", cursor_type="column", zebra_stripes=True)
            with TabPane("Curves", id="curves"), Horizontal():
                yield OptionList(id="compare-keys")
                with Vertical(id="compare-curve-box"):
                    yield Static("", id="compare-curve-head")
                    yield CurvePlot(id="compare-curve")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.tui.when_open(self.load)

    # --- reading ------------------------------------------------------------------------------------
    def load(self) -> None:
        """Read the comparison (again), with the app's pinned baseline first."""
        self._load(self.pinned, self.metric)

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def _load(self, baseline: int | None, metric: str | None) -> None:
        worker = get_current_worker()
        try:
            result: CompareRead | BaseException = read_compare(self.tui.data, self.run_ids, baseline, metric)
        except Exception as exc:  # an unknown run, a locked store: one line at the top
            result = exc
        if not worker.is_cancelled:
            self.app.call_from_thread(self._apply, result)

    def _apply(self, result: CompareRead | BaseException) -> None:
        if not self.is_attached:
            return
        head = self.query_one("#compare-head", Static)
        if isinstance(result, BaseException):
            self.problem = str(result).splitlines()[0] if str(result) else type(result).__name__
            head.update(Text(f" Compare: {self.problem}", style="bold red"))
            return
        self.problem = None
        self.result = result
        self.metric = result.metric
        self._show_head()
        self._fill_tables()
        self._show_keys(result.keys)
        self._show_curves()
        self.reads += 1

    def _show_head(self) -> None:
        comparison = self.result.comparison if self.result else None
        if comparison is None:
            return
        base = comparison.ids[0]
        text = Text.assemble((f" Compare {len(comparison.runs)} runs", "bold"), "  baseline ")
        text.append(f"#{base}", style="cyan")
        text.append(" (pinned)" if base == self.pinned else " (first; b pins)", style="dim")
        shown = len(comparison.params) if self.every else len(comparison.differing)
        text.append(f"  {shown} of {len(comparison.params)} params" + ("" if self.every else " differ"), style="dim")
        self.query_one("#compare-head", Static).update(text)

    def _fill_tables(self) -> None:
        comparison = self.result.comparison  # type: ignore[union-attr]
        headers = run_headers(comparison, self.pinned)
        params = about_rows(comparison) + param_rows(comparison, self.every)
        if not comparison.differing and not self.every:
            params.append(("param.none", Text("(no parameter differs: a shows all)", style="dim"),
                           [Text("") for _ in headers]))
        ids = comparison.ids
        self._fill(self.query_one("#params-table", DataTable), "param", headers, ids, params)
        self._fill(self.query_one("#metrics-table", DataTable), "metric", headers, ids, metric_rows(comparison))
        profile = profile_rows(comparison) or [
            ("action.none", Text("no run here profiled a pipeline", style="dim"), [Text("") for _ in headers])]
        self._fill(self.query_one("#profile-table", DataTable), "action", headers, ids, profile)

    @staticmethod
    def _fill(table: DataTable, name: str, headers: list[Text], ids: tuple[int, ...], rows: list[Row]) -> None:
        column = table.cursor_column
        table.clear(columns=True)
        table.add_column(Text(name, style="bold"), key="name")
        for header, run_id in zip(headers, ids):
            table.add_column(header, key=str(run_id))
        for key, label, cells in rows:
            table.add_row(label, *cells, key=key)
        table.move_cursor(column=min(max(1, column), len(headers)))

    # --- keys ---------------------------------------------------------------------------------------
    def action_export(self) -> None:
        from tuiflow.tui.screens.export import export_runs

        export_runs(self, self.run_ids, f"the {len(self.run_ids)} runs compared")

    def action_toggle_all(self) -> None:
        self.every = not self.every
        if self.result is not None:
            self._show_head()
            self._fill_tables()

    def _run_under_cursor(self) -> int | None:
        if self.result is None:
            return None
        tab = self.active_tab
        table = self.query_one(f"#{tab if tab in TABLES else 'params'}-table", DataTable)
        index = table.cursor_column - 1
        ids = self.result.comparison.ids
        if not 0 <= index < len(ids):
            self.notify("Move the cursor to a run's column (left, right)", severity="warning")
            return None
        return ids[index]

    def action_pin(self) -> None:
        run_id = self._run_under_cursor()
        if run_id is None:
            return
        if self.pinned == run_id:
            self.tui.baseline_run = None
            self.notify(f"Run {run_id} unpinned: the first run is the baseline")
        else:
            self.tui.baseline_run = run_id
            if run_id not in self.run_ids:
                self.run_ids.insert(0, run_id)
            self.notify(f"Run {run_id} pinned: first in every comparison, ratios against it")
        self.load()

    def action_open_run(self) -> None:
        if (run_id := self._run_under_cursor()) is not None:
            self.tui.action_open_run(run_id)

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    @property
    def active_tab(self) -> str:
        """The tab shown."""
        return str(self.query_one(TabbedContent).active)

    # --- curves -------------------------------------------------------------------------------------
    def _show_keys(self, keys: tuple[str, ...]) -> None:
        if keys == self._keys:
            return
        self._keys = keys
        options = self.query_one("#compare-keys", OptionList)
        options.clear_options()
        options.add_options(list(keys))
        if self.metric in keys:
            options.highlighted = keys.index(self.metric)

    @on(OptionList.OptionHighlighted, "#compare-keys")
    def _metric_chosen(self, event: OptionList.OptionHighlighted) -> None:
        key = str(event.option.prompt)
        if key != self.metric:
            self.metric = key
            self.load()

    def _show_curves(self) -> None:
        result = self.result
        plot = self.query_one("#compare-curve", CurvePlot)
        head = self.query_one("#compare-curve-head", Static)
        if result is None or result.metric is None:
            head.update(Text(" no metrics logged", style="dim"))
            plot.show([])
            return
        series = [Series(f"#{c.run_id}", c.steps, c.values) for c in result.curves]
        plot.show(series, log_y=self.log_y, tail=TAIL if self.zoom else None)
        # The legend, above the plot (not over its curves): each run in its curve's style, its last value;
        # lines break between runs, never inside one.
        parts = [Text.assemble((f" {result.metric}", "bold"), "  ",
                               ("log", "cyan") if self.log_y else ("linear", "dim"), "  ",
                               (f"last {TAIL:.0%} of steps", "cyan") if self.zoom else ("z: last steps", "dim"))]
        for index, c in enumerate(result.curves):
            mark, style = plot.mark(index)
            parts.append(Text.assemble((mark, style), " ", (f"#{c.run_id}", style), " ",
                                       "-" if c.last is None else f"{c.last:.4g}"))
        width = head.size.width or 10_000
        lines: list[Text] = []
        for part in parts:
            if lines and lines[-1].cell_len + 2 + part.cell_len <= width:
                lines[-1].append("  ").append_text(part)
            else:
                lines.append(part if not lines else Text(" ").append_text(part))
        head.update(Text("\n").join(lines))

    def action_toggle_log_scale(self) -> None:
        self.log_y = not self.log_y
        self._show_curves()

    def on_resize(self) -> None:
        if self.result is not None:
            self._show_curves()  # the legend's lines break at the new width (the plot redraws itself)

    @on(TabbedContent.TabActivated)
    def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "curves" and self.result is not None:
            self.call_after_refresh(self._show_curves)  # laid out only now: the legend's width is known

    def action_toggle_zoom(self) -> None:
        if self.active_tab != "curves":
            self.action_tab("curves")
        self.zoom = not self.zoom
        self._show_curves()

