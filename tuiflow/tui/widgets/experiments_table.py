"""History's experiments table: one row per experiment, newest first, with its runs per status and its
best final metric; columns that do not fit the width are dropped whole, by priority."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from tuiflow.tui.history_data import ExperimentLine
from tuiflow.tui.render import number
from tuiflow.tui.widgets.columns import Fitted, fit
from tuiflow.tui.widgets.glyphs import glyphs_of

# key, label, right-aligned, rank (lower: kept first when the width is short). The runs per status keep
# short labels, and stay before the best metric, the recipe and the date: at 80 columns all of them fit.
COLUMNS: tuple[tuple[str, str, bool, int], ...] = (
    ("name", "experiment", False, 0), ("recipe", "recipe", False, 5), ("created", "created", False, 6),
    ("runs", "runs", True, 1), ("done", "done", True, 2), ("failed", "fail", True, 2),
    ("cancelled", "canc", True, 2), ("lost", "lost", True, 2), ("active", "live", True, 2),
    ("best", "best", True, 3),
)


def experiment_cells(line: ExperimentLine) -> dict[str, str]:
    """An experiment's cells as text."""
    counts = line.counts
    best = f"{line.metric} {number(line.best)}" if line.metric is not None and line.best is not None else ""

    def count(value: int) -> str:
        return f"{value:,}" if value else "-"

    return {"name": line.name, "recipe": line.recipe,
            "created": time.strftime("%m-%d %H:%M", time.localtime(line.created_at)), "runs": f"{line.runs:,}",
            "done": count(counts.get("done", 0)), "failed": count(counts.get("failed", 0)),
            "cancelled": count(counts.get("cancelled", 0)), "lost": count(counts.get("lost", 0)),
            "active": count(line.active), "best": best}


class ExperimentsTable(DataTable):
    """Every experiment; `lines` in the order shown."""

    BINDINGS = [Binding("enter", "select_cursor", "runs", id="history.open_experiment",
                        tooltip="Show the selected experiment's runs"),
                Binding("home,ctrl+home", "first", "first", id="history.first_experiment", show=False,
                        tooltip="The first experiment"),
                Binding("end,ctrl+end", "last", "last", id="history.last_experiment", show=False,
                        tooltip="The last experiment")]

    def action_first(self) -> None:
        if self.lines:
            self.move_cursor(row=0)

    def action_last(self) -> None:
        if self.lines:
            self.move_cursor(row=len(self.lines) - 1)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.lines: list[ExperimentLine] = []
        self._pointed: int | None = None

    @property
    def selected(self) -> ExperimentLine | None:
        """The experiment under the cursor."""
        if not 0 <= self.cursor_row < len(self.lines):
            return None
        return self.lines[self.cursor_row]

    def show(self, lines: Sequence[ExperimentLine]) -> None:
        """Draw these experiments, the cursor staying on its experiment where it still is."""
        before = self.selected.id if self.selected else None
        self.lines = list(lines)
        self._rebuild(next((i for i, line in enumerate(self.lines) if line.id == before), 0))

    def on_resize(self) -> None:
        if self.lines:
            self._rebuild(self.cursor_row)

    def _rebuild(self, cursor: int) -> None:
        cells = [experiment_cells(line) for line in self.lines]
        width = (self.size.width or self.app.size.width) - 1
        fitted = [Fitted(key, max([len(label)] + [len(c[key]) for c in cells]), rank)
                  for key, label, _, rank in COLUMNS]
        keys = set(fit(fitted, width - 1 - 2 * self.cell_padding, self.cell_padding))
        columns = [(key, label, right) for key, label, right, _ in COLUMNS if key in keys]
        self.clear(columns=True)
        self.add_column(Text(""), width=1, key="pointer")
        for key, label, right in columns:
            self.add_column(Text(label, justify="right" if right else "left"), key=key)
        for line, row in zip(self.lines, cells):
            self.add_row(Text(" "), *(Text(row[key], justify="right" if right else "left", no_wrap=True)
                                      for key, _, right in columns), key=str(line.id))
        self._pointed = None
        if self.lines:
            self.move_cursor(row=min(cursor, len(self.lines) - 1), animate=False)
        self._point()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._point()

    def _point(self) -> None:
        row = self.cursor_row
        if row == self._pointed or not 0 <= row < len(self.lines):
            return
        pointer = ">" if glyphs_of(self).ascii else "▶"
        for index, text in ((self._pointed, " "), (row, pointer)):
            if index is not None and 0 <= index < len(self.lines):
                self.update_cell(str(self.lines[index].id), "pointer", Text(text, style="bold"))
        self._pointed = row
