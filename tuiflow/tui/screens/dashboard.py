"""The Dashboard, the first screen: the GPUs and what runs on them, the host, the runs, and the
selected run's profile, curve and log.

Three data sources, each polled by one thread worker that hands its result back with
`call_from_thread` and schedules the next poll only once the result is drawn, so polls never
overlap and a slow store never blocks a key. The runs and the selected run are read again only when
the store's data version moved; the telemetry is read every time.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from tuiflow.tui.data import ActionError, LogTail
from tuiflow.tui.render import home_path, slowest_mark
from tuiflow.tui.views import RunDetail, RunsView, Telemetry
from tuiflow.tui.widgets.gpu_panel import GpuPanel, HostLine
from tuiflow.tui.widgets.run_panel import ProfileView, RunTail
from tuiflow.tui.widgets.runs_table import RunsTable
from tuiflow.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from tuiflow.tui.app import TuiflowApp

SPARK_POINTS = 60
PRIORITY = Binding.Group("prio", compact=True)


class DashboardScreen(Screen[None]):
    """GPUs, host, runs table and the selected run."""

    CSS_PATH = "dashboard.tcss"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    AUTO_FOCUS = "#runs"
    BINDINGS = [
        Binding("c", "cancel_run", "cancel", id="cancel", tooltip="Cancel the selected run (asks y/n)"),
        Binding("r", "retry_run", "retry", id="retry", tooltip="Queue the selected finished run again"),
        Binding("plus", "priority(1)", "prio+", id="priority_up", key_display="+", group=PRIORITY,
                tooltip="Raise the selected run's priority by one"),
        Binding("minus", "priority(-1)", "prio-", id="priority_down", key_display="-", group=PRIORITY,
                tooltip="Lower the selected run's priority by one"),
        Binding("p", "toggle_pause", "pause", id="pause", tooltip="Pause the queue, or resume it"),
        Binding("o", "open_log", "log", id="open_log", tooltip="Open the selected run's log full screen"),
        Binding("y", "copy_id", "copy id", id="copy_id", show=False,
                tooltip="Copy the selected run's id to the clipboard (OSC 52)"),
        Binding("Y", "copy_log_path", "copy log path", id="copy_log_path", show=False,
                tooltip="Copy the selected run's log path to the clipboard (OSC 52)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runs_view: RunsView | None = None
        self.telemetry: Telemetry | None = None
        self.detail: RunDetail | None = None
        self.poll_errors: list[str] = []  # what the last polls failed on, newest last (tests read it)
        self.pending_select: int | None = None  # a run to put the cursor on once the table holds it
        self._chose_first = False
        self._poll_timers: dict[str, Timer | None] = {"telemetry": None, "runs": None, "detail": None}
        self._tail: LogTail | None = None
        self._detail_version: tuple[int, int] | None = None
        self._epoch = time.monotonic()

    @property
    def tui(self) -> TuiflowApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield StatusBar(self.tui.options.hostname, id="status")
        yield GpuPanel(id="gpus")
        yield HostLine(id="host")
        with Vertical(id="runs-box"):
            yield RunsTable(id="runs")
            yield Static("", id="empty")
        with Horizontal(id="detail"):
            yield ProfileView(id="profile")
            yield RunTail(id="tail")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#runs-box").border_title = "runs"
        self.query_one("#profile").border_title = "where the time goes"
        self.query_one("#tail").border_title = "log"
        self.query_one("#empty").display = False
        self.poll_runs()
        self.poll_telemetry()

    def on_screen_resume(self) -> None:
        if self.runs_view is not None:  # back from another screen: draw what is now at once
            self.refresh_now()

    def refresh_now(self) -> None:
        """Poll every source now rather than at its next tick."""
        self._detail_version = None
        for name, poll in (("runs", self.poll_runs), ("telemetry", self.poll_telemetry)):
            timer = self._poll_timers[name]
            if timer is not None:
                timer.stop()
            poll()

    # --- polling ------------------------------------------------------------------------------------
    def _again(self, name: str, poll: Any) -> None:
        """Schedule the next poll of a source at the next tick of the refresh clock: the sources come
        back together and are drawn in one frame, not one frame each."""
        if self.is_attached:
            refresh = self.tui.options.refresh_s
            delay = refresh - (time.monotonic() - self._epoch) % refresh
            self._poll_timers[name] = self.set_timer(max(0.05, delay), poll, name=f"poll-{name}")

    def _failed(self, source: str, exc: BaseException) -> None:
        line = f"{source}: {exc}".splitlines()[0]
        self.poll_errors = [*self.poll_errors[-9:], line]
        self.log.error(line)

    @work(thread=True, exclusive=True, group="telemetry", exit_on_error=False)
    def poll_telemetry(self) -> None:
        """Read the GPUs, host and daemon (every tick: they change without the store changing)."""
        worker = get_current_worker()
        try:
            result: Telemetry | BaseException = self.tui.data.telemetry(SPARK_POINTS)
        except Exception as exc:  # a locked or damaged store: said on screen, tried again next tick
            result = exc
        if not worker.is_cancelled:
            self.app.call_from_thread(self._apply_telemetry, result)

    def _apply_telemetry(self, result: Telemetry | BaseException) -> None:
        if isinstance(result, BaseException):
            self._failed("telemetry", result)
            self.query_one(GpuPanel).fail(self.poll_errors[-1])
        else:
            if result.error:
                self._failed("telemetry", RuntimeError(result.error))
            self.telemetry = result
            status = self.query_one(StatusBar)
            status.daemon, status.now = result.daemon, result.now
            self.query_one(GpuPanel).show(result)
            self.query_one(HostLine).show(result)
        self._again("telemetry", self.poll_telemetry)

    @work(thread=True, exclusive=True, group="runs", exit_on_error=False)
    def poll_runs(self) -> None:
        """Read the runs table, when the store changed since the last read."""
        worker = get_current_worker()
        known = self.runs_view
        try:
            result: RunsView | BaseException | None = None
            if known is None or self.tui.data.version() != known.version:
                result = self.tui.data.runs(self.tui.options.finished_rows)
        except Exception as exc:
            result = exc
        if not worker.is_cancelled:
            self.app.call_from_thread(self._apply_runs, result)

    def _apply_runs(self, result: RunsView | BaseException | None) -> None:
        now = self.tui.options.clock()
        if isinstance(result, BaseException):
            self._failed("runs", result)
        elif result is not None:
            self.runs_view = result
            self.query_one(StatusBar).exists = result.exists
        if self.runs_view is not None:
            table = self.query_one(RunsTable)
            table.update_rows(self.runs_view.rows, now)
            self.query_one(GpuPanel).show(runs=table.lines)
            self._choose(table)
            self._show_empty(not self.runs_view.rows)
        self._again("runs", self.poll_runs)
        self.poll_detail()

    def _choose(self, table: RunsTable) -> None:
        """Put the cursor on a just-launched run, or at the start on the newest running one."""
        if self.pending_select is not None:
            if table.select(self.pending_select):
                self.pending_select, self._chose_first = None, True
            return
        if not self._chose_first and table.lines:
            self._chose_first = True
            running = [r for r in table.lines.values() if r.status == "running"]
            if running:
                table.select(max(running, key=lambda r: (r.started_at or 0, r.id)).id)

    def _show_empty(self, empty: bool) -> None:
        note = self.query_one("#empty", Static)
        note.display = empty
        self.query_one(RunsTable).display = not empty
        if empty:
            key = self.tui.key_for("launch")
            note.update(f"Nothing has run in {home_path(self.tui.data.home)} yet.\n\n"
                        f"Press {key} to launch a recipe: pick one, set its parameters (a grid of them), choose "
                        "GPUs and go. The store is made then, not by looking.")

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def poll_detail(self) -> None:
        """Read the selected run's profile, curve and log tail (its log on every call)."""
        worker = get_current_worker()
        run_id = self.query_one(RunsTable).selected_id
        result: RunDetail | BaseException | None = None
        try:
            if run_id is not None:
                if self._tail is None or self._tail.run_id != run_id:
                    self._tail = LogTail(run_id)
                version = (run_id, self.runs_view.version if self.runs_view else -1)
                if version != self._detail_version or self.detail is None or self.detail.run_id != run_id:
                    result = self.tui.data.detail(run_id, self._tail, SPARK_POINTS, 40)
                    self._detail_version = version
                else:  # the store did not change: only the log may have grown
                    self.tui.data.read_log(self._tail)
                    result = _with_log(self.detail, self._tail.last(40))
        except Exception as exc:
            result = exc
        if not worker.is_cancelled:
            self.app.call_from_thread(self._apply_detail, run_id, result)

    def _apply_detail(self, run_id: int | None, result: RunDetail | BaseException | None) -> None:
        if isinstance(result, BaseException):
            self._failed("run detail", result)
            return
        self.detail = result
        name = f"#{run_id} " if run_id is not None else ""
        profile = self.query_one(ProfileView)
        legend = "" if profile.size.width >= 56 else f" ({slowest_mark(0, self.tui.glyphs).strip()} slowest)"
        profile.border_title = f"{name}where the time goes{legend}"
        self.query_one("#tail").border_title = f"{name}log"
        profile.show(result, "no runs yet" if run_id is None else "reading...")
        self.query_one(RunTail).show(result)

    @on(RunsTable.RowHighlighted)
    def _selected(self) -> None:
        if self.detail is None or self.detail.run_id != self.query_one(RunsTable).selected_id:
            self.poll_detail()

    # --- acting on the selected run -----------------------------------------------------------------
    def _selected_run(self) -> int | None:
        run_id = self.query_one(RunsTable).selected_id
        if run_id is None:
            self.notify("No run selected", severity="warning")
        return run_id

    def action_cancel_run(self) -> None:
        run_id = self._selected_run()
        if run_id is None:
            return
        line = self.query_one(RunsTable).lines.get(run_id)
        if line is not None and not line.active:
            self.notify(f"Run {run_id} has already ended ({line.status})", severity="warning")
            return
        from tuiflow.tui.screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self._act(f"run {run_id} cancelled", lambda: self.tui.data.cancel(run_id))

        self.app.push_screen(ConfirmScreen(f"Cancel run {run_id}?",
                                           "Queued, it never starts; running, it is stopped."), answered)

    def action_retry_run(self) -> None:
        if (run_id := self._selected_run()) is not None:
            self.pending_select = run_id
            self._act(f"run {run_id} queued again", lambda: self.tui.data.retry(run_id))

    def action_priority(self, step: int) -> None:
        if (run_id := self._selected_run()) is not None:
            self._act(None, lambda: f"run {run_id}: priority {self.tui.data.change_priority(run_id, step)}")

    def action_toggle_pause(self) -> None:
        self._act(None, lambda: "queue paused: running runs go on" if self.tui.data.toggle_pause()
                  else "queue resumed")

    def action_open_log(self) -> None:
        if (run_id := self._selected_run()) is not None:
            from tuiflow.tui.screens.log import LogScreen

            self.app.push_screen(LogScreen(run_id))

    @on(RunsTable.OpenRun)
    def _open(self, event: RunsTable.OpenRun) -> None:
        from tuiflow.tui.screens.log import LogScreen

        self.app.push_screen(LogScreen(event.run_id))

    def action_copy_id(self) -> None:
        if (run_id := self._selected_run()) is not None:
            self.app.copy_to_clipboard(str(run_id))
            self.notify(f"Copied run id {run_id}")

    def action_copy_log_path(self) -> None:
        if (run_id := self._selected_run()) is not None:
            line = self.query_one(RunsTable).lines.get(run_id)
            path = (self.detail.log_path if self.detail and self.detail.run_id == run_id else None) or \
                (line.log_path if line else None)
            if not path:
                self.notify(f"Run {run_id} has no log yet", severity="warning")
                return
            self.app.copy_to_clipboard(path)
            self.notify(f"Copied {path}")

    @work(thread=True, group="act", exit_on_error=False)
    def _act(self, done: str | None, call: Any) -> None:
        """Do one thing to the store off the event loop; say how it went, then redraw."""
        try:
            result = call()
            message, severity = (done or str(result)), "information"
        except ActionError as exc:
            message, severity = str(exc), "error"
        self.app.call_from_thread(self._acted, message, severity)

    def _acted(self, message: str, severity: str) -> None:
        self.notify(message, severity=severity)  # type: ignore[arg-type]
        self.refresh_now()


def _with_log(detail: RunDetail | None, lines: tuple[str, ...]) -> RunDetail | None:
    if detail is None or detail.log_lines == lines:
        return detail
    from dataclasses import replace

    return replace(detail, log_lines=lines)

