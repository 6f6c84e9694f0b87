"""The scheduler for clients: start and stop the daemon, read the queue, cancel, retry, reprioritise,
pause, see the GPUs. Everything goes through the store; signals are sent only to stop processes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tuiflow.lab.pages import find_experiment
from tuiflow.monitor import keep_gpu_state_in, read_gpus
from tuiflow.scheduler.executor import python_command, stop_group
from tuiflow.scheduler.identity import LOG_NAME, DaemonInfo, is_running, read_info
from tuiflow.scheduler.orphans import settle_orphans
from tuiflow.scheduler.reserve import holders
from tuiflow.scheduler.waiting import ALLOCATOR_SETTING, GpuUse, Waiting, gpu_uses, waiting_for
from tuiflow.store import ACTIVE_STATUSES, NotFoundError, Run, Store, StoreError, process_alive

CANCEL_GRACE_S = 10.0


class SchedulerError(StoreError):
    """A scheduling request that cannot be done: one line, what and why."""


# --- the daemon --------------------------------------------------------------------------------------
def daemon_info(store: Store) -> DaemonInfo | None:
    """The running daemon of the store's home, or None."""
    return read_info(store.home)


def start_daemon(store: Store, wait_s: float = 15.0, extra_args: Iterable[str] = ()) -> tuple[DaemonInfo, bool]:
    """Start the home's daemon detached from this terminal, unless one runs; returns it and whether
    this call started it. Many clients may start it at once: the lock picks one daemon, and each
    call returns only when the daemon it spawned has served or given way, so none of them is left
    to take the home later (after a `stop`, say)."""
    info = daemon_info(store)
    if info is not None:
        return info, False
    _read_gpus()  # a malformed TUIFLOW_FAKE_GPUS is said here, not only in the daemon's log
    log_file = store.home / LOG_NAME
    deadline = time.monotonic() + wait_s
    while True:
        process = _spawn_daemon(store, log_file, extra_args)
        while True:
            info = daemon_info(store)
            if info is not None and info.pid == process.pid:
                return info, True
            code = process.poll()
            if code is not None:
                if info is None:
                    info = daemon_info(store)
                if info is not None:
                    return info, False  # it gave way to the daemon that holds the home
                if code != 0:
                    raise SchedulerError(f"the daemon exited with code {code} before it started: "
                                         f"{_last_line(log_file)} (see {log_file})")
                break  # it gave way to a daemon that has stopped since: start one again
            if time.monotonic() > deadline:
                raise SchedulerError(f"the daemon did not start within {wait_s:g} s: see {log_file}")
            time.sleep(0.05)


def _spawn_daemon(store: Store, log_file: os.PathLike[str], extra_args: Iterable[str]) -> subprocess.Popen:
    """``python -m tuiflow.scheduler --home H`` in a session of its own, its output in the log."""
    log = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        # Its working directory is the home: not the folder a client happened to start it from.
        return subprocess.Popen(
            python_command("tuiflow.scheduler", "--home", str(store.home), *extra_args),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True,
            cwd=store.home)
    finally:
        os.close(log)


def _last_line(path: os.PathLike[str] | str) -> str:
    """The last non-empty line of a log (its error, for a daemon that died starting)."""
    try:
        with open(path, "rb") as log:
            log.seek(max(0, os.fstat(log.fileno()).st_size - 4096))
            lines = [line.strip() for line in log.read().decode("utf-8", "replace").splitlines()]
    except OSError:
        return "no log"
    return next((line for line in reversed(lines) if line), "no output")


def stop_daemon(store: Store, wait_s: float = 15.0) -> DaemonInfo | None:
    """Stop the home's daemon (its runners keep running); None when none was running. Returns
    when its process is gone, and stops any daemon that took the home meanwhile, so none is left."""
    first = info = daemon_info(store)
    deadline = time.monotonic() + wait_s
    while info is not None:
        try:
            os.kill(info.pid, signal.SIGTERM)  # the record was checked: the pid is still that daemon's
        except ProcessLookupError:
            pass
        while is_running(info):
            if time.monotonic() > deadline:
                raise SchedulerError(f"the daemon (pid {info.pid}) did not stop within {wait_s:g} s")
            time.sleep(0.05)
        info = daemon_info(store)
    return first


