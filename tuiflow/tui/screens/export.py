"""Choosing an export's format in a modal: CSV (enter), JSON or Parquet; escape exports nothing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

FORMATS = (("csv", "CSV   one row per run, a column per parameter and metric"),
           ("json", "JSON  {\"runs\": [...]}, values as they are"),
           ("parquet", "Parquet  columns, for pandas and polars (needs pyarrow)"))


class ExportScreen(ModalScreen[str | None]):
    """Dismisses with the format chosen, or None."""

    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    ExportScreen > Vertical {
        width: 64; height: auto; padding: 1 2; border: round $primary; background: $surface;
    }
    ExportScreen #what { text-style: bold; }
    ExportScreen #where { color: $text-muted; margin-bottom: 1; }
    ExportScreen OptionList { height: auto; border: none; padding: 0; }
    """
    BINDINGS = [
        Binding("c", "choose('csv')", "csv", id="export.csv", tooltip="Export as CSV"),
        Binding("j", "choose('json')", "json", id="export.json", tooltip="Export as JSON"),
        Binding("p", "choose('parquet')", "parquet", id="export.parquet", tooltip="Export as Parquet"),
        Binding("escape", "choose(None)", "cancel", id="export.cancel", tooltip="Export nothing"),
    ]

    def __init__(self, what: str, where: str) -> None:
        super().__init__()
        self.what = what
        self.where = where

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.what, id="what")
            yield Static(self.where, id="where")
            yield OptionList(*(Option(label, id=fmt) for fmt, label in FORMATS), id="formats")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_choose(self, fmt: str | None) -> None:
        self.dismiss(fmt)
