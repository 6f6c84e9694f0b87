"""The owners of foreground runs: the process of the command that will run them, and whether it lives.

A process is named by its pid and start time, so a later process that reuses the pid is not taken
for it. Every process sharing a store is on one host (SQLite's WAL needs shared memory, so the file
cannot be shared over a network), so a pid read from the store names a process here.
"""

from __future__ import annotations

import os

START_TIME_SLACK_S = 1.0  # create_time is rounded to clock ticks; a reused pid starts much later


def process_identity(pid: int | None = None) -> tuple[int, float | None]:
    """The pid (default: this process) and its start time (None when it cannot be read)."""
    import psutil

    pid = os.getpid() if pid is None else pid
    try:
        return pid, psutil.Process(pid).create_time()
    except psutil.Error:
        return pid, None


def process_alive(pid: int | None, start_time: float | None) -> bool:
    """Whether process `pid`, started at `start_time` (None: any start), still runs (a zombie does not)."""
    import psutil

    if pid is None:
        return False
    try:
        process = psutil.Process(pid)
        if start_time is not None and abs(process.create_time() - start_time) > START_TIME_SLACK_S:
            return False  # the pid was reused by another process
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.AccessDenied:
        return True  # it exists; not ours to look into, so not ours to call gone
    except psutil.Error:
        return False