def daemon_status(store: Store) -> dict[str, Any]:
    """``pid``, ``home``, ``executor``, ``started_at``, ``running``, ``queued`` and ``paused``."""
    info = daemon_info(store)
    counts = store.run_counts()
    return {
        "running_daemon": info is not None, "pid": info.pid if info else None, "home": str(store.home),
        "executor": info.executor if info else None, "started_at": info.started_at if info else None,
        "host": info.host if info else None, "version": info.version if info else None,
        "running": counts.get("running", 0), "queued": counts.get("queued", 0),
        "paused": bool(store.get_setting("paused", False)),
    }


# --- submitting ---------------------------------------------------------------------------------------
def _read_gpus() -> Any:
    """The GPU report; a malformed TUIFLOW_FAKE_GPUS (the monitor's ValueError) is the user's to fix."""
    try:
        return read_gpus()
    except ValueError as exc:
        raise SchedulerError(str(exc)) from None


@dataclass(frozen=True)
class GpuRequest:
    """How many GPUs each run asks for, and which it may be given (None: any)."""

    count: int
    allowed: list[int] | None
    available: tuple[int, ...] = ()


def _describe(indices: Sequence[int]) -> str:
    return f"GPUs {', '.join(map(str, indices))}" if indices else "no GPUs"


def cluster_gpus(home: Any) -> float | None:
    """The GPUs of the Ray cluster the home's daemon hands its runs to (as it last counted them); None
    when no daemon runs or it runs them on this machine."""
    from pathlib import Path

    info = read_info(Path(home))
    if info is None or info.executor != "ray":
        return None
    try:
        with Store.open(home, create=False) as store:
            return float((store.get_setting(RAY_CLUSTER_SETTING) or {}).get("gpus", 0.0))
    except StoreError:
        return None


RAY_CLUSTER_SETTING = "ray_cluster"
"""The store setting where a Ray daemon keeps what it knows of its cluster (its GPUs, its address)."""


def gpu_request(gpus: Sequence[int] | None, count: int | None, *, cluster: float | None = None) -> GpuRequest:
    """Check the GPU indices runs may use (None: any; []: CPU only) and the GPUs each asks for (None:
    one where GPUs exist, else none) against this machine's GPUs, before anything is stored. With
    ``cluster`` (the GPUs of the Ray cluster the daemon runs on, see `cluster_gpus`) against those:
    Ray picks a run's GPUs there, so only "any" or "none" can be asked for."""
    if cluster is not None:
        return _cluster_request(gpus, count, cluster)
    report = _read_gpus()
    available = sorted(gpu.index for gpu in report.gpus)
    allowed = None
    if gpus is not None:
        if isinstance(gpus, (str, bytes)) or any(isinstance(i, bool) or not isinstance(i, int) for i in gpus):
            raise SchedulerError(f"gpus must be a list of GPU indices, not {gpus!r}")
        allowed = sorted(set(gpus))
        missing = [index for index in allowed if index not in available]
        if missing:
            raise SchedulerError(f"GPU {missing[0]} does not exist: this machine has {_describe(available)}")
    if count is None:
        count = 0 if (allowed == [] or not available) else 1
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise SchedulerError(f"num_gpus must be a whole number >= 0, not {count!r}")
    pool = available if allowed is None else allowed
    if count > len(pool):
        where = "on this machine" if allowed is None else f"among the GPUs allowed ({_describe(allowed)})"
        raise SchedulerError(f"each run asks for {count} GPU{'s' if count != 1 else ''} but there "
                             f"{'is' if len(pool) == 1 else 'are'} only {len(pool)} {where} ({report.status})")
    return GpuRequest(count, allowed, tuple(available))


