"""The scheduler daemon: claims queued runs, starts a runner per run on the GPUs it allocates,
reaps them, cancels, retries, samples telemetry. It owns nothing that is not in the store: killed
and restarted, it adopts the runners still alive and marks the vanished ones lost.

``python -m tuiflow.scheduler --home DIR`` runs it in the foreground; clients start it detached.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from typing import Any

from tuiflow._version import __version__
from tuiflow.monitor import Sampler, keep_gpu_state_in, read_gpus
from tuiflow.monitor.retention import apply_retention
from tuiflow.scheduler.allocator import UnsatisfiableRequest
from tuiflow.scheduler.executor import LocalExecutor, kill_leftovers
from tuiflow.scheduler.identity import DaemonInfo, clear_info, read_info, try_lock, write_info
from tuiflow.scheduler.interface import GONE, PENDING, UNSTARTED, Executor, Tracked
from tuiflow.scheduler.reserve import gpu_chooser, held_pids
from tuiflow.scheduler.waiting import ALLOCATOR_SETTING
from tuiflow.store import Sample, Store, process_alive, process_start_time

TICK_S = 0.1
CANCEL_GRACE_S = 10.0
RETENTION_EVERY_S = 600.0
DESCRIBE_EVERY_S = 5.0
CLUSTER_SETTING = "ray_cluster"  # tuiflow.lab.scheduler.RAY_CLUSTER_SETTING
UNRECORDED_GRACE_S = 5.0  # a runner records its own pid within a second or so of starting


def log(message: str) -> None:
    """One line of the daemon's log (its stdout is the log file)."""
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}", flush=True)


__all__ = ["Daemon", "Tracked", "cpu_slots", "main"]


