"""Run detail: one run in full, in tabs that fit 80x24. Overview (status, error, parameters, final
metrics, traceback), Metrics (a chosen metric's curve, log scale on `g`), Profile (where the time
goes), Telemetry (its processes' CPU and memory over time) and Log (searchable).

A running run is read again every refresh by one thread worker that hands back what it read and only
then schedules the next read (`set_timer`), so reads never overlap; once the run has ended, the read
that saw it end is the last.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, OptionList, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from tuiflow.lab.gauges import duration
from tuiflow.tui.data import LogTail
from tuiflow.tui.detail_data import Curve, DetailRead, curve, read_detail
from tuiflow.tui.render import STATUS_STYLE, number
from tuiflow.tui.widgets.log_search import LogSearch
from tuiflow.tui.widgets.plot import CurvePlot, Series
from tuiflow.tui.widgets.run_panes import OverviewPane, ProfilePane, TelemetryPane

if TYPE_CHECKING:
    from tuiflow.tui.app import TuiflowApp

TABS = ("overview", "metrics", "profile", "telemetry", "log")


class RunDetailScreen(Screen[None]):
    """Everything about one run, live while it runs."""

    CSS_PATH = "run_detail.tcss"
    AUTO_FOCUS = None
    BINDINGS = [
        Binding("escape", "app.pop_screen", "back", id="detail.back", tooltip="Back to the screen before"),
        Binding("1", "tab('overview')", "overview", id="detail.overview", show=False,
                tooltip="Overview: status, error, parameters, final metrics"),
        Binding("2", "tab('metrics')", "metrics", id="detail.metrics", show=False,
                tooltip="Metrics: a metric's curve over the steps"),
        Binding("3", "tab('profile')", "profile", id="detail.profile", show=False,
                tooltip="Profile: where the run's time goes, action by action"),
        Binding("4", "tab('telemetry')", "telemetry", id="detail.telemetry", show=False,
                tooltip="Telemetry: the run's CPU and memory over time"),
        Binding("5", "tab('log')", "log", id="detail.log", show=False, tooltip="Log: the run's output"),
        Binding("g", "toggle_log_scale", "log scale", id="detail.log_scale",
                tooltip="Plot the metric on a log scale, or a linear one"),
        Binding("slash", "search", "search", id="detail.search", key_display="/",
                tooltip="Search the log (n: next match, N: previous)"),
        Binding("n", "next_match(1)", "next", id="detail.next_match", show=False,
                tooltip="Go to the log's next match"),
        Binding("N", "next_match(-1)", "previous", id="detail.previous_match", show=False,
                tooltip="Go to the log's previous match"),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.metric: str | None = None
        self.log_y = False
        self.read: DetailRead | None = None
        self.curve: Curve | None = None
        self.reads = 0  # reads applied (tests wait on it)
        self.problem: str | None = None
        self._tail = LogTail(run_id)
        self._timer: Timer | None = None
        self._keys: tuple[str, ...] = ()
        self._telemetry_final = False  # the telemetry shown was read after the run ended

    @property
    def tui(self) -> TuiflowApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(f" run {self.run_id}  reading...", id="detail-head")
        with TabbedContent(id="detail-tabs"):
            with TabPane("Overview", id="overview"), VerticalScroll():
                yield OverviewPane(id="overview-pane")
            with TabPane("Metrics", id="metrics"), Horizontal():
                yield OptionList(id="metric-keys")
                with Vertical(id="curve-box"):
                    yield Static("", id="curve-head")
                    yield CurvePlot(id="curve")
            with TabPane("Profile", id="profile"), VerticalScroll():
                yield ProfilePane(id="profile-pane")
            with TabPane("Telemetry", id="telemetry"), VerticalScroll():
                yield TelemetryPane(id="telemetry-pane")
            with TabPane("Log", id="log"):
                yield LogSearch(id="log-search")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.tui.when_open(self.poll)

    def on_screen_resume(self) -> None:
        if self.read is not None and self.read.info.active and self._timer is None:
            self.poll()

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    # --- reading --------------------------------------------------------------------------------------
    def poll(self) -> None:
        """Read the run now, in a worker; it draws what it read, then schedules the next read if the run
        is still queued or running."""
        if self._timer is not None:
            self._timer.stop()
        self._timer = None
        # The run's telemetry is read while its tab is shown, and on the first read.
        self._poll(self.metric, self.active_tab == "telemetry" or self.read is None)

    @work(thread=True, exclusive=True, group="detail-poll", exit_on_error=False)
    def _poll(self, metric: str | None, telemetry: bool) -> None:
        worker = get_current_worker()
        try:
            result: DetailRead | BaseException = read_detail(
                self.tui.data, self.run_id, metric, self._tail, telemetry=telemetry,
                experiment=self.read.info.experiment if self.read is not None else None)
        except Exception as exc:  # no such run, a locked store: said in the head line
            result = exc
        if not worker.is_cancelled:
            self.app.call_from_thread(self._apply, result)

    def _apply(self, result: DetailRead | BaseException) -> None:
        if not self.is_attached:
            return
        if isinstance(result, BaseException):
            self.problem = str(result).splitlines()[0] if str(result) else type(result).__name__
            self.query_one("#detail-head", Static).update(Text(f" run {self.run_id}: {self.problem}", style="bold red"))
            if self.read is None or self.read.info.active:
                self._timer = self.set_timer(max(1.0, self.tui.options.refresh_s), self.poll, name="detail-poll")
            return
        self.problem = None
        self.read = result
        info = result.info
        now = self.tui.options.clock()
        self._show_head(result, now)
        self.query_one(OverviewPane).show(info, now)
        run_s = info.duration_s if info.duration_s is not None else (
            None if info.started_at is None else max(0.0, now - info.started_at))
        self.query_one(ProfilePane).show(result.profile, info.action, run_s)
        if result.telemetry is not None:
            self.query_one(TelemetryPane).show(result.telemetry)
            self._telemetry_final = not info.active
        self._show_keys(result.keys)
        if result.curve is not None and (self.metric is None or result.curve.key == self.metric):
            self.metric = result.curve.key
            self._show_curve(result.curve)
        elif result.curve is None:
            self._show_curve(None)
        self.query_one(LogSearch).add_lines(result.new_lines, restart=result.log_restarted)
        self.reads += 1
        if info.active:
            self._timer = self.set_timer(self.tui.options.refresh_s, self.poll, name="detail-poll")

    def _show_head(self, result: DetailRead, now: float) -> None:
        info = result.info
        head = Text.assemble((f" run {info.id}", "bold"), "  ")
        head.append(f"{info.experiment or '-'}  {info.recipe}  ")
        head.append(info.status, style=STATUS_STYLE.get(info.status, ""))
        took = info.duration_s if info.duration_s is not None else (
            None if info.started_at is None else max(0.0, now - info.started_at))
        if took is not None:
            head.append(f"  {duration(took)}")
        if info.error:
            head.append(f"  {info.error}", style="red")
        head.truncate(max(10, self.size.width), overflow="ellipsis")
        self.query_one("#detail-head", Static).update(head)

    # --- metrics --------------------------------------------------------------------------------------
    def _show_keys(self, keys: tuple[str, ...]) -> None:
        if keys == self._keys:
            return
        self._keys = keys
        options = self.query_one("#metric-keys", OptionList)
        options.clear_options()
        options.add_options(list(keys))
        if self.metric in keys:
            options.highlighted = keys.index(self.metric)
        elif keys:
            options.highlighted = 0

    @on(OptionList.OptionHighlighted, "#metric-keys")
    def _metric_chosen(self, event: OptionList.OptionHighlighted) -> None:
        key = str(event.option.prompt)
        if key == self.metric and self.curve is not None and self.curve.key == key:
            return
        self.metric = key
        self._read_curve(key)

    @work(thread=True, exclusive=True, group="detail-curve", exit_on_error=False)
    def _read_curve(self, key: str) -> None:
        worker = get_current_worker()
        try:
            result: Curve | None = curve(self.tui.data, self.run_id, key)
        except Exception:  # the next poll reads it again
            result = None
        if not worker.is_cancelled and result is not None:
            self.app.call_from_thread(self._curve_read, result)

    def _curve_read(self, result: Curve) -> None:
        if self.is_attached and result.key == self.metric:
            self._show_curve(result)

    def _show_curve(self, result: Curve | None) -> None:
        self.curve = result
        head = self.query_one("#curve-head", Static)
        plot = self.query_one(CurvePlot)
        if result is None:
            head.update(Text(" no metrics logged" + (" yet" if self.read and self.read.info.active else ""),
                             style="dim"))
            plot.show([])
            return
        known = [v for v in result.values if v is not None]
        text = Text.assemble((f" {result.key}", "bold"))
        if known:
            text.append(f"  last {number(result.last)}  min {number(min(known))}  max {number(max(known))}")
        text.append(f"  {len(result.values)} pts")
        text.append("  log scale" if self.log_y else "  linear", style="cyan" if self.log_y else "dim")
        plot.show([Series(f"#{self.run_id}", result.steps, result.values)], log_y=self.log_y)
        if self.log_y and plot.left_out:
            text.append(f"  ({plot.left_out} <= 0 not shown)", style="yellow")
        head.update(text)

    def action_toggle_log_scale(self) -> None:
        self.log_y = not self.log_y
        self._show_curve(self.curve)
        self.notify("log scale" if self.log_y else "linear scale", timeout=1.5)

    # --- tabs and the log -----------------------------------------------------------------------------
    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    @on(TabbedContent.TabActivated)
    def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "telemetry" and self.read is not None and not self._telemetry_final:
            self.poll()  # its samples are read while it is shown: now, not at the next tick

    @property
    def active_tab(self) -> str:
        """The tab shown."""
        return str(self.query_one(TabbedContent).active)

    def action_search(self) -> None:
        self.action_tab("log")
        self.query_one(LogSearch).find()

    def action_next_match(self, direction: int) -> None:
        if self.active_tab != "log":
            self.action_tab("log")
        self.query_one(LogSearch).step(direction)

