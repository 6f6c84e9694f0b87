"""Steering runs for `Lab`: cancels that record the request for whoever runs the run, GPU holders,
and the GPUs of a home with no store yet."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from typing import Any

from tuiflow.errors import LabError
from tuiflow.lab.pages import find_experiment
from tuiflow.monitor import read_gpus
from tuiflow.scheduler.executor import stop_group
from tuiflow.scheduler.identity import read_info
from tuiflow.scheduler.reserve import holders
from tuiflow.store import ACTIVE_STATUSES, Run, Store, process_alive


def _watched(store: Store, run: Run, daemon_alive: bool) -> bool:
    """Whether someone acts on this running run's cancel: its foreground command, or the daemon."""
    if run.executor == "foreground" and process_alive(run.owner_pid, run.owner_start_time):
        return True
    return daemon_alive


def cancel_runs(store: Store, run_ids: Sequence[int] | None = None, experiment: int | str | None = None) -> int:
    """Record the cancel of these runs (or of an experiment's unfinished runs); returns how many.

    Queued runs never start. A running run is stopped by whoever runs it — the daemon, or its
    foreground command — which sees the cancel within a tick; a run nothing watches gets SIGTERM on
    its process group here. Nothing waits."""
    count = 0
    if experiment is not None:
        found = find_experiment(store, experiment).id
        # The queued runs in one statement, however many (reading 100,000 runs to cancel each was
        # seconds); a run claimed meanwhile is running by then, and is read below.
        count = store.cancel_queued(found, error="cancelled by the user")
        runs = store.list_runs(experiment=found, status="running")
    else:
        runs = [store.get_run(int(i)) for i in run_ids or []]
        ended = [run for run in runs if run.is_final]
        if len(runs) == 1 and ended:
            raise LabError(f"run {ended[0].id} has already ended ({ended[0].status}): only a queued or running run "
                           "can be cancelled")
    daemon_alive = read_info(store.home) is not None
    for run in runs:
        if run.status not in ACTIVE_STATUSES:
            continue
        if store.set_run_status(run.id, "cancelled", expect=run.status, error="cancelled by the user"):
            count += 1
            if run.status == "running" and run.pid and not _watched(store, run, daemon_alive) \
                    and process_alive(run.pid, run.pid_start_time):
                stop_group(run.pid, signal.SIGTERM)
    return count


def gpu_holders(store: Store) -> dict[int, list[int]]:
    """GPU index -> the runs holding it now."""
    return holders(store.gpu_holds())


def gpus_without_store() -> dict[str, Any]:
    """The GPUs of this machine, for a home where nothing has run (no run holds any)."""
    try:
        report = read_gpus()
    except ValueError as exc:  # a malformed TUIFLOW_FAKE_GPUS: the user's to fix, said in one line
        raise LabError(str(exc)) from None
    return {"source": report.source, "status": report.status, "reason": report.reason,
            "gpus": [{**gpu.to_dict(), "runs": []} for gpu in report.gpus]}
