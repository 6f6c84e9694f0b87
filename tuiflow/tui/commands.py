"""The app's own command-palette entries, on every screen: starting and stopping the home's daemon.

The dashboard's `D` does the same (`DashboardScreen.action_daemon`); both go through `start_daemon`
and `stop_daemon` here, which do the work off the event loop and say in a toast what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tuiflow.tui.data import ActionError

if TYPE_CHECKING:
    from tuiflow.tui.app import TuiflowApp

STOP_QUESTION = "Stop the daemon?"
STOP_DETAIL = "Running runs go on; queued runs do not start until a daemon runs again."


def start_daemon(app: TuiflowApp) -> None:
    """Start the home's daemon (unless one runs), in a worker; a toast says what happened."""
    _in_worker(app, app.data.start_daemon)


def stop_daemon(app: TuiflowApp) -> None:
    """Ask y/n, then stop the home's daemon in a worker (its running runs go on)."""
    from tuiflow.tui.screens.confirm import ConfirmScreen

    def answered(yes: bool | None) -> None:
        if yes:
            _in_worker(app, app.data.stop_daemon)

    app.push_screen(ConfirmScreen(STOP_QUESTION, STOP_DETAIL), answered)


def _in_worker(app: TuiflowApp, call: Callable[[], str]) -> None:
    def work() -> None:
        try:
            message, severity = call(), "information"
        except ActionError as exc:
            message, severity = f"daemon: {exc}", "error"
        app.call_from_thread(_done, app, message, severity)

    app.run_worker(work, thread=True, group="daemon", exit_on_error=False)


def _done(app: TuiflowApp, message: str, severity: str) -> None:
    from tuiflow.tui.screens.dashboard import DashboardScreen

    app.notify(message, severity=severity)  # type: ignore[arg-type]
    if isinstance(app.screen, DashboardScreen):
        app.screen.refresh_now()


class DaemonCommands(Provider):
    """"Start the daemon" and "Stop the daemon" in the command palette."""

    def _commands(self) -> list[tuple[str, str, Callable[[], None]]]:
        app: TuiflowApp = self.app  # type: ignore[assignment]
        key = app.user_keymap.get("daemon", "D").split(",")[0]
        return [
            ("Start the daemon", f"Queued runs start on free GPUs (dashboard key {key})", lambda: start_daemon(app)),
            ("Stop the daemon", "Running runs go on; queued ones wait (asks y/n)", lambda: stop_daemon(app)),
        ]

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
