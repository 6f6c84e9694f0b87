"""Per-run telemetry: CPU, memory, threads and GPU memory of a run's whole process tree.

A run is a root pid (its worker) and every descendant (data loader workers, subprocesses). Finding
descendants takes one pass over the process table per sample, shared by all runs. Per-process state
(the previous CPU time, for CPU %) is keyed by (pid, create time): a new process that got an old pid
has another create time, so it is a new key and never inherits the old one's history; processes not
seen in a sample are dropped.

Two readers give the same numbers:

- on Linux, `/proc/<pid>/stat` alone holds a process's parent, start time, CPU time, thread count
  and RSS, so the pass that finds the trees also measures them: one read per process per sample;
- elsewhere (or with `procfs=False`), psutil: `psutil.Process` objects cached by (pid, create time),
  so `cpu_percent()` is measured against the same object's previous call.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import psutil

K = TypeVar("K", bound=Hashable)
MIB = 1024 * 1024
# A root given as (pid, create_time) matches when the times agree this closely (boot-time rounding).
CREATE_TIME_SLACK = 0.05
PROC = "/proc"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

RootSpec = int | tuple[int, float]  # a pid, or a pid and the create time it must have
ProcessKey = tuple[int, float]  # (pid, create time)


@dataclass
class TreeSample:
    """One run's process tree at one moment; sums over the root and all its descendants."""

    root_pid: int
    pids: list[int] = field(default_factory=list)
    cpu_percent: float = 0.0  # 100 = one core; a process seen for the first time counts 0
    rss_mb: float = 0.0
    threads: int = 0
    gpu_memory_mb: float | None = None  # None when the GPU layer gives no per-process memory

    def values(self) -> dict[str, Any]:
        """A JSON-able dict for the "run" telemetry record."""
        return {
            "pid": self.root_pid,
            "processes": len(self.pids),
            "cpu_percent": round(self.cpu_percent, 1),
            "rss_mb": round(self.rss_mb, 1),
            "threads": self.threads,
            "gpu_memory_mb": None if self.gpu_memory_mb is None else round(self.gpu_memory_mb, 1),
        }


def tree_pids(pid: int) -> list[int]:
    """The pid and all its descendants' pids ([] if the process is gone)."""
    try:
        root = psutil.Process(pid)
        return [pid] + [child.pid for child in root.children(recursive=True)]
    except psutil.Error:
        return []


def procfs_available() -> bool:
    """Whether the fast Linux reader can be used here."""
    return sys.platform.startswith("linux") and os.path.exists(f"{PROC}/self/stat")


_boot_time: float | None = None


def _boot() -> float:
    # Read once per process: psutil re-reads /proc/stat on every create_time(), which is most of its cost.
    global _boot_time
    if _boot_time is None:
        _boot_time = psutil.boot_time()
    return _boot_time


def _read_stat(pid: int) -> list[bytes] | None:
    """The fields of /proc/<pid>/stat after the command name (field 3 first), or None if it is gone."""
    try:
        fd = os.open(f"{PROC}/{pid}/stat", os.O_RDONLY)
        try:
            data = os.read(fd, 4096)
        finally:
            os.close(fd)
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    return data[data.rfind(b")") + 2:].split()