class Daemon:
    """The scheduling loop over one home's store."""

    def __init__(self, store: Store, *, tick_s: float = TICK_S, sample_interval: float = 1.0,
                 foreign_memory_mb: float | None = None, cancel_grace_s: float = CANCEL_GRACE_S,
                 executor: Executor | None = None) -> None:
        self.store = store
        self.executor = executor or LocalExecutor()
        self.sample_interval = sample_interval
        self.tick_s = tick_s
        self.cancel_grace_s = cancel_grace_s
        self.allocator_options = {} if foreign_memory_mb is None else {"foreign_memory_mb": foreign_memory_mb}
        # The views judge "busy" and explain the queue with the options this daemon places runs with.
        store.set_setting(ALLOCATOR_SETTING, self.allocator_options)
        self.tracked: dict[int, Tracked] = {}
        self.host = socket.gethostname()
        self.stop_event = threading.Event()
        self.sampler = Sampler(runs=self._sampled_runs, sink=self._store_samples, interval=sample_interval)
        keep_gpu_state_in(store.home)
        self._gpu_report = read_gpus()
        self._gpus_read_at = time.monotonic()
        self._retained_at = 0.0
        self._described_at = 0.0
        self._described: Any = None
        self._warned: set[int] = set()
        self.unrecorded: dict[int, float] = {}  # running runs with no pid yet -> when to requeue them

    # --- start: adopt what a previous daemon left ------------------------------------------------
    def adopt(self) -> None:
        """Take over the runs marked running on this host: live runners are watched again, dead
        ones end as lost (or go back to the queue when their retries allow)."""
        for run in self.store.list_runs(status="running"):
            if run.host not in (None, self.host) and not (self.executor.places_runs and run.node is not None):
                continue
            if run.executor == "foreground" and process_alive(run.owner_pid, run.owner_start_time):
                continue  # its foreground command watches it
            found = self.executor.adopt(self.store, run)
            if found == PENDING:
                # Claimed by a daemon that died before it recorded a runner. The runner may be
                # starting still (it records itself): wait a little before calling it never started.
                self.unrecorded[run.id] = time.monotonic() + UNRECORDED_GRACE_S
            elif found == UNSTARTED:
                self.store.requeue_run(run.id)
                log(f"run {run.id} requeued: it was claimed but never started")
            elif isinstance(found, Tracked):
                self.tracked[run.id] = found
                where = f"node {found.node}, " if found.node else ""
                log(f"adopted run {run.id} ({where}pid {found.pid}, GPUs {found.gpus})")
            else:
                assert found == GONE
                self.store.finish_run(run.id, "lost", error="its runner was gone when the daemon started")
                self.executor.bury(self.store, run)  # what it started may live on; its GPUs
                log(f"run {run.id} lost: pid {run.pid} is gone")
                self._maybe_retry(run.id)
        for stray in self.executor.strays(self.store, set(self.tracked)):
            self.tracked[stray.run_id] = stray
            log(f"run {stray.run_id} has ended in the store but its runner lives on: stopping it")

    # --- the loop --------------------------------------------------------------------------------
    def serve(self) -> None:
        """Run until stopped (SIGTERM, SIGINT or ``stop_event``)."""
        self.adopt()
        self.sampler.start()
        self.executor.start_telemetry(self.sample_interval)
        try:
            while not self.stop_event.is_set():
                try:
                    self.tick()
                except Exception as exc:  # a busy database or a bug must not stop the runs going
                    log(f"tick failed: {type(exc).__name__}: {exc}")
                self.stop_event.wait(self.tick_s)
        finally:
            self.sampler.stop()
            self.executor.stop_telemetry()
            log("stopped; runners keep running and will be adopted by the next daemon")

    def tick(self) -> None:
        """One round: reap, cancel, start what fits, trim old telemetry."""
        if self.unrecorded:
            self.settle_unrecorded()
        self.reap()
        self.handle_cancels()
        # While a claimed run's runner may still be recording itself, its GPUs are unknown: wait.
        if not self.unrecorded and not self.store.get_setting("paused", False):
            self.schedule()
        nodes = self.executor.drain_telemetry()
        if nodes:
            self._store_samples(nodes)
        now = time.time()
        if now - self._described_at > DESCRIBE_EVERY_S:
            self._described_at = now
            self.describe()
        if now - self._retained_at > RETENTION_EVERY_S:
            self._retained_at = now
            with self.store.transaction() as conn:
                apply_retention(conn, now)

    def describe(self) -> None:
        """Keep what the executor says of its cluster in the store (clients check GPU requests
        against a Ray cluster's GPUs there), when it changed."""
        described = self.executor.describe()
        if described is not None and described != self._described:
            self.store.set_setting(CLUSTER_SETTING, described)
            self._described = described

    def settle_unrecorded(self) -> None:
        """Adopt the claimed runs whose runner has recorded itself since; requeue the ones still
        without a runner when their grace ends (their claimer died before starting one)."""
        now = time.monotonic()
        for run_id, deadline in list(self.unrecorded.items()):
            run = self.store.get_run(run_id)
            if run.status != "running":
                del self.unrecorded[run_id]
            elif run.pid is not None:
                del self.unrecorded[run_id]
                if process_alive(run.pid, run.pid_start_time):
                    self.tracked[run.id] = Tracked(run.id, run.pid, run.pid_start_time, list(run.gpus or []))
                    log(f"adopted run {run.id} (pid {run.pid}), which had started without a record")
                else:
                    if not self.store.get_run(run_id).is_final:
                        self.store.finish_run(run_id, "lost", error="its runner was gone when the daemon started")
                    kill_leftovers(run.pid, run.pid_start_time)
                    self.store.release_gpus(run_id)
                    self._maybe_retry(run_id)
            elif now >= deadline:
                del self.unrecorded[run_id]
                self.store.requeue_run(run_id)
                log(f"run {run_id} requeued: it was claimed but never started")

    def reap(self) -> None:
        """Record the outcome of runners that exited and free their GPUs."""
        if not self.tracked:
            return
        for run_id, code in self.executor.ended(list(self.tracked.values())).items():
            tracked = self.tracked.pop(run_id)
            self.executor.settle(self.store, tracked, code)
            run = self.store.get_run(run_id)
            log(f"run {run_id} {run.status}" + (f": {run.error}" if run.error and run.status != "done" else ""))
            self._maybe_retry(run_id)

    def _maybe_retry(self, run_id: int) -> None:
        run = self.store.get_run(run_id)
        if run.status in ("failed", "lost") and run.attempt <= run.retries:
            self.store.requeue_run(run_id)
            log(f"run {run_id} requeued: attempt {run.attempt} of {run.retries + 1}")

    def handle_cancels(self) -> None:
        """Signal the process group of every watched run the store says was cancelled."""
        if not self.tracked:
            return
        statuses = self.store.statuses(self.tracked)
        cancelled = [run_id for run_id, status in statuses.items() if status == "cancelled"]
        now = time.monotonic()
        for run_id in cancelled:
            tracked = self.tracked[run_id]
            if tracked.cancel_sent is None:
                self.executor.cancel(tracked, force=False)
                tracked.cancel_sent = now
                log(f"run {run_id} cancelled: SIGTERM to its process group")
            elif now - tracked.cancel_sent > self.cancel_grace_s:
                self.executor.cancel(tracked, force=True)
                log(f"run {run_id} did not stop in {self.cancel_grace_s:g} s: SIGKILL to its process group")
                tracked.cancel_sent = now

    def gpu_report(self) -> Any:
        """The GPUs, read at most every second (NVML calls are not free)."""
        if time.monotonic() - self._gpus_read_at >= 1.0:
            self._gpu_report = read_gpus()
            self._gpus_read_at = time.monotonic()
        return self._gpu_report

    def schedule(self) -> None:
        """Start every queued run that fits now, in priority then submission order."""
        queued = self.store.queued_runs(limit=256, executor="daemon")  # and foreground runs left behind
        if not queued:
            return
        if self.executor.places_runs:
            self.place(queued)
            return
        report = self.gpu_report()
        holds = self.store.gpu_holds()  # every run's, foreground commands' too
        our_pids = self.sampler.our_pids() | {t.pid for t in self.tracked.values() if t.pid} | held_pids(holds)
        free_slots = cpu_slots() - sum(1 for t in self.tracked.values() if not t.gpus)
        for run in queued:
            choose = None
            if run.gpus_requested == 0:
                if free_slots <= 0:
                    continue
            else:
                choose = gpu_chooser(run, report.gpus, our_pids=our_pids, allocator_options=self.allocator_options)
                try:
                    # Read-only first: most queued runs wait, and must not take the write lock to learn it.
                    if choose(holds) is None:
                        continue
                    claimed = self.store.claim_run(run.id, host=self.host, choose_gpus=choose)
                except UnsatisfiableRequest as exc:
                    self.store.set_run_status(run.id, "failed", expect="queued", error=str(exc))
                    log(f"run {run.id} failed: {exc}")
                    continue
            if choose is None:
                claimed = self.store.claim_run(run.id, host=self.host)
            if claimed is None:
                continue  # cancelled meanwhile, or its GPUs were taken by a foreground command
            gpus = list(claimed.gpus or [])
            self.start(run.id, gpus)
            if gpus:
                holds = self.store.gpu_holds()
            else:
                free_slots -= 1

    def place(self, queued: list[Any]) -> None:
        """For an executor whose cluster places runs (Ray): claim, without GPU holds, each queued run
        the cluster has room for now, and hand it over; the cluster picks its node and GPUs."""
        for run in queued:
            try:
                if not self.executor.fits(run):
                    continue
            except UnsatisfiableRequest as exc:
                self.store.set_run_status(run.id, "failed", expect="queued", error=str(exc))
                log(f"run {run.id} failed: {exc}")
                continue
            claimed = self.store.claim_run(run.id, host=self.host)
            if claimed is not None:
                self.start(claimed.id, [], claimed)

    def start(self, run_id: int, gpus: list[int], run: Any = None) -> None:
        """Start the runner of a claimed run."""
        try:
            tracked = self.executor.start(self.store, run or self.store.get_run(run_id), gpus)
        except Exception as exc:
            self.store.release_gpus(run_id)
            self.store.finish_run(run_id, "failed", error=f"could not start its runner: {exc}")
            log(f"run {run_id} failed to start: {exc}")
            return
        self.tracked[run_id] = tracked
        if tracked.pid is not None:
            log(f"run {run_id} started: pid {tracked.pid}, GPUs {gpus or 'none'}")
        else:
            log(f"run {run_id} handed to {self.executor.name}")

    # --- telemetry -------------------------------------------------------------------------------
    def _sampled_runs(self) -> dict[int, tuple[int, float | None]]:
        sampled = {}
        for tracked in list(self.tracked.values()):
            pid = self.executor.sampled_pid(tracked)
            if pid is not None:
                sampled[tracked.run_id] = (pid, tracked.start_time)
        return sampled

    def _store_samples(self, records: list[Any]) -> None:
        self.store.add_samples([Sample(r.time, r.device, r.kind, r.values, r.node) for r in records])


