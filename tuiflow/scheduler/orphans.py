"""Runs nobody watches: marked running on this host, their runner gone, and neither the daemon (for
the daemon's runs) nor the foreground command that owns them alive to record how they ended.

Any reader settles them at once (`settle_orphans`), so `queue`, `show` and `logs -f` never say
`running` about a process that is gone, with or without a daemon.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable

from tuiflow.scheduler.executor import kill_leftovers
from tuiflow.scheduler.identity import read_info
from tuiflow.store import Run, Store, StoreError, process_alive

LOST_ERROR = "its runner was gone and nothing was watching it (no daemon, or its foreground command had ended)"


def settle_orphans(store: Store, runs: Iterable[Run] | None = None) -> list[int]:
    """Mark lost the unwatched running runs whose process is gone (of ``runs``, default all running
    ones), kill what is left of their process groups and free their GPUs; a run with retries left
    goes back to the queue. Returns their ids. A store this process may not write is left as it is."""
    host = socket.gethostname()
    daemon_alive: bool | None = None
    settled = []
    for run in store.list_runs(status="running") if runs is None else runs:
        if run.status != "running" or run.pid is None or run.host not in (None, host):
            continue
        if process_alive(run.pid, run.pid_start_time):
            continue
        if run.executor == "foreground":
            if process_alive(run.owner_pid, run.owner_start_time):
                continue  # its command records the end
        else:
            if daemon_alive is None:
                daemon_alive = read_info(store.home) is not None
            if daemon_alive:
                continue  # the daemon watches its runs and records how they ended
        try:
            ended = store.finish_run(run.id, "lost", error=LOST_ERROR)
            kill_leftovers(run.pid, run.pid_start_time)
            store.release_gpus(run.id)
            if ended.status == "lost" and ended.attempt <= ended.retries:
                store.requeue_run(run.id)
        except StoreError:
            return settled  # a read-only home: say what it says
        settled.append(run.id)
    return settled