def _cluster_request(gpus: Sequence[int] | None, count: int | None, cluster: float) -> GpuRequest:
    if gpus is not None and list(gpus) != []:
        raise SchedulerError("the daemon runs on a Ray cluster, which picks each run's GPUs: ask for a number of "
                             "GPUs per run, not particular ones")
    if count is None:
        count = 0 if gpus == [] or cluster < 1 else 1
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise SchedulerError(f"num_gpus must be a whole number >= 0, not {count!r}")
    if gpus == [] and count:
        raise SchedulerError(f"each run asks for {count} GPU{'s' if count != 1 else ''} but no GPU is allowed")
    if count > cluster:
        raise SchedulerError(f"each run asks for {count} GPU{'s' if count != 1 else ''} but the Ray cluster has "
                             f"{cluster:g}")
    return GpuRequest(count, [] if gpus == [] else None)


# --- the queue -----------------------------------------------------------------------------------------
QUEUE_LIMIT = 50
"""Runs `queue` lists unless told otherwise: the first page answers at once, whatever the queue holds."""


@dataclass(frozen=True)
class QueuePage:
    """The first runs of the queue (running ones, then queued ones in the order they will start),
    how many are running and queued in all, and whether the queue is paused."""

    rows: list[dict[str, Any]]
    running: int
    queued: int
    paused: bool

    @property
    def total(self) -> int:
        """Every run `rows` could list: those running and those queued."""
        return self.running + self.queued


def _queue_row(run: Run, experiment: str | None, position: int | None,
               waiting: Waiting | None = None) -> dict[str, Any]:
    return {
        "id": run.id, "experiment": experiment, "experiment_id": run.experiment_id,
        "recipe": run.recipe, "status": run.status, "executor": run.executor,
        # the place in the daemon's queue; a foreground command runs its own runs in its order
        "position": position,
        "priority": run.priority, "gpus_requested": run.gpus_requested, "gpus_allowed": run.gpus_allowed,
        "per_gpu": run.per_gpu, "gpus": run.gpus, "pid": run.pid,
        "attempt": run.attempt, "retries": run.retries, "started_at": run.started_at,
        "progress_done": run.progress_done, "progress_total": run.progress_total, "eta_s": run.eta_s,
        "config": run.config,
        # what a queued run waits for, in the words every view shows (None: it is not queued)
        "waiting_for": waiting.text if waiting else None, "waiting": waiting.kind if waiting else None,
    }  # fmt: skip


def queue_page(store: Store, limit: int | None = QUEUE_LIMIT) -> QueuePage:
    """The first `limit` runs of the queue (None: all), with the counts and the paused flag. Only the
    runs shown are read: a queue of 100,000 runs answers as fast as one of ten."""
    settle_orphans(store)  # a runner gone with nobody watching is not "running"
    running = store.list_runs(status="running", limit=limit)

    def left(taken: int) -> int | None:
        return None if limit is None else max(0, limit - taken)

    # Foreground runs left behind by a command that died are the daemon's: they are in its part.
    daemon_queue = store.queued_runs(executor="daemon", limit=left(len(running))) if left(len(running)) != 0 else []
    taken = len(running) + len(daemon_queue)
    foreground = store.queued_runs(executor="foreground", limit=left(taken)) if left(taken) != 0 else []
    names: dict[int, str | None] = {}
    for experiment_id in {run.experiment_id for run in running + daemon_queue + foreground}:
        try:
            names[experiment_id] = store.get_experiment(experiment_id).name
        except NotFoundError:
            names[experiment_id] = None
    waits = waiting(store, daemon_queue, foreground)
    rows = [_queue_row(run, names[run.experiment_id], None) for run in running]
    rows += [_queue_row(run, names[run.experiment_id], place, waits.get(run.id))
             for place, run in enumerate(daemon_queue, 1)]
    rows += [_queue_row(run, names[run.experiment_id], None, waits.get(run.id)) for run in foreground]
    counts = store.run_counts()
    return QueuePage(rows, counts.get("running", 0), counts.get("queued", 0), bool(store.get_setting("paused", False)))


WAITING_LIMIT = 200
"""Queued runs `waiting` explains unless given the runs: as many as the dashboard lists."""


