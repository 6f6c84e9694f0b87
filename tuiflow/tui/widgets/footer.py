"""The footer of keys: Textual's, rebuilt only when the keys it shows change."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    """Textual's compact footer without the command palette's key, recomposed only when what it shows
    changes. Textual rebuilds it (a widget per key, each styled anew) on every bindings signal: a
    screen gets one when focus moves, one when it is resumed and one at idle, most with the same keys;
    at start they came while the first poll was being read."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(compact=True, show_command_palette=False, **kwargs)
        self._composed_for: tuple[Any, ...] | None = None

    def bindings_changed(self, screen: Screen) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:  # Textual recomposes now
            shown = _shown(screen)
            if shown == self._composed_for:
                return
            self._composed_for = shown
        super().bindings_changed(screen)


def _shown(screen: Screen) -> tuple[Any, ...]:
    """What the footer's compose reads: each active binding, whether it is enabled, its tooltip and
    the keys it displays."""
    app = screen.app
    return tuple((binding, enabled, tooltip, app.get_key_display(binding))
                 for _, binding, enabled, tooltip in screen.active_bindings.values())