def cpu_slots() -> int:
    """How many CPU-only runs may go at once: $TUIFLOW_CPU_SLOTS, else the number of cores."""
    value = os.environ.get("TUIFLOW_CPU_SLOTS")
    if value:
        return max(1, int(value))
    return os.cpu_count() or 1


def main(home: str | None = None, tick_s: float = TICK_S, sample_interval: float = 1.0,
         foreign_memory_mb: float | None = None, executor: str = "local", address: str | None = None,
         num_cpus: float = 1.0) -> int:
    """Run the daemon of ``home`` here; exits 0 at once when another daemon holds the home, 1 when
    its executor cannot start (a Ray cluster it cannot reach, say: the reason is its last log line).
    ``executor`` "ray" hands runs to the Ray cluster at ``address`` (None: Ray's own default), each
    asking ``num_cpus`` CPUs."""
    store = Store.open(home)
    # Before the lock: a cluster this daemon cannot join ends it before it says it serves, so the
    # client that started it reports why (and a losing daemon only joined the cluster for a moment).
    runs_on = _executor(store, executor, address, num_cpus)
    if runs_on is None:
        store.close()
        return 1
    lock = try_lock(store.home)
    if lock is None:
        info = read_info(store.home)
        log(f"another daemon runs for {store.home}" + (f" (pid {info.pid})" if info else ""))
        runs_on.close()
        store.close()
        return 0
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopping.set()

    # Before the record names this process: a `stop` that reads it must find it ready to clean up.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the terminal that started us may close
    try:
        # At once after the lock: a daemon that lost it waits for this record, not for our start-up.
        write_info(store.home, DaemonInfo(os.getpid(), str(store.home), executor, time.time(), socket.gethostname(),
                                          __version__, process_start_time(os.getpid())))
        daemon = Daemon(store, tick_s=tick_s, sample_interval=sample_interval, foreign_memory_mb=foreign_memory_mb,
                        executor=runs_on)
        daemon.stop_event = stopping
        report = daemon.gpu_report()
        log(f"daemon {os.getpid()} serving {store.home}: {report.status}")
        if stopping.is_set():
            log("stopped before it served")  # stopped while starting: serve() would adopt runs for nothing
        else:
            daemon.serve()
        runs_on.close()
    finally:
        clear_info(store.home)  # before the lock goes: a record always names the lock's holder
        store.close()
        lock.close()
    return 0


def _executor(store: Store, name: str, address: str | None, num_cpus: float) -> Executor | None:
    """The executor the daemon was asked for, connected; None (and why, in the log) when it cannot be."""
    if name == "local":
        return LocalExecutor()
    from tuiflow.scheduler.ray_executor import RayExecutor, RayUnavailable

    executor = RayExecutor(store.home, address=address, num_cpus=num_cpus)
    try:
        executor.connect()
    except RayUnavailable as exc:
        log(f"cannot use Ray: {exc}")
        return None
    store.set_setting(CLUSTER_SETTING, executor.describe())  # before any client can ask for it
    log(f"runs go to the Ray cluster at {executor.address_seen}")
    return executor