def allocator_options(store: Store) -> dict[str, Any]:
    """The options the home's daemon places runs with (kept by it in the store; none: the defaults)."""
    options = store.get_setting(ALLOCATOR_SETTING) or {}
    known = ("foreign_memory_mb", "foreign_memory_fraction", "min_free_memory_mb", "per_gpu")
    return {key: value for key, value in options.items() if key in known} if isinstance(options, dict) else {}


def waiting(store: Store, queue: Sequence[Run] | None = None, foreground: Sequence[Run] | None = None,
            limit: int = WAITING_LIMIT) -> dict[int, Waiting]:
    """Run id -> what it waits for, for the queued runs of ``queue`` (the daemon's part of the queue,
    from its start, in order; None: its first ``limit``) and ``foreground`` (runs their own command
    starts; None: the first ``limit``): the daemon's rule over the GPUs now, the home's holds, its
    CPU slots, the paused flag and whether a daemon runs."""
    if queue is None:
        queue = store.queued_runs(executor="daemon", limit=limit)
    if foreground is None:
        foreground = store.queued_runs(executor="foreground", limit=limit)
    if not queue and not foreground:
        return {}
    info = daemon_info(store)
    paused = bool(store.get_setting("paused", False))
    daemon = None if info is None else info.executor
    gpus: Sequence[Any] = ()
    holds: list[Any] = []
    running: list[Run] = []
    gpu_error: str | None = None
    if foreground or (daemon == "local" and not paused):  # otherwise the GPUs do not matter
        keep_gpu_state_in(store.home)
        try:
            gpus = _read_gpus().gpus
        except Exception as exc:  # NVML failing, or a bad TUIFLOW_FAKE_GPUS: the runs still say why they wait
            gpu_error = (str(exc).splitlines() or [type(exc).__name__])[0]
        holds = store.gpu_holds()
        running = store.list_runs(status="running")
    cpu_running = sum(1 for run in running if not run.gpus and run.executor == "daemon")
    busy_owners = {run.owner_pid for run in running if run.executor == "foreground" and run.owner_pid}
    return waiting_for(queue, foreground=foreground, gpus=gpus, holds=holds, daemon=daemon, paused=paused,
                       cpu_slots=_cpu_slots(), cpu_running=cpu_running, busy_owners=busy_owners,
                       our_pids={run.pid for run in running if run.pid}, allocator_options=allocator_options(store),
                       gpu_error=gpu_error)


def gpu_use(store: Store, gpus: Sequence[Any] | None = None, our_pids: Iterable[int] = ()) -> dict[int, GpuUse]:
    """GPU index -> whose it is (`GpuUse`: our runs on it, other users' memory, busy), by the rule the
    daemon places runs with; ``gpus`` are readings of this machine's GPUs (None: read them now),
    ``our_pids`` processes of our runs besides those holding GPUs."""
    if gpus is None:
        keep_gpu_state_in(store.home)
        gpus = _read_gpus().gpus
    return gpu_uses([gpu for gpu in gpus if getattr(gpu, "node", None) is None], store.gpu_holds(), set(our_pids),
                    allocator_options(store))


def _cpu_slots() -> int:
    from tuiflow.scheduler.daemon import cpu_slots

    try:
        return cpu_slots()
    except ValueError:  # a malformed TUIFLOW_CPU_SLOTS: the daemon says so where it starts
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Cancelled:
    """What a cancel did: how many runs it cancelled (an experiment may have 100,000, so a count),
    the run or the experiment it was asked for, and the ids of the running runs it stopped."""

    count: int
    run_id: int | None = None
    experiment: str | None = None
    stopped: tuple[int, ...] = ()


