"""What the daemon asks of an executor: start a claimed run, tell which runs have ended, cancel one,
settle how one ended, and adopt after a restart the runs a previous daemon left running.

The local executor (tuiflow.scheduler.executor) spawns runner processes on this machine; the Ray
executor (tuiflow.scheduler.ray_executor) places them on a Ray cluster. Either way the store stays
the truth: an executor reports what it sees, and the daemon records it.
"""

from __future__ import annotations

import subprocess
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tuiflow.store import Run, Store, process_alive

UNKNOWN = 1 << 30
"""An exit code nobody can see: an adopted runner (not our child) ended."""

WORKER_LOST = UNKNOWN + 1
"""An executor lost a run's worker (a Ray worker or its node died): its outcome is lost."""

PENDING = "pending"
"""`adopt`: the run's runner may still be recording itself; look again in a moment."""

GONE = "gone"
"""`adopt`: the run's runner has gone without an outcome: the run is lost."""

UNSTARTED = "unstarted"
"""`adopt`: the run was claimed but its executor never started it: it goes back to the queue."""


@dataclass
class Tracked:
    """A run whose runner the daemon watches: one it started, or one it adopted after a restart."""

    run_id: int
    pid: int | None
    start_time: float | None
    gpus: list[int]
    process: subprocess.Popen | None = None  # the local runner when it is our child: its exit code
    cancel_sent: float | None = None
    node: str | None = None  # the cluster node it runs on; None: this machine
    handle: Any = None  # what the executor keeps of it (a Ray actor and its pending answers)
    extra: dict[str, Any] = field(default_factory=dict)

    def exited(self) -> int | None:
        """For a runner on this machine: None while alive; else its exit code (negative: killed by that
        signal), or UNKNOWN for an adopted one."""
        if self.process is not None:
            return self.process.poll()
        if process_alive(self.pid, self.start_time):
            return None
        return UNKNOWN


class Executor(ABC):
    """Starts, watches and cancels the runners of the runs the daemon claims."""

    name: ClassVar[str]
    """What `daemon status` says the daemon runs on: "local" or "ray"."""

    places_runs: ClassVar[bool] = False
    """True when the executor's cluster chooses each run's GPUs (Ray): the daemon then claims runs
    without the home's GPU holds, and asks `fits` before it claims one."""

    def connect(self) -> None:  # noqa: B027 - most executors have nothing to connect to
        """Get ready before the daemon adopts and serves (a cluster's address is reached here)."""

    def close(self) -> None:  # noqa: B027
        """Let go of what `connect` took; the runners go on."""

    @abstractmethod
    def start(self, store: Store, run: Run, gpus: list[int]) -> Tracked:
        """Start the runner of a claimed run (``gpus``: the ones the daemon gave it, if it chose)."""

    @abstractmethod
    def ended(self, tracked: Sequence[Tracked]) -> dict[int, int]:
        """Of these runs, the ones whose runner has ended: run id -> exit code (negative: killed by
        that signal; UNKNOWN; WORKER_LOST)."""

    @abstractmethod
    def cancel(self, tracked: Tracked, force: bool) -> None:
        """Stop a run's runner and everything it started: politely, or (``force``) at once."""

    @abstractmethod
    def settle(self, store: Store, tracked: Tracked, code: int) -> None:
        """Everything that follows a runner's end: its outcome recorded if it left none, what is left
        of its processes killed, what it held freed."""

    @abstractmethod
    def adopt(self, store: Store, run: Run) -> Tracked | str:
        """A run marked running that a previous daemon left: a Tracked when its runner lives on,
        else PENDING, GONE or UNSTARTED."""

    def bury(self, store: Store, run: Run) -> None:  # noqa: B027
        """Clean up after a run `adopt` found GONE (the daemon has marked it lost)."""

    def strays(self, store: Store, watched: set[int]) -> list[Tracked]:
        """After `adopt`: runners still alive whose run the store no longer has running (cancelled
        while no daemon ran, say), for the daemon to stop and settle."""
        return []

    def fits(self, run: Run) -> bool:
        """For `places_runs`: whether the cluster has room for the run now. Raises
        UnsatisfiableRequest when it never will."""
        return True

    def describe(self) -> dict[str, Any] | None:
        """What clients may want to know of a cluster (its GPUs, its address); None for this machine."""
        return None

    def sampled_pid(self, tracked: Tracked) -> int | None:
        """The runner's pid when it runs on this machine (for the telemetry of its processes)."""
        return tracked.pid

    def start_telemetry(self, interval: float) -> None:  # noqa: B027
        """Start sampling the telemetry of a cluster's nodes (the daemon samples its own machine)."""

    def drain_telemetry(self) -> list[Any]:
        """The nodes' telemetry records gathered since the last call."""
        return []

    def stop_telemetry(self) -> None:  # noqa: B027
        """Stop what `start_telemetry` started."""
