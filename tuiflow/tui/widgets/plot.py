"""Metric curves plotted in the terminal (textual-plot): one run's curve, or several overlaid with a
legend, on a linear or a log y scale. Under --ascii the curves are drawn with "*" marks, not Braille."""

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

    def show(self, series: Sequence[Series], log_y: bool = False, x_label: str = "step") -> None:
        """Plot `series` (one line each, a legend when there are several); the same again draws nothing."""
        state = (tuple(series), log_y, x_label)
        if state == self.shown:
            return
        self.shown = state
        self.clear()
        self.left_out = 0
        ascii_only = glyphs_of(self).ascii
        self.set_y_formatter(LogAxisFormatter() if log_y else NumericAxisFormatter())
        for index, one in enumerate(series):
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
            style = SERIES_STYLES[index % len(SERIES_STYLES)]
            label = one.label if len(series) > 1 else None
            if ascii_only or len(xs) == 1:
                self.scatter(xs, ys, marker="*", marker_style=style, label=label)
            else:
                self.plot(xs, ys, line_style=style, hires_mode=HiResMode.BRAILLE, label=label)
        self.set_xlabel(x_label)
        self.show_legend(is_visible=len(series) > 1)
