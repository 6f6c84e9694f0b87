"""A run's log, full screen, following what the run writes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Log, Static
from textual.worker import get_current_worker

from tuiflow.tui.data import LogTail

if TYPE_CHECKING:
    from tuiflow.tui.app import TuiflowApp

FIRST_READ_LINES = 5000  # the log view starts with at most this many of the last lines


class LogScreen(Screen[None]):
    """The whole log of one run, tailed at the app's refresh."""

    DEFAULT_CSS = """
    LogScreen #title { height: 1; background: $panel; padding: 0 1; }
    LogScreen Log { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "back", id="log.back", tooltip="Back to the dashboard"),
        Binding("y", "copy_path", "copy path", id="log.copy_path",
                tooltip="Copy the log's path to the clipboard (OSC 52)"),
        Binding("end", "follow", "follow", id="log.follow", tooltip="Jump to the end and follow the log"),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.tail = LogTail(run_id)
        self.log_path: str | None = None

    @property
    def tui(self) -> TuiflowApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(f"run {self.run_id}: log", id="title")
        yield Log(max_lines=FIRST_READ_LINES * 4, auto_scroll=True)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.read()

    @work(thread=True, exclusive=True, group="log", exit_on_error=False)
    def read(self) -> None:
        """Read what the log gained; draw it; read again after the refresh interval."""
        worker = get_current_worker()
        data = self.tui.data
        lines: list[str] = []
        try:
            run = data.run_line(self.run_id) if self.log_path is None else None
            lines = data.read_log(self.tail)
            error = None
        except Exception as exc:
            run, error = None, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, run, error, lines)

    def _show(self, run, error: str | None, lines: list[str]) -> None:  # type: ignore[no-untyped-def]
        log = self.query_one(Log)
        if run is not None:
            self.log_path = run.log_path or ""
            self.query_one("#title", Static).update(
                f"run {run.id}  {run.recipe}  {run.status}  {self.log_path or '(no log yet)'}")
        if error is not None:
            self.query_one("#title", Static).update(f"run {self.run_id}: {error}")
        if lines:
            log.write_lines(lines[-FIRST_READ_LINES:])
        if self.is_attached:
            self.set_timer(self.tui.options.refresh_s, self.read)

    def action_copy_path(self) -> None:
        if self.log_path:
            self.app.copy_to_clipboard(self.log_path)
            self.notify(f"Copied {self.log_path}")

    def action_follow(self) -> None:
        log = self.query_one(Log)
        log.auto_scroll = True
        log.scroll_end(animate=False)
