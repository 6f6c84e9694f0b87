"""The dashboard's runs table: updated in place by row key, the cursor staying on its run."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from tuiflow.lab.gauges import duration
from tuiflow.tui.render import latest_cell, progress_cell, status_cell
from tuiflow.tui.views import RunLine
from tuiflow.tui.widgets.glyphs import glyphs_of

WIDE = 100  # from this width on, the table also shows how long each run has taken
# key, label, width (None: shares what is left), right-aligned
COLUMNS: tuple[tuple[str, str, int | None, bool], ...] = (
    ("id", "id", 5, True), ("experiment", "experiment", None, False), ("recipe", "recipe", None, False),
    ("status", "status", 9, False), ("gpu", "gpu", 3, False), ("progress", "progress", 9, True),
    ("eta", "eta", 6, True), ("latest", "latest", 10, True),
)
ELAPSED = ("elapsed", "elapsed", 7, True)


class RunsTable(DataTable):
    """Running runs first, then queued ones in start order, then the last that ended."""

    BINDINGS = [
        Binding("enter", "open_run", "open", show=False, id="runs.open",
                tooltip="Open the selected run's detail: overview, metrics, profile, telemetry, log"),
        # A DataTable's home and end move across columns; in a table of rows they go to the first and last run.
        Binding("home", "scroll_top", "first", show=False, id="runs.first", tooltip="Go to the first run"),
        Binding("end", "scroll_bottom", "last", show=False, id="runs.last", tooltip="Go to the last run"),
    ]

    class OpenRun(Message):
        """Enter on a run."""

        def __init__(self, run_id: int) -> None:
            super().__init__()
            self.run_id = run_id

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.lines: dict[int, RunLine] = {}
        self._cells: dict[int, tuple[Text, ...]] = {}
        self._now = 0.0
        self._wide: bool | None = None
        self._marked: int | None = None
        self._id_width = 5
        self._widths: dict[str, int] = {}

    def on_mount(self) -> None:
        for key, label, width, right in COLUMNS:
            self.add_column(Text(label, justify="right" if right else "left"), width=width or 10, key=key)

    # --- what is selected ----------------------------------------------------------------------------
    @property
    def selected_id(self) -> int | None:
        """The run under the cursor."""
        if not self.row_count:
            return None
        row = self.cursor_row
        if not 0 <= row < self.row_count:
            return None
        key = self.coordinate_to_cell_key((row, 0)).row_key  # type: ignore[arg-type]
        return int(key.value) if key.value is not None else None

    def select(self, run_id: int) -> bool:
        """Put the cursor on a run; False when the table does not hold it."""
        try:
            index = self.get_row_index(str(run_id))
        except Exception:  # RowDoesNotExist
            return False
        self.move_cursor(row=index)
        return True

    def action_open_run(self) -> None:
        if (run_id := self.selected_id) is not None:
            self.post_message(self.OpenRun(run_id))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._mark()

    # --- updating in place ---------------------------------------------------------------------------
    def update_rows(self, rows: Sequence[RunLine], now: float) -> None:
        """Add, change and remove rows by run id, then put them in `rows`' order; the cursor stays on
        its run (or, when that run left the table, on the row where it was)."""
        selected = self.selected_id
        self._now = now
        wanted = {row.id: row for row in rows}
        id_width = max(5, len(str(max(wanted, default=0))) + 2)  # a pointer, a space, the digits
        if id_width != self._id_width:
            self._id_width = id_width
            self.fit_columns(self.size.width)
        for run_id in [i for i in self.lines if i not in wanted]:
            self.remove_row(str(run_id))
            del self.lines[run_id], self._cells[run_id]
        for row in rows:
            if self.lines.get(row.id) == row and not (self._wide and row.status == "running"):
                continue  # nothing it shows has changed (a running run's elapsed time always has)
            cells = self._render(row)
            if row.id not in self.lines:
                self.add_row(*cells, key=str(row.id))
            else:
                old = self._cells[row.id]
                for (key, *_), new, before in zip(self._columns(), cells, old):
                    if new != before:
                        self.update_cell(str(row.id), key, new)
            self.lines[row.id] = row
            self._cells[row.id] = cells
        order = {row.id: index for index, row in enumerate(rows)}
        if [int(r.key.value) for r in self.ordered_rows] != [row.id for row in rows]:  # type: ignore[arg-type]
            self.sort("id", key=lambda cell: order.get(_run_id(cell), len(order)))
        if selected is not None and selected in wanted:
            self.select(selected)
        self._mark()

    def _columns(self) -> tuple[tuple[str, str, int | None, bool], ...]:
        return COLUMNS + ((ELAPSED,) if self._wide else ())

    def _render(self, row: RunLine) -> tuple[Text, ...]:
        glyphs = glyphs_of(self)
        widths = self._widths
        pointer = (">" if glyphs.ascii else "▶") if row.id == self._marked else " "
        cells = [
            Text(f"{pointer}{row.id:>{max(1, widths.get('id', 6) - 1)}}"),
            Text(row.experiment, no_wrap=True, overflow=glyphs.overflow),  # cut with a mark, not silently
            Text(row.recipe, no_wrap=True, overflow=glyphs.overflow),
            status_cell(row.status),
            Text(",".join(map(str, row.gpus)) if row.gpus else "-"),
            progress_cell(row, widths.get("progress", 9), glyphs),
            Text(duration(row.eta_s) if row.status == "running" and row.eta_s is not None else "", justify="right"),
            latest_cell(row, widths.get("latest", 12), glyphs),
        ]
        if self._wide:
            cells.append(Text(duration(row.elapsed(self._now)) if row.started_at else "", justify="right"))
        return tuple(cells)

    def _mark(self) -> None:
        """Point at the selected run in its id cell (the highlight is colour only)."""
        selected = self.selected_id
        if selected == self._marked:
            return
        previous, self._marked = self._marked, selected
        for run_id in (previous, selected):
            if run_id is not None and run_id in self.lines:
                cells = self._render(self.lines[run_id])
                self._cells[run_id] = cells
                self.update_cell(str(run_id), "id", cells[0])

    # --- fitting the width ---------------------------------------------------------------------------
    def on_resize(self) -> None:
        self.fit_columns(self.size.width)

    def fit_columns(self, width: int) -> None:
        """Share the width: fixed columns keep theirs, experiment and recipe split the rest; from
        `WIDE` on, an elapsed column joins."""
        if width <= 0:
            return
        wide = width >= WIDE
        if wide != self._wide:
            self._wide = wide
            key, label, size, right = ELAPSED
            if wide:
                self.add_column(Text(label, justify="right" if right else "left"), width=size, key=key,
                                default=Text(""))
            elif ColumnKey(key) in self.columns:
                self.remove_column(key)
        sizes = {key: size for key, _, size, _ in self._columns()}
        sizes["id"] = self._id_width
        if wide:  # more room: longer bars and metric names
            sizes.update(progress=14, latest=16)
        fixed = sum(w for w in sizes.values() if w) + 2 * self.cell_padding * len(sizes) + 1
        flexible = max(12, width - fixed)
        sizes["experiment"] = min(28, flexible // 2)
        sizes["recipe"] = min(24, flexible - flexible // 2)
        if width - fixed - sizes["experiment"] - sizes["recipe"] > 0:  # still room: the metric takes it
            sizes["latest"] = (sizes["latest"] or 0) + width - fixed - sizes["experiment"] - sizes["recipe"]
        columns = self._columns()
        for key, _, _, _ in columns:
            column = self.columns.get(ColumnKey(key))
            if column is not None:
                column.width = sizes[key] or 1
                column.auto_width = False
        self._widths = {key: sizes[key] or 1 for key, _, _, _ in columns}
        for run_id, row in self.lines.items():  # cells drawn to a width (bars) follow it
            cells = self._render(row)
            old = self._cells.get(run_id, ())
            for index, ((key, *_), new) in enumerate(zip(columns, cells)):
                if index >= len(old) or new != old[index]:
                    self.update_cell(str(run_id), key, new)
            self._cells[run_id] = cells
        self._require_update_dimensions = True
        self.refresh(layout=True)


def _run_id(cell: Text | str) -> int:
    digits = "".join(ch for ch in (cell.plain if isinstance(cell, Text) else str(cell)) if ch.isdigit())
    return int(digits) if digits else -1


__all__ = ["RowKey", "RunsTable"]
