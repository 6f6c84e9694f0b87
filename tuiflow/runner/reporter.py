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
        self._earlier: list[list[dict[str, Any]]] = []  # per pipeline: the profile of its finished runs
        self._profilers: list[Any] = []  # per pipeline: the profiler of its latest run
        self._lock = threading.Lock()
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
        with self._lock:
            number = next((i for i, p in enumerate(self._pipelines) if p._state is state), None)
            if number is None:
                self._pipelines.append(pipeline)
                self._earlier.append([])
                self._profilers.append(state.profiler)
            elif self._profilers[number] is not state.profiler:  # its next run (a recipe's next epoch)
                last = self._profilers[number]
                self._earlier[number] = merge_profiles(self._earlier[number], last.info() if last else [])
                self._profilers[number] = state.profiler
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
        with self._lock:
            profiles = list(zip(self._earlier, self._profilers))
        for number, (earlier, profiler) in enumerate(profiles, 1):
            rows = merge_profiles(earlier, profiler.info() if profiler is not None else [])
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


def merge_profiles(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two profiles of one pipeline as one: per action, calls, total and CPU time add up, the max is
    the larger, the mean is total over calls. Actions keep their pipeline order."""
    merged = {row["action"]: dict(row) for row in first}
    for row in second:
        into = merged.get(row["action"])
        if into is None:
            merged[row["action"]] = dict(row)
            continue
        into["calls"] += row["calls"]
        into["total_s"] += row["total_s"]
        into["cpu_s"] += row["cpu_s"]
        into["max_s"] = max(into["max_s"], row["max_s"])
    for row in merged.values():
        row["mean_s"] = row["total_s"] / row["calls"] if row["calls"] else 0.0
    return list(merged.values())
