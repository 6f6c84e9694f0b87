"""The GPU allocator: which GPUs a run may have now, as pure logic over a reservation table.

Like task-spooler, a GPU is judged by two things: our own reservations (a GPU we handed out is not
free, however idle it looks in the first seconds of a run), and what other processes hold on it.

- `per_gpu` runs share one GPU at most (1 by default: one run per GPU).
- A GPU is *busy* when processes that are not ours hold more than `foreign_memory_mb` MiB of its memory
  (or more than `foreign_memory_fraction` of it, if given). "Ours" are the pids of our runs' process
  trees; foreign memory is the GPU's used memory minus what our pids hold, so processes NVML cannot
  list (another container's) still count. The default, 1024 MiB, tolerates a display server and the
  driver's own reservation but not another user's training job.
- A GPU with less than `min_free_memory_mb` MiB free takes no new run (0, the default, disables it);
  it matters when `per_gpu` > 1 packs runs onto one GPU.
- Unknown readings never block: a GPU whose used memory is unknown is not busy, and when the process
  list is unknown on a GPU we hold, the memory on it is taken to be ours.

Among eligible GPUs the least loaded win: fewest reservations, then most free memory, then lowest index.

The GPU readings are anything shaped like `tuiflow.monitor.gpus.GpuInfo` (see `GpuReading`): the
scheduler and the monitor are sibling layers and do not import each other.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Sequence
from typing import Protocol

RunId = Hashable
DEFAULT_FOREIGN_MEMORY_MB = 1024.0


class GpuReading(Protocol):
    """What the allocator reads of a GPU; `tuiflow.monitor.GpuInfo` is one."""

    @property
    def index(self) -> int: ...

    @property
    def memory_total_mb(self) -> float | None: ...

    @property
    def memory_used_mb(self) -> float | None: ...

    @property
    def processes(self) -> Sequence[tuple[int, float | None]] | None: ...


def _free_mb(gpu: GpuReading) -> float | None:
    if gpu.memory_total_mb is None or gpu.memory_used_mb is None:
        return None
    return max(0.0, gpu.memory_total_mb - gpu.memory_used_mb)


class UnsatisfiableRequest(ValueError):
    """A request no amount of waiting can satisfy (more GPUs than exist among those allowed)."""


def _describe(indices: Iterable[int]) -> str:
    ordered = sorted(indices)
    return f"GPUs {', '.join(map(str, ordered))}" if ordered else "no GPUs"


class Allocator:
    """Hands GPUs to runs and remembers who has which; no I/O, the caller brings the GPU readings."""

    def __init__(self, per_gpu: int = 1, foreign_memory_mb: float = DEFAULT_FOREIGN_MEMORY_MB,
                 foreign_memory_fraction: float | None = None, min_free_memory_mb: float = 0.0) -> None:
        if per_gpu < 1:
            raise ValueError(f"per_gpu must be at least 1, got {per_gpu}")
        if foreign_memory_mb < 0 or min_free_memory_mb < 0:
            raise ValueError("memory thresholds must not be negative")
        if foreign_memory_fraction is not None and not 0 <= foreign_memory_fraction <= 1:
            raise ValueError(f"foreign_memory_fraction must be between 0 and 1, got {foreign_memory_fraction}")
        self.per_gpu = per_gpu
        self.foreign_memory_mb = foreign_memory_mb
        self.foreign_memory_fraction = foreign_memory_fraction
        self.min_free_memory_mb = min_free_memory_mb
        self._table: dict[RunId, list[int]] = {}
        self._limits: dict[RunId, int] = {}  # each run's own per_gpu, when it gave one

    def reservations(self) -> dict[RunId, list[int]]:
        """A copy of the table: run id -> GPU indices ([] for a CPU-only run)."""
        return {run_id: list(indices) for run_id, indices in self._table.items()}

    def load(self) -> dict[int, int]:
        """How many runs hold each GPU (GPUs nobody holds are absent)."""
        counts: dict[int, int] = {}
        for indices in self._table.values():
            for index in indices:
                counts[index] = counts.get(index, 0) + 1
        return counts

    def foreign_memory(self, gpu: GpuReading, our_pids: Collection[int]) -> float | None:
        """MiB held on `gpu` by processes that are not ours; None when it cannot be told."""
        if gpu.memory_used_mb is None:
            return None
        if gpu.processes is None:
            held_by_us = any(gpu.index in indices for indices in self._table.values())
            return None if held_by_us else gpu.memory_used_mb
        ours = sum(memory or 0.0 for pid, memory in gpu.processes if pid in our_pids)
        return max(0.0, gpu.memory_used_mb - ours)

    def is_busy(self, gpu: GpuReading, our_pids: Collection[int]) -> bool:
        """Whether other people's processes hold too much of `gpu` to put a run on it."""
        foreign = self.foreign_memory(gpu, our_pids)
        if foreign is None:
            return False
        if foreign > self.foreign_memory_mb:
            return True
        fraction = self.foreign_memory_fraction
        return fraction is not None and gpu.memory_total_mb is not None and foreign > fraction * gpu.memory_total_mb

    def capacity(self, index: int, per_gpu: int | None = None) -> int:
        """How many runs GPU ``index`` may hold with a new run of packing ``per_gpu`` on it: the
        smallest packing of the runs that would share it (so a run that asked for a GPU of its own,
        per_gpu 1, never gets company)."""
        limits = [per_gpu or self.per_gpu]
        limits += [self._limits.get(run_id, self.per_gpu) for run_id, held in self._table.items() if index in held]
        return min(limits)

    def eligible(self, allowed: Collection[int] | None, gpus: Sequence[GpuReading],
                 our_pids: Collection[int], per_gpu: int | None = None) -> list[GpuReading]:
        """The GPUs a new run could get now, best first."""
        load = self.load()
        candidates = []
        for gpu in gpus:
            if allowed is not None and gpu.index not in allowed:
                continue
            if load.get(gpu.index, 0) >= self.capacity(gpu.index, per_gpu) or self.is_busy(gpu, our_pids):
                continue
            free = _free_mb(gpu)
            if self.min_free_memory_mb and free is not None and free < self.min_free_memory_mb:
                continue
            candidates.append(gpu)
        return sorted(candidates, key=lambda g: (load.get(g.index, 0), -(_free_mb(g) or 0.0), g.index))

    def allocate(self, run_id: RunId, count: int, allowed: Collection[int] | None, gpus: Sequence[GpuReading],
                 our_pids: Collection[int] = (), per_gpu: int | None = None) -> list[int] | None:
        """Reserve `count` distinct GPUs for `run_id` and return their indices, or None if the run must wait.

        `allowed` restricts the choice (None: any GPU); `count` 0 is a CPU-only run and always succeeds.
        `per_gpu` is how many runs this one accepts on each of its GPUs (default: the allocator's).
        Raises UnsatisfiableRequest when `count` exceeds the GPUs that exist among those allowed.
        """
        if per_gpu is not None and per_gpu < 1:
            raise ValueError(f"per_gpu must be at least 1, got {per_gpu}")
        if run_id in self._table:
            raise ValueError(f"run {run_id} already holds {_describe(self._table[run_id])}")
        if count < 0:
            raise ValueError(f"a run cannot ask for {count} GPUs")
        if count:
            existing = {g.index for g in gpus if allowed is None or g.index in allowed}
            if count > len(existing):
                where = "on this machine" if allowed is None else f"among the allowed {_describe(allowed)}"
                raise UnsatisfiableRequest(
                    f"run {run_id} asks for {count} GPU{'s' if count != 1 else ''} but there "
                    f"{'is' if len(existing) == 1 else 'are'} only {len(existing)} {where}")
        chosen = [gpu.index for gpu in self.eligible(allowed, gpus, our_pids, per_gpu)[:count]]
        if len(chosen) < count:
            return None
        self._table[run_id] = sorted(chosen)
        if per_gpu is not None:
            self._limits[run_id] = per_gpu
        return list(self._table[run_id])

    def reserve(self, run_id: RunId, indices: Iterable[int], per_gpu: int | None = None) -> None:
        """Record that `run_id` holds `indices` already (adopting live runs after a daemon restart).

        Reality wins here: the reservation is recorded even beyond `per_gpu`; new runs then wait.
        """
        if run_id in self._table:
            raise ValueError(f"run {run_id} already holds {_describe(self._table[run_id])}")
        self._table[run_id] = sorted(set(indices))
        if per_gpu is not None:
            self._limits[run_id] = per_gpu

    def release(self, run_id: RunId) -> list[int]:
        """Free what `run_id` holds and return it ([] if it held nothing: releasing twice is harmless)."""
        self._limits.pop(run_id, None)
        return self._table.pop(run_id, [])
