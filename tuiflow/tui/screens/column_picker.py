"""History's column picker, in a modal: every column a view can show (its parameters, those every run
shares too, its final metrics, more of the run's own), ticked where shown. `space` shows or hides one,
`s` sorts by the highlighted column (highest first, `S` lowest first), `r` goes back to the automatic
columns, `escape` closes, keeping what was ticked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from tuiflow.tui.history_data import Column

KINDS = {"run": "run", "param": "parameter", "metric": "final metric", "time": "run"}


@dataclass(frozen=True)
class Picked:
    """What the picker closed with: the keys of the columns to show, and a sort asked for (None: none)."""

    shown: frozenset[str]
    sort: str | None = None
    reset: bool = False


class ColumnPicker(ModalScreen[Picked | None]):
    """Dismisses with what was picked (None: escape before any change)."""

    DEFAULT_CSS = """
    ColumnPicker { align: center middle; }
    ColumnPicker > Vertical {
        width: 60; max-width: 100%; height: auto; max-height: 100%; padding: 0 1;
        border: round $primary; background: $surface;
    }
    ColumnPicker #picker-title { text-style: bold; }
    ColumnPicker #picker-keys { color: $text-muted; }
    ColumnPicker SelectionList { height: auto; max-height: 16; border: none; padding: 0; }
    """
    BINDINGS = [
        Binding("s", "sort(True)", "sort", id="columns.sort", tooltip="Sort by the highlighted column, highest first"),
        Binding("S", "sort(False)", "sort lowest first", id="columns.sort_lowest",
                tooltip="Sort by the highlighted column, lowest first"),
        Binding("r", "reset", "automatic", id="columns.reset",
                tooltip="Show the automatic columns again (what differs, the metrics)"),
        Binding("escape", "done", "done", id="columns.done", key_display="esc",
                tooltip="Close, keeping the columns ticked"),
    ]

    def __init__(self, title: str, choices: Sequence[Column], shown: Sequence[str], fixed: Sequence[str] = ()) -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)
        self.shown = frozenset(shown)
        self.fixed = frozenset(fixed)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="picker-title")
            yield Static("space show/hide  s/S sort by it  r automatic  esc done", id="picker-keys")
            width = max([len(column.label) for column in self.choices] + [4])
            yield SelectionList[str](*(Selection(self._prompt(column, width), column.key, column.key in self.shown)
                                       for column in self.choices), id="picker-columns")

    def _prompt(self, column: Column, width: int) -> str:
        kind = KINDS.get(column.kind, column.kind)
        if column.key in self.fixed:
            kind += ", the same in every run"
        return f"{column.label.ljust(width)}  {kind}"

    def on_mount(self) -> None:
        self.query_one(SelectionList).focus()

    @property
    def ticked(self) -> frozenset[str]:
        """The keys ticked now."""
        return frozenset(self.query_one(SelectionList).selected)

    def action_done(self) -> None:
        ticked = self.ticked
        self.dismiss(None if ticked == self.shown else Picked(ticked))

    def action_sort(self, highest_first: bool) -> None:
        options = self.query_one(SelectionList)
        index = options.highlighted
        if index is None:
            return
        key = str(options.get_option_at_index(index).value)
        self.dismiss(Picked(self.ticked, f"-{key}" if highest_first else key))

    def action_reset(self) -> None:
        self.dismiss(Picked(frozenset(), reset=True))
