"""The top line: tuiflow, the host, the daemon, the queue and the clock."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tuiflow.tui.render import status_line
from tuiflow.tui.views import DaemonView
from tuiflow.tui.widgets.glyphs import glyphs_of


class StatusBar(Widget):
    """One line; `daemon`, `now` and `simulated` are set by each telemetry poll."""

    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $foreground; }
    """

    daemon: reactive[DaemonView | None] = reactive(None, layout=False)
    now: reactive[float] = reactive(0.0, layout=False)
    exists: reactive[bool] = reactive(True, layout=False)
    simulated: reactive[bool] = reactive(False, layout=False)
    daemon_key: reactive[str] = reactive("D", layout=False)  # the key that starts the daemon, as the line says

    def __init__(self, hostname: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.hostname = hostname

    def render(self) -> Text:
        return status_line(self.hostname, self.daemon, self.now, self.size.width, glyphs_of(self), self.exists,
                           self.simulated, self.daemon_key)
