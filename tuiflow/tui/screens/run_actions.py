"""Cancel and retry (each asks y/n) and priority of the selected run: the same keys, checks and words on the
dashboard and in History. The store is written off the event loop; the screen redraws after."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import work

from tuiflow.tui.data import ActionError

ACTIVE = ("queued", "running")


class RunActions:
    """Mixed into a Screen that gives `_selected_run()` (an id, or None having said why),
    `_shown_status(run_id)` (the run's status as the screen shows it) and `_after_action()` (read and
    draw again)."""

    def _selected_run(self) -> int | None:
        raise NotImplementedError

    def _shown_status(self, run_id: int) -> str | None:
        raise NotImplementedError

    def _after_action(self) -> None:
        raise NotImplementedError

    def action_cancel_run(self) -> None:
        if (run_id := self._selected_run()) is None:
            return
        status = self._shown_status(run_id)
        if status is not None and status not in ACTIVE:
            self.notify(f"Run {run_id} has already ended ({status})", severity="warning")  # type: ignore[attr-defined]
            return
        from tuiflow.tui.screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self._act(f"run {run_id} cancelled", lambda: self.app.data.cancel(run_id))  # type: ignore[attr-defined]

        self.app.push_screen(ConfirmScreen(f"Cancel run {run_id}?",  # type: ignore[attr-defined]
                                           "Queued, it never starts; running, it is stopped."), answered)

    def action_retry_run(self) -> None:
        if (run_id := self._selected_run()) is None:
            return
        status = self._shown_status(run_id)
        if status in ACTIVE:
            self.notify(f"Run {run_id} is {status}: nothing to retry", severity="warning")  # type: ignore[attr-defined]
            return
        from tuiflow.tui.screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self._act(f"run {run_id} queued again", lambda: self.app.data.retry(run_id))  # type: ignore[attr-defined]

        # A retry starts the run clean: its metric series and profile go (the attempt's record stays).
        ended = f" ({status})" if status else ""
        self.app.push_screen(ConfirmScreen(f"Retry run {run_id}{ended}?",  # type: ignore[attr-defined]
                                           "It is queued again with the same config and seed; its metric "
                                           "series and profile start anew."), answered)

    def action_priority(self, step: int) -> None:
        if (run_id := self._selected_run()) is not None:
            self._act(None, lambda: f"run {run_id}: priority "  # type: ignore[attr-defined]
                                    f"{self.app.data.change_priority(run_id, step)}")

    @work(thread=True, group="act", exit_on_error=False)
    def _act(self, done: str | None, call: Callable[[], Any]) -> None:
        """Do one thing to the store off the event loop; say how it went, then read the view again."""
        try:
            result = call()
            message, severity = (done or str(result)), "information"
        except ActionError as exc:
            message, severity = str(exc), "error"
        self.app.call_from_thread(self._acted, message, severity)  # type: ignore[attr-defined]

    def _acted(self, message: str, severity: str) -> None:
        self.notify(message, severity=severity)  # type: ignore[attr-defined]
        self._after_action()
