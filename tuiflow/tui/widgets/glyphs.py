"""The glyph set a widget draws with: the app's (Unicode blocks, or ASCII under --ascii), and the
filter that keeps what other widgets draw (Textual's tabs and selects, textual-plot's axes, a border)
to ASCII under --ascii."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from rich.cells import cell_len
from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter
from textual.widget import Widget

from tuiflow.lab.gauges import Glyphs

UNICODE = Glyphs.pick(False)

# One cell for one cell: the layout was made for the glyph replaced.
_SAME_CELL = {
    "…": "~", "▼": "v", "▾": "v", "▲": "^", "▴": "^", "▶": ">", "▸": ">", "►": ">", "◀": "<", "◂": "<",
    "◄": "<", "→": ">", "←": "<", "↑": "^", "↓": "v", "•": "*", "·": ".", "\u00d7": "x", "✓": "v", "✗": "x",
    "—": "-", "\u2013": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "°": "o",
    "\u00a0": " ", "≈": "~",
    "█": "#", "▉": "#", "▊": "#", "▋": "#", "▌": "#", "▍": "|", "▎": "|", "▏": "|", "▐": "#", "░": ".",
    "▒": ":", "▓": "#", "▁": "_", "▂": "_", "▃": "_", "▄": "=", "▅": "=", "▆": "=", "▇": "#", "▀": "-",
    "\u2571": "/", "╲": "\\", "\u2573": "X",
}


def _box(char: str) -> str | None:
    """A box-drawing character as "-", "|" or "+" by the lines it draws (┏ and ┣ are +, ╸ is -)."""
    if not "\u2500" <= char <= "\u257f":
        return None
    name = unicodedata.name(char, "")
    across = any(word in name for word in ("HORIZONTAL", "LEFT", "RIGHT"))
    down = any(word in name for word in ("VERTICAL", "UP", "DOWN"))
    return "-" if across and not down else "|" if down and not across else "+"


@lru_cache(maxsize=4096)
def to_ascii(text: str) -> str:
    """`text` in ASCII, cell for cell: box lines as - | +, braille as . (dots), arrows and blocks as
    their look-alikes, anything else as ? (?? for a wide character)."""
    if text.isascii():
        return text
    out = []
    for char in text:
        if char.isascii():
            out.append(char)
        elif (same := _SAME_CELL.get(char) or _box(char)) is not None:
            out.append(same)
        elif "\u2800" <= char <= "\u28ff":
            out.append(" " if char == "\u2800" else ".")
        else:
            out.append("?" * cell_len(char))
    return "".join(out)


class AsciiOnly(LineFilter):
    """Every line the app draws, in ASCII (the app's own glyphs are ASCII already under --ascii)."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [segment if segment.text.isascii() or segment.control
                else Segment(to_ascii(segment.text), segment.style, segment.control) for segment in segments]


def glyphs_of(widget: Widget) -> Glyphs:
    """The glyphs of the app the widget is in."""
    return getattr(widget.app, "glyphs", UNICODE)