def cancel(store: Store, target: str, grace_s: float = CANCEL_GRACE_S, wait: bool = True) -> Cancelled:
    """Cancel a run (its id), or every unfinished run of an experiment (its name, or ``exp:ID``):
    queued ones never start, running ones get SIGTERM on their process group and SIGKILL after
    ``grace_s``. An experiment's queued runs are cancelled in one statement, however many."""
    text = target.strip()
    if text.isdigit():
        run = store.get_run(int(text))
        if run.is_final:
            # One run named by its id: a finished one is a mistake to say, not nothing to do.
            raise SchedulerError(f"run {run.id} has already ended ({run.status}): only a queued or "
                                 "running run can be cancelled")
        runs, count, experiment = [run], 0, None
    else:
        found = find_experiment(store, text)
        # Queued runs first, in one go; a run claimed meanwhile is running by then, and is read below.
        count = store.cancel_queued(found.id, error="cancelled by the user")
        runs, experiment = store.list_runs(experiment=found.id, status="running"), found.name
    signalled: list[Run] = []
    for run in runs:
        if run.status not in ACTIVE_STATUSES:
            continue
        if store.set_run_status(run.id, "cancelled", expect=run.status, error="cancelled by the user"):
            count += 1
            # A run on a Ray node is the daemon's to stop, through Ray: its pid is not this machine's.
            if run.status == "running" and run.node is None and run.pid and _same_process(run.pid, run.pid_start_time):
                stop_group(run.pid, signal.SIGTERM)
                signalled.append(run)
    stopped = tuple(run.id for run in signalled)
    if wait and signalled:
        deadline = time.monotonic() + grace_s
        while signalled and time.monotonic() < deadline:
            signalled = [r for r in signalled if _group_alive(r.pid)]
            time.sleep(0.05)
        for run in signalled:
            stop_group(run.pid, signal.SIGKILL)  # type: ignore[arg-type]
    return Cancelled(count, runs[0].id if experiment is None else None, experiment, stopped)


def retry(store: Store, run_id: int, refresh: bool = False) -> Run:
    """Queue a finished run again (a new attempt, same config and seed). ``refresh`` accepts its
    recipe file as it is now, if it changed since the run was submitted (for the whole experiment)."""
    run = store.get_run(run_id)
    if not run.is_final:
        raise SchedulerError(f"run {run_id} is {run.status}: only a finished run can be retried")
    if process_alive(run.pid, run.pid_start_time):
        # Its next attempt must not share its GPUs, nor see its last metric values land.
        raise SchedulerError(f"run {run_id} has ended ({run.status}) but its process {run.pid} is still stopping: "
                             "retry it in a moment")
    if refresh:
        from tuiflow.lab.experiments import recipe_sha256

        experiment = store.get_experiment(run.experiment_id)
        store.set_recipe_sha256(experiment.id, recipe_sha256(experiment.recipe_file))
    return store.requeue_run(run_id)


def set_priority(store: Store, run_id: int, priority: int) -> Run:
    """Change a run's priority (higher starts first)."""
    return store.set_priority(run_id, priority)


def pause(store: Store, paused: bool = True) -> None:
    """Stop (or resume) starting new runs; running ones go on."""
    store.set_setting("paused", bool(paused))


def gpus(store: Store) -> dict[str, Any]:
    """The GPUs as the GPU layer sees them, with the runs holding each."""
    keep_gpu_state_in(store.home)  # what the home's daemon put on them
    report = _read_gpus()
    held = holders(store.gpu_holds())  # every run holding one, whoever runs it, ended or not
    uses = gpu_use(store, report.gpus)  # "busy: other users (58.6G)" by the daemon's rule
    return {"source": report.source, "status": report.status, "reason": report.reason,
            "gpus": [{**gpu.to_dict(), "runs": held.get(gpu.index, []), "busy": uses[gpu.index].busy_words}
                     for gpu in report.gpus]}


def _same_process(pid: int, start_time: float | None) -> bool:
    import psutil

    try:
        process = psutil.Process(pid)
        return start_time is None or abs(process.create_time() - start_time) <= 1.0
    except psutil.Error:
        return False


def _group_alive(pgid: int | None) -> bool:
    if pgid is None:
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _any_member(pgid)


def _any_member(pgid: int) -> bool:
    # Zombies still count for killpg(0): look for a member that is not one.
    import psutil

    for process in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(process.info["pid"]) == pgid and process.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error, OSError):
            continue
    return False
