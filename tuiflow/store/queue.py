"""The run queue in the store: the order runs start in, claiming them, and the life of a run from
its start to its end (or back to the queue); plus the settings that steer the queue."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable, Sequence
from typing import Any

from .base import RUN_SELECT, StoreBase, check_statuses, marks
from .errors import StoreError
from .records import ACTIVE_STATUSES, FINAL_STATUSES, Run, from_json, metrics_to_json, to_json

# What a run forgets when it goes back to the queue: everything about the attempt that ended.
# Statements put their own assignments after it: SQLite keeps the rightmost of repeated columns.
ATTEMPT_RESET = (
    "pid = NULL, pid_start_time = NULL, gpus = NULL, host = NULL, started_at = NULL, ended_at = NULL, "
    "heartbeat_at = NULL, exit_code = NULL, signal = NULL, error = NULL, traceback = NULL, "
    "progress_done = NULL, progress_total = NULL, eta_s = NULL"
)


class QueueStore(StoreBase):
    """Claiming queued runs and recording each run's life; see `Store` for the whole API."""

    # -- the queue --------------------------------------------------------------------------------

    def queued_runs(self, *, limit: int | None = None) -> list[Run]:
        """Queued runs in the order the scheduler considers them: highest priority, then oldest."""
        sql = f"{RUN_SELECT} WHERE status = 'queued' ORDER BY priority DESC, id"
        params: list[Any] = []
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [Run.from_row(r) for r in self._read(sql, params)]

    def claim_next_run(self, *, host: str | None = None, max_gpus: int | None = None) -> Run | None:
        """Atomically move the next queued run to running and return it; None when nothing fits.

        Next means highest priority, then earliest submitted. With `max_gpus`, runs asking for more
        GPUs than that are passed over. Two processes claiming at once never get the same run.
        """
        sql = "SELECT id FROM runs WHERE status = 'queued'"
        params: list[Any] = []
        if max_gpus is not None:
            sql += " AND gpus_requested <= ?"
            params.append(max_gpus)
        sql += " ORDER BY priority DESC, id LIMIT 1"
        now = time.time()
        with self._write() as conn:
            row = conn.execute(sql, params).fetchone()
            if row is None:
                return None
            conn.execute(
                f"""UPDATE runs SET {ATTEMPT_RESET}, status = 'running', started_at = ?, heartbeat_at = ?,
                    host = ?, attempt = attempt + 1 WHERE id = ?""",
                (now, now, host or socket.gethostname(), row[0]),
            )
            return self._run_in(conn, row[0])

    def claim_run(self, run_id: int, *, host: str | None = None) -> Run | None:
        """Atomically move this queued run to running (a new attempt); None if it is not queued."""
        now = time.time()
        with self._write() as conn:
            cursor = conn.execute(
                f"""UPDATE runs SET {ATTEMPT_RESET}, status = 'running', started_at = ?, heartbeat_at = ?,
                    host = ?, attempt = attempt + 1 WHERE id = ? AND status = 'queued'""",
                (now, now, host or socket.gethostname(), run_id),
            )
            if cursor.rowcount == 0:
                return None
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
        """Send a run back to the queue in its original place, forgetting its last attempt."""
        with self._write() as conn:
            self._require_run(conn, run_id)
            conn.execute(f"UPDATE runs SET {ATTEMPT_RESET}, status = 'queued' WHERE id = ?", (run_id,))
            return self._run_in(conn, run_id)

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
