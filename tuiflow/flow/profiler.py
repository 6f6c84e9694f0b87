"""Per-action profiling with constant memory: calls, total, mean and max wall time, CPU time.

CPU time costs a system call to read (about a microsecond), which would be most of the cost of a
tiny action. So it is read on every call of an action whose mean wall time is at least 0.1 ms,
and on the first calls and one call in 16 of faster ones; their ``cpu_s`` is the sampled CPU/wall
ratio times their total wall time.
"""

from __future__ import annotations

from typing import Any

_EXACT_ABOVE_S = 1e-4
_WARMUP_CALLS = 8
_SAMPLE_EVERY = 16


class Profiler:
    """Accumulated timings of a pipeline's steps, one slot per step, in pipeline order."""

    def __init__(self, labels: list[str]) -> None:
        self.labels = labels
        n = len(labels)
        self.calls = [0] * n
        self.total = [0.0] * n
        self.max = [0.0] * n
        self.cpu = [0.0] * n  # CPU time of the calls where it was read
        self.cpu_wall = [0.0] * n  # wall time of those same calls

    def wants_cpu(self, i: int) -> bool:
        """Whether to read the CPU clock around the next call of step ``i``."""
        calls = self.calls[i]
        return calls < _WARMUP_CALLS or calls % _SAMPLE_EVERY == 0 or self.total[i] >= _EXACT_ABOVE_S * calls

    def add(self, i: int, wall: float, cpu: float | None) -> None:
        """Record one call of step ``i``."""
        self.calls[i] += 1
        self.total[i] += wall
        if wall > self.max[i]:
            self.max[i] = wall
        if cpu is not None:
            self.cpu[i] += cpu
            self.cpu_wall[i] += wall

    def cpu_seconds(self, i: int) -> float:
        """CPU time of step ``i``: measured where every call was read, else estimated."""
        if self.cpu_wall[i] <= 0:
            return 0.0
        if self.cpu_wall[i] >= self.total[i]:
            return self.cpu[i]
        return self.total[i] * self.cpu[i] / self.cpu_wall[i]

    def info(self) -> list[dict[str, Any]]:
        """One dict per step: ``action``, ``calls``, ``total_s``, ``mean_s``, ``max_s``, ``cpu_s``."""
        rows = []
        for i, label in enumerate(self.labels):
            calls, total = self.calls[i], self.total[i]
            rows.append({
                "action": label,
                "calls": calls,
                "total_s": total,
                "mean_s": total / calls if calls else 0.0,
                "max_s": self.max[i],
                "cpu_s": self.cpu_seconds(i),
            })
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
