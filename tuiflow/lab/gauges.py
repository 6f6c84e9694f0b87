"""The gauges every client draws with (``tuiflow top`` and the app): glyph sets (Unicode blocks or
ASCII), bars, sparklines, and the short number formats. Pure functions of their arguments: no store,
no clock; rich is imported only when a gauge is drawn."""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text


@dataclass(frozen=True)
class Glyphs:
    """The characters bars and sparklines are drawn with."""

    levels: str  # sparkline levels, lowest first
    fill: str
    partial: str  # eighths of a cell, 1/8 first; empty where the charset has none
    empty: str
    dash: str
    degree: str
    overflow: str  # rich's overflow mode for cells too narrow: the ellipsis is not ASCII
    ascii: bool

    @classmethod
    def pick(cls, ascii_only: bool) -> Glyphs:
        """Unicode blocks, or plain ASCII."""
        if ascii_only:
            return cls("_.:-=+*#", "#", "", ".", "-", "", "crop", True)
        return cls("▁▂▃▄▅▆▇█", "█", "▏▎▍▌▋▊▉", "░", "—", "°", "ellipsis", False)


def ascii_terminal(stream: Any = None) -> bool:
    """Whether to draw in ASCII: the output's encoding, or the locale the terminal was given, is not UTF-8.

    Python runs in UTF-8 mode under LANG=C, so its stream encoding alone would say UTF-8 even when
    the terminal at the other end of the SSH session cannot show it; the locale variables can.
    """
    encoding = (getattr(stream or sys.stdout, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    if not encoding.startswith("utf"):
        return True
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = os.environ.get(name)
        if value:
            return re.search(r"utf-?8", value, re.IGNORECASE) is None
    return False


# --- formats -----------------------------------------------------------------------------------------
def level_style(value: float | None) -> str:
    """The colour of a level in percent: green below 50, yellow below 80, red above; dim when unknown."""
    if value is None:
        return "dim"
    return "green" if value < 50 else "yellow" if value < 80 else "red"


def bytes_rate(bps: float | None) -> str:
    """Bytes per second, short: 512B/s, 1.5K/s, 120M/s."""
    if bps is None:
        return "-"
    for unit in ("B", "K", "M", "G"):
        if bps < 1000 or unit == "G":
            return f"{bps:.0f}{unit}/s" if unit == "B" or bps >= 100 else f"{bps:.1f}{unit}/s"
        bps /= 1024
    return "-"


def mib(value: float | None) -> str:
    """MiB, short: 512M, 1.5G."""
    if value is None:
        return "-"
    return f"{value / 1024:.1f}G" if value >= 1024 else f"{value:.0f}M"


def used_of(used: float | None, total: float | None) -> str:
    """Used of total MiB, in the total's unit: 512/1024M, 1.5/8.0G."""
    if used is None or total is None:
        return "-"
    if total >= 1024:
        return f"{used / 1024:.1f}/{total / 1024:.1f}G"
    return f"{used:.0f}/{total:.0f}M"


def duration(seconds: float | None) -> str:
    """A duration in at most two units: 42s, 3m05s, 2h10m, 1d04h."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def percent(value: float | None, width: int = 4) -> str:
    """A percentage right-aligned in `width` cells; "-" when unknown."""
    return "-".rjust(width) if value is None else f"{value:.0f}%".rjust(width)


def bar(fraction: float | None, width: int, glyphs: Glyphs, style: str | None = None) -> Text:
    """A horizontal bar `width` cells wide, coloured by how full it is (a load), or in `style` (a
    progress, where full is not alarming)."""
    from rich.text import Text

    if fraction is None:
        return Text(glyphs.empty * width, style="dim")
    fraction = min(1.0, max(0.0, fraction))
    eighths = round(fraction * width * 8) if glyphs.partial else round(fraction * width) * 8
    full, rest = divmod(eighths, 8)
    filled = glyphs.fill * full + (glyphs.partial[rest - 1] if rest else "")
    text = Text.assemble((filled, style or level_style(fraction * 100)))  # on the fill only, not text appended
    text.append(glyphs.empty * (width - len(filled)), style="dim")
    return text


def sparkline(
    times: list[float],
    values: list[float | None],
    start: float,
    end: float,
    width: int,
    glyphs: Glyphs,
    top: float = 100.0,
) -> Text:
    """Values placed by time in `width` columns over [start, end]; a column without samples stays blank."""
    columns: list[list[float]] = [[] for _ in range(width)]
    span = max(end - start, 1e-9)
    for t, value in zip(times, values):
        if value is not None:
            columns[min(width - 1, max(0, int((t - start) / span * width)))].append(value)
    cells: list[tuple[str, str]] = []
    for column in columns:
        if not column:
            cells.append((" ", ""))
            continue
        value = sum(column) / len(column)
        level = min(len(glyphs.levels) - 1, max(0, int(value / top * len(glyphs.levels))))
        cells.append((glyphs.levels[level], level_style(value / top * 100)))
    return styled_runs(cells)


def styled_runs(cells: list[tuple[str, str]]) -> Text:
    """Characters with their styles as one Text, neighbours of one style in one span: a line of a
    few spans draws several times faster than one of a span per cell, and gauges redraw every second."""
    from rich.text import Text

    text = Text()
    run, style = "", ""
    for char, char_style in cells:
        if char_style != style and run:
            text.append(run, style=style or None)
            run = ""
        run, style = run + char, char_style
    if run:
        text.append(run, style=style or None)
    return text
