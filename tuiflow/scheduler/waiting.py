"""What a queued run waits for, and whose each GPU is: the daemon's own placement rule (the allocator
over the home's GPU holds, capacity per GPU, the GPUs a run may use, other users' memory), asked of
the queue in the order the daemon takes it, in the words every view shows.

The daemon places runs with `tuiflow.scheduler.reserve.gpu_chooser`; this module builds the same
allocator (`reserve.allocator_for`) with the same options (the daemon keeps them in the store, under
`ALLOCATOR_SETTING`), so "busy" on a GPU line and "waits: GPU1 held by another user's process" in the
queue are what the daemon decides, not a second guess.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from tuiflow.scheduler.allocator import Allocator, GpuReading
from tuiflow.scheduler.reserve import allocator_for, held_pids
from tuiflow.store import GpuHold, Run

ALLOCATOR_SETTING = "allocator"
"""The store setting where the daemon keeps its allocator's options (``foreign_memory_mb``...)."""

# What a queued run waits for (`Waiting.kind`).
NO_DAEMON = "no_daemon"  # nothing will start it
PAUSED = "paused"  # the queue is paused
STARTING = "starting"  # it fits now: the daemon starts it at its next round
GPUS = "gpus"  # its GPUs are held by runs (ours), or too full
OTHER_USERS = "other_users"  # the GPUs it may have are held by other users' processes
CPU = "cpu"  # every CPU slot is taken
NEVER = "never"  # it asks for more GPUs than it may ever have (the daemon fails it)
CLUSTER = "cluster"  # a Ray cluster places it, when it has room
FOREGROUND = "foreground"  # its foreground command runs its runs one at a time: another is before it
UNREADABLE = "gpus_unreadable"  # this machine's GPUs cannot be read (NVML failing, a bad TUIFLOW_FAKE_GPUS)
KINDS = (NO_DAEMON, PAUSED, STARTING, GPUS, OTHER_USERS, CPU, NEVER, CLUSTER, FOREGROUND, UNREADABLE)


def memory_text(mb: float | None) -> str:
    """MiB, short, as the GPU lines write memory: 512M, 58.6G."""
    if mb is None:
        return "?"
    return f"{mb / 1024:.1f}G" if mb >= 1024 else f"{mb:.0f}M"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


