"""History: a placeholder until its issue lands (paged results, filters, compare, clone into Launch)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static


class HistoryScreen(Screen[None]):
    """Says that history browsing is not in this version yet, and what to use meanwhile."""

    DEFAULT_CSS = """
    HistoryScreen #title { height: 1; background: $panel; padding: 0 1; text-style: bold; }
    HistoryScreen #note { padding: 1 2; }
    """
    BINDINGS = [Binding("escape", "app.show_dashboard", "back", id="history.back", tooltip="Back to the dashboard")]

    def compose(self) -> ComposeResult:
        yield Static("History", id="title")
        yield Static(
            "Browsing every past run (paged from the store, filter, sort, run detail with plots, compare, "
            "clone into Launch) is not in this version of tuiflow yet.\n\n"
            "Until then: the dashboard lists the last runs that ended, and on the command line\n"
            "  tuiflow results            every run's config and final metrics\n"
            "  tuiflow show RUN           one run in full, its profile included\n"
            "  tuiflow export             CSV, JSON or Parquet of many runs",
            id="note")
        yield Footer(compact=True, show_command_palette=False)
