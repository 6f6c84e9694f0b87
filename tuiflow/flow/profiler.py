"""Per-action profiling with constant memory: calls, total, mean and max wall time, CPU time.

Reading a clock costs: about 0.1 us for the wall clock and its bookkeeping, 0.5 us for the CPU
clock, a system call. Next to actions of a microsecond that is most of their cost, and profiling
would slow the run it measures. So the run loop times batches in three ways, and the profiler
picks the cheapest that keeps its cost small:

- the first batches, and then a sample of batches, read both clocks around every step (exact wall
  and CPU time): the first batch, then one batch in every 20 ms of batch time (every batch from
  20 ms a batch, one in 36 at 0.56 ms, at most one in 512), so the CPU clock costs under about
  0.2% of the run. It matters most between the steps of a model: after a training step the
  caches are cold and the same Python runs several times slower than in a tight loop;
- when batches take 50 us or more, every other batch reads the wall clock after every step (exact
  totals, means and maxima);
- in faster pipelines, one batch in 8 reads the wall clock after every step and the others only
  around the whole batch; each step's total is then its share of the step-timed batches times the
  time of all batches, and its max is the largest of its timed calls.

``cpu_s`` is exact where every call was read, else the step's sampled CPU/wall ratio times its
total. Stamps are buffered and folded into totals every few thousand batches, so memory stays
constant however long the run.

Each step's first call is kept apart (``first_s``): it is where set-up lands (a framework's import,
a model built on first use, caches filled), and one call of seconds beside thousands of a millisecond
would make a bottleneck of a step that has none. ``calls`` and ``total_s`` count every call, the
first included; ``mean_s`` and ``max_s`` are those of the calls after the first (of the first alone
while there is no other).
"""

from __future__ import annotations

import math
import threading
from array import array
from typing import Any

import numpy as np

WARMUP_BATCHES = 1  # batches that read the CPU clock before the batch time decides how often
SAMPLE_EVERY = 512  # most batches between CPU-clock batches
STAMP_EVERY = 8  # batches between step-timed batches in very fast pipelines
_CPU_EVERY_S = 2e-2  # batch time between two CPU-clock batches
_STAMP_EVERY_BATCH_S = 5e-5  # batch time from which every batch is timed step by step
FOLD_EVERY = 1024  # batches; the stamp buffer stays under 8 bytes x (steps + 1) x this


class Profiler:
    """Accumulated timings of a pipeline's steps, one slot per step, in pipeline order."""

    def __init__(self, labels: list[str]) -> None:
        self.labels = labels
        n = len(labels)
        self.width = n + 1  # stamps per batch: the start, then one after each step
        self.stamps = array("d")
        self.calls = [0] * n  # calls timed step by step
        self.total = [0.0] * n
        self.max = [0.0] * n  # of the calls after the first
        self.first: list[float | None] = [None] * n  # each step's first call (set-up lands there)
        self.cpu = [0.0] * n  # CPU time of the calls where it was read
        self.cpu_wall = [0.0] * n  # wall time of those same calls
        self.whole_batches = 0  # complete batches timed as a whole
        self.whole_calls = [0] * n  # calls inside failed batches timed as a whole
        self.whole_wall = 0.0  # time of all batches timed as a whole
        self.stamp_gap = 0  # batches timed as a whole between two step-timed ones
        self._lock = threading.Lock()

    # --- what the run loop calls ------------------------------------------------------------------
    def batches_until_cpu(self, number: int) -> int:
        """After batch ``number`` read the CPU clock, how many batches to run without it; also
        decides how often batches are timed step by step."""
        if number + 1 < WARMUP_BATCHES:
            return 0
        done = self.calls[0] if self.calls else 0
        if done > 1 and None not in self.first:  # the set-up in the first batch says nothing of the pace
            mean_batch = (sum(self.total) - sum(f for f in self.first if f is not None)) / (done - 1)
        else:
            mean_batch = sum(self.total) / done if done else 0.0
        self.stamp_gap = 0 if mean_batch >= _STAMP_EVERY_BATCH_S else STAMP_EVERY - 1
        if mean_batch <= 0:
            return SAMPLE_EVERY - 1
        return min(SAMPLE_EVERY, math.ceil(_CPU_EVERY_S / mean_batch)) - 1

    def add_batch(self, walls: list[float], cpus: list[float], offset: int = 0) -> None:
        """Record a batch measured step by step (``walls`` and ``cpus`` may stop short on failure);
        ``offset``: the step the first of them belongs to (a pipeline cut in stages by rebatch)."""
        with self._lock:
            for i, (wall, cpu) in enumerate(zip(walls, cpus), offset):
                self.calls[i] += 1
                self.total[i] += wall
                if self.first[i] is None:  # the run's first batch is always timed step by step
                    self.first[i] = wall
                elif wall > self.max[i]:
                    self.max[i] = wall
                self.cpu[i] += cpu
                self.cpu_wall[i] += wall

    def add_whole(self, wall: float, steps: int) -> None:
        """Record a failed batch timed as a whole, in which the first ``steps`` steps ran."""
        with self._lock:
            self.whole_wall += wall
            for i in range(steps):
                self.whole_calls[i] += 1

    def fold(self, partial: bool = False) -> None:
        """Move buffered stamps into the totals; ``partial`` also takes a failed batch's stamps."""
        with self._lock:
            # Emptied in place: the run loop holds this very buffer's append method.
            stamps = np.frombuffer(self.stamps, dtype=np.float64).copy()
            del self.stamps[:]
            _fold_into(stamps, self.width, self.calls, self.total, self.max, partial)

    # --- what readers call (from any thread, while the run goes on) -----------------------------
    def info(self) -> list[dict[str, Any]]:
        """One dict per step: ``action``, ``calls``, ``total_s``, ``first_s`` (its first call; None
        before it), ``mean_s`` and ``max_s`` (of the calls after the first), ``cpu_s``."""
        with self._lock:
            pending = np.array(self.stamps, dtype=np.float64)  # a copy: the producer may be appending
            calls, total, peak, first = list(self.calls), list(self.total), list(self.max), list(self.first)
            cpu, cpu_wall = list(self.cpu), list(self.cpu_wall)
            whole_calls, whole_wall = [c + self.whole_batches for c in self.whole_calls], self.whole_wall
        _fold_into(pending, self.width, calls, total, peak, partial=False)
        timed = list(total)
        grand = sum(timed)
        rows = []
        for i, label in enumerate(self.labels):
            share = timed[i] / grand if grand > 0 else 1 / len(self.labels)
            n, t = calls[i] + whole_calls[i], timed[i] + whole_wall * share
            if cpu_wall[i] <= 0:
                cpu_s = 0.0
            elif cpu_wall[i] >= t * (1 - 1e-9):
                cpu_s = cpu[i]
            else:
                cpu_s = t * cpu[i] / cpu_wall[i]
            rows.append(profile_row(label, n, t, first[i], peak[i], cpu_s))
        return rows