# --- whose each GPU is ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GpuUse:
    """One GPU as the allocator sees it: the runs of ours holding it, the memory other users'
    processes hold on it (None: cannot be told), and whether that makes it busy (no run goes there)."""

    index: int
    runs: tuple[int, ...] = ()
    foreign_mb: float | None = None
    busy: bool = False

    @property
    def busy_words(self) -> str:
        """"busy: other users (58.6G)" when other users' processes keep runs off it; "" when not."""
        return f"busy: other users ({memory_text(self.foreign_mb)})" if self.busy else ""

    @property
    def busy_short(self) -> str:
        """The same where room is short: "busy: others 58.6G"."""
        return f"busy: others {memory_text(self.foreign_mb)}" if self.busy else ""

    @property
    def words(self) -> str:
        """How a view says it: "#15 running", "busy: other users (58.6G)" or "free"."""
        if self.runs:
            return " ".join(f"#{run}" for run in self.runs) + " running"
        return self.busy_words or "free"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict, `words` included."""
        return {"index": self.index, "runs": list(self.runs), "foreign_mb": self.foreign_mb, "busy": self.busy,
                "busy_words": self.busy_words, "busy_short": self.busy_short, "words": self.words}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GpuUse:
        """The record `to_dict` wrote."""
        return cls(int(data["index"]), tuple(int(r) for r in data.get("runs") or ()), data.get("foreign_mb"),
                   bool(data.get("busy")))


def _uses(allocator: Allocator, gpus: Sequence[GpuReading], ours: Collection[int]) -> dict[int, GpuUse]:
    held: dict[int, list[int]] = {}
    for run_id, indices in allocator.reservations().items():
        for index in indices:
            held.setdefault(index, []).append(cast(int, run_id))  # the holds' run ids
    return {gpu.index: GpuUse(gpu.index, tuple(sorted(held.get(gpu.index, ()))), allocator.foreign_memory(gpu, ours),
                              allocator.is_busy(gpu, ours))
            for gpu in gpus}


def gpu_uses(gpus: Sequence[GpuReading], holds: Sequence[GpuHold], our_pids: Collection[int] = (),
             allocator_options: Mapping[str, Any] | None = None) -> dict[int, GpuUse]:
    """GPU index -> its use, by the daemon's rule: ``holds`` are the home's live GPU holds, ``our_pids``
    processes of our runs the holds may not name (they and their children hold memory that is ours)."""
    allocator = allocator_for(holds, allocator_options)
    return _uses(allocator, gpus, set(our_pids) | held_pids(holds))


# --- what a queued run waits for ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Waiting:
    """Why a queued run has not started: `kind` (one of `KINDS`), `text`, the sentence every view
    shows ("waits for 1 GPU (GPU0: #15, GPU1: #16)"), and `short`, a word or two for a narrow cell."""

    kind: str
    text: str
    short: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {"kind": self.kind, "text": self.text, "short": self.short}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Waiting:
        """The record `to_dict` wrote."""
        return cls(str(data["kind"]), str(data["text"]), str(data["short"]))


def _gpu_names(indices: Sequence[int]) -> str:
    ordered = sorted(indices)
    return f"GPU{ordered[0]}" if len(ordered) == 1 else "GPUs " + ", ".join(map(str, ordered))


def _gpu_wait(run: Run, allocator: Allocator, gpus: Sequence[GpuReading], ours: Collection[int],
              uses: Mapping[int, GpuUse], first: Mapping[int, int]) -> Waiting:
    """Why ``run`` gets no GPU now: each GPU it may have, and what keeps it (a run of ours, one ahead
    of it in the queue, other users' memory, too little free memory)."""
    count, allowed = run.gpus_requested, run.gpus_allowed
    pool = [gpu for gpu in gpus if allowed is None or gpu.index in allowed]
    eligible = {gpu.index for gpu in allocator.eligible(allowed, pool, ours, run.per_gpu)}
    wanted = _plural(count, "GPU")
    parts, foreign = [], []
    for gpu in sorted(pool, key=lambda g: g.index):
        use = uses.get(gpu.index, GpuUse(gpu.index))
        runs = [f"#{r}" + (" next" if r in first else "") for r in use.runs]
        if gpu.index in eligible:
            what = "free"
        elif use.busy and not use.runs:
            what = f"other users {memory_text(use.foreign_mb)}"
            foreign.append(gpu.index)
        elif use.runs:
            what = " ".join(runs) + (f", other users {memory_text(use.foreign_mb)}" if use.busy else "")
        else:
            free = None if gpu.memory_total_mb is None or gpu.memory_used_mb is None else \
                gpu.memory_total_mb - gpu.memory_used_mb
            what = f"{memory_text(free)} free"
        parts.append(f"GPU{gpu.index}: {what}")
    of = "" if allowed is None else f" of {_gpu_names(allowed)}"
    if foreign and len(foreign) + len(eligible) == len(pool):
        # Nothing of ours is in the way: other users' processes are.
        whose = "another user's process" if len(foreign) == 1 else "other users' processes"
        return Waiting(OTHER_USERS, f"waits: {_gpu_names(foreign)} held by {whose}"
                       + (f" ({memory_text(uses[foreign[0]].foreign_mb)})" if len(foreign) == 1 else ""),
                       f"GPU{foreign[0]} busy" if len(foreign) == 1 else "GPUs busy")
    short = f"GPU{pool[0].index} held" if len(pool) == 1 else "GPUs held"
    return Waiting(GPUS, f"waits for {wanted}{of} ({', '.join(parts)})", short)


def waiting_for(queue: Sequence[Run], *, gpus: Sequence[GpuReading], holds: Sequence[GpuHold],
                daemon: str | None, paused: bool, cpu_slots: int, cpu_running: int = 0,
                foreground: Sequence[Run] = (), busy_owners: Collection[int] = (), our_pids: Collection[int] = (),
                allocator_options: Mapping[str, Any] | None = None,
                gpu_error: str | None = None) -> dict[int, Waiting]:
    """Run id -> what it waits for, for every queued run of ``queue`` (the daemon's part of the queue,
    in the order it takes them) and ``foreground`` (runs their own live command starts).
    ``gpu_error``: why this machine's GPUs could not be read (then a run that asks for GPUs says so).

    ``daemon`` is the running daemon's executor ("local", "ray"; None: no daemon), ``paused`` the
    queue's flag, ``cpu_slots`` how many CPU-only runs the daemon runs at once and ``cpu_running`` how
    many of its CPU-only runs are running; ``busy_owners`` are the pids of foreground commands with a
    run running (such a command runs its runs one at a time). The queue is walked as the daemon's round walks it: a run
    that fits takes its GPUs (or slot) before the runs after it are asked, so a run behind another
    one says it waits for that one ("GPU1: #17 next").
    """
    allocator = allocator_for(holds, allocator_options)
    ours = set(our_pids) | held_pids(holds)
    uses = _uses(allocator, gpus, ours)
    existing = {gpu.index for gpu in gpus}
    first: dict[int, int] = {}  # run id -> the GPU count it takes in this walk (it starts next)
    free_slots = cpu_slots - cpu_running
    result: dict[int, Waiting] = {}
    owners = set(busy_owners)
    for run, by_daemon in [*((r, True) for r in queue), *((r, False) for r in foreground)]:
        if run.status != "queued":
            continue
        if by_daemon and daemon is None:
            result[run.id] = Waiting(NO_DAEMON, "no daemon", "no daemon")
            continue
        if by_daemon and paused:
            result[run.id] = Waiting(PAUSED, "paused queue", "paused")
            continue
        if by_daemon and daemon == "ray":
            result[run.id] = Waiting(CLUSTER, "waits for room on the Ray cluster", "Ray full")
            continue
        if not by_daemon:
            if run.owner_pid in owners:
                result[run.id] = Waiting(FOREGROUND, f"waits for its command (pid {run.owner_pid}) to run the runs "
                                         "before it, one at a time", "its turn")
                continue
            owners.add(run.owner_pid)  # type: ignore[arg-type]
        count = run.gpus_requested
        if count == 0:
            if not by_daemon:
                result[run.id] = Waiting(STARTING, "starts now: its foreground command runs it", "starting")
            elif free_slots > 0:
                free_slots -= 1
                result[run.id] = Waiting(STARTING, "starts now: a CPU slot is free", "starting")
            else:
                result[run.id] = Waiting(CPU, f"waits for a CPU slot (all {cpu_slots} taken)", "CPU full")
            continue
        if gpu_error is not None:
            result[run.id] = Waiting(UNREADABLE, f"waits: the GPUs cannot be read here ({gpu_error})",
                                     "GPUs unread")
            continue
        pool = existing if run.gpus_allowed is None else existing & set(run.gpus_allowed)
        if count > len(pool):
            where = "this machine has" if run.gpus_allowed is None else f"it may use {_gpu_names(run.gpus_allowed)}:"
            result[run.id] = Waiting(NEVER, f"never fits: asks for {_plural(count, 'GPU')}, {where} {len(pool)}",
                                     "can't fit")
            continue
        if run.id in allocator.reservations():  # claimed before by a daemon that died before the start
            allocator.release(run.id)
        chosen = allocator.allocate(run.id, count, run.gpus_allowed, gpus, ours, per_gpu=run.per_gpu)
        if chosen is not None:
            first[run.id] = count
            uses = _uses(allocator, gpus, ours)
            result[run.id] = Waiting(STARTING, f"starts now on {_gpu_names(chosen)}", "starting")
            continue
        result[run.id] = _gpu_wait(run, allocator, gpus, ours, uses, first)
    return result


__all__ = ["ALLOCATOR_SETTING", "KINDS", "GpuUse", "Waiting", "gpu_uses", "memory_text", "waiting_for"]
