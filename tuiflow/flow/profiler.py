"""Per-action profiling with constant memory: calls, total, mean and max wall time, CPU time.

The run loop stamps the wall clock after each step into a short buffer, which is folded into
per-step totals every few hundred batches, so profiling costs a clock read and a list append per
step. The CPU clock costs a system call (about a microsecond, most of a tiny action's cost), so it
is read around every step only where batches take long enough for that to be noise (0.5 ms and
up); in faster pipelines it is read on the first batches and then one batch in 64, and ``cpu_s``
is the sampled CPU/wall ratio of the step times its total wall time.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

WARMUP_BATCHES = 8
SAMPLE_EVERY = 64
_EXACT_ABOVE_S = 5e-4  # mean batch time from which the CPU clock is read on every batch
FOLD_EVERY = 256


class Profiler:
    """Accumulated timings of a pipeline's steps, one slot per step, in pipeline order."""

    def __init__(self, labels: list[str]) -> None:
        self.labels = labels
        n = len(labels)
        self.width = n + 1  # stamps per batch: the start, then one after each step
        self.stamps: list[float] = []
        self.calls = np.zeros(n, dtype=np.int64)
        self.total = np.zeros(n)
        self.max = np.zeros(n)
        self.cpu = np.zeros(n)  # CPU time of the calls where it was read
        self.cpu_wall = np.zeros(n)  # wall time of those same calls
        self.exact = False  # read the CPU clock on every batch: batches are slow enough
        self._lock = threading.Lock()

    # --- what the run loop calls ------------------------------------------------------------------
    def wants_cpu(self, number: int) -> bool:
        """Whether batch ``number`` of the run should read the CPU clock around each step."""
        return self.exact or number < WARMUP_BATCHES or number % SAMPLE_EVERY == 0

    def add_batch(self, walls: list[float], cpus: list[float]) -> None:
        """Record a batch measured step by step (``walls`` and ``cpus`` may stop short on failure)."""
        with self._lock:
            for i, (wall, cpu) in enumerate(zip(walls, cpus)):
                self.calls[i] += 1
                self.total[i] += wall
                if wall > self.max[i]:
                    self.max[i] = wall
                self.cpu[i] += cpu
                self.cpu_wall[i] += wall
            self._update_exact()

    def _update_exact(self) -> None:
        # Decided from the batches recorded so far; called under the lock after each change.
        done = int(self.calls[0]) if len(self.calls) else 0
        self.exact = done > 0 and float(self.total.sum()) >= _EXACT_ABOVE_S * done

    def fold(self, partial: bool = False) -> None:
        """Move buffered stamps into the totals; ``partial`` also takes a failed batch's stamps."""
        with self._lock:
            # Emptied in place: the run loop holds this very list's append method.
            stamps = self.stamps[:]
            del self.stamps[:]
            self._fold_into(stamps, self.calls, self.total, self.max, partial)
            self._update_exact()

    def _fold_into(self, stamps: list[float], calls: np.ndarray, total: np.ndarray, peak: np.ndarray,
                   partial: bool) -> None:
        full = len(stamps) // self.width * self.width
        if full:
            walls = np.diff(np.asarray(stamps[:full]).reshape(-1, self.width), axis=1)
            calls += len(walls)
            total += walls.sum(axis=0)
            np.maximum(peak, walls.max(axis=0), out=peak)
        rest = stamps[full:]
        if partial and len(rest) > 1:
            walls = np.diff(np.asarray(rest))
            k = len(walls)
            calls[:k] += 1
            total[:k] += walls
            np.maximum(peak[:k], walls, out=peak[:k])

    # --- what readers call (from any thread, while the run goes on) -----------------------------
    def info(self) -> list[dict[str, Any]]:
        """One dict per step: ``action``, ``calls``, ``total_s``, ``mean_s``, ``max_s``, ``cpu_s``."""
        with self._lock:
            pending = list(self.stamps)  # the producer may be appending: take a copy, fold that
            calls, total, peak = self.calls.copy(), self.total.copy(), self.max.copy()
            cpu, cpu_wall = self.cpu.copy(), self.cpu_wall.copy()
        self._fold_into(pending, calls, total, peak, partial=False)
        rows = []
        for i, label in enumerate(self.labels):
            n, t = int(calls[i]), float(total[i])
            if cpu_wall[i] <= 0:
                cpu_s = 0.0
            elif cpu_wall[i] >= t * (1 - 1e-9):
                cpu_s = float(cpu[i])
            else:
                cpu_s = t * float(cpu[i] / cpu_wall[i])
            rows.append({"action": label, "calls": n, "total_s": t, "mean_s": t / n if n else 0.0,
                         "max_s": float(peak[i]), "cpu_s": cpu_s})
        return rows


def render_profile(rows: list[dict[str, Any]], title: str = "Pipeline profile") -> Any:
    """A rich Table of profile rows (rich is imported only here, when a table is wanted)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    table.add_column("action", style="bold")
    for name in ("calls", "total, s", "mean, ms", "max, ms", "cpu, s", "share"):
        table.add_column(name, justify="right")
    grand = sum(row["total_s"] for row in rows) or 1.0
    for row in rows:
        table.add_row(
            row["action"], str(row["calls"]), f"{row['total_s']:.3f}", f"{row['mean_s'] * 1e3:.3f}",
            f"{row['max_s'] * 1e3:.3f}", f"{row['cpu_s']:.3f}", f"{100 * row['total_s'] / grand:.1f}%",
        )
    return table
