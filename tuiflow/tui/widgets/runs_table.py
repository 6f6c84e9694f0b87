"""The dashboard's runs table: updated in place by row key, the cursor staying on its run.

Its columns say what a run is at 80 columns: the parameters that tell an experiment's runs apart
(`lr=0.01 hidden=64`) take the room the experiment's name and the recipe do not need (the recipe is
shown only where it is not the experiment's name already), and one metric is shown whole, its name
in the header when the rows share it. A mass of runs that ended one after another in one status is
one row ("900 cancelled 01:12"), keyed `EndedLine.key`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from tuiflow.lab.gauges import Glyphs, duration
from tuiflow.tui.render import fit, named_after, number, progress_cell, status_cell
from tuiflow.tui.views import EndedLine, RunLine
from tuiflow.tui.widgets.glyphs import glyphs_of

WIDE = 100  # from this width on, the table also shows how long each run has taken
GAP = 1  # cells between columns (the table's own padding is 0: each cell ends in this gap)
# key, label, right-aligned; widths are worked out from the rows and the room (`_sizes`)
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("id", "id", True), ("experiment", "experiment", False), ("params", "parameters", False),
    ("recipe", "recipe", False), ("status", "status", False), ("gpu", "gpu", False),
    ("progress", "progress", True), ("eta", "eta", True), ("latest", "latest", True),
)
ELAPSED = ("elapsed", "elapsed", True)
EXPERIMENT_MAX = 24  # an experiment's name is cut past this, else shown whole
PARAMS_MIN = 12


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
        super().__init__(cursor_type="row", zebra_stripes=False, cell_padding=0, **kwargs)  # type: ignore[arg-type]
        self.lines: dict[int, RunLine] = {}
        self.ended: dict[str, EndedLine] = {}
        self._cells: dict[str, tuple[Text, ...]] = {}
        self._now = 0.0
        self._marked: int | None = None
        self._shown: tuple[str, ...] = ()  # the column keys shown, in order
        self._widths: dict[str, int] = {}
        self._labels: dict[str, str] = {}
        self._metric: str | None = None  # the metric every row with one shows (its name is the header)

    # --- what is selected ----------------------------------------------------------------------------
    @property
    def selected_id(self) -> int | None:
        """The run under the cursor (None on a row of many ended runs)."""
        key = self._selected_key()
        return int(key) if key is not None and key.isdigit() else None

    @property
    def selected_ended(self) -> EndedLine | None:
        """The row of many ended runs under the cursor, if it is one."""
        key = self._selected_key()
        return self.ended.get(key) if key is not None else None

    def _selected_key(self) -> str | None:
        if not self.row_count:
            return None
        row = self.cursor_row
        if not 0 <= row < self.row_count:
            return None
        key = self.coordinate_to_cell_key((row, 0)).row_key  # type: ignore[arg-type]
        return None if key.value is None else str(key.value)

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
    def update_rows(self, rows: Sequence[RunLine], now: float, ended: Sequence[EndedLine] = ()) -> None:
        """Add, change and remove rows by key, then put them in order (`ended` rows where each says);
        the cursor stays on its run (or, when that run left the table, on the row where it was)."""
        selected = self._selected_key()
        self._now = now
        wanted: dict[str, RunLine | EndedLine] = {}
        before: dict[int, list[EndedLine]] = {}
        for group in ended:
            before.setdefault(group.at, []).append(group)
        for index, row in enumerate(rows):
            for group in before.pop(index, []):
                wanted[group.key] = group
            wanted[str(row.id)] = row
        for group in [g for at in sorted(before) for g in before[at]]:
            wanted[group.key] = group
        old = {**{str(i): line for i, line in self.lines.items()}, **self.ended}
        self.lines = {row.id: row for row in rows}
        self.ended = {group.key: group for group in ended}
        for key in [k for k in old if k not in wanted and k in self._cells]:
            self.remove_row(key)
            del self._cells[key]
        if not self._fit(self.size.width):  # the same columns and widths: only changed rows are drawn
            for key, row in wanted.items():
                if old.get(key) == row and key in self._cells and \
                        not (self._wide and isinstance(row, RunLine) and row.status == "running"):
                    continue  # nothing it shows has changed (a running run's elapsed time always has)
                self._put(key, self._render(row))
        if [str(r.key.value) for r in self.ordered_rows] != list(wanted):
            # A DataTable sorts by its cells, not its keys: rows that moved (a run started or ended) are
            # laid out again in order, a few dozen at most.
            self.clear()
            self._cells.clear()
            for key, row in wanted.items():
                self._put(key, self._render(row))
        if selected is not None and selected in wanted:
            self.move_cursor(row=self.get_row_index(selected))
        self._mark()

    def _put(self, key: str, cells: tuple[Text, ...]) -> None:
        if key not in self._cells:
            self.add_row(*cells, key=key)
        else:
            for column, new, before in zip(self._shown, cells, self._cells[key]):
                if new != before:
                    self.update_cell(key, column, new)
        self._cells[key] = cells

    @property
    def _wide(self) -> bool:
        return "elapsed" in self._shown

    def _render(self, row: RunLine | EndedLine) -> tuple[Text, ...]:
        glyphs = glyphs_of(self)
        if isinstance(row, EndedLine):
            return self._render_ended(row, glyphs)
        widths = self._widths
        pointer = (">" if glyphs.ascii else "▶") if row.id == self._marked else " "
        selected = row.id == self._marked
        cells: dict[str, Text] = {
            "id": Text(f"{pointer}{row.id:>{max(1, widths.get('id', 6) - 1 - GAP)}}"),
            "experiment": Text(fit(row.experiment, widths.get("experiment", 10) - GAP, glyphs)),
            "params": params_cell(row, widths.get("params", 12) - GAP, glyphs),
            "recipe": Text(fit(row.recipe, widths.get("recipe", 10) - GAP, glyphs)),
            "status": status_cell(row.status),
            "gpu": Text(",".join(map(str, row.gpus)) if row.gpus else "-"),
            # On the cursor's row the bar takes the row's colours: a dim or dark bar on the highlight is hard to read.
            "progress": progress_cell(row, widths.get("progress", 9) - GAP, glyphs, plain=selected),
            "eta": Text(duration(row.eta_s) if row.status == "running" and row.eta_s is not None else "",
                        justify="right"),
            "latest": latest_cell(row, widths.get("latest", 8) - GAP, glyphs, self._metric),
            "elapsed": Text(duration(row.elapsed(self._now)) if row.started_at else "", justify="right"),
        }
        return tuple(_gap(cells[key], key, self._widths[key]) for key in self._shown)

    def _render_ended(self, group: EndedLine, glyphs: Glyphs) -> tuple[Text, ...]:
        """"+ 900 runs  ended 01:12 sweep ... cancelled": how many where a run's experiment is, when and
        of which experiments where its parameters are, the status in its column."""
        cells: dict[str, Text] = {key: Text("") for key in self._shown}
        cells["id"] = Text("+".rjust(max(1, self._widths.get("id", 6) - GAP)), style="dim")
        cells["experiment"] = Text(fit(ended_label(group), self._widths.get("experiment", 10) - GAP, glyphs))
        when = time.strftime("%H:%M", time.localtime(group.last_ended_at)) if group.last_ended_at else ""
        names = ", ".join(group.experiments[:2]) + (" ..." if len(group.experiments) > 2 else "")
        words = (f"ended {when}" if when else "") + (f"  {names}" if names else "")
        cells["params"] = Text(fit(words.strip(), self._widths.get("params", 12) - GAP, glyphs), style="dim")
        cells["status"] = status_cell(group.status)
        return tuple(_gap(cells[key], key, self._widths[key]) for key in self._shown)

    def _mark(self) -> None:
        """Point at the selected run in its id cell (the highlight is colour only), and draw its bar in
        the row's colours."""
        selected = self.selected_id
        if selected == self._marked:
            return
        previous, self._marked = self._marked, selected
        for run_id in (previous, selected):
            if run_id is not None and run_id in self.lines:
                self._put(str(run_id), self._render(self.lines[run_id]))

    # --- fitting the width ---------------------------------------------------------------------------
    def on_resize(self) -> None:
        if self._fit(self.size.width):
            self.refresh(layout=True)

    def _fit(self, width: int) -> bool:
        """Work out the columns and their widths for these rows at this width; when they changed, set
        them and draw every row again. Whether they changed."""
        if width <= 0:
            return False
        rows = list(self.lines.values())
        groups = list(self.ended.values())
        names = [", ".join(g.experiments[:2]) for g in groups]
        shown, widths, labels, metric = _sizes(rows, width, [ended_label(g) for g in groups],
                                               [g.status for g in groups], names)
        if (shown, widths, labels, metric) == (self._shown, self._widths, self._labels, self._metric):
            return False
        self._widths, self._labels, self._metric = widths, labels, metric
        if shown != self._shown:
            self._shown = shown
            self.clear(columns=True)
            self._cells.clear()
            for key in shown:
                self.add_column(_gap(Text(labels[key]), key, widths[key]), width=widths[key], key=key)
        else:
            for key in shown:
                column = self.columns[ColumnKey(key)]
                column.width, column.auto_width = widths[key], False
                column.label = _gap(Text(labels[key]), key, widths[key])
        for key in [*(str(i) for i in self.lines), *self.ended]:
            self._put(key, self._render(self.lines[int(key)] if key.isdigit() else self.ended[key]))
        self._require_update_dimensions = True
        self.refresh(layout=True)
        return True


