"""History's runs table: one keyset page of runs at a time, columns that fit the width dropped whole
by priority, a mark column, and the sort shown in its header.

A page is a screen of rows, so the table is rebuilt per page (a few dozen rows, never the store's
100,000). Each row is drawn as one cell holding every column shown, laid out here: a DataTable renders
cell by cell through Rich, and a page of 200 cells took most of a page move's 100 ms.

Moving past its last row (or pagedown) asks the screen for the next page; past its first row
(or pageup), for the one before.
"""

from __future__ import annotations

from collections.abc import Collection

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from tuiflow.tui.history_data import Column, ResultLine, RunsPage
from tuiflow.tui.render import STATUS_STYLE
from tuiflow.tui.widgets.columns import Fitted, fit
from tuiflow.tui.widgets.glyphs import glyphs_of

MARK = "mark"
ROW = "row"
GAP = 2  # cells between two columns
# Kept first when the width is short: id and status, then what the view sorts and filters by, the
# experiment (all runs), the final metrics, the parameters, the recipe, the times.
RANKS = {"id": 0, "status": 1, "experiment": 4, "recipe": 7, "duration_s": 8, "started_at": 9}
KIND_RANKS = {"metric": 5, "param": 6}


class ResultsTable(DataTable):
    """A page of runs; `page` is the page shown, `marked` the run ids marked (kept across pages)."""

    BINDINGS = [
        Binding("enter", "select_cursor", "open", id="history.open_run", tooltip="Open the selected run"),
        Binding("pagedown", "page_down", "next page", show=False, id="history.next_page",
                tooltip="The next page of runs"),
        Binding("pageup", "page_up", "previous page", show=False, id="history.previous_page",
                tooltip="The page of runs before"),
        Binding("home,ctrl+home", "first_run", "first run", show=False, id="history.first_run",
                tooltip="The first run of the listing"),
        Binding("end,ctrl+end", "last_run", "last run", show=False, id="history.last_run",
                tooltip="The last run of the listing"),
    ]

    class Turn(Message):
        """The user moved past the page's end (`step` 1) or its start (-1)."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    class Jump(Message):
        """The user asked for the listing's first run (`step` -1) or its last (1)."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    class SortBy(Message):
        """A click on a column's header."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.page: RunsPage | None = None
        self.marked: Collection[int] = set()
        self.sort: str | None = None
        self.filtered: set[str] = set()
        self.shown: list[Column] = []
        self.widths: dict[str, int] = {}
        self.offsets: dict[str, tuple[int, int]] = {}
        self._pointed: int | None = None

    # --- what is selected ----------------------------------------------------------------------------
    @property
    def selected(self) -> ResultLine | None:
        """The run under the cursor."""
        if self.page is None or not 0 <= self.cursor_row < len(self.page.lines):
            return None
        return self.page.lines[self.cursor_row]

    @property
    def selected_id(self) -> int | None:
        """The id of the run under the cursor."""
        line = self.selected
        return line.id if line else None

    # --- paging --------------------------------------------------------------------------------------
    def action_page_down(self) -> None:
        self.post_message(self.Turn(1))

    def action_page_up(self) -> None:
        self.post_message(self.Turn(-1))

    def action_first_run(self) -> None:
        self.post_message(self.Jump(-1))

    def action_last_run(self) -> None:
        self.post_message(self.Jump(1))

    def action_cursor_down(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - 1:
            self.post_message(self.Turn(1))
            return
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.cursor_row <= 0:
            self.post_message(self.Turn(-1))
            return
        super().action_cursor_up()

    # --- drawing -------------------------------------------------------------------------------------
    def show(self, page: RunsPage, sort: str | None, marked: Collection[int], cursor: int = 0,
             follow: int | None = None) -> None:
        """Draw a page: the columns that fit, its rows, the cursor on the run `follow` where the page holds
        it (rows reorder as runs end), else on row `cursor` (-1: the last)."""
        self.page, self.sort, self.marked = page, sort, marked
        row = next((index for index, line in enumerate(page.lines) if line.id == follow), None)
        if row is None:
            row = cursor if cursor >= 0 else len(page.lines) - 1
        self._rebuild(row)

    def on_resize(self) -> None:
        if self.page is not None:
            self._rebuild(self.cursor_row)

    @property
    def glyphs_ascii(self) -> bool:
        """Whether the app draws ASCII only (--ascii)."""
        return bool(glyphs_of(self).ascii)

    def _label(self, column: Column) -> str:
        glyphs = glyphs_of(self)
        label = column.label
        if (self.sort or "").removeprefix("-") == column.key:
            label += (" v" if glyphs.ascii else " ▼") if (self.sort or "").startswith("-") else \
                (" ^" if glyphs.ascii else " ▲")
        return label

    def choose(self, page: RunsPage, width: int) -> list[Column]:
        """The columns of `page` that fit `width`, by priority (see RANKS)."""
        sort_key = (self.sort or "").removeprefix("-")
        fitted = []
        for column in page.columns:
            widest = max([len(line.cells.get(column.key, "")) for line in page.lines] + [len(self._label(column))])
            rank = RANKS.get(column.key, KIND_RANKS.get(column.kind, 6))
            if column.key == sort_key:
                rank = 2
            elif column.chosen or column.key in self.filtered or column.label in self.filtered:
                rank = 3
            if column.kind in ("param", "metric") and not any(line.cells.get(column.key) for line in page.lines):
                rank += 10  # nothing to show on this page: last
            fitted.append(Fitted(column.key, widest, rank))
        keys = set(fit(fitted, width + GAP, GAP // 2))
        return [column for column in page.columns if column.key in keys]

    def _rebuild(self, cursor: int) -> None:
        page = self.page
        if page is None:
            return
        # The table's width less the scrollbar, the mark column and the padding around the row column.
        room = (self.size.width or self.app.size.width) - 1 - (2 + 2 * self.cell_padding) - 2 * self.cell_padding
        self.shown = self.choose(page, room)
        self.widths = {column.key: max([len(self._label(column))] + [len(line.cells.get(column.key, ""))
                                                                     for line in page.lines])
                       for column in self.shown}
        self.offsets, x = {}, 0
        for column in self.shown:
            self.offsets[column.key] = (x, x + self.widths[column.key])
            x += self.widths[column.key] + GAP
        self.clear(columns=True)
        self.add_column(Text(""), width=2, key=MARK)
        header = self._join({column.key: self._label(column) for column in self.shown}, header=True)
        self.add_column(header, width=max(1, x - GAP), key=ROW)
        self._pointed = None
        for line in page.lines:
            self.add_row(self._mark_cell(line, pointed=False), self._row_cell(line), key=str(line.id))
        if page.lines:
            self.move_cursor(row=max(0, min(cursor, len(page.lines) - 1)), animate=False)
        self._point()

    def _join(self, texts: dict[str, str], header: bool = False) -> Text:
        """One line of the columns shown, each padded to its width (numbers to the right), GAP apart."""
        line = Text(no_wrap=True, overflow="crop", style="bold" if header else "")
        for index, column in enumerate(self.shown):
            if index:
                line.append(" " * GAP)
            text = texts.get(column.key, "")
            width = self.widths[column.key]
            padded = text.rjust(width) if column.right else text.ljust(width)
            style = STATUS_STYLE.get(text, "") if column.key == "status" and not header else ""
            line.append(padded, style=style)
        return line

    def _row_cell(self, line: ResultLine) -> Text:
        return self._join(line.cells)

    def _mark_cell(self, line: ResultLine, pointed: bool) -> Text:
        glyphs = glyphs_of(self)
        pointer = (">" if glyphs.ascii else "▶") if pointed else " "
        mark = ("*" if glyphs.ascii else "●") if line.id in self.marked else " "
        return Text(pointer + mark, style="bold")

    def column_at(self, x: int) -> str | None:
        """The key of the column shown at `x` cells from the table's left edge (None: the mark column or
        a gap)."""
        start = 2 + 3 * self.cell_padding  # the mark column and its padding, the row column's left padding
        inside = x + int(self.scroll_x) - start
        return next((key for key, (left, right) in self.offsets.items() if left <= inside < right), None)

    def on_click(self, event: events.Click) -> None:
        if event.y == 0 and self.show_header and (key := self.column_at(event.x)) is not None:
            self.post_message(self.SortBy(key))

    def redraw_marks(self) -> None:
        """Draw the mark column again (after a mark changed)."""
        if self.page is None:
            return
        for index, line in enumerate(self.page.lines):
            self.update_cell(str(line.id), MARK, self._mark_cell(line, index == self.cursor_row))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._point()

    def _point(self) -> None:
        """Point at the selected run (the highlight is colour only)."""
        if self.page is None:
            return
        row = self.cursor_row
        if row == self._pointed or not 0 <= row < len(self.page.lines):
            return
        for index in (self._pointed, row):
            if index is not None and 0 <= index < len(self.page.lines):
                line = self.page.lines[index]
                self.update_cell(str(line.id), MARK, self._mark_cell(line, index == row))
        self._pointed = row
