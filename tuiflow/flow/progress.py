"""The progress bar of a pipeline run (rich, imported only when a bar is wanted)."""

from __future__ import annotations

from typing import Any


def _rate_column() -> Any:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Batches per second, blank until there is a rate to show."""

        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.1f} batch/s" if speed else "", style="progress.data.speed")

    return RateColumn()


class ProgressBar:
    """Batches done, rate and ETA, on stderr."""

    def __init__(self, total: int | None, description: str = "pipeline") -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress: Any = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), _rate_column(),
            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            console=Console(stderr=True), refresh_per_second=5,
        )
        self._progress.start()
        self._task = self._progress.add_task(description, total=total)

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more batches."""
        self._progress.advance(self._task, n)

    def close(self) -> None:
        """Draw the final state and release the terminal."""
        self._progress.stop()