def ended_label(group: EndedLine) -> str:
    """How many runs a row of ended runs stands for: "900 runs"."""
    return f"{group.count:,} runs"


def _sizes(rows: Sequence[RunLine], width: int, ended: Sequence[str] = (), ended_statuses: Sequence[str] = (),
           names: Sequence[str] = ()) -> tuple[tuple[str, ...], dict[str, int], dict[str, str], str | None]:
    """The columns to show for these rows (and rows of ended runs with these labels) at this width, each
    one's width (its gap included), their labels, and the metric all rows show (None: each names its own)."""
    wide = width >= WIDE
    labels = {key: label for key, label, _ in (*COLUMNS, ELAPSED)}
    show_recipe = any(not named_after(row.experiment, row.recipe) for row in rows)
    # The metric most rows show names the column; a row showing another says its name.
    counts = Counter(row.metric for row in rows if row.metric is not None and latest_text(row, None))
    metric = counts.most_common(1)[0][0] if counts else None
    if metric is not None:
        labels["latest"] = metric
    longest_id = max((len(str(row.id)) for row in rows), default=1)
    widths = {
        "id": max(4, longest_id + 2),  # the pointer, the digits
        "status": max([6, *(len(row.status) for row in rows), *(len(g) for g in ended_statuses)]),
        "gpu": max([3, *(len(",".join(map(str, row.gpus))) for row in rows)]),
        # a queued run's cell says what it waits for, in a word or two ("no daemon", "GPUs held")
        "progress": max([14 if wide else 8, *(len(row.waiting_short or "") for row in rows if row.status == "queued")]),
        "eta": 5 if any(row.status == "running" and row.eta_s is not None for row in rows) else 3,
        "latest": max([len(labels["latest"]) if metric else 6,
                       *(len(latest_text(row, metric)) for row in rows)]),
        "elapsed": 7,
    }
    widths["latest"] = min(widths["latest"], 24 if wide else 16)
    experiment = min(EXPERIMENT_MAX, max([10, *(len(row.experiment) for row in rows), *map(len, ended)]))
    recipe = min(16, max([6, *(len(row.recipe) for row in rows)])) if show_recipe else 0
    params = max([PARAMS_MIN, *(len(params_text(row)) for row in rows), *(len(f"ended 00:00  {n}") for n in names)])
    fixed = sum(widths[k] for k in ("id", "status", "gpu", "progress", "eta", "latest")) + \
        (widths["elapsed"] if wide else 0) + GAP * (6 + wide) + 1  # the last 1: the scrollbar's room
    # The experiment's name and the parameters get a few cells each, then the parameters what they
    # need (they tell the runs apart), then the name; the recipe only where it then fits whole, and
    # what is left widens the parameters.
    room = width - fixed - 2 * GAP
    given = {"params": min(params, 8), "experiment": min(experiment, 10)}
    for key, wanted in (("params", params), ("experiment", experiment)):
        given[key] += max(0, min(wanted - given[key], room - sum(given.values())))
    if recipe and room - sum(given.values()) < recipe + GAP:
        recipe = 0  # the selected run's pane names it
    given["params"] = max(4, given["params"] + room - sum(given.values()) - (recipe + GAP if recipe else 0))
    experiment, params = given["experiment"], given["params"]
    # No run here has parameters that tell it apart (lone runs), and no row of many ended runs: an empty
    # column would take the room, so there is none.
    bare = not names and not any(row.params for row in rows)
    shown = ["id", "experiment"] + ([] if bare else ["params"]) + (["recipe"] if recipe else []) + \
        ["status", "gpu", "progress", "eta", "latest"] + (["elapsed"] if wide else [])
    sizes = {key: widths.get(key, 0) + GAP for key in shown}
    sizes["experiment"] = experiment + GAP
    if not bare:
        sizes["params"] = params + GAP
    if recipe:
        sizes["recipe"] = recipe + GAP
    return tuple(shown), sizes, {key: labels[key] for key in shown}, metric


