"""What the app shows while the terminal is smaller than it is made for (80x24): the size it needs and
the size it has, not screens cut off with their buttons out of sight. It goes when the terminal grows."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

MIN_WIDTH, MIN_HEIGHT = 80, 24
"""The smallest terminal the screens are laid out for."""


def too_small(width: int, height: int) -> bool:
    """Whether a terminal of this size is smaller than the app needs."""
    return width < MIN_WIDTH or height < MIN_HEIGHT


def size_text(width: int, height: int) -> str:
    """``needs 80x24, this is 60x15``."""
    return f"needs {MIN_WIDTH}x{MIN_HEIGHT}, this is {width}x{height}"


class TooSmallScreen(Screen[None]):
    """Says the size needed and the size there is; `q` still quits."""

    DEFAULT_CSS = """
    TooSmallScreen { align: center middle; }
    TooSmallScreen #too-small { width: auto; max-width: 100%; height: auto; padding: 0 1; }
    """
    BINDINGS = [Binding("q,ctrl+q", "app.quit", "quit", id="small.quit", tooltip="Quit the view")]

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size_shown = size

    def compose(self) -> ComposeResult:
        yield Static(id="too-small")

    def on_mount(self) -> None:
        self.show_size(*self.size_shown)

    def show_size(self, width: int, height: int) -> None:
        """Say the terminal's size now."""
        self.size_shown = (width, height)
        self.query_one("#too-small", Static).update(Text.assemble(
            ("tuiflow ", "bold"), size_text(width, height), "\nmake the terminal larger (q quits)"))
