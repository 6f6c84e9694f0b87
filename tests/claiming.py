"""Claiming runs as the daemon does, for tests of the store and its readers."""

from __future__ import annotations

from typing import Any


def claim_next(store: Any, host: str | None = None) -> Any:
    """The daemon's way to start the next run: the queue in start order, then an atomic claim of the
    first one it may take (None when nothing is queued)."""
    for run in store.queued_runs(limit=64, executor="daemon"):
        claimed = store.claim_run(run.id, host=host)
        if claimed is not None:
            return claimed
    return None
