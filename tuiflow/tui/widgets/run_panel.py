"""The selected run, below the runs table: where its time goes (the per-action profile), its metric
curve, and the last lines of its log."""

from __future__ import annotations

import textwrap
import time

from rich.cells import cell_len, chop_cells
from rich.console import Group
from rich.text import Text
from textual.widget import Widget

from tuiflow.tui.render import named_after, number, param_text, profile_lines, spark
from tuiflow.tui.views import EndedLine, RunDetail, RunLine
from tuiflow.tui.widgets.glyphs import glyphs_of


class ProfileView(Widget):
    """The selected run's per-action profile, slowest action marked, current action pointed at."""

    DEFAULT_CSS = """
    ProfileView { height: 1fr; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.detail: RunDetail | None = None
        self.note = "select a run"

    def show(self, detail: RunDetail | None, note: str = "select a run") -> None:
        """Draw a run's profile (None: the note instead)."""
        if _profile_of(detail) == _profile_of(self.detail) and note == self.note:
            self.detail = detail  # the log or the curve moved: nothing here to draw again
            return
        self.detail, self.note = detail, note
        self.refresh()

    def render(self) -> Group | Text:
        if self.detail is None:
            return Text(self.note, style="dim")
        lines = profile_lines(self.detail.profile, self.size.width, glyphs_of(self), self.detail.action)
        if self.detail.action and not any(p.action == self.detail.action for p in self.detail.profile):
            lines.append(Text(f" now in {self.detail.action}", style="cyan"))
        return Group(*lines[: max(1, self.size.height)])


class RunTail(Widget):
    """The selected run's metric as a sparkline, then the last lines of its log that fit."""

    DEFAULT_CSS = """
    RunTail { height: 1fr; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.detail: RunDetail | None = None
        self.params: Text | None = None
        self.note: Text | None = None

    def show(self, detail: RunDetail | None, params: Text | None = None, note: Text | None = None) -> None:
        """Draw a run's parameters (every one, those that tell it apart first), its curve and log tail;
        `note` instead of a run (a row of many ended runs)."""
        if (detail, params, note) == (self.detail, self.params, self.note):
            return
        self.detail, self.params, self.note = detail, params, note
        self.refresh()

    def render(self) -> Group | Text:
        detail, width, height = self.detail, self.size.width, self.size.height
        if self.note is not None:
            return self.note
        if detail is None:
            return Text("")
        glyphs = glyphs_of(self)
        lines: list[Text] = []
        if self.params is not None and self.params.plain:
            wrapped = self.params.wrap(self.app.console, max(1, width), overflow="fold")
            shown = list(wrapped)[: 3 if height >= 8 else 2 if height >= 5 else 1]  # the log keeps the rest
            if len(wrapped) > len(shown):
                shown[-1].truncate(max(1, width - 1))
                shown[-1].append("~" if glyphs.ascii else "…", style="dim")
            lines.extend(shown)
        if detail.metric is not None:
            head = Text.assemble((detail.metric + " ", "bold"))
            value = " " + number(detail.last_value)
            room = max(4, width - head.cell_len - len(value))
            head.append_text(spark(detail.series[-room:], min(room, max(1, len(detail.series))), glyphs, top=None))
            head.append(value)
            head.truncate(width, overflow=glyphs.overflow)
            lines.append(head)
        if detail.error and detail.status in ("failed", "lost", "cancelled"):
            lines.append(Text(detail.error, style="red"))
        room = max(0, height - len(lines))
        # Long lines wrap rather than lose their end (a traceback's last words matter most): the pane
        # shows the last `room` rows of the wrapped log.
        rows: list[str] = []
        for line in detail.log_lines[-room:] if room else []:
            rows.extend(wrap_log_line(line, max(1, width)))
        log = [Text(row, no_wrap=True) for row in rows[-room:]] if room else []
        if not detail.log_lines and room:
            log = [Text("(queued: its log starts when it does)" if detail.status == "queued" else "(the log is empty)",
                        style="dim")]
            for line in log:
                line.truncate(width, overflow=glyphs.overflow)
        return Group(*lines, *log)


def run_params(line: RunLine | None) -> Text | None:
    """A run's parameters on a line: those that tell it apart from its experiment's other runs first,
    in bold ("lr=0.01 hidden=64"), then the rest, dim ("batch_size=64 epochs=30"); after its recipe
    ("digits-cnn:") where the experiment is not named after it."""
    if line is None:
        return None
    varying = [key for key, _ in line.params]
    text = Text()
    if line.recipe and not named_after(line.experiment, line.recipe):  # the runs table may not say it
        text.append(f"{line.recipe}:", style="cyan")
    for key, value in line.params:
        text.append(("" if not text else " ") + f"{key}={value}", style="bold")
    for key in sorted(line.config):
        if key not in varying:
            text.append(("" if not text else " ") + f"{key}={param_text(line.config[key])}", style="dim")
    return text


def ended_note(group: EndedLine | None) -> Text | None:
    """What the pane says of a row of many ended runs: how many, how, when, and where to see them."""
    if group is None:
        return None
    when = ""
    if group.last_ended_at is not None:
        first = group.first_ended_at if group.first_ended_at is not None else group.last_ended_at
        start, end = (time.strftime("%H:%M:%S", time.localtime(t)) for t in (first, group.last_ended_at))
        when = f" at {end}" if start == end else f" from {start} to {end}"
    names = f" of {', '.join(group.experiments)}" if group.experiments else ""
    return Text(f"{group.count:,} runs{names} ended {group.status}{when}, one after another. "
                "History (h) lists them, one row each.", style="dim")


def wrap_log_line(line: str, width: int) -> list[str]:
    """A log line as rows of at most ``width`` cells, broken between words where it can be (a word
    longer than a row is cut), so that a path or a name is not split at an arbitrary letter."""
    line = line.expandtabs(4).rstrip()
    if cell_len(line) <= width:
        return [line]
    if cell_len(line) != len(line):  # wide characters: textwrap counts characters, not cells
        return chop_cells(line, width)
    return textwrap.wrap(line, width, break_on_hyphens=False) or [""]


def _profile_of(detail: RunDetail | None) -> tuple[object, ...] | None:
    """What the profile view draws of a run's detail."""
    return None if detail is None else (detail.run_id, detail.profile, detail.action)
