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

from tuiflow.flow.profiler import profile_row

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

    A run's progress has one unit for its life and never goes backwards. It is the recipe's own
    (``run.progress(done, total)``) from its first report on. Before it, and in a recipe that never
    reports, it is the batches of the run's first pipeline over its whole length, where each run of
    that pipeline was told its length (``n_epochs`` or ``n_iters``), counted over all its runs (an
    evaluation pipeline between epochs never moves it). A pipeline run for one epoch by default may
    be the first of many (a recipe that loops over epochs and reports each): its batches are no
    measure of the run, and would give way to the recipe's own count a moment later, so until the
    recipe reports the run has no progress (0, no total).

    The ETA comes from the run's own progress, never from the latest epoch alone. With
    ``run.progress``: at its first report, the run's time so far, less its set-up (the time before
    its first pipeline started and what each action's first call took beyond its later ones), per
    step done; from the next report on, the pace since that first one. Without it: the first
    pipeline's pace over all its runs so far, for the batches its told length leaves.
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
        self._main: int | None = None  # the first pipeline to run: the run's progress without run.progress
        self._main_total: int | None = None  # its batches in all, while every run of it was told its length
        self._main_told = True  # False once a run of it was not told its length: its total is not known
        self._first_pipeline_at: float | None = None  # when the first pipeline started (set-up before it)
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
        told = bool(getattr(state, "length_given", False))  # n_epochs or n_iters, not one epoch by default
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
            if self._main is None:
                self._main, self._first_pipeline_at = number, now
            if number == self._main:
                if told and total is not None and self._main_told:
                    self._main_total = (self._main_total or 0) + total
                else:
                    self._main_told, self._main_total = False, None
            self._passes[number] = _Pass(now, 0, total, now)

    def batch_done(self, pipeline: Any, done: int, total: int | None) -> None:
        """One more batch of a pipeline run."""
        now = self._clock()
        with self._lock:
            number = self._number(pipeline)
            current = None if number is None else self._passes.get(number)
            if current is None:
                return  # a run that started before the reporter watched
            current.done, current.total, current.last = done, total, now

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
            current.finished, current.last = True, now

    def set_progress(self, done: int, total: int | None) -> None:
        """Progress the recipe reports itself (``run.progress(...)``): from now on the run's progress."""
        now = self._clock()
        with self._lock:
            last = self._explicit
            if last is None or done < last[0]:  # the first report, or a count that starts again
                self._anchor = (done, now)
            if total is None and last is not None:
                total = last[1]  # `run.progress(done)` keeps the total said before
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
                per_step: float | None = (at - first_at) / (done - first_done)
            elif done > 0:  # one report so far: the run's time to it, less its set-up, per step
                worked = at - self._started - self._setup(at)
                per_step = worked / done if worked > 0 else None
            else:
                per_step = None
            return done, total, _left(per_step, done, total, now - at)
        with self._lock:
            if self._main is None or self._main_total is None:
                return 0, None, None
            current = self._passes[self._main]
            seconds, batches = self._paces[self._main]
            total, last = self._main_total, current.last
            done = batches if current.finished else batches + current.done
            if not current.finished:
                seconds += last - current.started
            paced = done
        per_batch = seconds / paced if paced > 0 else None
        return done, total, _left(per_batch, done, total, now - last)

    def _setup(self, until: float) -> float:
        """Seconds of the run before ``until`` that were set-up, not steps: before its first pipeline
        started, and each action's first call beyond what its later calls take."""
        with self._lock:
            started = self._first_pipeline_at
            profiles = [merge_profiles(earlier, profiler.info() if profiler is not None else [])
                        for earlier, profiler in zip(self._earlier, self._profilers)]
        if started is None or started > until:
            return 0.0
        extra = sum(max(0.0, row["first_s"] - row["mean_s"]) for rows in profiles for row in rows
                    if row.get("first_s") is not None and row["calls"] > 1)
        return (started - self._started) + extra

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
    """Two profiles of one pipeline as one (its runs one after the other): per action, calls, total and
    CPU time add up; the first call is the earlier profile's (a later run's first call is one more
    steady call); mean and max are those of the calls after the first. Actions keep their pipeline order."""
    merged = {row["action"]: dict(row) for row in first}
    for row in second:
        into = merged.get(row["action"])
        if into is None or not into["calls"]:
            merged[row["action"]] = dict(row)
            continue
        if not row["calls"]:
            continue
        later_first = row.get("first_s")
        steady_max = row["max_s"] if row["calls"] > 1 or later_first is None else 0.0
        if into.get("first_s") is not None and into["calls"] == 1:
            into["max_s"] = 0.0  # its max was its first call: no steady call before this one
        into["calls"] += row["calls"]
        into["total_s"] += row["total_s"]
        into["cpu_s"] += row["cpu_s"]
        into["max_s"] = max(into["max_s"], steady_max, later_first or 0.0)
    rows = []
    for row in merged.values():
        rows.append(profile_row(row["action"], row["calls"], row["total_s"], row.get("first_s"), row["max_s"],
                                row["cpu_s"]))
    return rows
