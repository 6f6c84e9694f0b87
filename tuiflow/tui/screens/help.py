"""Help: every key of every screen, with the binding id a keymap file can remap."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from tuiflow.tui.keymap import KEYMAP_FILE
from tuiflow.tui.render import home_path

if TYPE_CHECKING:
    from tuiflow.tui.app import TuiflowApp


class HelpScreen(ModalScreen[None]):
    """A scrollable table of the keys; escape, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { background: $background 60%; align: center middle; }
    HelpScreen > VerticalScroll {
        width: 100%; max-width: 110; height: 1fr; border: round $primary; background: $surface; padding: 0 1;
    }
    HelpScreen #intro { color: $text-muted; margin-bottom: 1; }
    """
    BINDINGS = [
        Binding("escape,q,question_mark,f1", "dismiss", "close", id="help.close", key_display="esc",
                tooltip="Close the help"),
    ]

    def compose(self) -> ComposeResult:
        app: TuiflowApp = self.app  # type: ignore[assignment]
        with VerticalScroll() as scroll:
            scroll.border_title = "keys"
            yield Static(
                f"tuiflow watches, launches and acts on the runs of {home_path(app.data.home)}. Closing it stops "
                f"only the view. Remap a key in {home_path(app.data.home / KEYMAP_FILE)}: one line per binding id, "
                'e.g. cancel = "x".', id="intro")
            yield Static(keys_table(app), id="keys")
        yield Footer(compact=True, show_command_palette=False)

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


MOVES = (("tab s-tab", "Move between the parts of a screen"), ("arrows pgup", "Move in a list or table"),
         ("enter", "Open the selected thing"), ("esc", "Back"))


def keys_table(app: TuiflowApp) -> Group:
    """A table per screen, one row per binding: its keys (as remapped), what it does, its id."""
    tables = []
    groups = app.binding_groups()
    # Each id whole (a keymap file names it): the column is as wide as the longest, "does" wraps instead.
    id_width = max((len(b.id) for _, bindings in groups for b in bindings if b.id and not b.system), default=8)
    for group, bindings in groups:
        table = Table(box=None, expand=True, pad_edge=False, show_edge=False, padding=(0, 1), title=group,
                      title_justify="left", title_style="bold underline", show_header=False)
        table.add_column("key", style="bold", no_wrap=True, width=12)
        table.add_column("does", ratio=1)
        table.add_column("id", style="dim", no_wrap=True, min_width=id_width)
        for binding in bindings:
            if not binding.system:
                table.add_row(app.keys_of(binding), binding.tooltip or binding.description, binding.id or "")
        if group == "everywhere":
            for keys, does in MOVES:
                table.add_row(keys, does, "")
        tables += [table, Text("")]
    return Group(*tables)
