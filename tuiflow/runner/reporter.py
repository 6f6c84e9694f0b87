"""What a running recipe reports while it goes: each pipeline's live profile, progress, heartbeats.

The reporter is a flow observer (so it turns profiling on for every pipeline the recipe runs) and a
background thread that writes what it saw to the store every second; the recipe's own thread only
updates a few attributes per batch (under a lock the writer holds for as little).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

HEARTBEAT_S = 2.0


@dataclass
class _Pass:
    """One run of a pipeline (an epoch, say) while it goes: when it started, its batches so far."""

    started: float
    done: int
    total: int | None
    last: float  # when its latest batch arrived
    finished: bool = False  # ended: its batches and time are in the pipeline's pace already


class Reporter:
    """Watches the recipe's pipelines and writes profile, progress and heartbeats for one run.

    The ETA comes from the run's own progress, never from the latest epoch alone. With
    ``run.progress(done, total)``: at its first report, (seconds since the run started) / done *
    (total - done); from the next report on, the pace since that first one, so that the setup before
    it (imports, data, model) does not count as steps. Without it: the pipeline running now, at its
    pace over all its runs so far (every epoch of a training pipeline), for the batches left in its
    current run.
    """

    wants_profile = True

    def __init__(self, store: Any, run_id: int, interval_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.run_id = run_id
        self.interval_s = interval_s
        self._clock = clock
        self._started = clock()  # the run's start: the recipe is called right after the reporter is made
        self._pipelines: list[Any] = []  # one per pipeline state, numbered from 1 in order of first run
        self._earlier: list[list[dict[str, Any]]] = []  # per pipeline: the profile of its finished runs
        self._profilers: list[Any] = []  # per pipeline: the profiler of its latest run
        self._paces: list[tuple[float, int]] = []  # per pipeline: seconds and batches of its finished runs
        self._passes: dict[int, _Pass] = {}  # per pipeline: its run going now (or its last one)
        self._lock = threading.Lock()
        self._current: int | None = None  # the pipeline whose progress is shown: the latest to move
        self._explicit: tuple[int, int | None, float] | None = None  # run.progress: done, total, when
        self._anchor: tuple[int, float] = (0, self._started)  # the first report: done, when
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tuiflow-reporter", daemon=True)
        self._last_progress: tuple | None = None
        self._last_heartbeat = 0.0
        self._totals: dict[tuple[int, str], float] = {}  # per pipeline and action: its time at the last write
        self._action: str | None = None  # the action last reported as the one the run is in now

    # --- flow observer ------------------------------------------------------------------------------
    def pipeline_started(self, pipeline: Any, total: int | None) -> None:
        """A pipeline of the recipe starts a run: number it (once per pipeline) and follow it."""
        state = pipeline._state
        now = self._clock()
        with self._lock:
            number = self._number(pipeline)
            if number is None:
                number = len(self._pipelines)
                self._pipelines.append(pipeline)
                self._earlier.append([])
                self._profilers.append(state.profiler)
                self._paces.append((0.0, 0))
            elif self._profilers[number] is not state.profiler:  # its next run (a recipe's next epoch)
                last = self._profilers[number]
                self._earlier[number] = merge_profiles(self._earlier[number], last.info() if last else [])
                self._profilers[number] = state.profiler
            self._passes[number] = _Pass(now, 0, total, now)
            self._current = number

    def batch_done(self, pipeline: Any, done: int, total: int | None) -> None:
        """One more batch of a pipeline run."""
        now = self._clock()
        with self._lock:
            number = self._number(pipeline)
            current = None if number is None else self._passes.get(number)
            if current is None:
                return  # a run that started before the reporter watched
            current.done, current.total, current.last = done, total, now
            self._current = number

    def pipeline_finished(self, pipeline: Any, error: BaseException | None) -> None:
        """A pipeline run ended: its batches and their time join its pace for the runs to come."""
        now = self._clock()  # up to its end: what the consumer did with the last batch counts too
        with self._lock:
            number = self._number(pipeline)
            current = None if number is None else self._passes.get(number)
            if current is None or current.finished:
                return
            if current.done:  # a run that made no batch (it failed at once) says nothing of the pace
                seconds, batches = self._paces[number]
                self._paces[number] = (seconds + now - current.started, batches + current.done)
            current.finished, current.last = True, now  # still shown (done of total) until another run moves

    def set_progress(self, done: int, total: int | None) -> None:
        """Progress the recipe reports itself (``run.progress(...)``): it wins over pipelines'."""
        now = self._clock()
        with self._lock:
            last = self._explicit
            if last is None or done < last[0]:  # the first report, or a count that starts again
                self._anchor = (done, now)
            self._explicit = (done, total, now)

    def _number(self, pipeline: Any) -> int | None:
        # Pipelines that share a state (a pipeline and those derived from it) are one pipeline.
        state = pipeline._state
        return next((i for i, p in enumerate(self._pipelines) if p._state is state), None)

    # --- progress and ETA ---------------------------------------------------------------------------
    def progress(self) -> tuple[int, int | None, float | None]:
        """Done, total and the seconds left (None when unknown), as of now."""
        now = self._clock()
        with self._lock:
            explicit, (first_done, first_at) = self._explicit, self._anchor
        if explicit is not None:
            done, total, at = explicit
            if done > first_done:
                per_step = (at - first_at) / (done - first_done)
            else:  # one report so far: all there is to go by is the time since the run started
                per_step = (at - self._started) / done if done > 0 else None
            return done, total, _left(per_step, done, total, now - at)
        with self._lock:
            if self._current is None:
                return 0, None, None
            current = self._passes[self._current]
            seconds, batches = self._paces[self._current]
            done, total, last = current.done, current.total, current.last
            if not current.finished:
                seconds += last - current.started
                batches += done
        per_batch = seconds / batches if batches > 0 else None
        return done, total, _left(per_batch, done, total, now - last)

    # --- the writing thread ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start writing in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and write everything one last time."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        try:
            self.write()
        except Exception as exc:  # the run's outcome matters more than its last progress: record it anyway
            print(f"tuiflow: could not report progress: {exc}", flush=True)

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
        grew: dict[str, float] = {}
        for number, (earlier, profiler) in enumerate(profiles, 1):
            rows = merge_profiles(earlier, profiler.info() if profiler is not None else [])
            if rows:
                self.store.write_profile(self.run_id, number, rows)
            for row in rows:
                key = (number, row["action"])
                grew[row["action"]] = grew.get(row["action"], 0.0) + row["total_s"] - self._totals.get(key, 0.0)
                self._totals[key] = row["total_s"]
        # "The action it is in now": the one that took the most time since the last write (a sample
        # of one moment would mostly name the longest action anyway, and flicker between the others).
        busiest = max(grew, key=grew.__getitem__) if grew and max(grew.values()) > 0 else None
        if busiest != self._action:
            self.store.set_action(self.run_id, busiest)
            self._action = busiest
        done, total, eta = self.progress()
        progress = (done, total)
        now = self._clock()
        if progress != self._last_progress:
            self.store.set_progress(self.run_id, done, total, eta)  # also a heartbeat
            self._last_progress, self._last_heartbeat = progress, now
        elif now - self._last_heartbeat >= HEARTBEAT_S:
            self.store.heartbeat(self.run_id)
            self._last_heartbeat = now


def _left(per_step: float | None, done: int, total: int | None, since: float) -> float | None:
    """Seconds left at ``per_step`` for the steps not done, less those gone since the last step."""
    if per_step is None or not total:
        return None
    return max(0.0, per_step * max(0, total - done) - since)


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
