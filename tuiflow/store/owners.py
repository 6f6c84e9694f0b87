"""Processes named by pid and start time: runners, daemons, and the owners of foreground runs (the
command that will run them). The start time tells a process from a later one that reuses its pid.
Every process sharing a store is on one host (SQLite's WAL needs shared memory, so the file cannot
be shared over a network), so a pid read from the store names a process here.
"""

from __future__ import annotations

import os

START_TIME_SLACK_S = 1.0  # create_time is rounded to clock ticks; a reused pid starts much later


def process_start_time(pid: int | None = None) -> float | None:
    """When process `pid` (default: this process) started; None when it cannot be read."""
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def process_identity(pid: int | None = None) -> tuple[int, float | None]:
    """The pid (default: this process) and its start time (None when it cannot be read)."""
    pid = os.getpid() if pid is None else pid
    return pid, process_start_time(pid)


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
