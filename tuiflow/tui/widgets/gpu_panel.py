"""The dashboard's top: one line per GPU (or "CPU only") and the host line."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widget import Widget

from tuiflow.tui.render import cpu_only_line, gpu_line, host_line
from tuiflow.tui.views import RunLine, Telemetry
from tuiflow.tui.widgets.glyphs import glyphs_of


class GpuPanel(Widget):
    """Each GPU: bars, temperature, power, a minute of utilisation, and the run on it with its action."""

    DEFAULT_CSS = """
    GpuPanel { height: auto; max-height: 9; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.telemetry: Telemetry | None = None
        self.runs: dict[int, RunLine] = {}
        self.problem: str | None = None

    def fail(self, problem: str) -> None:
        """Say why the GPUs cannot be read (the last reading stays out of the picture)."""
        self.problem, self.telemetry = problem, None
        self.refresh(layout=True)

    def show(self, telemetry: Telemetry | None = None, runs: dict[int, RunLine] | None = None) -> None:
        """Draw a new reading (and/or the runs the GPUs name); the height follows the GPU count."""
        old = len(self.telemetry.gpus) if self.telemetry else -1
        if telemetry is not None:
            self.telemetry, self.problem = telemetry, None
        if runs is not None:
            self.runs = runs
        self.refresh(layout=self.telemetry is not None and len(self.telemetry.gpus) != old)

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        return max(1, len(self.telemetry.gpus)) if self.telemetry else 1

    def render(self) -> Group | Text:
        glyphs, width = glyphs_of(self), self.size.width
        if self.telemetry is None:
            if self.problem:
                return Text(f" ! cannot read the telemetry: {self.problem}", style="red")
            return Text(" reading the GPUs...", style="dim")
        if not self.telemetry.gpus:
            return cpu_only_line(self.telemetry, width, glyphs)
        return Group(*(gpu_line(card, self.runs, width, glyphs, self.telemetry.now) for card in self.telemetry.gpus))


class HostLine(Widget):
    """CPU per core, RAM, swap and load."""

    DEFAULT_CSS = """
    HostLine { height: 1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.telemetry: Telemetry | None = None

    def show(self, telemetry: Telemetry) -> None:
        """Draw a new reading."""
        self.telemetry = telemetry
        self.refresh()

    def render(self) -> Text:
        host = self.telemetry.host if self.telemetry else None
        return host_line(host, self.size.width, glyphs_of(self))
