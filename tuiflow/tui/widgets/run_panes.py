"""The run detail's panes drawn from its records: the overview (status, error, parameters, final
metrics, traceback), the per-action profile, and the run's process telemetry as sparklines."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from tuiflow.lab.gauges import duration
from tuiflow.tui.detail_data import RunInfo
from tuiflow.tui.render import STATUS_STYLE, home_path, number, profile_lines, seconds, spark
from tuiflow.tui.views import ProfileLine
from tuiflow.tui.widgets.glyphs import glyphs_of

TELEMETRY_ROWS = (("cpu_percent", "CPU", "%"), ("rss_mb", "RSS", "MB"), ("gpu_memory_mb", "GPU memory", "MB"))


def value_text(value: Any) -> str:
    """A parameter or metric value, whole: numbers short, the rest as JSON would write them."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return number(value) if math.isfinite(value) else str(value)
    if isinstance(value, int | str):
        return str(value)
    return json.dumps(value, default=str)


def when(stamp: float | None) -> str:
    """A time stamp, local: 12-01 11:10:00."""
    return "-" if stamp is None else time.strftime("%m-%d %H:%M:%S", time.localtime(stamp))


def pairs_table(pairs: Sequence[tuple[str, str]]) -> Table:
    """Name-value rows, names bold; values wrap rather than lose their end."""
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 2, 0, 0), expand=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in pairs:
        table.add_row(Text(name), Text(value))
    return table


class OverviewPane(Widget):
    """Status with error and traceback, parameters and final metrics of one run."""

    DEFAULT_CSS = """
    OverviewPane { height: auto; padding: 0 1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.info: RunInfo | None = None
        self.now = 0.0

    def show(self, info: RunInfo, now: float) -> None:
        """Draw a run's record (again only when it changed)."""
        if info == self.info and (not info.active or now == self.now):
            return
        self.info, self.now = info, now
        self.refresh(layout=True)

    def render(self) -> Group | Text:
        info = self.info
        if info is None:
            return Text("reading...", style="dim")
        status = Text(info.status, style=STATUS_STYLE.get(info.status, ""))
        if info.exit_code is not None and info.status != "done":
            status.append(f" (exit {info.exit_code})")
        if info.action:
            status.append(f"  in {info.action}", style="cyan")
        if info.progress_done is not None and info.progress_total:
            status.append(f"  {info.progress_done}/{info.progress_total}")
            if info.eta_s is not None and info.active:
                status.append(f" eta {duration(info.eta_s)}")
        took = info.duration_s
        if took is None and info.started_at is not None:
            took = max(0.0, self.now - info.started_at)
        record = Table.grid(padding=(0, 2))
        record.add_column(style="bold", no_wrap=True)
        record.add_column(overflow="fold")
        record.add_row("status", status)
        if info.error:
            record.add_row("error", Text(info.error, style="bold red"))
        record.add_row("ran", Text(f"{when(info.started_at)} -> {when(info.ended_at) if info.ended_at else 'now'}"
                                   f"  ({duration(took)})" if info.started_at else "not started"))
        record.add_row("where", Text(f"{info.host or '-'}  GPU {','.join(map(str, info.gpus)) or 'none'}"
                                     f"  attempt {info.attempt}"))
        record.add_row("log", Text(home_path(info.log_path) if info.log_path else "(none yet)"))
        parts: list[Any] = [record, Text(" ")]
        params = [(k, value_text(v)) for k, v in info.config.items()]
        metrics = [(k, value_text(v)) for k, v in info.metrics.items()]
        parts += [Text("parameters", style="bold underline"), pairs_table(params or [("-", "none")]), Text(" "),
                  Text("final metrics", style="bold underline"),
                  pairs_table(metrics or [("-", "none yet" if info.active else "none")])]
        if info.traceback:
            parts += [Text(" "), Text("traceback", style="bold underline"), Text(info.traceback.rstrip(), style="red")]
        return Group(*parts)


class ProfilePane(Widget):
    """Where the run's time goes: each action's first call (set-up) apart from the calls after it
    (mean, count, max, total) and their share with a bar; the slowest by those marked, the current
    one pointed at."""

    DEFAULT_CSS = """
    ProfilePane { height: auto; padding: 0 1 0 0; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.rows: tuple[ProfileLine, ...] | None = None
        self.action: str | None = None
        self.run_s: float | None = None

    def show(self, rows: tuple[ProfileLine, ...], action: str | None, run_s: float | None) -> None:
        """Draw a run's profile (again only when it changed)."""
        if (rows, action, run_s) == (self.rows, self.action, self.run_s):
            return
        self.rows, self.action, self.run_s = rows, action, run_s
        self.refresh(layout=True)

    def render(self) -> Group | Text:
        if self.rows is None:
            return Text("reading...", style="dim")
        lines = profile_lines(self.rows, max(20, self.size.width), glyphs_of(self), self.action)
        if self.rows:
            total = sum(row.total_s for row in self.rows)
            note = f" {seconds(total)} in {len(self.rows)} action{'s' if len(self.rows) != 1 else ''}"
            firsts = sum(row.first_s for row in self.rows if row.first_s is not None)
            if firsts > 0:
                note += f" ({seconds(firsts)} of it first calls: set-up)"
            if self.run_s:
                note += f", {min(100.0, total / self.run_s * 100):.0f}% of the run's {duration(self.run_s)}"
            lines.append(Text(" "))
            lines.append(Text(note, style="dim"))
        return Group(*lines)


class TelemetryPane(Widget):
    """The run's process tree over its life: CPU, resident memory and GPU memory, a sparkline each."""

    DEFAULT_CSS = """
    TelemetryPane { height: auto; padding: 0 1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.series: Mapping[str, Sequence[tuple[float, float | None]]] | None = None

    def show(self, series: Mapping[str, Sequence[tuple[float, float | None]]]) -> None:
        """Draw the series (again only when they changed)."""
        if series == self.series:
            return
        self.series = series
        self.refresh(layout=True)

    def render(self) -> Group | Text:
        if self.series is None:
            return Text("reading...", style="dim")
        if not any(self.series.get(key) for key, _, _ in TELEMETRY_ROWS):
            return Text("no samples of this run's processes (the daemon samples the runs it runs, "
                        "about once a second)", style="dim")
        glyphs = glyphs_of(self)
        width = max(10, self.size.width)
        lines: list[Text] = []
        for key, label, unit in TELEMETRY_ROWS:
            points = self.series.get(key) or ()
            values = [v for _, v in points]
            known = [v for v in values if v is not None]
            head = Text.assemble((label, "bold"))
            if known:
                head.append(f"  now {_amount(known[-1], unit)}  mean {_amount(sum(known) / len(known), unit)}"
                            f"  max {_amount(max(known), unit)}")
                span = points[-1][0] - points[0][0]
                head.append(f"   over {duration(span)}", style="dim")
            else:
                head.append("  not sampled", style="dim")
            lines.append(head)
            if known:
                lines.append(spark(_stretched(values, width), width, glyphs, top=None))
            lines.append(Text(" "))
        return Group(*lines)


def _stretched(values: list[float | None], width: int) -> list[float | None]:
    """Fewer values than cells: each repeated over its share of the width, so the line spans the pane."""
    count = len(values)
    if count >= width or count == 0:
        return values
    return [values[column * count // width] for column in range(width)]


def _amount(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value:.0f}%"
    return f"{value / 1024:.1f} GB" if value >= 1024 else f"{value:.0f} MB"
