"""The glyph set a widget draws with: the app's (Unicode blocks, or ASCII under --ascii)."""

from __future__ import annotations

from textual.widget import Widget

from tuiflow.lab.gauges import Glyphs

UNICODE = Glyphs.pick(False)


def glyphs_of(widget: Widget) -> Glyphs:
    """The glyphs of the app the widget is in."""
    return getattr(widget.app, "glyphs", UNICODE)
