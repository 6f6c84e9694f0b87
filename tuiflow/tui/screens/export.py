"""Choosing an export's format in a modal: CSV (enter), JSON or Parquet; escape exports nothing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
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


def export_runs(screen: Screen, run_ids: Sequence[int], what: str) -> None:
    """Ask for a format, then export these runs (what a dashboard or a comparison shows) into a file
    in the current folder, and say its name in a toast."""
    ids = list(run_ids)
    if not ids:
        screen.notify("No runs to export", severity="warning")
        return
    from tuiflow.tui.render import home_path

    def chosen(fmt: str | None) -> None:
        if fmt:
            _export(screen, fmt, ids)

    screen.app.push_screen(ExportScreen(f"Export {what}", f"to a file in {home_path(Path.cwd())}"), chosen)


@work(thread=True, group="export", exit_on_error=False)
def _export(screen: Screen, fmt: str, ids: list[int]) -> None:
    from tuiflow.tui.data import ActionError

    app = screen.app
    try:
        path, runs = app.data.export_runs(fmt, Path.cwd(), ids, app.options.clock())  # type: ignore[attr-defined]
        message, severity = f"exported {runs:,} run{'s' * (runs != 1)} to {path}", "information"
    except ActionError as exc:
        message, severity = str(exc), "error"
    app.call_from_thread(app.notify, message, severity=severity, timeout=8)
