"""The run queue in the store: the order runs start in, claiming them, and the life of a run from
its start to its end (or back to the queue); plus the settings that steer the queue."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable, Sequence
from typing import Any

from .base import RUN_SELECT, check_statuses, marks
from .errors import StoreError
from .holds import GpuChooser, HoldsStore
from .owners import process_alive, process_identity
from .records import ACTIVE_STATUSES, EXECUTORS, FINAL_STATUSES, Attempt, Run, from_json, metrics_to_json, to_json

# What a run forgets when it goes back to the queue: everything about the attempt that ended.
# Statements put their own assignments after it: SQLite keeps the rightmost of repeated columns.
ATTEMPT_RESET = (
    "pid = NULL, pid_start_time = NULL, gpus = NULL, host = NULL, started_at = NULL, ended_at = NULL, "
    "heartbeat_at = NULL, exit_code = NULL, signal = NULL, error = NULL, traceback = NULL, "
    "progress_done = NULL, progress_total = NULL, eta_s = NULL, action = NULL, node = NULL"
)

# A run the daemon claims or gets back is the daemon's from then on, whoever it was queued for.
TO_DAEMON = "executor = 'daemon', owner_pid = NULL, owner_start_time = NULL"

Owner = tuple[int, "float | None"]
"""The process of a foreground command: its pid and start time."""

OWNER_CHECK_S = 1.0
"""How long an owner seen alive is believed to be: the daemon asks about the same owner for each of
its queued runs on every tick, and a command that dies is taken over a second later at most."""


def _for_daemon(gone: Sequence[Owner]) -> tuple[str, list[Any]]:
    """A WHERE term for the queued runs the daemon may start: its own, and those of foreground
    commands that have gone (killed before they ran them all), so that a queued run is never lost."""
    term = "executor = 'daemon'"
    params: list[Any] = []
    for pid, start_time in gone:
        term += " OR (executor = 'foreground' AND owner_pid IS ? AND owner_start_time IS ?)"
        params += [pid, start_time]
    return f"({term})", params


class QueueStore(HoldsStore):
    """Claiming queued runs and recording each run's life; see `Store` for the whole API."""

    # -- the queue --------------------------------------------------------------------------------

    def queued_runs(self, *, limit: int | None = None, executor: str | None = None) -> list[Run]:
        """Queued runs in the order they will start: first the daemon's, highest priority then oldest,
        then those foreground commands will run themselves, oldest first.

        A foreground command that has gone (killed before it ran all its runs) leaves its runs to the
        daemon: they count as the daemon's here, and the daemon's claim takes them over. `executor`
        "daemon" or "foreground" gives only that part of the queue.
        """
        if executor is not None and executor not in EXECUTORS:
            raise StoreError(f"unknown executor {executor!r}: use one of {', '.join(EXECUTORS)}")
        gone = self._gone_owners()
        term, params = _for_daemon(gone)
        parts = []
        if executor in (None, "daemon"):
            parts.append((f"{term} ORDER BY priority DESC, id", params))
        if executor in (None, "foreground"):
            parts.append((f"executor != 'daemon' AND NOT {term} ORDER BY id", params))
        runs: list[Run] = []
        for where, values in parts:
            left = None if limit is None else limit - len(runs)
            if left is not None and left <= 0:
                break
            # The planner prefers runs_status and then sorts every queued run; the queue index is in order.
            sql = f"{RUN_SELECT} INDEXED BY runs_queue WHERE status = 'queued' AND {where}" + (
                "" if left is None else " LIMIT ?")
            runs += [Run.from_row(r) for r in self._read(sql, [*values, *([] if left is None else [left])])]
        return runs

    def _gone_owners(self) -> list[Owner]:
        """The owners of queued foreground runs whose process has ended."""
        owners = self._read(
            "SELECT DISTINCT owner_pid, owner_start_time FROM runs WHERE status = 'queued' AND executor = 'foreground'"
        )
        return [(pid, start_time) for pid, start_time in owners if not self._owner_alive(pid, start_time)]

    def _owner_alive(self, pid: int | None, start_time: float | None) -> bool:
        if pid is None:
            return False
        now = time.monotonic()
        if self._owners_alive.get((pid, start_time), 0.0) > now:
            return True
        if not process_alive(pid, start_time):
            self._owners_alive.pop((pid, start_time), None)
            return False
        if len(self._owners_alive) > 1000:  # owners come and go: forget the stale ones
            self._owners_alive = {k: t for k, t in self._owners_alive.items() if t > now}
        self._owners_alive[(pid, start_time)] = now + OWNER_CHECK_S
        return True

    def claim_run(self, run_id: int, *, host: str | None = None, owner_pid: int | None = None,
                  choose_gpus: GpuChooser | None = None) -> Run | None:
        """Atomically move this queued run to running (a new attempt); None if it is not queued, not
        the claimer's to run, or (with `choose_gpus`) its GPUs are not free.

        The daemon (no `owner_pid`) may claim its own runs and those of foreground commands that have
        gone, which become its own; a foreground command (`owner_pid`: its pid) only the runs it owns.
        `choose_gpus` picks the run's GPUs from the home's live holds in the same transaction, and
        the run holds them, on behalf of this process until its runner starts (see `holds`).
        """
        if owner_pid is not None:
            term, params, assign = "executor = 'foreground' AND owner_pid = ?", [owner_pid], ""
        else:
            # Read first, without the write lock: the daemon tries the queued runs of live foreground
            # commands on every tick, and must not take the lock each time to learn they are not its.
            rows = self._read("SELECT status, executor, owner_pid, owner_start_time FROM runs WHERE id = ?", (run_id,))
            if not rows or rows[0][0] != "queued":
                return None
            _, executor, pid, start_time = rows[0]
            if executor == "daemon":
                term, params = "executor = 'daemon'", []
            elif executor == "foreground" and not self._owner_alive(pid, start_time):
                # The UPDATE takes it only if it still has this gone owner.
                term, params = _for_daemon([(pid, start_time)])
            else:
                return None
            assign = f", {TO_DAEMON}"
        now = time.time()
        with self._write() as conn:
            row = conn.execute(f"SELECT per_gpu FROM runs WHERE id = ? AND status = 'queued' AND {term}",
                               (run_id, *params)).fetchone()
            if row is None:
                return None
            gpus: list[int] | None = None
            if choose_gpus is not None:
                gpus = choose_gpus(self._live_holds(conn))
                if gpus is None:
                    return None
            conn.execute(
                f"""UPDATE runs SET {ATTEMPT_RESET}{assign}, status = 'running', started_at = ?, heartbeat_at = ?,
                    host = ?, attempt = attempt + 1 WHERE id = ?""",
                (now, now, host or socket.gethostname(), run_id),
            )
            if gpus:
                self._take_gpus(conn, run_id, gpus, row[0], process_identity())
            elif gpus is not None:
                conn.execute("UPDATE runs SET gpus = '[]' WHERE id = ?", (run_id,))
            return self._run_in(conn, run_id)

    def set_priority(self, run_id: int, priority: int) -> Run:
        """Change a run's priority (it matters while the run is queued)."""
        with self._write() as conn:
            self._require_run(conn, run_id)
            conn.execute("UPDATE runs SET priority = ? WHERE id = ?", (int(priority), run_id))
            return self._run_in(conn, run_id)

    def statuses(self, run_ids: Iterable[int]) -> dict[int, str]:
        """The status of each of these runs (unknown ids are left out)."""
        ids = list(run_ids)
        if not ids:
            return {}
        return dict(self._read(f"SELECT id, status FROM runs WHERE id IN ({marks(len(ids))})", ids))

    # -- the life of a run ------------------------------------------------------------------------

    def start_run(
        self,
        run_id: int,
        *,
        pid: int,
        pid_start_time: float | None = None,
        gpus: Sequence[int] | None = None,
        log_path: str | os.PathLike[str] | None = None,
        host: str | None = None,
    ) -> Run:
        """Record the process now executing a claimed (or still queued) run, and mark it running.

        `pid_start_time` is the process's start time, so a restarted daemon can tell the run's
        process from a later one that reused the pid. `gpus` and `log_path` left None keep what is
        recorded. StoreError if the run has already ended.
        """
        now = time.time()
        with self._write() as conn:
            status = self._require_run(conn, run_id)
            if status not in ACTIVE_STATUSES:
                raise StoreError(f"run {run_id} is {status} in {self.path}: it cannot be started")
            conn.execute(
                """UPDATE runs SET status = 'running', pid = ?, pid_start_time = ?, gpus = coalesce(?, gpus),
                   log_path = coalesce(?, log_path),
                   host = coalesce(?, host, ?), started_at = coalesce(started_at, ?), heartbeat_at = ?,
                   attempt = CASE WHEN status = 'queued' THEN attempt + 1 ELSE attempt END
                   WHERE id = ?""",
                (
                    pid, pid_start_time, None if gpus is None else to_json(list(gpus)),
                    None if log_path is None else os.fspath(log_path), host, socket.gethostname(), now, now, run_id,
                ),
            )  # fmt: skip
            self._hold_for_process(conn, run_id, gpus, pid, pid_start_time)
            return self._run_in(conn, run_id)

    def set_run_status(
        self,
        run_id: int,
        status: str,
        *,
        expect: str | Iterable[str] | None = None,
        error: str | None = None,
    ) -> bool:
        """Set a run's status if its current one is in `expect` (any when None); return whether it was.

        A final status also stamps `ended_at`. Use `requeue_run` to send a run back to the queue.
        """
        check_statuses(status)
        now = time.time()
        with self._write() as conn:
            current = self._require_run(conn, run_id)
            if expect is not None and current not in check_statuses(expect):
                return False
            ended = now if status in FINAL_STATUSES else None
            conn.execute(
                """UPDATE runs SET status = ?, ended_at = coalesce(?, ended_at), error = coalesce(?, error)
                   WHERE id = ?""",
                (status, ended, error, run_id),
            )
            return True

    def finish_run(
        self,
        run_id: int,
        status: str = "done",
        *,
        exit_code: int | None = None,
        signal: int | None = None,
        error: str | None = None,
        traceback: str | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> Run:
        """End a run with a final status and what is known of how it ended; return it.

        A run that already ended (say cancelled by the user before its process exited) keeps that
        status and the error recorded with it, which says why it ended ("cancelled by the user"
        rather than the runner's "stopped by SIGTERM"); the exit code, signal, traceback and
        metrics given are still recorded, and so is the error when none was.
        """
        if status not in FINAL_STATUSES:
            raise StoreError(f"{status!r} is not a final run status: use one of {', '.join(FINAL_STATUSES)}")
        now = time.time()
        with self._write() as conn:
            current = self._require_run(conn, run_id)
            active = current in ACTIVE_STATUSES
            conn.execute(
                f"""UPDATE runs SET status = ?, ended_at = coalesce(ended_at, ?), exit_code = coalesce(?, exit_code),
                   signal = coalesce(?, signal), error = {"coalesce(?, error)" if active else "coalesce(error, ?)"},
                   traceback = coalesce(?, traceback), metrics = coalesce(?, metrics) WHERE id = ?""",
                (
                    status if active else current, now, exit_code, signal, error, traceback,
                    None if metrics is None else metrics_to_json(metrics), run_id,
                ),
            )  # fmt: skip
            return self._run_in(conn, run_id)

    def requeue_run(self, run_id: int) -> Run:
        """Send a run back to the queue in its original place for a new attempt; call it once the
        run's process is gone.

        The attempt that ended is kept in `attempts` (status, error, final metrics), and the run
        starts clean: its metric series and profile are those of the attempt under way, so readers
        never mix two attempts. It goes back to the daemon, whoever ran it: a foreground command does
        not wait for runs that come back (a retry comes after it has returned).
        """
        with self._write() as conn:
            status = self._require_run(conn, run_id)
            if status in FINAL_STATUSES:
                conn.execute(
                    """INSERT OR REPLACE INTO attempts (run_id, attempt, status, gpus, host, started_at, ended_at,
                       exit_code, signal, error, metrics, node)
                       SELECT id, attempt, status, gpus, host, started_at, ended_at, exit_code, signal, error, metrics,
                       node FROM runs WHERE id = ? AND attempt > 0""",
                    (run_id,),
                )
                conn.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
                conn.execute("DELETE FROM profile WHERE run_id = ?", (run_id,))
            conn.execute("DELETE FROM gpu_holds WHERE run_id = ?", (run_id,))
            conn.execute(
                f"UPDATE runs SET {ATTEMPT_RESET}, {TO_DAEMON}, metrics = NULL, status = 'queued' WHERE id = ?",
                (run_id,),
            )
            return self._run_in(conn, run_id)

    def attempts(self, run_id: int) -> list[Attempt]:
        """The earlier attempts of a run, oldest first (the one under way or last is the run itself)."""
        rows = self._read(f"SELECT {', '.join(Attempt.COLUMNS)} FROM attempts WHERE run_id = ? ORDER BY attempt",
                          (run_id,))
        return [Attempt.from_row(row) for row in rows]

    def heartbeat(self, run_id: int) -> None:
        """Stamp the run as alive now."""
        with self._write() as conn:
            if conn.execute("UPDATE runs SET heartbeat_at = ? WHERE id = ?", (time.time(), run_id)).rowcount == 0:
                raise self._not_found("run", run_id)

    def set_progress(self, run_id: int, done: int, total: int | None = None, eta_s: float | None = None) -> None:
        """Record how far a run has got (e.g. iterations done of total); also a heartbeat."""
        with self._write() as conn:
            cursor = conn.execute(
                """UPDATE runs SET progress_done = ?, progress_total = coalesce(?, progress_total), eta_s = ?,
                   heartbeat_at = ? WHERE id = ?""",
                (done, total, eta_s, time.time(), run_id),
            )
            if cursor.rowcount == 0:
                raise self._not_found("run", run_id)

    # -- settings ---------------------------------------------------------------------------------

    def get_setting(self, key: str, default: Any = None) -> Any:
        """A setting that outlives every process (the queue's paused flag, say)."""
        rows = self._read("SELECT value FROM settings WHERE key = ?", (key,))
        return from_json(rows[0][0]) if rows else default

    def set_setting(self, key: str, value: Any) -> None:
        """Store a setting as JSON."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, to_json(value, f"setting {key!r}")),
            )
