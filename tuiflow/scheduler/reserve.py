"""Choosing a run's GPUs against the home's reservation table (the store's GPU holds), for the daemon
and for foreground commands alike: the allocator's rules, fed with every live hold of the home."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from tuiflow.scheduler.allocator import Allocator, GpuReading
from tuiflow.store import GpuHold, Run


def held_pids(holds: Iterable[GpuHold]) -> set[int]:
    """The processes of the runs holding GPUs, with everything they started: the memory they hold
    on a GPU is ours, not another user's. One walk of the process table for all of them (a
    `children(recursive=True)` per run walks it once per run: 8 runs, 8 walks at every refresh)."""
    import psutil

    roots = {hold.pid for hold in holds if hold.pid is not None}
    if not roots:
        return set()
    children: dict[int, list[int]] = {}
    for process in psutil.process_iter(["ppid"]):
        ppid = process.info.get("ppid")
        if ppid is not None:
            children.setdefault(ppid, []).append(process.pid)
    pids: set[int] = set()
    stack = list(roots)
    while stack:
        pid = stack.pop()
        if pid not in pids:
            pids.add(pid)
            stack.extend(children.get(pid, ()))
    return pids


def allocator_for(holds: Iterable[GpuHold], allocator_options: Mapping[str, Any] | None = None) -> Allocator:
    """An allocator whose reservation table is the home's live GPU holds: the daemon's view of who has
    which GPU (`gpu_chooser` places runs with it; `tuiflow.scheduler.waiting` explains with it)."""
    allocator = Allocator(**(allocator_options or {}))
    taken: dict[int, tuple[int, list[int]]] = {}
    for hold in holds:
        taken.setdefault(hold.run_id, (hold.per_gpu, []))[1].append(hold.gpu)
    for run_id, (per_gpu, indices) in taken.items():
        allocator.reserve(run_id, indices, per_gpu=per_gpu)
    return allocator


def gpu_chooser(run: Run, gpus: Sequence[GpuReading], *, our_pids: Collection[int] = (),
                allocator_options: dict[str, Any] | None = None) -> Any:
    """The `choose_gpus` of `Store.claim_run` for ``run``: its GPUs among ``gpus`` given what the
    live holds take, or None while it must wait. Raises UnsatisfiableRequest when waiting cannot help."""

    def choose(holds: list[GpuHold]) -> list[int] | None:
        allocator = allocator_for(holds, allocator_options)
        ours = set(our_pids) | held_pids(holds)
        if run.id in allocator.reservations():  # claimed before (its daemon died before the start): afresh
            allocator.release(run.id)
        return allocator.allocate(run.id, run.gpus_requested, run.gpus_allowed, gpus, ours, per_gpu=run.per_gpu)

    return choose


def holders(holds: Iterable[GpuHold]) -> dict[int, list[int]]:
    """GPU index -> the runs holding it."""
    table: dict[int, list[int]] = {}
    for hold in holds:
        table.setdefault(hold.gpu, []).append(hold.run_id)
    return table
