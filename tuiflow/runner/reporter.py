"""What a running recipe reports while it goes: each pipeline's live profile, progress, heartbeats.

The reporter is a flow observer (so it turns profiling on for every pipeline the recipe runs) and a
background thread that writes what it saw to the store every second; the recipe's own thread only
touches a few attributes per batch.
"""

from __future__ import annotations

import threading
import time
from typing import Any

HEARTBEAT_S = 2.0


class Reporter:
    """Watches the recipe's pipelines and writes profile, progress and heartbeats for one run."""

    wants_profile = True

    def __init__(self, store: Any, run_id: int, interval_s: float = 1.0) -> None:
        self.store = store
        self.run_id = run_id
        self.interval_s = interval_s
        self._pipelines: list[Any] = []  # one per pipeline state, numbered from 1 in order of first run
        self._current: Any = None
        self._done = 0
        self._total: int | None = None
        self._started = time.monotonic()
        self._explicit: tuple[int, int | None] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tuiflow-reporter", daemon=True)
        self._last_progress: tuple | None = None
        self._last_heartbeat = 0.0

    # --- flow observer ------------------------------------------------------------------------------
    def pipeline_started(self, pipeline: Any, total: int | None) -> None:
        """A pipeline of the recipe starts a run: number it (once per pipeline) and follow it."""
        state = pipeline._state
        if all(p._state is not state for p in self._pipelines):
            self._pipelines.append(pipeline)
        self._current, self._done, self._total = pipeline, 0, total
        self._started = time.monotonic()

    def batch_done(self, pipeline: Any, done: int, total: int | None) -> None:
        """One more batch of the current pipeline run."""
        self._done, self._total = done, total

    def set_progress(self, done: int, total: int | None) -> None:
        """Progress the recipe reports itself (``run.progress(...)``): it wins over pipelines'."""
        if self._explicit is None:
            self._started = time.monotonic()
        self._explicit = (done, total)

    # --- the writing thread ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start writing in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write everything one last time."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.write()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.write()
            except Exception as exc:  # the store may be busy for a moment: report, keep running
                print(f"tuiflow: could not report progress: {exc}", flush=True)

    def write(self) -> None:
        """Write profiles, progress and (every few seconds) a heartbeat."""
        for number, pipeline in enumerate(list(self._pipelines), 1):
            rows = pipeline.profile_info
            if rows:
                self.store.write_profile(self.run_id, number, rows)
        done, total = self._explicit if self._explicit is not None else (self._done, self._total)
        progress = (done, total)
        now = time.monotonic()
        if progress != self._last_progress:
            eta = None
            if total and done:
                eta = (now - self._started) / done * max(0, total - done)
            self.store.set_progress(self.run_id, done, total, eta)  # also a heartbeat
            self._last_progress, self._last_heartbeat = progress, now
        elif now - self._last_heartbeat >= HEARTBEAT_S:
            self.store.heartbeat(self.run_id)
            self._last_heartbeat = now
