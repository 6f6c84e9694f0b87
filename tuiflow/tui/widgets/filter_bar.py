"""History's filter bar: one line to type a filter (``status=done lr<0.01 accuracy>0.9``) and, under it,
the reason a filter was refused, in the lab's own words. Enter applies, escape closes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

PLACEHOLDER = "status=done lr<0.01 accuracy>0.9 recipe=digits-mlp   (enter applies, esc closes)"


class FilterBar(Vertical):
    """The filter input and its error line; hidden until opened."""

    BINDINGS = [Binding("escape", "close", "close", id="history.filter_close",
                        tooltip="Close the filter bar (the filter applied stays)")]

    class Applied(Message):
        """The user asked for this filter (enter)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Closed(Message):
        """The bar was closed."""

    def compose(self) -> ComposeResult:
        yield Input(placeholder=PLACEHOLDER, id="filter-input", compact=True, select_on_focus=False)
        yield Static("", id="filter-error")

    def open(self, text: str) -> None:
        """Show the bar with `text` in it, and focus it."""
        self.display = True
        field = self.query_one(Input)
        field.value = text
        field.cursor_position = len(text)
        field.focus()

    def show_error(self, message: str | None) -> None:
        """Say why the filter was refused under the bar (None: clear it)."""
        error = self.query_one("#filter-error", Static)
        error.update(message or "")
        error.display = bool(message)
        if message:
            self.display = True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Applied(event.value.strip()))

    def action_close(self) -> None:
        self.display = False
        self.show_error(None)
        self.post_message(self.Closed())