def params_text(row: RunLine) -> str:
    """The parameters that tell a run apart from its experiment's others: "lr=0.01 hidden=64"."""
    return " ".join(f"{key}={value}" for key, value in row.params)


def params_cell(row: RunLine, width: int, glyphs: Glyphs) -> Text:
    """`params_text`, cut to the cell with a mark."""
    return Text(fit(params_text(row), width, glyphs), style="" if row.params else "dim")


def latest_text(row: RunLine, shared: str | None) -> str:
    """A run's metric (`RunLine.metric`): its value alone where the header names it (`shared`), else
    with its name, "accuracy 0.964"."""
    key = row.metric
    if key is None or not any(k == key for k, _ in row.latest):
        return ""
    value = next(v for k, v in row.latest if k == key)
    return number(value) if key == shared else f"{key} {number(value)}"


def latest_cell(row: RunLine, width: int, glyphs: Glyphs, shared: str | None) -> Text:
    """`latest_text` right-aligned; a name too long for the cell is cut, the value never."""
    text = latest_text(row, shared)
    if len(text) > width and row.metric != shared and row.metric:
        value = text[len(row.metric) + 1:]
        text = fit(row.metric, max(1, width - len(value) - 1), glyphs) + " " + value
    return Text(text, justify="right")


def _gap(text: Text, key: str, width: int) -> Text:
    """A cell `width` cells wide, the gap that parts it from the next column included: right-aligned
    columns are padded here, since rich drops a right-justified text's trailing spaces."""
    text = text.copy()
    text.no_wrap, text.overflow, text.justify = True, "crop", "left"
    room = max(0, width - GAP)
    text.truncate(room)
    if _RIGHT.get(key, False) and text.cell_len < room:
        text.pad_left(room - text.cell_len)
    text.append(" " * (width - text.cell_len))
    return text


_RIGHT = {key: right for key, _, right in (*COLUMNS, ELAPSED)}


__all__ = ["RowKey", "RunsTable"]
