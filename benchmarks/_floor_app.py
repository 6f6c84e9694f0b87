"""The floor of a first paint: the least a Textual app of the same shape draws (a header, a line of
text, a table of 20 rows, a footer). `bench_tui.py` times it in tmux beside `python -m tuiflow`, so
the ratio says what tuiflow adds to what any Textual app costs on this machine, this minute."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header, Static


class FloorApp(App[None]):
    """Header, a Static, a 20-row DataTable and a Footer; its table's first row says it is drawn."""

    BINDINGS = [("q", "quit", "quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("GPU0 floor")
        yield DataTable()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("id", "experiment", "status", "progress")
        for index in range(20):
            table.add_row(str(index), "floor", "running", f"{index * 5}%")


if __name__ == "__main__":
    FloorApp().run()
