"""`Lab`: the one door of every client (the TUI, the CLI, scripts and notebooks) to a tuiflow home.

    from tuiflow import lab
    with lab.open() as home:                       # $TUIFLOW_HOME, else the user's data dir
        plan = home.plan("digits-mlp", grid={"lr": [0.001, 0.01]}, reps=2)
        submission = home.launch(plan)             # starts the daemon when none runs
        home.wait(submission.run_ids)
        best = home.results(filter=f"experiment={submission.experiment}", sort="-accuracy").rows[0]
        curve = home.metric_series(best["id"], "accuracy")

Values in and out are Python values and frozen dataclasses, never command-line text; every error is a
`LabError` with a one-line message. A home with no store yet can be opened with ``missing_ok``: its
reads are empty, and the first `launch` creates the store (looking never does).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tuiflow.errors import LabError
from tuiflow.lab import dashboard as _dashboard
from tuiflow.lab import pages as _pages
from tuiflow.lab import scheduler as _scheduler
from tuiflow.lab import steering as _steering
from tuiflow.lab import telemetry as _telemetry
from tuiflow.lab.compare import CompareMixin
from tuiflow.lab.dashboard import EndedGroup
from tuiflow.lab.history import HistoryMixin
from tuiflow.lab.launching import LaunchMixin
from tuiflow.lab.reading import ReadingMixin
from tuiflow.lab.types import DaemonStart, DaemonStatus, RunRow
from tuiflow.scheduler.orphans import settle_orphans
from tuiflow.store import NoStoreError, NotFoundError, Run, Status, Store, StoreError, resolve_home
from tuiflow.store.db import storage_refusal
from tuiflow.store.home import db_path, existing_db


def open(home: str | os.PathLike[str] | None = None, *, create: bool = False,
         missing_ok: bool = False) -> Lab:
    """Open the tuiflow home ``home`` (default: $TUIFLOW_HOME, else the user's data dir).

    Without ``create`` the home must hold a store already (else a NoStoreError that says so), unless
    ``missing_ok``: then the Lab reads as empty until its first `launch` creates the store.
    """
    root = resolve_home(home)
    lab = Lab(root)
    if create:
        lab._open_store(create=True)
    else:
        try:
            existing_db(root)
        except NoStoreError:
            if not missing_ok:
                raise
        else:
            lab._open_store(create=False)
    return lab


class Lab(LaunchMixin, ReadingMixin, HistoryMixin, CompareMixin):
    """A tuiflow home seen by a client: launch, watch, steer and read its runs. Safe to share between
    threads (the store serialises access)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        """The home's folder."""
        self._store: Store | None = None
        self._catalog: Any = None

    # --- the store ---------------------------------------------------------------------------------
    def _open_store(self, create: bool) -> Store:
        if self._store is None:
            self._store = Store.open(self.home, create=create)
        return self._store

    @property
    def exists(self) -> bool:
        """Whether the home holds a store (something has been launched there)."""
        if self._store is not None:
            return True
        try:
            existing_db(self.home)
        except NoStoreError:
            return False
        self._open_store(create=False)
        return True

    @property
    def path(self) -> Path:
        """The home's database file (there or not yet): what an error about the store names."""
        return self._store.path if self._store is not None else db_path(self.home)

    def storage_refusal(self, exc: BaseException) -> LabError | None:
        """The one-line error for a failure of this home's disk (full, or read-only) met outside the
        store's own writes; None when ``exc`` is some other failure."""
        return storage_refusal(exc, self.path)

    @property
    def store(self) -> Store:
        """The store, for the lab's own modules; NoStoreError while the home has none."""
        if self._store is None:
            self._open_store(create=False)
        assert self._store is not None
        return self._store

    def close(self) -> None:
        """Close the store (a Lab is also a context manager)."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Lab({str(self.home)!r})"

    def data_version(self) -> int:
        """A number that changes whenever anything in the store changes, by any process; under a
        millisecond, so a poller can skip its work when nothing changed. 0 while there is no store."""
        if not self.exists:
            return 0
        return self.store.data_version()

    # --- runs and experiments ------------------------------------------------------------------------
    def get_run(self, run_id: int, settle: bool = True) -> Run:
        """The run with this id; NotFoundError when there is none. A running run whose process is gone
        while nothing watches it is marked lost first, unless ``settle`` is False (the record as it is)."""
        run = self.store.get_run(run_id)
        if settle and run.status == Status.RUNNING and _settle(self.store, [run]):
            run = self.store.get_run(run_id)
        return run

    def list_experiments(self) -> list[dict[str, Any]]:
        """Every experiment, newest first, with its run counts per status (`counts`) and `runs` in all."""
        if not self.exists:
            return []
        counts = self.store.experiment_counts()
        rows = []
        for experiment in self.store.list_experiments():  # newest first
            per_status = counts.get(experiment.id, {})
            rows.append({**experiment.to_dict(), "counts": per_status, "runs": sum(per_status.values())})
        return rows

    def experiment_runs(self, experiment: int | str) -> list[Run]:
        """The runs of an experiment (its id, name, or ``exp:ID``), in id order."""
        found = _pages.find_experiment(self.store, experiment)
        return self.store.list_runs(experiment=found.id)

    def dashboard_runs(self, finished: int = 20) -> list[RunRow | EndedGroup]:
        """Running runs first, then queued ones in the order they will start, then the last ``finished``
        rows of ended runs, newest first, where a mass of runs that ended one after another in one
        status is one `EndedGroup` ("900 cancelled"); each run with its experiment's name and the
        newest value of each of its metrics. Bounded reads, however many runs the store holds."""
        if not self.exists:
            return []
        store = self.store
        running = store.list_runs(status="running")
        if _settle(store, running):
            running = store.list_runs(status="running")
        queued = store.queued_runs(limit=200)
        ended = _dashboard.ended_rows(store, finished)
        runs = [*running, *queued, *(row for row in ended if isinstance(row, Run))]
        groups = [row for row in ended if isinstance(row, EndedGroup)]
        names = store.experiment_names({r.experiment_id for r in runs} | {i for g in groups for i in g.experiment_ids})
        latest = store.latest_metrics([r.id for r in running])
        rows: list[RunRow | EndedGroup] = [
            RunRow(run, names.get(run.experiment_id), latest.get(run.id, run.metrics or {}))
            for run in [*running, *queued]]
        rows += [RunRow(row, names.get(row.experiment_id), row.metrics or {}) if isinstance(row, Run) else
                 dataclasses.replace(row, experiments=tuple(names[i] for i in row.experiment_ids if i in names))
                 for row in ended]
        return rows

    def varying_params(self, experiment_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
        """Experiment id -> the parameters that tell its runs apart, as `tuiflow results --experiment`
        and History lay them out (`result_layout`: those that differ, then those only some runs have);
        "rep" when only the repetition does. Read from the parameters' index, not the runs."""
        if not self.exists:
            return {}
        found: dict[int, tuple[str, ...]] = {}
        for experiment_id in sorted(set(experiment_ids)):
            try:
                layout = self.result_layout(experiment=int(experiment_id))
                reps = self.store.get_experiment(int(experiment_id)).reps
            except NotFoundError:  # deleted meanwhile
                continue
            keys = [*layout.differing, *sorted(layout.partial)]
            found[experiment_id] = tuple(keys) if keys or (reps or 1) <= 1 else ("rep",)
        return found

    # --- live views of one run -------------------------------------------------------------------------
    def metric_keys(self, run_id: int) -> list[str]:
        """The names of the metrics a run has logged, sorted."""
        return self.store.metric_keys(run_id)

    def metric_series(self, run_id: int, key: str, max_points: int | None = None) -> list[tuple[int, float | None]]:
        """(step, value) of one metric in step order; with ``max_points``, downsampled by keeping each
        bucket's lowest and highest value, so spikes survive."""
        return self.store.metric_points(run_id, key, max_points=max_points)

    def profile(self, run_id: int) -> list[dict[str, Any]]:
        """The run's per-action profile, slowest (by the time after each action's first call) first:
        pipeline, action, name (as every view names it), calls, total_s, first_s (the first call, where
        set-up lands; None: unknown), mean_s and max_s (of the calls after it), cpu_s, steady_calls,
        steady_s, and share (of the run's steady time, 0-1); see `tuiflow.lab.profiles`."""
        from tuiflow.lab.profiles import profile_rows

        return profile_rows(self.store.profile(run_id))

    def current_action(self, run_id: int) -> str | None:
        """The pipeline action a running run is in now, as its runner last reported it."""
        return self.store.current_action(run_id)

    def watch(self, experiment: int | str, poll_s: float = 0.25) -> Iterator[list[Run]]:
        """The runs of an experiment (its id, name, or ``exp:ID``), again every ``poll_s`` seconds until
        all have ended: the last list yielded is the runs as they ended."""
        found = _pages.find_experiment(self.store, experiment)
        while True:
            runs = self.store.list_runs(experiment=found.id)
            yield runs
            if all(run.is_final for run in runs):
                return
            time.sleep(poll_s)

    def wait(self, run_ids: Iterable[int], timeout: float | None = None, poll_s: float = 0.5) -> list[Run]:
        """Block until every run of ``run_ids`` has ended; return them. LabError on ``timeout``."""
        ids = list(run_ids)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            runs = [self.get_run(i) for i in ids]
            if all(run.is_final for run in runs):
                return runs
            if deadline is not None and time.monotonic() > deadline:
                left = [run.id for run in runs if not run.is_final]
                raise LabError(f"runs {', '.join(map(str, left))} did not end within {timeout:g} s")
            time.sleep(poll_s)

    # --- telemetry ------------------------------------------------------------------------------------
    def snapshot(self) -> _telemetry.Snapshot:
        """The newest telemetry the daemon sampled (host, CPU cores, GPUs, each run's processes); the
        GPUs are read live when no daemon samples them."""
        if self.exists:
            snap = _telemetry.latest(self.store)
            if snap.time is not None and snap.now - snap.time <= _telemetry.STALE_AFTER_S:
                return snap
        return _telemetry.live_snapshot()

    def telemetry(self, now: float | None = None) -> _telemetry.Snapshot:
        """The newest telemetry the daemon recorded, however old (`Snapshot.is_stale` says so), as of
        ``now``: nothing is read live. Empty while there is no store."""
        if not self.exists:
            return _telemetry.Snapshot(now=time.time() if now is None else now, time=None)
        return _telemetry.latest(self.store, now=now)

    def running_runs(self, snapshot: _telemetry.Snapshot | None = None) -> list[_telemetry.RunningRun]:
        """The running runs in id order, each with its process tree's newest reading in ``snapshot``."""
        if not self.exists:
            return []
        return _telemetry.running_runs(self.store, snapshot)

    def telemetry_series(self, device: str, key: str, *, since: float | None = None, until: float | None = None,
                         window_s: float = _telemetry.DEFAULT_WINDOW_S, max_points: int | None = None,
                         node: str | None = None) -> tuple[list[float], list[float | None]]:
        """One field of one device over a window, as (times, values): ("gpu0", "utilization"), ("host",
        "cpu_percent"), ("cpu", "cores.3"); the last ``window_s`` seconds before ``until`` (default
        now), or from ``since``; with ``max_points``, that many equal spans of time at most. ``node``:
        a cluster node's label (None: the daemon's machine)."""
        if not self.exists:
            return [], []
        return _telemetry.series(self.store, device, key, window_s, since=since, until=until, max_points=max_points,
                                 node=node)

    def gpu_history(self, index: int, key: str = "utilization", window_s: float = 60.0,
                    points: int = 60, node: str | None = None) -> list[float | None]:
        """One GPU field over the last ``window_s`` seconds, as ``points`` values (None: no sample)."""
        return self._history(f"gpu{index}", key, window_s, points, node)

    def host_history(self, key: str = "cpu_percent", window_s: float = 60.0, points: int = 60,
                     node: str | None = None) -> list[float | None]:
        """One host field over the last ``window_s`` seconds, as ``points`` values."""
        return self._history("host", key, window_s, points, node)

    def _history(self, device: str, key: str, window_s: float, points: int, node: str | None) -> list[float | None]:
        if not self.exists:
            return []
        _, values = self.telemetry_series(device, key, window_s=window_s, max_points=points, node=node)
        return values

    def gpus(self) -> dict[str, Any]:
        """The GPUs as the GPU layer sees them now, each with the runs holding it and its "node" (None:
        this machine), then the GPUs of every cluster node sampled lately; "nodes" lists the machines
        (`tuiflow gpus`)."""
        if not self.exists:
            return _telemetry.cluster_gpus(_steering.gpus_without_store(), None)
        return _telemetry.cluster_gpus(_scheduler.gpus(self.store), self.store)

    def gpu_holders(self) -> dict[int, list[int]]:
        """GPU index -> the runs holding it now (whoever runs them)."""
        if not self.exists:
            return {}
        return _steering.gpu_holders(self.store)

    # --- the queue ----------------------------------------------------------------------------------
    def cancel(self, run_ids: Sequence[int] | None = None, experiment: int | str | None = None) -> int:
        """Cancel runs by id, or every unfinished run of an experiment; returns how many. Queued runs
        never start; running ones are stopped by whoever runs them (the daemon, or their foreground
        command), or here when nothing watches them. Does not wait for them to stop."""
        if (run_ids is None) == (experiment is None):
            raise LabError("cancel takes run ids or an experiment, not both or neither")
        return _steering.cancel_runs(self.store, run_ids=run_ids, experiment=experiment)

    def cancel_and_wait(self, run_id: int | None = None, experiment: int | str | None = None,
                        grace_s: float = _scheduler.CANCEL_GRACE_S) -> _scheduler.Cancelled:
        """Cancel a run, or every unfinished run of an experiment, and stop the running ones from here:
        SIGTERM to each one's process group, SIGKILL after ``grace_s``; returns once they are gone
        (what `tuiflow cancel` does). A run given by its id that has already ended is a LabError."""
        if (run_id is None) == (experiment is None):
            raise LabError("cancel_and_wait takes a run id or an experiment, not both or neither")
        if run_id is not None:
            target = str(int(run_id))
        elif isinstance(experiment, int) or str(experiment).strip().isdigit():
            target = f"exp:{int(experiment)}"  # a bare number would name a run
        else:
            target = str(experiment)
        return _scheduler.cancel(self.store, target, grace_s=grace_s)

    def retry(self, run_id: int, refresh: bool = False) -> Run:
        """Queue an ended run again, as a new attempt with the same config and seed. ``refresh``
        accepts a recipe file changed since the run was submitted."""
        return _scheduler.retry(self.store, run_id, refresh=refresh)

    def set_priority(self, run_id: int, priority: int) -> Run:
        """Change a run's priority (higher starts first)."""
        return _scheduler.set_priority(self.store, run_id, priority)

    def pause(self) -> None:
        """Stop starting new runs; running ones go on."""
        _scheduler.pause(self.store, True)

    def resume(self) -> None:
        """Start new runs again."""
        _scheduler.pause(self.store, False)

    def paused(self) -> bool:
        """Whether the queue is paused."""
        return self.exists and bool(self.store.get_setting("paused", False))

    def queue(self, limit: int | None = _scheduler.QUEUE_LIMIT) -> _scheduler.QueuePage:
        """Running runs, then queued ones in start order: the first ``limit`` (None: all) as rows
        (`tuiflow queue --json`), with how many are running and queued and whether the queue is paused."""
        return _scheduler.queue_page(self.store, limit=limit)

    def waiting(self) -> dict[int, Any]:
        """Run id -> what each queued run waits for (a `tuiflow.scheduler.waiting.Waiting`: ``kind``,
        ``text`` as `queue` says it, ``short`` for a narrow cell), by the daemon's own rule."""
        if not self.exists:
            return {}
        return _scheduler.waiting(self.store)

    def gpu_use(self, gpus: Sequence[Any] | None = None, our_pids: Iterable[int] = ()) -> dict[int, Any]:
        """GPU index -> whose this machine's GPU is (a `GpuUse`: ``runs``, ``foreign_mb``, ``busy`` and
        ``words``, "#15 running", "busy: other users (58.6G)" or "free"), by the rule the daemon places
        runs with; ``gpus`` are readings (None: read now), ``our_pids`` more processes of our runs."""
        if not self.exists:
            from tuiflow.scheduler.waiting import gpu_uses

            return gpu_uses([g for g in (gpus or ()) if getattr(g, "node", None) is None], [], set(our_pids))
        return _scheduler.gpu_use(self.store, gpus, our_pids)

    # --- the daemon -----------------------------------------------------------------------------------
    def start_daemon(self, *, sample_interval: float | None = None, min_free_memory: float | None = None,
                     tick: float | None = None, executor: str = "local", address: str | None = None,
                     num_cpus: float | None = None) -> DaemonStart:
        """Start the home's daemon detached from this terminal unless one runs (creating the store):
        ``sample_interval`` (s) of its telemetry, ``min_free_memory`` (MiB) other users may hold on a
        GPU before it counts as busy, ``tick`` (s) of its loop. ``executor`` "ray" hands the runs to the
        Ray cluster at ``address`` ("auto" or HOST:PORT; None: Ray's own default), each asking
        ``num_cpus`` CPUs (default 1). A running daemon is left as it is."""
        args = _daemon_args(sample_interval, min_free_memory, tick) + _executor_args(executor, address, num_cpus)
        store = self._open_store(create=True)
        # Joining a Ray cluster takes seconds (more on a busy machine) before the daemon serves.
        info, started = _scheduler.start_daemon(store, extra_args=args, wait_s=60.0 if executor == "ray" else 15.0)
        return DaemonStart(info.pid, info.home, started)

    def stop_daemon(self) -> int | None:
        """Stop the home's daemon (its runs go on) and return its pid; None when none was running."""
        if not self.exists:
            return None
        info = _scheduler.stop_daemon(self.store)
        return None if info is None else info.pid

    def daemon_pid(self) -> int | None:
        """The pid of the daemon serving the home; None when none does."""
        if not self.exists:
            return None
        info = _scheduler.daemon_info(self.store)
        return None if info is None else info.pid

    def daemon_status(self) -> DaemonStatus:
        """Whether a daemon serves the home (pid, host, version, since when), and the queue's counts."""
        if not self.exists:
            return DaemonStatus(False, None, str(self.home), None, None, None, None, 0, 0, False)
        return DaemonStatus(**_scheduler.daemon_status(self.store))


def _daemon_args(sample_interval: float | None, min_free_memory: float | None, tick: float | None) -> list[str]:
    args: list[str] = []
    for flag, value in (("--sample-interval", sample_interval), ("--min-free-memory", min_free_memory),
                        ("--tick", tick)):
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise LabError(f"{flag.lstrip('-').replace('-', '_')} must be a number, not {value!r}")
            args += [flag, repr(float(value))]
    return args


def _executor_args(executor: str, address: str | None, num_cpus: float | None) -> list[str]:
    if executor not in ("local", "ray"):
        raise LabError(f"executor must be 'local' or 'ray', not {executor!r}")
    if executor == "local":
        if address is not None or num_cpus is not None:
            raise LabError("address and num_cpus are for executor='ray'")
        return []
    args = ["--executor", "ray"]
    if address is not None:
        if not isinstance(address, str) or not address.strip() or address.startswith("-"):
            raise LabError(f"address must be 'auto' or HOST:PORT, not {address!r}")
        args += ["--address", address.strip()]
    if num_cpus is not None:
        if isinstance(num_cpus, bool) or not isinstance(num_cpus, (int, float)) or not 0 <= num_cpus <= 1024:
            raise LabError(f"num_cpus must be a number from 0 to 1024, not {num_cpus!r}")
        args += ["--num-cpus", repr(float(num_cpus))]
    return args


def _settle(store: Store, runs: Sequence[Run]) -> list[int]:
    try:
        return settle_orphans(store, runs)
    except StoreError:
        return []
