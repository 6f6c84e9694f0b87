"""The Dashboard, the first screen: the GPUs and what runs on them, the host, the runs, and the
selected run's profile, curve and log.

One thread worker per tick reads what the screen shows (the telemetry every time; the runs and the
selected run's profile and curve only when the store's data version moved; its log's new lines) and
hands it back with `call_from_thread`; it is drawn in one frame, and only then is the next poll
scheduled, so polls never overlap and a slow store never blocks a key. Widgets redraw only what
changed: an idle dashboard costs a few percent of a core. A newly selected run is read at once, by a
worker of its own. The first poll waits for the app to open the home (`TuiflowApp.when_open`); the
first frame does not.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import get_current_worker

from tuiflow.tui.data import LogTail
from tuiflow.tui.render import home_path, slowest_mark
from tuiflow.tui.screens.run_actions import RunActions
from tuiflow.tui.views import RunDetail, RunsView, Telemetry
from tuiflow.tui.widgets.footer import KeysFooter
from tuiflow.tui.widgets.gpu_panel import GpuPanel, HostLine
from tuiflow.tui.widgets.run_panel import ProfileView, RunTail, ended_note, run_params
from tuiflow.tui.widgets.runs_table import RunsTable
from tuiflow.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from tuiflow.tui.app import TuiflowApp

SPARK_POINTS = 60
RUNS_MIN = 5  # lines of the runs box: its title, the header and three runs
DETAIL_MIN = 4
PRIORITY = Binding.Group("prio", compact=True)


class DashboardScreen(RunActions, Screen[None]):
    """GPUs, host, runs table and the selected run. Its styles, dashboard.tcss, are the app's
    (`TuiflowApp.CSS_PATH`)."""

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
        Binding("D", "daemon", "daemon", id="daemon", show=False,
                tooltip="Start the daemon, or stop the one running (asks y/n)"),
        Binding("o", "open_log", "log", id="open_log", tooltip="Open the selected run's log full screen"),
        Binding("space", "mark", "mark", id="mark", show=False,
                tooltip="Mark the selected run for Compare (again: unmark)"),
        Binding("m", "compare", "compare", id="compare", show=False,
                tooltip="Compare the marked runs (or the selected one with the pinned baseline)"),
        Binding("e", "export", "export", id="export", show=False,
                tooltip="Export the runs shown (CSV, JSON or Parquet) into a file in the current folder"),
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
        self._runs_error: str | None = None  # what the runs' read failed on, until one succeeds
        self.pending_select: int | None = None  # a run to put the cursor on once the table holds it
        self._chose_first = False
        self._auto_selected: int | None = None  # the run the screen put the cursor on, while it is there
        self._timer: Timer | None = None
        self._tail: LogTail | None = None
        self._detail_version: tuple[int, int] | None = None
        self._reading_detail = threading.Lock()  # the tick and a new selection share the log tail
        self._runs_daemon: bool | None = None  # whether a daemon ran when the runs were last read
        self._empty: bool | None = None
        self._hidden = False
        self._titles: tuple[str, str] | None = None
        self._epoch = time.monotonic()
        self.marked: list[int] = []  # runs marked for Compare, in the order marked

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
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#runs-box").border_title = "runs"
        self.query_one("#profile").border_title = "where the time goes"
        self.query_one("#tail").border_title = "log"
        self.tui.when_open(self.poll)  # the first frame is drawn meanwhile

    def on_screen_resume(self) -> None:
        self._hidden = False
        if self.runs_view is not None:  # back from another screen: draw what is now at once
            self.refresh_now()

    def on_screen_suspend(self) -> None:
        """Another screen covers this one: stop polling until it is back (a hidden dashboard costs nothing)."""
        self._hidden = True
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def refresh_now(self) -> None:
        """Poll now rather than at the next tick."""
        self._detail_version = None
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.poll()

    # --- polling ------------------------------------------------------------------------------------
    def poll(self) -> None:
        """Read everything the screen shows, in a worker; it draws what it read in one frame, then
        schedules the next poll (so polls never overlap)."""
        runs = self.query_one(RunsTable)
        self._poll(self.runs_view.version if self.runs_view else None, runs.selected_id)

    def _again(self) -> None:
        """Schedule the next poll at the next tick of the refresh clock."""
        if self.is_attached and not self._hidden:
            refresh = self.tui.options.refresh_s
            delay = refresh - (time.monotonic() - self._epoch) % refresh
            self._timer = self.set_timer(max(0.05, delay), self.poll, name="poll")

    def _failed(self, source: str, exc: BaseException) -> None:
        line = f"{source}: {exc}".splitlines()[0]
        self.poll_errors = [*self.poll_errors[-9:], line]
        self.log.error(line)

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def _poll(self, known_version: int | None, selected: int | None) -> None:
        """The GPUs, host and daemon every time (they change without the store changing); the runs and
        the selected run's profile and curve when the store's version moved; its log every time."""
        worker = get_current_worker()
        data = self.tui.data
        try:
            telemetry: Telemetry | BaseException = data.telemetry(SPARK_POINTS)
        except Exception as exc:  # a locked or damaged store: said on screen, tried again next tick
            telemetry = exc
        runs: RunsView | BaseException | None = None
        try:
            version = data.version()
            # A daemon that stops writes nothing: its queued runs' "no daemon" is read all the same.
            daemon = telemetry.daemon.running if isinstance(telemetry, Telemetry) else self._runs_daemon
            if version != known_version or daemon != self._runs_daemon:
                runs = data.runs(self.tui.options.finished_rows)
                self._runs_daemon = daemon
        except Exception as exc:
            runs, version = exc, -1
        if selected is None and isinstance(runs, RunsView):  # the run the cursor is about to go to
            selected = self._first_choice(runs)
        detail = self._read_detail(selected, version) if selected is not None else None
        if not worker.is_cancelled:
            self.app.call_from_thread(self._apply, telemetry, runs, selected, detail)

    def _read_detail(self, run_id: int, version: int) -> RunDetail | BaseException | None:
        """The selected run's detail: all of it when the store moved or the run is new, else its log's
        new lines only."""
        with self._reading_detail:
            try:
                if self._tail is None or self._tail.run_id != run_id:
                    self._tail = LogTail(run_id)
                detail = self.detail
                if (run_id, version) != self._detail_version or detail is None or detail.run_id != run_id:
                    detail = self.tui.data.detail(run_id, self._tail, SPARK_POINTS, 40)
                    self._detail_version = (run_id, version)
                    return detail
                self.tui.data.read_log(self._tail)
                return _with_log(detail, self._tail.last(40))
            except Exception as exc:
                return exc

    def _apply(self, telemetry: Telemetry | BaseException, runs: RunsView | BaseException | None,
               selected: int | None, detail: RunDetail | BaseException | None) -> None:
        """Draw one poll: every widget whose content changed, in one frame."""
        self._apply_telemetry(telemetry)
        self._apply_runs(runs)  # may move the cursor (to the newest running run, to a launched one)
        now_selected = self.query_one(RunsTable).selected_id
        if selected == now_selected and (selected is not None or self.runs_view is not None):
            self._apply_detail(selected, detail)
        self._again()

    def _apply_telemetry(self, result: Telemetry | BaseException) -> None:
        if isinstance(result, BaseException):
            self._failed("telemetry", result)
            self.query_one(GpuPanel).fail(self.poll_errors[-1])
            return
        if result.error:
            self._failed("telemetry", RuntimeError(result.error))
        gpus_before = len(self.telemetry.gpus) if self.telemetry else -1
        self.telemetry = result
        status = self.query_one(StatusBar)
        status.daemon_key = self._daemon_key()
        status.daemon, status.now, status.simulated = result.daemon, result.now, result.simulated and bool(result.gpus)
        self._say_pause(result.daemon.paused)
        self.query_one(GpuPanel).show(result)
        self.query_one(HostLine).show(result)
        if len(result.gpus) != gpus_before:
            self._fit_detail()

    def on_resize(self) -> None:
        self._fit_detail()

    def _fit_detail(self) -> None:
        """The runs box takes the lines its rows need (RUNS_MIN at least; at most what leaves the selected
        run 9 lines, 14 from 36 lines of terminal), and the selected run the rest, never under
        DETAIL_MIN lines; so the screen never scrolls and an empty runs box leaves its room to the log."""
        height = self.size.height
        gpus = self.query_one(GpuPanel).get_content_height(None, None, self.size.width)
        free = height - 3 - gpus  # the status line, the host line and the footer
        detail_wanted = 14 if height >= 36 else 9
        table = self.query_one(RunsTable)
        # The box's title line and the table's header, then a line per row (the empty note: 7 lines).
        wanted = table.row_count + 2 if table.display else 7
        runs = max(RUNS_MIN, min(wanted, free - detail_wanted))
        lines = max(DETAIL_MIN, free - runs)
        for widget, size in ((self.query_one("#runs-box"), runs), (self.query_one("#detail"), lines)):
            if widget.styles.height is None or widget.styles.height.value != size:
                widget.styles.height = size

    def _apply_runs(self, result: RunsView | BaseException | None) -> None:
        if isinstance(result, BaseException):
            self._failed("runs", result)
            if self.poll_errors[-1] != self._runs_error:  # said once, not at every tick it fails again
                self._runs_error = self.poll_errors[-1]
                self.notify(f"{self._runs_error} (the runs shown are from the last good read)",
                            severity="error", timeout=10)
        elif result is not None:
            self._runs_error = None
            self.runs_view = result
            self.query_one(StatusBar).exists = result.exists
        if self.runs_view is None:
            return
        table = self.query_one(RunsTable)
        table.update_rows(self.runs_view.rows, self.tui.options.clock(), self.runs_view.ended)
        self.query_one(GpuPanel).show(runs=table.lines)
        self._choose(table)
        self._show_empty(not self.runs_view.rows and not self.runs_view.ended)
        self._fit_detail()

    def _choose(self, table: RunsTable) -> None:
        """Put the cursor on a just-launched run, or at the start on the newest running one; and while
        the cursor is where this put it (the user has not moved it), on a newer running run as runs
        start (launched from the CLI, say), so a running run is never scrolled out of sight under an
        old ended one the user never chose."""
        if self.pending_select is not None:
            if table.select(self.pending_select):
                self.pending_select, self._chose_first = None, True
                self._auto_selected = table.selected_id
            return
        running = [r for r in table.lines.values() if r.status == "running"]
        newest = max(running, key=lambda r: (r.started_at or 0, r.id)).id if running else None
        if not self._chose_first and table.lines:
            self._chose_first = True
            if newest is not None:
                table.select(newest)
            self._auto_selected = table.selected_id
        elif (newest is not None and self._auto_selected is not None and newest != self._auto_selected
              and table.selected_id == self._auto_selected
              and (selected := table.lines.get(self._auto_selected)) is not None and selected.status != "running"):
            table.select(newest)
            self._auto_selected = newest

    def _first_choice(self, runs: RunsView) -> int | None:
        """Where `_choose` will put the cursor on these runs, or the first row (a table's default)."""
        ids = {row.id for row in runs.rows}
        if self.pending_select is not None:
            return self.pending_select if self.pending_select in ids else None
        running = [r for r in runs.rows if r.status == "running"]
        if not self._chose_first and running:
            return max(running, key=lambda r: (r.started_at or 0, r.id)).id
        return runs.rows[0].id if runs.rows else None

    def _show_empty(self, empty: bool) -> None:
        if empty == self._empty:
            return
        self._empty = empty
        note = self.query_one("#empty", Static)
        note.display = empty
        self.query_one(RunsTable).display = not empty
        if empty:
            key = self.tui.key_for("launch")
            note.update(f"Nothing has run in {home_path(self.tui.data.home)} yet.\n\n"
                        f"Press {key} to launch a recipe: pick one, set its parameters (a grid of them), choose "
                        "GPUs and go. The store is made then, not by looking.")

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def poll_detail(self, run_id: int) -> None:
        """Read a newly selected run's detail at once, not at the next tick."""
        worker = get_current_worker()
        result = self._read_detail(run_id, self.runs_view.version if self.runs_view else -1)
        if not worker.is_cancelled:
            self.app.call_from_thread(self._apply_detail_if_selected, run_id, result)

    def _apply_detail_if_selected(self, run_id: int | None, result: RunDetail | BaseException | None) -> None:
        if run_id == self.query_one(RunsTable).selected_id:
            self._apply_detail(run_id, result)

    def _apply_detail(self, run_id: int | None, result: RunDetail | BaseException | None) -> None:
        if isinstance(result, BaseException):
            self._failed("run detail", result)
            return
        self.detail = result
        name = f"#{run_id} " if run_id is not None else ""
        profile = self.query_one(ProfileView)
        legend = "" if profile.size.width >= 56 else f" ({slowest_mark(0, self.tui.glyphs).strip()} slowest)"
        titles = (f"{name}where the time goes{legend}", f"{name}log")
        if titles != self._titles:  # a title set, even to the same text, redraws its widget
            self._titles = titles
            profile.border_title, self.query_one("#tail").border_title = titles
        table = self.query_one(RunsTable)
        line = table.lines.get(run_id) if run_id is not None else None
        if line is not None and line.status == "queued" and line.waiting:
            profile.show(None, f"queued: {line.waiting}")  # no profile yet: what it waits for, whole
        else:
            profile.show(result, "no runs yet" if run_id is None else "reading...")
        # A run without a pipeline (a script, `sleep`) has no profile to show: its log takes the width.
        # A queued run keeps the pane (it says what the run waits for); so does a run not read yet.
        no_pipeline = (result is not None and not result.profile and result.status != "queued") or \
            table.selected_ended is not None
        profile.display = not no_pipeline
        self.query_one(RunTail).show(result, run_params(line), ended_note(table.selected_ended))

    @on(RunsTable.RowHighlighted)
    def _selected(self) -> None:
        table = self.query_one(RunsTable)
        run_id = table.selected_id
        if run_id is not None and (self.detail is None or self.detail.run_id != run_id):
            self.poll_detail(run_id)
        elif run_id is None and table.selected_ended is not None:
            self._apply_detail(None, None)

    # --- acting on the selected run -----------------------------------------------------------------
    def _selected_run(self) -> int | None:
        run_id = self.query_one(RunsTable).selected_id
        if run_id is None:
            self.notify("No run selected", severity="warning")
        return run_id

    def _shown_status(self, run_id: int) -> str | None:
        line = self.query_one(RunsTable).lines.get(run_id)
        return line.status if line is not None else None

    def _after_action(self) -> None:
        self.refresh_now()

    def action_retry_run(self) -> None:
        if (run_id := self._selected_run()) is not None:
            self.pending_select = run_id  # the run moves to the queued ones: the cursor follows it
        super().action_retry_run()

    def _daemon_key(self) -> str:
        """The key that starts the daemon here, as the user has it (their keymap applied)."""
        binding = next(b for b in self.BINDINGS if isinstance(b, Binding) and b.id == "daemon")
        return self.tui.keys_of(binding).split(" ")[0]

    def _say_pause(self, paused: bool) -> None:
        """The footer says what `p` does now: "pause" while the queue runs, "resume" while it is paused."""
        word = "resume" if paused else "pause"
        keys = self._bindings.key_to_bindings  # its lists are the class's: replaced, never changed in place
        changed = False
        for key, bindings in list(keys.items()):
            if any(b.id == "pause" and b.description != word for b in bindings):
                keys[key] = [replace(b, description=word) if b.id == "pause" else b for b in bindings]
                changed = True
        if changed:
            self.refresh_bindings()

    def action_daemon(self) -> None:
        """Start the daemon; when one runs, ask whether to stop it."""
        from tuiflow.tui.commands import start_daemon, stop_daemon

        daemon = self.telemetry.daemon if self.telemetry is not None else None
        if daemon is not None and daemon.running:
            stop_daemon(self.tui)
        else:
            self.notify("starting the daemon...")
            start_daemon(self.tui)

    def action_toggle_pause(self) -> None:
        self._act(None, lambda: "queue paused: running runs go on" if self.tui.data.toggle_pause()
                  else "queue resumed")

    def action_open_log(self) -> None:
        if (run_id := self._selected_run()) is not None:
            from tuiflow.tui.screens.log import LogScreen

            self.app.push_screen(LogScreen(run_id))

    @on(RunsTable.OpenRun)
    def _open(self, event: RunsTable.OpenRun) -> None:
        self.tui.action_open_run(event.run_id)

    def action_mark(self) -> None:
        if (run_id := self._selected_run()) is None:
            return
        if run_id in self.marked:
            self.marked.remove(run_id)
        else:
            self.marked.append(run_id)
        box = self.query_one("#runs-box")
        box.border_title = "runs" + (f"  marked {' '.join(f'#{i}' for i in self.marked)}  (m: compare)"
                                     if self.marked else "")

    def action_compare(self) -> None:
        runs = list(self.marked)
        if not runs and (run_id := self._selected_run()) is not None:
            runs = [run_id]
        if len(runs) + (self.tui.baseline_run not in runs and self.tui.baseline_run is not None) < 2:
            self.notify("Mark two runs or more with space, then m", severity="warning")
            return
        self.tui.action_compare(runs)

    def action_export(self) -> None:
        from tuiflow.tui.screens.export import export_runs

        rows = self.runs_view.rows if self.runs_view is not None else ()
        export_runs(self, [row.id for row in rows], f"the {len(rows)} run{'s' * (len(rows) != 1)} shown")

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


def _with_log(detail: RunDetail | None, lines: tuple[str, ...]) -> RunDetail | None:
    if detail is None or detail.log_lines == lines:
        return detail
    return replace(detail, log_lines=lines)

