"""Metric curves plotted in the terminal (textual-plot): one run's curve, or several overlaid, on a
linear or a log y scale, the whole run or its last steps (`tail`: the y-axis fitted to them, where final
values differ). Under --ascii the curves are drawn with marks (one per curve), not Braille.

The plot draws no legend of its own (it sat over the curves): the screen writes one in a line above
the plot, each label in its curve's style and mark (`mark`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from textual_plot import HiResMode, PlotWidget
from textual_plot.axis_formatter import AxisFormatter, NumericAxisFormatter

from tuiflow.tui.render import number
from tuiflow.tui.widgets.glyphs import glyphs_of

SERIES_STYLES = ("cyan", "magenta", "yellow", "green", "red", "bright_blue", "white")
"""One colour per series; the legend names each (colour adds, never carries: each run's label says which)."""
ASCII_MARKS = "*+ox#@%"
"""Under --ascii, one mark per series (colour adds, the mark tells them apart)."""
TAIL = 0.25
"""What Compare's `z` shows: the last quarter of the steps, the y-axis fitted to the values there."""


@dataclass(frozen=True)
class Series:
    """One curve: its legend label and its (x, y) points (None: no value there)."""

    label: str
    x: Sequence[float]
    y: Sequence[float | None]


class LogAxisFormatter(AxisFormatter):
    """Ticks for values plotted as log10(value): at each power of ten (and 2 and 5 times it when few
    decades are shown), labelled with the value itself."""

    def get_ticks(self, min_: float, max_: float, max_ticks: int = 8) -> list[float]:
        """Tick positions, in log10 units."""
        if not (math.isfinite(min_) and math.isfinite(max_)) or max_ <= min_:
            return []
        decades = range(math.floor(min_), math.ceil(max_) + 1)
        steps = (1.0, 2.0, 5.0) if len(decades) <= 2 else (1.0,)
        ticks = [d + math.log10(s) for d in decades for s in steps if min_ <= d + math.log10(s) <= max_]
        if len(ticks) < 2:  # less than a decade: round values (0.6, 0.7, ...) placed on the log axis
            low, high = 10 ** min_, 10 ** max_
            ticks = [math.log10(t) for t in NumericAxisFormatter().get_ticks(low, high, max_ticks) if t > 0]
            return [t for t in ticks if min_ - 1e-9 <= t <= max_ + 1e-9]
        while len(ticks) > max_ticks:
            ticks = ticks[::2]
        return ticks

    def get_labels_for_ticks(self, ticks: Sequence[float]) -> list[str]:
        """Each tick's value (10 to its power), short."""
        return [number(10 ** t) if abs(10 ** t) >= 1e-3 else f"{10 ** t:.0e}" for t in ticks]


class CurvePlot(PlotWidget, can_focus=False):
    """Curves of one metric against the step; `show` draws them (the keys that change them are the
    screen's: the plot takes no focus, mouse wheel zoom and drag pan still work)."""

    DEFAULT_CSS = """
    CurvePlot { height: 1fr; min-height: 6; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.shown: tuple[tuple[Series, ...], bool, str] | None = None
        self.left_out = 0  # values a log scale could not show (zero or below)

    def on_mount(self) -> None:
        super().on_mount()
        self.margin_top = 1
        self.margin_bottom = 2
        self.margin_left = 8

    def mark(self, index: int) -> tuple[str, str]:
        """The legend's sample of series `index`: its mark and its style."""
        style = SERIES_STYLES[index % len(SERIES_STYLES)]
        return (ASCII_MARKS[index % len(ASCII_MARKS)] if glyphs_of(self).ascii else "\u2501\u2501"), style

    def show(self, series: Sequence[Series], log_y: bool = False, x_label: str = "step",
             tail: float | None = None) -> None:
        """Plot `series` (one line each), all their steps or the last `tail` of them (a fraction, the
        y-axis fitted to what is shown); the same again draws nothing."""
        state = (tuple(series), log_y, x_label, tail)
        if state == self.shown:
            return
        self.shown = state
        self.clear()
        self.left_out = 0
        ascii_only = glyphs_of(self).ascii
        self.set_y_formatter(LogAxisFormatter() if log_y else NumericAxisFormatter())
        curves: list[tuple[list[float], list[float]]] = []
        for one in series:
            xs, ys = [], []
            for x, y in zip(one.x, one.y):
                if y is None or not math.isfinite(y):
                    continue
                if log_y:
                    if y <= 0:
                        self.left_out += 1
                        continue
                    y = math.log10(y)
                xs.append(float(x))
                ys.append(y)
            curves.append((xs, ys))
        start = self._tail_start([x for xs, _ in curves for x in xs], tail)
        points: list[tuple[float, float]] = []
        for index, (xs, ys) in enumerate(curves):
            if start is not None:  # only what is shown: a point off the canvas's left would wrap to its right
                kept = [(x, y) for x, y in zip(xs, ys) if x >= start]
                xs, ys = [x for x, _ in kept], [y for _, y in kept]
            points += zip(xs, ys)
            mark, style = self.mark(index)
            if ascii_only or len(xs) == 1:
                self.scatter(xs, ys, marker=mark if ascii_only else "*", marker_style=style)
            elif xs:
                self.plot(xs, ys, line_style=style, hires_mode=HiResMode.BRAILLE)
        self.set_xlabel(x_label)
        self.show_legend(is_visible=False)
        self._fit(points, start)

    @staticmethod
    def _tail_start(xs: list[float], tail: float | None) -> float | None:
        """The first step of the last `tail` of the steps (None: all of them are shown)."""
        if tail is None or len(set(xs)) < 2:
            return None
        return max(xs) - tail * (max(xs) - min(xs))

    def _fit(self, points: list[tuple[float, float]], start: float | None) -> None:
        """Axes that fit every point (Textual-plot's own), or the points from the step `start` on."""
        if start is None or not points:
            self.set_xlimits(None, None)
            self.set_ylimits(None, None)
            return
        bottom, top = min(y for _, y in points), max(y for _, y in points)
        pad = (top - bottom) * 0.05 or abs(top) * 0.01 or 1e-6
        self.set_xlimits(start, max(x for x, _ in points))
        self.set_ylimits(bottom - pad, top + pad)
