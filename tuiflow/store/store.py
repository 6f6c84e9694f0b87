"""The experiment store: opening it, experiments and their runs, over one SQLite file.

The queue and the life of a run are in `queue`, what runs leave behind in `results`.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

from .base import RUN_SELECT, check_statuses, marks
from .db import BUSY_TIMEOUT_S, open_database
from .deleting import DeletingStore
from .errors import StoreError
from .home import LOCK_NAME, db_path, ensure_home, existing_db, resolve_home
from .metrics import MetricWriter
from .nodes import NodesStore
from .pages import PagesStore
from .queue import QueueStore
from .records import EXECUTORS, RUN_STATUSES, Experiment, Run, RunSpec, to_json
from .results import ResultsStore
from .views import ViewsStore

_EXPERIMENT_SELECT = f"SELECT {', '.join(Experiment.COLUMNS)} FROM experiments"


class Store(QueueStore, NodesStore, ResultsStore, PagesStore, ViewsStore, DeletingStore):
    """The store: one SQLite file in the tuiflow home, shared by every tuiflow process.

    Open with `Store.open(home)`; one instance may be used from many threads.
    """

    @classmethod
    def open(
        cls, home: str | os.PathLike[str] | None = None, *, create: bool = True, timeout: float = BUSY_TIMEOUT_S
    ) -> Store:
        """Open the store in `home` (see `resolve_home`), migrating it as needed.

        With `create` (the default) a missing home and database are created; without it they must
        exist already, else NoStoreError, and nothing is created: commands that only read or steer
        runs use that, so a mistyped home is an error rather than a new empty store.
        """
        root = resolve_home(home)
        if create:
            try:
                ensure_home(root)
            except OSError as exc:
                raise StoreError(f"cannot create tuiflow home {root}: {exc.strerror or exc}") from None
            path = db_path(root)
        else:
            path = existing_db(root)
        conn = open_database(path, root / LOCK_NAME, timeout, create=create)
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
        recipe_sha256: str | None = None,
        notes: str = "",
        source_run: int | None = None,
        runs: Sequence[RunSpec] = (),
    ) -> Experiment:
        """Create an experiment, and queue `runs` with it in the same transaction.

        Names are unique: a name already taken gets a suffix (`name-2`, `name-3`, ...); None means
        the recipe's name. `source_run`: the run it was cloned from.
        """
        base = name or recipe
        row = (recipe, to_json(config or {}, "config"), to_json(grid, "grid"), reps, seed, recipe_file, notes,
               recipe_sha256, source_run)
        with self._write() as conn:
            unique = self._free_name(conn, base)
            cursor = conn.execute(
                """INSERT INTO experiments (name, recipe, config, grid, reps, seed, recipe_file, notes, recipe_sha256,
                   source_run, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
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

    def set_recipe_sha256(self, experiment_id: int, digest: str | None) -> None:
        """Accept the recipe file as it is now for the experiment's runs (see `tuiflow retry --refresh`)."""
        with self._write() as conn:
            if conn.execute("UPDATE experiments SET recipe_sha256 = ? WHERE id = ?",
                            (digest, experiment_id)).rowcount == 0:
                raise self._not_found("experiment", experiment_id)

    def get_experiment(self, experiment_id: int) -> Experiment:
        """The experiment with this id, or NotFoundError."""
        if not -(2**63) <= experiment_id < 2**63:
            raise self._not_found("experiment", experiment_id)
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
            rows = conn.execute(f"{RUN_SELECT} WHERE id BETWEEN ? AND ? ORDER BY id", (ids[0], ids[-1]))
            return [Run.from_row(r) for r in rows]

    @staticmethod
    def _insert_runs(conn: sqlite3.Connection, experiment_id: int, recipe: str, specs: Sequence[RunSpec]) -> list[int]:
        now = time.time()
        ids = []
        for spec in specs:
            _check_executor(spec)
            cursor = conn.execute(
                """INSERT INTO runs (experiment_id, recipe, config, rep, seed, priority, gpus_requested,
                   retries, status, created_at, gpus_allowed, per_gpu, executor, owner_pid, owner_start_time,
                   workdir)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)""",
                (
                    experiment_id, spec.recipe or recipe, to_json(spec.config, "run config"), spec.rep,
                    spec.seed, spec.priority, spec.gpus_requested, spec.retries, now,
                    None if spec.gpus_allowed is None else to_json(list(spec.gpus_allowed)), spec.per_gpu,
                    spec.executor, spec.owner_pid, spec.owner_start_time, spec.workdir,
                ),
            )  # fmt: skip
            ids.append(cursor.lastrowid)
        return ids

    # -- reading runs -----------------------------------------------------------------------------

    def get_run(self, run_id: int) -> Run:
        """The run with this id, or NotFoundError."""
        if not -(2**63) <= run_id < 2**63:  # no such row, and SQLite could not even take the number
            raise self._not_found("run", run_id)
        rows = self._read(f"{RUN_SELECT} WHERE id = ?", (run_id,))
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
            names = check_statuses(status)
            clauses.append(f"status IN ({marks(len(names))})")
            params.extend(names)
        sql = RUN_SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "") + " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [Run.from_row(r) for r in self._read(sql, params)]

    # -- metrics ----------------------------------------------------------------------------------

    def metric_writer(self, run_id: int, *, batch_size: int = 5000, interval_s: float = 1.0) -> MetricWriter:
        """A buffered, thread-safe writer of a run's metrics; close it (or the store) when done."""
        writer = MetricWriter(self, run_id, batch_size=batch_size, interval_s=interval_s)
        self._writers.add(writer)
        return writer


def _check_executor(spec: RunSpec) -> None:
    """StoreError for a run spec whose executor is unknown, or whose owner does not fit it."""
    if spec.executor not in EXECUTORS:
        raise StoreError(f"unknown executor {spec.executor!r}: use one of {', '.join(EXECUTORS)}")
    if spec.executor == "foreground" and spec.owner_pid is None:
        # Without an owner nobody could tell that its command has gone, and the run would wait forever.
        raise StoreError("a foreground run needs its owner's pid (owner_pid): the command that will run it")
    if spec.executor != "foreground" and (spec.owner_pid is not None or spec.owner_start_time is not None):
        raise StoreError(f"only a foreground run has an owner, not one for the {spec.executor}")
