"""The dashboard's top: one line per GPU (or "CPU only") and the host line; on a cluster, the GPUs
grouped under a title line per node (its label, CPU and RAM)."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widget import Widget

from tuiflow.lab.gauges import Glyphs, level_style, percent, used_of
from tuiflow.tui.render import cpu_only_line, gpu_line, gpu_model, host_line
from tuiflow.tui.views import NodeView, RunLine, Telemetry
from tuiflow.tui.widgets.glyphs import glyphs_of


class LinesWidget(Widget):
    """A widget drawn as lines of text that redraws only when a line changed: a new reading every
    second mostly leaves them as they were (a dashboard that sits idle should cost next to nothing)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        # The lines, and the widget's width and the terminal's height they were made for.
        self._drawn: tuple[list[Text], tuple[int, int]] | None = None

    def lines(self, width: int) -> list[Text]:
        """What to draw at this width."""
        raise NotImplementedError

    def redraw(self, layout: bool = False) -> None:
        """Draw again if what is to draw changed (`layout`: the height may have changed too)."""
        size = (self.size.width, self.app.size.height)
        lines = self.lines(size[0])
        if layout or self._drawn != (lines, size):
            self._drawn = (lines, size)
            self.refresh(layout=layout)

    def render(self) -> Group | Text:
        size = (self.size.width, self.app.size.height)
        if self._drawn is None or self._drawn[1] != size:
            self._drawn = (self.lines(size[0]), size)
        lines = self._drawn[0]
        return lines[0] if len(lines) == 1 else Group(*lines)


class GpuPanel(LinesWidget):
    """Each GPU: bars, temperature, power, a minute of utilisation, and the run on it with its action."""

    DEFAULT_CSS = """
    GpuPanel { height: auto; }
    """
    ROWS_SHORT, ROWS_TALL, TALL_FROM = 8, 16, 36  # GPU lines at most, below and from 36 lines of terminal

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.telemetry: Telemetry | None = None
        self.runs: dict[int, RunLine] = {}
        self.problem: str | None = None

    def fail(self, problem: str) -> None:
        """Say why the GPUs cannot be read (the last reading stays out of the picture)."""
        self.problem, self.telemetry = problem, None
        self.redraw(layout=True)

    def show(self, telemetry: Telemetry | None = None, runs: dict[int, RunLine] | None = None) -> None:
        """Draw a new reading (and/or the runs the GPUs name); the height follows the GPU (and node) count."""
        old = self._count()
        if telemetry is not None:
            self.telemetry, self.problem = telemetry, None
        if runs is not None:
            self.runs = runs
        self.redraw(layout=self.telemetry is not None and self._count() != old)

    def _count(self) -> int:
        """Lines wanted: a line per GPU, and a title per node on a cluster (-1: no reading)."""
        if self.telemetry is None:
            return -1
        return len(self.telemetry.gpus) + len(self.telemetry.nodes)

    def get_content_height(self, container, viewport, width: int) -> int:  # type: ignore[no-untyped-def]
        return min(self._rows(), max(1, self._count())) if self.telemetry else 1

    def _rows(self) -> int:
        """How many lines the GPUs may take: the runs table needs the rest of a small terminal."""
        return self.ROWS_TALL if self.app.size.height >= self.TALL_FROM else self.ROWS_SHORT

    def lines(self, width: int) -> list[Text]:
        glyphs = glyphs_of(self)
        if self.telemetry is None:
            if self.problem:
                return [Text(f" ! cannot read the telemetry: {self.problem}", style="red")]
            return [Text(" reading the GPUs...", style="dim")]
        gpus = self.telemetry.gpus
        if self.telemetry.nodes:
            return self._node_lines(width, glyphs)
        if not gpus:
            return [cpu_only_line(self.telemetry, self.runs, width, glyphs)]
        rows = self._rows()
        shown = gpus if len(gpus) <= rows else gpus[: rows - 1]
        named = len({gpu_model(card.name) for card in gpus}) > 1
        lines = [gpu_line(card, self.runs, width, glyphs, self.telemetry.now, named) for card in shown]
        if len(shown) < len(gpus):
            lines.append(Text(f" +{len(gpus) - len(shown)} more GPUs: a taller terminal shows more, "
                              "`tuiflow gpus` lists them all", style="dim", no_wrap=True, overflow=glyphs.overflow))
        return lines

    def _node_lines(self, width: int, glyphs: Glyphs) -> list[Text]:
        """Each node's title, then its GPUs; what does not fit is counted on the last line."""
        assert self.telemetry is not None
        wanted: list[Text] = []
        named = len({gpu_model(card.name) for card in self.telemetry.gpus}) > 1
        for node in self.telemetry.nodes:
            cards = [card for card in self.telemetry.gpus if card.node == node.node]
            wanted.append(node_title_line(node, len(cards), width, glyphs))
            wanted += [gpu_line(card, self.runs, width, glyphs, self.telemetry.now, named) for card in cards]
        rows = self._rows()
        if len(wanted) <= rows:
            return wanted
        shown = wanted[: rows - 1]
        hidden = len(wanted) - len(shown)
        shown.append(Text(f" +{hidden} more lines of {len(self.telemetry.nodes)} nodes: a taller terminal shows "
                          "more, `tuiflow gpus` lists them all", style="dim", no_wrap=True, overflow=glyphs.overflow))
        return shown


def node_title_line(node: NodeView, gpus: int, width: int, glyphs: Glyphs) -> Text:
    """A node's title over its GPUs: "── alpha  2 GPUs  CPU 34% (16 cores)  RAM 12.0/64.0G ─────", as the
    host line says it."""
    rule = glyphs.dash
    text = Text(no_wrap=True, overflow=glyphs.overflow)
    text.append(rule * 2 + " ", style="dim")
    text.append(node.title, style="bold cyan")
    text.append(f"  {gpus} GPU{'s' if gpus != 1 else ''}" if gpus else "  no GPU", style="dim")
    if node.cpu_percent is not None:
        text.append("  CPU ")
        text.append(percent(node.cpu_percent).strip(), style=level_style(node.cpu_percent))
        if node.cores:
            text.append(f" ({node.cores} core{'s' if node.cores != 1 else ''})", style="dim")
    if node.memory_total_mb:
        text.append("  RAM " + used_of(node.memory_used_mb, node.memory_total_mb))
    text.append(" ")
    text.truncate(width, overflow=glyphs.overflow)
    if text.cell_len < width:
        text.append(rule * (width - text.cell_len), style="dim")
    return text


class HostLine(LinesWidget):
    """CPU per core, RAM, swap and load."""

    DEFAULT_CSS = """
    HostLine { height: 1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.telemetry: Telemetry | None = None

    def show(self, telemetry: Telemetry) -> None:
        """Draw a new reading."""
        self.telemetry = telemetry
        self.redraw()

    def lines(self, width: int) -> list[Text]:
        host = self.telemetry.host if self.telemetry else None
        return [host_line(host, width, glyphs_of(self))]