def create_time(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch, as psutil counts), or None if it is gone or a zombie.

    With the pid, this names one process for good: a later process given the same pid has another
    create time.
    """
    if procfs_available():
        fields = _read_stat(pid)
        if fields is None or fields[0] == b"Z":
            return None
        return round(_boot() + int(fields[19]) / _CLOCK_TICKS, 3)
    try:
        proc = psutil.Process(pid)
        return None if proc.status() == psutil.STATUS_ZOMBIE else proc.create_time()
    except psutil.Error:
        return None


class _ProcfsReader:
    """Linux: one read of /proc/<pid>/stat per process gives everything, for all processes at once."""

    def __init__(self) -> None:
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._stat: dict[int, list[bytes]] = {}
        self._previous: dict[ProcessKey, tuple[float, float]] = {}
        self._current: dict[ProcessKey, tuple[float, float]] = {}
        self._clock = 0.0

    def refresh(self) -> dict[int, int]:
        """Read the process table; return {pid: parent pid}."""
        self._previous, self._current = self._current, {}
        self._clock = time.monotonic()
        stat: dict[int, list[bytes]] = {}
        parents: dict[int, int] = {}
        for name in os.listdir(PROC):
            if not name.isdigit():
                continue
            pid = int(name)
            fields = _read_stat(pid)
            if fields is None:  # exited since listdir
                continue
            stat[pid] = fields
            parents[pid] = int(fields[1])
        self._stat = stat
        return parents

    def identify(self, pid: int) -> ProcessKey | None:
        fields = self._stat.get(pid)
        if fields is None or fields[0] == b"Z":  # a zombie has exited; only its entry is left
            return None
        return pid, round(_boot() + int(fields[19]) / _CLOCK_TICKS, 3)

    def measure(self, key: ProcessKey) -> tuple[float, int, int] | None:
        fields = self._stat[key[0]]
        cpu = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime + stime
        previous = self._previous.get(key)
        self._current[key] = (cpu, self._clock)
        percent = 0.0
        if previous is not None and self._clock > previous[1]:
            percent = 100 * max(0.0, cpu - previous[0]) / (self._clock - previous[1])
        return percent, int(fields[21]) * self._page, int(fields[17])

    def tracked(self) -> set[ProcessKey]:
        return set(self._current)


class _PsutilReader:
    """Any platform: psutil.Process objects cached by (pid, create time) between samples."""

    def __init__(self) -> None:
        self._cache: dict[ProcessKey, psutil.Process] = {}
        self._seen: set[ProcessKey] = set()

    def refresh(self) -> dict[int, int]:
        for gone in set(self._cache) - self._seen:
            del self._cache[gone]
        self._seen = set()
        # psutil's one-pass reader (what Process.children uses) is private; fall back to the public,
        # slower way if a psutil release moves it.
        fast = getattr(getattr(psutil, "_psplatform", None), "ppid_map", None)
        if fast is not None:
            try:
                return fast()
            except Exception:
                pass
        return {p.pid: p.info["ppid"] for p in psutil.process_iter(["ppid"]) if p.info["ppid"] is not None}

    def identify(self, pid: int) -> ProcessKey | None:
        try:
            fresh = psutil.Process(pid)
            key = (pid, fresh.create_time())
        except psutil.Error:
            return None
        self._seen.add(key)
        self._cache.setdefault(key, fresh)
        return key

    def measure(self, key: ProcessKey) -> tuple[float, int, int] | None:
        proc = self._cache[key]
        try:
            with proc.oneshot():
                return proc.cpu_percent(), proc.memory_info().rss, proc.num_threads()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return None  # exited since the process table was read
        except psutil.AccessDenied:
            return 0.0, 0, 0

    def tracked(self) -> set[ProcessKey]:
        return set(self._seen)


class ProcessTreeSampler(Generic[K]):
    """Samples process trees; keep one instance for the life of the watcher (it holds the CPU history).

    `procfs` picks the reader: None (default) uses /proc where there is one, else psutil.
    """

    def __init__(self, procfs: bool | None = None) -> None:
        use_procfs = procfs_available() if procfs is None else procfs
        self._reader: _ProcfsReader | _PsutilReader = _ProcfsReader() if use_procfs else _PsutilReader()
        self._roots: dict[K, ProcessKey] = {}

    @property
    def reader(self) -> str:
        """"procfs" or "psutil"."""
        return "procfs" if isinstance(self._reader, _ProcfsReader) else "psutil"

    def tracked(self) -> set[ProcessKey]:
        """The (pid, create_time) of every process measured in the last sample."""
        return self._reader.tracked()

    def sample(self, roots: Mapping[K, RootSpec], gpu_memory: Mapping[int, float] | None = None) -> dict[K, TreeSample]:
        """Sample every live tree in `roots` ({run key: root pid or (pid, create_time)}).

        A run whose root is gone, or whose pid now belongs to another process (create time differs from
        the one given, or from the one seen at the first sample), is left out of the result.
        `gpu_memory` is {pid: MiB} from the GPU layer; None means there is no such information.
        """
        reader = self._reader
        children: dict[int, list[int]] = {}
        for pid, ppid in reader.refresh().items():
            children.setdefault(ppid, []).append(pid)
        result: dict[K, TreeSample] = {}
        for key, spec in roots.items():
            pid, expected = (int(spec[0]), float(spec[1])) if isinstance(spec, tuple) else (int(spec), None)
            root = reader.identify(pid)
            if root is None:
                continue
            remembered = self._roots.get(key)
            if expected is None and remembered is not None and remembered[0] == pid:
                expected = remembered[1]
            if expected is not None and abs(root[1] - expected) > CREATE_TIME_SLACK:
                continue  # the run's process died and its pid went to someone else
            self._roots[key] = root
            result[key] = self._measure(self._tree(root, children), gpu_memory)
        for gone in set(self._roots) - set(roots):
            del self._roots[gone]
        return result

    def _tree(self, root: ProcessKey, children: dict[int, list[int]]) -> list[ProcessKey]:
        tree, stack, visited = [root], [root[0]], {root[0]}
        while stack:
            for child_pid in children.get(stack.pop(), ()):
                if child_pid in visited:  # pids reused while the table was read can make a cycle
                    continue
                visited.add(child_pid)
                child = self._reader.identify(child_pid)
                # A "child" older than the root is a reused pid whose parent pid happens to match.
                if child is not None and child[1] >= root[1]:
                    tree.append(child)
                    stack.append(child_pid)
        return tree

    def _measure(self, tree: list[ProcessKey], gpu_memory: Mapping[int, float] | None) -> TreeSample:
        sample = TreeSample(tree[0][0], gpu_memory_mb=None if gpu_memory is None else 0.0)
        for key in tree:
            measured = self._reader.measure(key)
            if measured is None:
                continue
            cpu, rss, threads = measured
            sample.pids.append(key[0])
            sample.cpu_percent += cpu
            sample.rss_mb += rss / MIB
            sample.threads += threads
            if gpu_memory is not None:
                sample.gpu_memory_mb = (sample.gpu_memory_mb or 0.0) + gpu_memory.get(key[0], 0.0)
        return sample
