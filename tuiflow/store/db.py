"""Opening the store's SQLite file: permissions, pragmas, the schema lock and write transactions."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from . import schema
from .errors import StoreError
from .home import no_store

BUSY_TIMEOUT_S = 30.0


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Create files readable by the user only while the block runs (the db, its -wal and -shm)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created 0600) for the duration of the block."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def connect(path: Path, timeout: float = BUSY_TIMEOUT_S, *, create: bool = True) -> sqlite3.Connection:
    """Open a connection with the store's settings; the schema is not checked here.

    With `create` False a missing file is an error rather than a new empty database.
    """
    # mode=rw: SQLite itself refuses to create the file, so a check made before cannot race.
    target = path if create else path.as_uri() + "?mode=rw"
    # isolation_level=None: the driver never opens transactions behind our back, so every write
    # transaction is an explicit BEGIN IMMEDIATE (see `immediate`).
    conn = sqlite3.connect(target, timeout=timeout, isolation_level=None, check_same_thread=False, uri=not create)
    # WAL makes commits durable against a process crash at synchronous=NORMAL; only a power loss
    # can drop the last transactions, which is the usual trade for experiment logs.
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -32000")
    # Big metric bursts grow the WAL; cap what it keeps on disk once checkpointed.
    conn.execute("PRAGMA journal_size_limit = 67108864")
    return conn


@contextlib.contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block in one write transaction, taking the write lock up front.

    BEGIN IMMEDIATE waits on busy_timeout for other writers; a deferred BEGIN that later upgrades
    from a read to a write lock fails at once with "database is locked" instead.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _ensure_schema(conn: sqlite3.Connection, path: Path, lock_path: Path, create: bool = True) -> int:
    # Fast path without the lock: a current database is the common case, and a committed
    # version never goes back.
    version = schema.read_version(conn, path) if path.stat().st_size > 0 else None
    if version is not None:
        schema.check_supported(version, path)
        if version == schema.SCHEMA_VERSION:
            return version
    elif not create:
        # An empty file (a creation that never finished, or a `touch`): no store to read yet.
        raise no_store(path.parent, f"{path.name} is empty")
    # One process creates or migrates; the others wait here and then find it done.
    with file_lock(lock_path):
        # Switching to WAL needs the database to itself; under the lock nobody else is creating it.
        conn.execute("PRAGMA journal_mode = WAL")
        with immediate(conn):
            version = schema.read_version(conn, path)
            if version is not None:
                schema.check_supported(version, path)
            if version != schema.SCHEMA_VERSION:
                version = schema.upgrade(conn, version)
    return version


def open_database(
    path: Path, lock_path: Path, timeout: float = BUSY_TIMEOUT_S, *, create: bool = True
) -> sqlite3.Connection:
    """Open (migrating if needed) the store at `path`; errors become one-line StoreErrors.

    With `create` a missing or empty file becomes a new store; without it, that is a NoStoreError
    and nothing is written (no database, no lock file).
    """
    conn: sqlite3.Connection | None = None
    try:
        with private_umask():
            if create:
                # Created 0600 before SQLite sees it: SQLite gives -wal and -shm the database's mode.
                os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            conn = connect(path, timeout, create=create)
            _ensure_schema(conn, path, lock_path, create)
        return conn
    except BaseException as exc:
        if conn is not None:
            conn.close()
        if isinstance(exc, sqlite3.DatabaseError):
            if "not a database" in str(exc):
                raise StoreError(f"{path} is not an SQLite database: move it or pick another home") from None
            raise StoreError(f"cannot open {path}: {exc}") from None
        if isinstance(exc, OSError):
            raise StoreError(f"cannot open {path}: {exc.strerror or exc}") from None
        raise
