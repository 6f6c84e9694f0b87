"""A run's log, full screen, following what the run writes; `w` wraps long lines or cuts them at the
edge (scroll sideways to read on)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Log, Static
from textual.worker import get_current_worker

from tuiflow.tui.data import LogTail
from tuiflow.tui.widgets.run_panel import wrap_log_line

if TYPE_CHECKING:
    from tuiflow.tui.app import TuiflowApp

FIRST_READ_LINES = 5000  # the log view starts with at most this many of the last lines
MAX_LINES = FIRST_READ_LINES * 4  # the view keeps the last this many (the whole file stays on disk)


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
        Binding("w", "toggle_wrap", "wrap", id="log.wrap",
                tooltip="Wrap long lines at the edge, or cut them there (scroll sideways to read on)"),
    ]

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.tail = LogTail(run_id)
        self.log_path: str | None = None
        self.wrap = False
        self.lines: list[str] = []  # as read (the log shows them wrapped to its width when `wrap`)
        self._wrapped_at = 0  # the width the lines were wrapped to

    @property
    def tui(self) -> TuiflowApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(f"run {self.run_id}: log", id="title")
        yield Log(max_lines=MAX_LINES, auto_scroll=True)
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
            new = lines[-FIRST_READ_LINES:]
            self.lines = (self.lines + new)[-MAX_LINES:]
            log.write_lines(self._rows(new))
        if self.is_attached:
            self.set_timer(self.tui.options.refresh_s, self.read)

    def action_copy_path(self) -> None:
        if self.log_path:
            self.app.copy_to_clipboard(self.log_path)
            self.notify(f"Copied {self.log_path}")

    def _width(self) -> int:
        return max(8, self.query_one(Log).scrollable_content_region.width)

    def _rows(self, lines: list[str]) -> list[str]:
        """The rows `lines` take: themselves, or wrapped to the log's width."""
        if not self.wrap:
            return lines
        width = self._wrapped_at = self._width()
        return [row for line in lines for row in wrap_log_line(line, width)]

    def _redraw(self) -> None:
        log = self.query_one(Log)
        following = log.is_vertical_scroll_end
        log.clear()
        log.write_lines(self._rows(self.lines))
        if following:
            log.scroll_end(animate=False)

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap
        self._redraw()
        self.query_one(Log).scroll_to(x=0, animate=False)
        self.notify("long lines wrap at the edge" if self.wrap else "long lines are cut at the edge: "
                    "scroll sideways to read on", timeout=2)

    def on_resize(self) -> None:
        if self.wrap and self.lines and self._width() != self._wrapped_at:
            self._redraw()

    def action_follow(self) -> None:
        log = self.query_one(Log)
        log.auto_scroll = True
        log.scroll_end(animate=False)
