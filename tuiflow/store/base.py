"""The connection every store query goes through: one SQLite connection, one lock, explicit transactions."""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .db import immediate, storage_refusal
from .errors import NotFoundError, StoreError
from .records import RUN_STATUSES, Run

if TYPE_CHECKING:
    import sqlite_utils

    from .metrics import MetricWriter

RUN_SELECT = f"SELECT {', '.join(Run.COLUMNS)} FROM runs"
"""A query for whole `Run` records: add the WHERE clause."""


def check_statuses(status: str | Iterable[str]) -> list[str]:
    """One status or several, as a list; StoreError naming the valid ones for a status that is not."""
    names = [status] if isinstance(status, str) else list(status)
    for name in names:
        if name not in RUN_STATUSES:
            raise StoreError(f"unknown run status {name!r}: use one of {', '.join(RUN_STATUSES)}")
    return names


def marks(n: int) -> str:
    """`n` SQL placeholders, for an IN (...) list."""
    return ", ".join("?" * n)


class StoreBase:
    """Owns the connection; subclasses add the queries. Safe to share between threads."""

    def __init__(self, conn: sqlite3.Connection, path: Path, home: Path) -> None:
        self._conn = conn
        # One connection serves every thread, so a transaction must never interleave with another
        # thread's statements: all access goes through this lock.
        self._lock = threading.RLock()
        self._writers: weakref.WeakSet[MetricWriter] = weakref.WeakSet()
        # Owners of foreground runs seen alive, and until when to believe it (see QueueStore).
        self._owners_alive: dict[tuple[int, float | None], float] = {}
        self.path = path
        """The SQLite file."""
        self.home = home
        """The tuiflow home holding the file."""

    @functools.cached_property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils view of the same connection, for ad-hoc queries; take `lock` around its use.
        Made on first use: sqlite-utils imports numpy, a quarter of a second that no command needs."""
        import sqlite_utils

        return sqlite_utils.Database(self._conn, recursive_triggers=False, execute_plugins=False)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of a read-only query the store has no method for, under the store's lock."""
        return self._read(sql, params)

    @property
    def lock(self) -> threading.RLock:
        """The lock serialising use of the connection across threads."""
        return self._lock

    def close(self) -> None:
        """Flush and close this store's metric writers, then close the connection."""
        for writer in list(self._writers):
            writer.close()
        with self._lock:
            self._conn.close()

    def __enter__(self) -> StoreBase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                with immediate(self._conn) as conn:
                    yield conn
            except sqlite3.Error as exc:
                # A full disk or a read-only home is the user's to fix: one line naming the home.
                refusal = storage_refusal(exc, self.path)
                if refusal is None:
                    raise
                raise refusal from None

    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A write transaction on the raw connection, for maintenance (telemetry retention)."""
        return self._write()

    def _not_found(self, what: str, key: object) -> NotFoundError:
        return NotFoundError(f"no {what} {key} in {self.path}")

    def _run_in(self, conn: sqlite3.Connection, run_id: int) -> Run:
        """The run as this transaction sees it (it must exist)."""
        return Run.from_row(conn.execute(f"{RUN_SELECT} WHERE id = ?", (run_id,)).fetchone())

    def _require_run(self, conn: sqlite3.Connection, run_id: int) -> str:
        """Return the run's status, or raise NotFoundError."""
        row = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise self._not_found("run", run_id)
        return row[0]
