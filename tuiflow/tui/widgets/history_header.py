"""History's top line: where the view is (experiments, one experiment, all runs), the filter, and how
many runs it keeps of how many, at the right edge. Parts that do not fit go, least useful first."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tuiflow.tui.render import fit
from tuiflow.tui.widgets.glyphs import glyphs_of


class HistoryHeader(Widget):
    """One line: `place`, `filter`, `count` (right) and `extra` (page, marks), set by the screen."""

    DEFAULT_CSS = """
    HistoryHeader { height: 1; background: $panel; color: $foreground; }
    """

    place: reactive[str] = reactive("")
    filter: reactive[str] = reactive("")
    count: reactive[str] = reactive("")
    extra: reactive[str] = reactive("")

    def render(self) -> Text:
        width = self.size.width
        glyphs = glyphs_of(self)
        right = self.count + " "
        for extra, show_filter in ((True, True), (False, True), (False, False)):
            text = Text.assemble((" History", "bold"))
            if self.place:
                text.append(f"  {self.place}")
            if show_filter and self.filter:
                text.append("  filter: ", style="dim")
                text.append(self.filter)
            if extra and self.extra:
                text.append(f"  {self.extra}", style="dim")
            if text.cell_len + len(right) + 2 <= width:
                break
        if text.cell_len + len(right) + 2 > width:
            text = Text(fit(text.plain, max(0, width - len(right) - 2), glyphs))
        text.append(" " * max(1, width - text.cell_len - len(right)))
        text.append(right)
        return text