def profile_row(action: str, calls: int, total_s: float, first_s: float | None, max_s: float,
                cpu_s: float) -> dict[str, Any]:
    """A profile row, its ``mean_s`` that of the calls after the first (``max_s`` likewise: the largest
    of those), or the first call's time while it is the only one."""
    if first_s is not None and calls > 1:
        mean_s = max(0.0, total_s - first_s) / (calls - 1)
    elif first_s is not None:
        mean_s = max_s = first_s
    else:
        mean_s = total_s / calls if calls else 0.0
    return {"action": action, "calls": calls, "total_s": total_s, "first_s": first_s, "mean_s": mean_s,
            "max_s": max_s, "cpu_s": cpu_s}


def _fold_into(stamps: np.ndarray, width: int, calls: list[int], total: list[float], peak: list[float],
               partial: bool) -> None:
    full = len(stamps) // width * width
    if full:
        walls = np.diff(stamps[:full].reshape(-1, width), axis=1)
        sums, maxima = walls.sum(axis=0).tolist(), walls.max(axis=0).tolist()
        for i in range(width - 1):
            calls[i] += len(walls)
            total[i] += sums[i]
            peak[i] = max(peak[i], maxima[i])
    rest = stamps[full:]
    if partial and len(rest) > 1:
        for i, wall in enumerate(np.diff(rest).tolist()):
            calls[i] += 1
            total[i] += wall
            peak[i] = max(peak[i], wall)


def render_profile(rows: list[dict[str, Any]], title: str = "Pipeline profile") -> Any:
    """A rich Table of profile rows (rich is imported only here, when a table is wanted): each action's
    first call (where set-up lands) apart from the calls after it, whose mean, max, total and share
    follow. A row's ``name``, where it has one, is what it is called (else its ``action``)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", caption="first: the first call (set-up); mean and max: the "
                  "calls after it", caption_justify="left")
    table.add_column("action", style="bold", no_wrap=True)
    for name in ("calls", "first, s", "mean, ms", "max, ms", "total, s", "cpu, s", "share"):
        table.add_column(name, justify="right")
    steady = [_steady(row) for row in rows]
    grand = sum(seconds for _, seconds in steady) or 1.0
    for row, (calls, seconds) in zip(rows, steady):
        first = row.get("first_s")
        table.add_row(
            str(row.get("name") or row["action"]), str(row["calls"]), "-" if first is None else f"{first:.3f}",
            f"{row['mean_s'] * 1e3:.3f}" if calls else "-", f"{row['max_s'] * 1e3:.3f}" if calls else "-",
            f"{row['total_s']:.3f}", f"{row['cpu_s']:.3f}", f"{100 * seconds / grand:.1f}%",
        )
    return table


def _steady(row: dict[str, Any]) -> tuple[int, float]:
    """The calls after the first and their time (all of them where the first is unknown)."""
    first = row.get("first_s")
    if first is None or not row["calls"]:
        return row["calls"], row["total_s"]
    return row["calls"] - 1, max(0.0, row["total_s"] - first)
