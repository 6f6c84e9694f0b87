"""Per-run telemetry: CPU, memory, threads and GPU memory of a run's whole process tree.

A run is a root pid (its worker) and every descendant (data loader workers, subprocesses). The
`psutil.Process` objects are kept between samples, keyed by (pid, create time), because
`cpu_percent()` is measured against the same object's previous call, and because a pid can be reused:
a new process that got an old pid has another create time, so it is a new key and never inherits the
old one's history. Processes not seen in a sample are dropped from the cache.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import psutil

K = TypeVar("K", bound=Hashable)
MIB = 1024 * 1024
# A root given as (pid, create_time) matches when the times agree this closely (boot-time rounding).
CREATE_TIME_SLACK = 0.05

RootSpec = int | tuple[int, float]  # a pid, or a pid and the create time it must have


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


def _ppid_map() -> dict[int, int]:
    """{pid: parent pid} for every process, in one pass over the process table."""
    # psutil's own one-pass reader (what Process.children uses) is private; fall back to the public,
    # slower way if a psutil release moves it.
    fast = getattr(getattr(psutil, "_psplatform", None), "ppid_map", None)
    if fast is not None:
        try:
            return fast()
        except Exception:
            pass
    return {p.pid: p.info["ppid"] for p in psutil.process_iter(["ppid"]) if p.info["ppid"] is not None}


def _root(spec: RootSpec) -> tuple[int, float | None]:
    if isinstance(spec, tuple):
        return int(spec[0]), float(spec[1])
    return int(spec), None


def tree_pids(pid: int) -> list[int]:
    """The pid and all its descendants' pids ([] if the process is gone)."""
    try:
        root = psutil.Process(pid)
        return [pid] + [child.pid for child in root.children(recursive=True)]
    except psutil.Error:
        return []


class ProcessTreeSampler(Generic[K]):
    """Samples process trees; keep one instance for the life of the watcher (it holds cpu_percent state)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, float], psutil.Process] = {}
        self._roots: dict[K, tuple[int, float]] = {}

    def tracked(self) -> set[tuple[int, float]]:
        """The (pid, create_time) of every process held between samples."""
        return set(self._cache)

    def _process(self, pid: int, seen: set[tuple[int, float]]) -> psutil.Process | None:
        try:
            fresh = psutil.Process(pid)
            key = (pid, fresh.create_time())
        except psutil.Error:
            return None
        seen.add(key)
        return self._cache.setdefault(key, fresh)

    def sample(self, roots: Mapping[K, RootSpec], gpu_memory: Mapping[int, float] | None = None) -> dict[K, TreeSample]:
        """Sample every live tree in `roots` ({run key: root pid or (pid, create_time)}).

        A run whose root is gone, or whose pid now belongs to another process (create time differs from
        the one given, or from the one seen at the first sample), is left out of the result.
        `gpu_memory` is {pid: MiB} from the GPU layer; None means there is no such information.
        """
        parents = _ppid_map()
        children: dict[int, list[int]] = {}
        for pid, ppid in parents.items():
            children.setdefault(ppid, []).append(pid)
        seen: set[tuple[int, float]] = set()
        result: dict[K, TreeSample] = {}
        for key, spec in roots.items():
            pid, expected = _root(spec)
            root = self._process(pid, seen)
            if root is None:
                continue
            created = root.create_time()
            remembered = self._roots.get(key)
            if expected is None and remembered is not None and remembered[0] == pid:
                expected = remembered[1]
            if expected is not None and abs(created - expected) > CREATE_TIME_SLACK:
                continue  # the run's process died and its pid went to someone else
            self._roots[key] = (pid, created)
            tree = self._tree(root, created, children, seen)
            result[key] = self._measure(pid, tree, gpu_memory)
        for gone in set(self._cache) - seen:
            del self._cache[gone]
        for gone in set(self._roots) - set(roots):
            del self._roots[gone]
        return result

    def _tree(self, root: psutil.Process, created: float, children: dict[int, list[int]],
              seen: set[tuple[int, float]]) -> list[psutil.Process]:
        tree, stack, visited = [root], [root.pid], {root.pid}
        while stack:
            for child_pid in children.get(stack.pop(), ()):
                if child_pid in visited:  # pids reused while the table was read can make a cycle
                    continue
                visited.add(child_pid)
                child = self._process(child_pid, seen)
                # A "child" older than the root is a reused pid whose parent pid happens to match.
                if child is not None and child.create_time() >= created:
                    tree.append(child)
                    stack.append(child_pid)
        return tree

    def _measure(self, root_pid: int, tree: list[psutil.Process], gpu_memory: Mapping[int, float] | None) -> TreeSample:
        sample = TreeSample(root_pid, gpu_memory_mb=None if gpu_memory is None else 0.0)
        for proc in tree:
            try:
                with proc.oneshot():
                    cpu = proc.cpu_percent()
                    rss = proc.memory_info().rss
                    threads = proc.num_threads()
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue  # exited since the process table was read
            except psutil.AccessDenied:
                cpu, rss, threads = 0.0, 0, 0
            sample.pids.append(proc.pid)
            sample.cpu_percent += cpu
            sample.rss_mb += rss / MIB
            sample.threads += threads
            if gpu_memory is not None:
                sample.gpu_memory_mb = (sample.gpu_memory_mb or 0.0) + gpu_memory.get(proc.pid, 0.0)
        return sample
