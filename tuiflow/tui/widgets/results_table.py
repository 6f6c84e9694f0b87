"""History's runs table: one keyset page of runs at a time, columns that fit the width dropped whole
by priority, a mark column, and the sort shown in its header.

A page is a screen of rows, so the table is rebuilt per page (a few dozen rows, never the store's
100,000). Moving past its last row (or pagedown) asks the screen for the next page; past its first row
(or pageup), for the one before.
"""

from __future__ import annotations

from collections.abc import Collection

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from tuiflow.tui.history_data import Column, ResultLine, RunsPage
from tuiflow.tui.render import STATUS_STYLE
from tuiflow.tui.widgets.columns import Fitted, fit
from tuiflow.tui.widgets.glyphs import glyphs_of

MARK = "mark"
# Kept first when the width is short: id and status, then what the view sorts and filters by, the
# experiment (all runs), the final metrics, the parameters, the recipe, the times.
RANKS = {"id": 0, "status": 1, "experiment": 4, "recipe": 7, "duration_s": 8, "started_at": 9}
KIND_RANKS = {"metric": 5, "param": 6}


class ResultsTable(DataTable):
    """A page of runs; `page` is the page shown, `marked` the run ids marked (kept across pages)."""

    BINDINGS = [
        Binding("pagedown", "page_down", "next page", show=False, id="history.next_page",
                tooltip="The next page of runs"),
        Binding("pageup", "page_up", "previous page", show=False, id="history.previous_page",
                tooltip="The page of runs before"),
    ]

    class Turn(Message):
        """The user moved past the page's end (`step` 1) or its start (-1)."""

        def __init__(self, step: int) -> None:
            super().__init__()
            self.step = step

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.page: RunsPage | None = None
        self.marked: Collection[int] = set()
        self.sort: str | None = None
        self.filtered: set[str] = set()
        self.shown: list[Column] = []
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
    def show(self, page: RunsPage, sort: str | None, marked: Collection[int], cursor: int = 0) -> None:
        """Draw a page: the columns that fit, its rows, the cursor on row `cursor` (-1: the last)."""
        self.page, self.sort, self.marked = page, sort, marked
        self._rebuild(cursor if cursor >= 0 else len(page.lines) - 1)

    def on_resize(self) -> None:
        if self.page is not None:
            self._rebuild(self.cursor_row)

    def _label(self, column: Column) -> Text:
        glyphs = glyphs_of(self)
        label = column.label
        key = (self.sort or "").removeprefix("-")
        if key == column.key or (key == "" and column.key == "id" and self.sort is not None):
            label += (" v" if glyphs.ascii else " ▼") if (self.sort or "").startswith("-") else \
                (" ^" if glyphs.ascii else " ▲")
        return Text(label, justify="right" if column.right else "left", no_wrap=True)

    def choose(self, page: RunsPage, width: int) -> list[Column]:
        """The columns of `page` that fit `width`, by priority (see RANKS)."""
        sort_key = (self.sort or "").removeprefix("-")
        fitted = []
        for column in page.columns:
            widest = max([len(line.cells.get(column.key, "")) for line in page.lines] + [self._label(column).cell_len])
            rank = RANKS.get(column.key, KIND_RANKS.get(column.kind, 6))
            if column.key == sort_key:
                rank = 2
            elif column.key in self.filtered or column.label in self.filtered:
                rank = 3
            if column.kind in ("param", "metric") and not any(line.cells.get(column.key) for line in page.lines):
                rank += 10  # nothing to show on this page: last
            fitted.append(Fitted(column.key, widest, rank))
        keys = set(fit(fitted, max(0, width - 2 - 2 * self.cell_padding), self.cell_padding))
        return [column for column in page.columns if column.key in keys]

    def _rebuild(self, cursor: int) -> None:
        page = self.page
        if page is None:
            return
        width = self.size.width or self.app.size.width
        self.shown = self.choose(page, width - 1)  # the scrollbar's column
        self.clear(columns=True)
        self.add_column(Text(""), width=2, key=MARK)
        for column in self.shown:
            self.add_column(self._label(column), key=column.key)
        self._pointed = None
        rows = [self._cells(line, pointed=False) for line in page.lines]
        for line, cells in zip(page.lines, rows):
            self.add_row(*cells, key=str(line.id))
        if page.lines:
            self.move_cursor(row=max(0, min(cursor, len(page.lines) - 1)), animate=False)
        self._point()

    def _cells(self, line: ResultLine, pointed: bool) -> list[Text]:
        glyphs = glyphs_of(self)
        pointer = (">" if glyphs.ascii else "▶") if pointed else " "
        mark = ("*" if glyphs.ascii else "●") if line.id in self.marked else " "
        cells = [Text(pointer + mark, style="bold")]
        for column in self.shown:
            text = line.cells.get(column.key, "")
            style = STATUS_STYLE.get(text, "") if column.key == "status" else ""
            cells.append(Text(text, style=style, justify="right" if column.right else "left", no_wrap=True))
        return cells

    def redraw_marks(self) -> None:
        """Draw the mark column again (after a mark changed)."""
        if self.page is None:
            return
        for index, line in enumerate(self.page.lines):
            self.update_cell(str(line.id), MARK, self._cells(line, index == self.cursor_row)[0])

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
                self.update_cell(str(line.id), MARK, self._cells(line, index == row)[0])
        self._pointed = row
