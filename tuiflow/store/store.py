"""The experiment store: experiments and the life of their runs, over one SQLite file."""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

from .db import BUSY_TIMEOUT_S, open_database
from .errors import StoreError
from .home import LOCK_NAME, db_path, ensure_home, resolve_home
from .metrics import MetricWriter
from .records import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    RUN_STATUSES,
    Experiment,
    Run,
    RunSpec,
    from_json,
    to_json,
)
from .results import ResultsStore

_EXPERIMENT_SELECT = f"SELECT {', '.join(Experiment.COLUMNS)} FROM experiments"
_RUN_SELECT = f"SELECT {', '.join(Run.COLUMNS)} FROM runs"

# What a run forgets when it goes back to the queue: everything about the attempt that ended.
# Statements put their own assignments after it: SQLite keeps the rightmost of repeated columns.
_ATTEMPT_RESET = (
    "pid = NULL, pid_start_time = NULL, gpus = NULL, host = NULL, started_at = NULL, ended_at = NULL, "
    "heartbeat_at = NULL, exit_code = NULL, signal = NULL, error = NULL, traceback = NULL, "
    "progress_done = NULL, progress_total = NULL, eta_s = NULL"
)


def _statuses(status: str | Iterable[str]) -> list[str]:
    names = [status] if isinstance(status, str) else list(status)
    for name in names:
        if name not in RUN_STATUSES:
            raise StoreError(f"unknown run status {name!r}: use one of {', '.join(RUN_STATUSES)}")
    return names


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class Store(ResultsStore):
    """The store: one SQLite file in the tuiflow home, shared by every tuiflow process.

    Open with `Store.open(home)`; one instance may be used from many threads.
    """

    @classmethod
    def open(cls, home: str | os.PathLike[str] | None = None, *, timeout: float = BUSY_TIMEOUT_S) -> Store:
        """Open the store in `home` (see `resolve_home`), creating or migrating it as needed."""
        root = resolve_home(home)
        try:
            ensure_home(root)
        except OSError as exc:
            raise StoreError(f"cannot create tuiflow home {root}: {exc.strerror or exc}") from None
        path = db_path(root)
        conn = open_database(path, root / LOCK_NAME, timeout)
        return cls(conn, path, root)

    def __enter__(self) -> Store:
        return self

    # -- experiments ------------------------------------------------------------------------------

    def create_experiment(
        self,
        name: str | None,
        recipe: str,
        *,
        config: dict[str, Any] | None = None,
        grid: Any = None,
        reps: int = 1,
        seed: int | None = None,
        recipe_file: str | None = None,
        notes: str = "",
        runs: Sequence[RunSpec] = (),
    ) -> Experiment:
        """Create an experiment, and queue `runs` with it in the same transaction.

        Names are unique: a name already taken gets a suffix (`name-2`, `name-3`, ...); None means
        the recipe's name.
        """
        base = name or recipe
        row = (recipe, to_json(config or {}, "config"), to_json(grid, "grid"), reps, seed, recipe_file, notes)
        with self._write() as conn:
            unique = self._free_name(conn, base)
            cursor = conn.execute(
                """INSERT INTO experiments (name, recipe, config, grid, reps, seed, recipe_file, notes, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (unique, *row, time.time()),
            )
            experiment_id = cursor.lastrowid
            assert experiment_id is not None
            self._insert_runs(conn, experiment_id, recipe, runs)
            found = conn.execute(f"{_EXPERIMENT_SELECT} WHERE id = ?", (experiment_id,)).fetchone()
        return Experiment.from_row(found)

    @staticmethod
    def _free_name(conn: sqlite3.Connection, base: str) -> str:
        prefix = base + "-"
        taken = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM experiments WHERE name = ? OR substr(name, 1, ?) = ?",
                (base, len(prefix), prefix),
            )
        }
        if base not in taken:
            return base
        n = 2
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}"

    def get_experiment(self, experiment_id: int) -> Experiment:
        """The experiment with this id, or NotFoundError."""
        rows = self._read(f"{_EXPERIMENT_SELECT} WHERE id = ?", (experiment_id,))
        if not rows:
            raise self._not_found("experiment", experiment_id)
        return Experiment.from_row(rows[0])

    def find_experiment(self, name_or_id: str | int) -> Experiment:
        """The experiment with this exact name, else with this id; NotFoundError when neither."""
        if isinstance(name_or_id, str):
            rows = self._read(f"{_EXPERIMENT_SELECT} WHERE name = ?", (name_or_id,))
            if rows:
                return Experiment.from_row(rows[0])
            if not name_or_id.strip().isdigit():
                raise self._not_found("experiment", repr(name_or_id))
        return self.get_experiment(int(name_or_id))

    def list_experiments(self, *, limit: int | None = None) -> list[Experiment]:
        """Experiments, newest first."""
        sql = f"{_EXPERIMENT_SELECT} ORDER BY id DESC"
        params: tuple[Any, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (limit,)
        return [Experiment.from_row(r) for r in self._read(sql, params)]

    def run_counts(self, experiment: int | str | None = None) -> dict[str, int]:
        """How many runs are in each status, for one experiment (id or name) or for all."""
        counts = dict.fromkeys(RUN_STATUSES, 0)
        if experiment is None:
            rows = self._read("SELECT status, count(*) FROM runs GROUP BY status")
        else:
            experiment_id = self.find_experiment(experiment).id
            rows = self._read(
                "SELECT status, count(*) FROM runs WHERE experiment_id = ? GROUP BY status", (experiment_id,)
            )
        counts.update(dict(rows))
        return counts

    # -- queueing runs ----------------------------------------------------------------------------

    def add_runs(self, experiment_id: int, specs: Sequence[RunSpec]) -> list[Run]:
        """Queue runs of an experiment, all in one transaction; return them in order."""
        with self._write() as conn:
            row = conn.execute("SELECT recipe FROM experiments WHERE id = ?", (experiment_id,)).fetchone()
            if row is None:
                raise self._not_found("experiment", experiment_id)
            ids = self._insert_runs(conn, experiment_id, row[0], specs)
            if not ids:
                return []
            # Under the write lock new rowids are consecutive, so the range holds exactly our runs.
            rows = conn.execute(f"{_RUN_SELECT} WHERE id BETWEEN ? AND ? ORDER BY id", (ids[0], ids[-1]))
            return [Run.from_row(r) for r in rows]

    @staticmethod
    def _insert_runs(conn: sqlite3.Connection, experiment_id: int, recipe: str, specs: Sequence[RunSpec]) -> list[int]:
        now = time.time()
        ids = []
        for spec in specs:
            cursor = conn.execute(
                """INSERT INTO runs (experiment_id, recipe, config, rep, seed, priority, gpus_requested,
                   retries, status, created_at, gpus_allowed, per_gpu)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)""",
                (
                    experiment_id, spec.recipe or recipe, to_json(spec.config, "run config"), spec.rep,
                    spec.seed, spec.priority, spec.gpus_requested, spec.retries, now,
                    None if spec.gpus_allowed is None else to_json(list(spec.gpus_allowed)), spec.per_gpu,
                ),
            )  # fmt: skip
            ids.append(cursor.lastrowid)
        return ids

    # -- reading runs -----------------------------------------------------------------------------

    def get_run(self, run_id: int) -> Run:
        """The run with this id, or NotFoundError."""
        rows = self._read(f"{_RUN_SELECT} WHERE id = ?", (run_id,))
        if not rows:
            raise self._not_found("run", run_id)
        return Run.from_row(rows[0])

    def list_runs(
        self,
        experiment: int | str | None = None,
        status: str | Iterable[str] | None = None,
        *,
        limit: int | None = None,
    ) -> list[Run]:
        """Runs in submission order, optionally of one experiment (id or name) and in given statuses."""
        clauses, params = [], []
        if experiment is not None:
            clauses.append("experiment_id = ?")
            params.append(self.find_experiment(experiment).id)
        if status is not None:
            names = _statuses(status)
            clauses.append(f"status IN ({_marks(len(names))})")
            params.extend(names)
        sql = _RUN_SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [Run.from_row(r) for r in self._read(sql, params)]

    # -- the life of a run ------------------------------------------------------------------------

    def queued_runs(self, *, limit: int | None = None) -> list[Run]:
        """Queued runs in the order the scheduler considers them: highest priority, then oldest."""
        sql = f"{_RUN_SELECT} WHERE status = 'queued' ORDER BY priority DESC, id"
        params: list[Any] = []
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [Run.from_row(r) for r in self._read(sql, params)]

    def claim_run(self, run_id: int, *, host: str | None = None) -> Run | None:
        """Atomically move this queued run to running (a new attempt); None if it is not queued."""
        now = time.time()
        with self._write() as conn:
            cursor = conn.execute(
                f"""UPDATE runs SET {_ATTEMPT_RESET}, status = 'running', started_at = ?, heartbeat_at = ?,
                    host = ?, attempt = attempt + 1 WHERE id = ? AND status = 'queued'""",
                (now, now, host or socket.gethostname(), run_id),
            )
            if cursor.rowcount == 0:
                return None
            return Run.from_row(conn.execute(f"{_RUN_SELECT} WHERE id = ?", (run_id,)).fetchone())

    def statuses(self, run_ids: Iterable[int]) -> dict[int, str]:
        """The status of each of these runs (unknown ids are left out)."""
        ids = list(run_ids)
        if not ids:
            return {}
        return dict(self._read(f"SELECT id, status FROM runs WHERE id IN ({_marks(len(ids))})", ids))

    def set_priority(self, run_id: int, priority: int) -> Run:
        """Change a run's priority (it matters while the run is queued)."""
        with self._write() as conn:
            self._require_run(conn, run_id)
            conn.execute("UPDATE runs SET priority = ? WHERE id = ?", (int(priority), run_id))
            return Run.from_row(conn.execute(f"{_RUN_SELECT} WHERE id = ?", (run_id,)).fetchone())

    def get_setting(self, key: str, default: Any = None) -> Any:
        """A setting that outlives every process (the queue's paused flag, say)."""
        rows = self._read("SELECT value FROM settings WHERE key = ?", (key,))
        return from_json(rows[0][0]) if rows else default

    def set_setting(self, key: str, value: Any) -> None:
        """Store a setting as JSON."""
        with self._write() as conn:
            conn.execute("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                         "value = excluded.value", (key, to_json(value, f"setting {key!r}")))

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
                f"""UPDATE runs SET {_ATTEMPT_RESET}, status = 'running', started_at = ?, heartbeat_at = ?,
                    host = ?, attempt = attempt + 1 WHERE id = ?""",
                (now, now, host or socket.gethostname(), row[0]),
            )
            return Run.from_row(conn.execute(f"{_RUN_SELECT} WHERE id = ?", row).fetchone())

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
            return Run.from_row(conn.execute(f"{_RUN_SELECT} WHERE id = ?", (run_id,)).fetchone())

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
        _statuses(status)
        now = time.time()
        with self._write() as conn:
            current = self._require_run(conn, run_id)
            if expect is not None and current not in _statuses(expect):
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
        status; the exit code, signal, error and metrics given are still recorded.
        """
        if status not in FINAL_STATUSES:
            raise StoreError(f"{status!r} is not a final run status: use one of {', '.join(FINAL_STATUSES)}")
        now = time.time()
        with self._write() as conn:
            current = self._require_run(conn, run_id)
            conn.execute(
                """UPDATE runs SET status = ?, ended_at = coalesce(ended_at, ?), exit_code = coalesce(?, exit_code),
                   signal = coalesce(?, signal), error = coalesce(?, error), traceback = coalesce(?, traceback),
                   metrics = coalesce(?, metrics) WHERE id = ?""",
                (
                    status if current in ACTIVE_STATUSES else current, now, exit_code, signal, error, traceback,
                    None if metrics is None else to_json(metrics, "run metrics"), run_id,
                ),
            )  # fmt: skip
            return Run.from_row(conn.execute(f"{_RUN_SELECT} WHERE id = ?", (run_id,)).fetchone())

    def requeue_run(self, run_id: int) -> Run:
        """Send a run back to the queue in its original place, forgetting its last attempt."""
        with self._write() as conn:
            self._require_run(conn, run_id)
            conn.execute(f"UPDATE runs SET {_ATTEMPT_RESET}, status = 'queued' WHERE id = ?", (run_id,))
            return Run.from_row(conn.execute(f"{_RUN_SELECT} WHERE id = ?", (run_id,)).fetchone())

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

    # -- metrics ----------------------------------------------------------------------------------

    def metric_writer(self, run_id: int, *, batch_size: int = 5000, interval_s: float = 1.0) -> MetricWriter:
        """A buffered, thread-safe writer of a run's metrics; close it (or the store) when done."""
        writer = MetricWriter(self, run_id, batch_size=batch_size, interval_s=interval_s)
        self._writers.add(writer)
        return writer
