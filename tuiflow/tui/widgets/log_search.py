"""A run's log that grows as the run writes, with search: `/` asks for text, `n` and `N` go to the
next and previous line holding it, the match selected (highlighted) and scrolled into view."""

from __future__ import annotations

from collections.abc import Iterable

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static, TextArea
from textual.widgets.text_area import Selection

KEEP_LINES = 20_000  # a longer log keeps its last lines here (the whole file stays on disk)


class LogSearch(Vertical):
    """The log (read-only text), a search field shown by `find`, and a line saying where the match is."""

    DEFAULT_CSS = """
    LogSearch { height: 1fr; }
    LogSearch TextArea, LogSearch TextArea:focus { height: 1fr; border: none; padding: 0; }
    LogSearch Input, LogSearch Input:focus { display: none; height: 1; border: none; padding: 0 1; }
    LogSearch.-searching Input, LogSearch.-searching Input:focus { display: block; }
    LogSearch #log-where { height: 1; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.lines: list[str] = []
        self.query_text = ""
        self.matches: list[tuple[int, int]] = []  # (line, column) of each match, in order
        self.current: int | None = None  # index into matches

    def compose(self) -> ComposeResult:
        area = TextArea("", read_only=True, soft_wrap=True, show_line_numbers=False, id="log-text")
        area.cursor_blink = False
        yield area
        yield Input(placeholder="search the log (enter: find, esc: close)", id="log-find")
        yield Static("/ search", id="log-where")

    @property
    def area(self) -> TextArea:
        """The log's text."""
        return self.query_one(TextArea)

    # --- the text -----------------------------------------------------------------------------------
    def add_lines(self, lines: Iterable[str], restart: bool = False) -> None:
        """Append completed lines (after `restart`, the log started again: the old text goes)."""
        new = list(lines)
        if restart:
            self.lines = []
            self.area.load_text("")
        if not new and not restart:
            return
        area = self.area
        follow = area.scroll_offset.y >= area.max_scroll_y - 1
        before = len(self.lines)
        self.lines.extend(new)
        if len(self.lines) > KEEP_LINES:
            self.lines = self.lines[-KEEP_LINES:]
            area.load_text("\n".join(self.lines))
        elif before == 0:
            area.load_text("\n".join(self.lines))
        else:
            area.insert("\n" + "\n".join(new), area.document.end, maintain_selection_offset=True)
        if self.query_text:
            self._find_all()
        if follow and self.current is None:
            area.scroll_end(animate=False)

    # --- search -------------------------------------------------------------------------------------
    def find(self) -> None:
        """Show the search field."""
        self.add_class("-searching")
        field = self.query_one(Input)
        field.value = self.query_text
        field.focus()

    @on(Input.Submitted, "#log-find")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.search(event.value)
        self.remove_class("-searching")
        self.area.focus()

    def on_key(self, event: object) -> None:
        key = getattr(event, "key", None)
        if key == "escape" and self.has_class("-searching"):
            self.remove_class("-searching")
            self.area.focus()
            event.stop()  # type: ignore[attr-defined]

    def search(self, text: str) -> None:
        """Find `text` (case-insensitive) and go to its first match after the top of the view."""
        self.query_text = text
        self._find_all()
        self.current = None
        if self.matches:
            top = self.area.scroll_offset.y
            first = next((i for i, (line, _) in enumerate(self.matches) if line >= top), 0)
            self._go(first)
        self._say()

    def step(self, direction: int) -> None:
        """Go to the next (1) or previous (-1) match, round the ends."""
        if not self.query_text:
            self.find()
            return
        if not self.matches:
            self._say()
            return
        index = 0 if self.current is None else (self.current + direction) % len(self.matches)
        self._go(index)
        self._say()

    def _find_all(self) -> None:
        needle = self.query_text.lower()
        self.matches = []
        if not needle:
            return
        for number, line in enumerate(self.area.document.lines):
            start = line.lower().find(needle)
            while start >= 0:
                self.matches.append((number, start))
                start = line.lower().find(needle, start + 1)
        if self.current is not None and self.current >= len(self.matches):
            self.current = None

    def _go(self, index: int) -> None:
        self.current = index
        line, column = self.matches[index]
        area = self.area
        area.selection = Selection((line, column), (line, column + len(self.query_text)))
        area.scroll_cursor_visible(center=True, animate=False)

    def _say(self) -> None:
        where = self.query_one("#log-where", Static)
        if not self.query_text:
            where.update("/ search")
        elif not self.matches:
            where.update(f"'{self.query_text}': not found   / search again")
        else:
            line = self.matches[self.current or 0][0] + 1
            where.update(f"'{self.query_text}': match {(self.current or 0) + 1} of {len(self.matches)} "
                         f"(line {line})   n next  N previous  / search")

    @property
    def current_line(self) -> int | None:
        """The line (0-based) of the match shown, if any."""
        return None if self.current is None else self.matches[self.current][0]
