"""Opening the store's SQLite file: permissions, pragmas, the schema lock and write transactions."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from . import schema
from .errors import ReadOnlyStoreError, StoreError, StoreFullError
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


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK, effective_ids=os.access in os.supports_effective_ids)


def _disk_full(folder: Path) -> bool:
    """Whether the file system holding `folder` has no block (or no inode) left for us."""
    try:
        fs = os.statvfs(folder)
    except OSError:
        return False
    # Root may still use the blocks a file system keeps in reserve; nobody else may.
    blocks, inodes = (fs.f_bfree, fs.f_ffree) if os.geteuid() == 0 else (fs.f_bavail, fs.f_favail)
    return blocks == 0 or (fs.f_files > 0 and inodes == 0)


_READ_ONLY_FS = "a read-only file system"


def _read_only_reason(path: Path) -> str | None:
    """Why the database at `path` cannot be written, in a few words; None when nothing says so."""
    home = path.parent
    try:
        if os.statvfs(home).f_flag & os.ST_RDONLY:
            return _READ_ONLY_FS
    except OSError:
        pass
    if not _writable(home):
        return "no write permission on the folder"
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        if (home / name).exists() and not _writable(home / name):
            return f"no write permission on {name}"
    return None


# SQLite's primary result codes (sqlite3 names them from Python 3.11 only), and the words it says them with.
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL, _SQLITE_CANTOPEN = 8, 10, 13, 14
_SQLITE_WORDS = {"attempt to write a readonly database": _SQLITE_READONLY, "disk I/O error": _SQLITE_IOERR,
                 "database or disk is full": _SQLITE_FULL, "unable to open database file": _SQLITE_CANTOPEN}


def _primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        # Extended codes (SQLITE_READONLY_DIRECTORY, SQLITE_IOERR_SHMSIZE...) keep the primary in the low byte.
        return code & 0xFF
    return _SQLITE_WORDS.get(str(exc))


def storage_refusal(exc: BaseException, path: Path) -> StoreError | None:
    """The one-line error for a write the home's disk refused: full (StoreFullError) or read-only
    (ReadOnlyStoreError), naming the home; None when `exc` is some other failure."""
    home = path.parent
    if isinstance(exc, sqlite3.Error):
        primary = _primary_code(exc)
        if primary not in (_SQLITE_FULL, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CANTOPEN):
            return None
        full, read_only = primary == _SQLITE_FULL, primary == _SQLITE_READONLY
    elif isinstance(exc, OSError):
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
            return None
        full, read_only = exc.errno in (errno.ENOSPC, errno.EDQUOT), exc.errno == errno.EROFS
    else:
        return None
    # SQLite says "disk I/O error" when the -shm file cannot grow on a full disk, and "readonly
    # database" for a connection that only reads: the file system tells which it really is. A
    # read-only one (squashfs, a read-only mount) reports no free space too: it is read-only first.
    reason = _read_only_reason(path)
    if full or (reason != _READ_ONLY_FS and _disk_full(home)):
        return _full(home)
    if reason is None and not read_only:
        return None
    return _read_only(home, reason or str(exc))


def _full(home: Path) -> StoreFullError:
    return StoreFullError(f"the disk holding tuiflow home {home} is full: free some space there, or use another --home")


def _read_only(home: Path, reason: str) -> ReadOnlyStoreError:
    return ReadOnlyStoreError(f"tuiflow home {home} is read-only ({reason}): it can be read but not changed; "
                              "make it writable, or use another --home")


def _check_writable(path: Path) -> None:
    """ReadOnlyStoreError or StoreFullError when the home of `path` cannot take writes now."""
    reason = _read_only_reason(path)
    if reason is not None:
        raise _read_only(path.parent, reason)
    if _disk_full(path.parent):
        raise _full(path.parent)


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


def _connect_read_only(path: Path, lock_path: Path, timeout: float) -> sqlite3.Connection | None:
    """A connection that can only read and creates nothing in the home; None when there is none.

    For a home this process may not write, or whose disk is full: reading commands still work there.
    """
    shm, wal = Path(f"{path}-shm"), Path(f"{path}-wal")
    queries = []
    if shm.exists():
        # A live -shm (a writer's, perhaps another user's) is shared read-only: current data, WAL included.
        queries.append("mode=ro")
    with contextlib.suppress(OSError):
        if not wal.exists() or wal.stat().st_size == 0:
            # No write-ahead log to read: the file alone is the store, read without -shm or locks
            # (a writer that starts meanwhile goes unseen: fine for one command's reading).
            # Never otherwise: immutable ignores the log, and its transactions would be missing.
            queries.append("mode=ro&immutable=1")
    for query in queries:
        conn = None
        try:
            conn = sqlite3.connect(f"{path.as_uri()}?{query}", timeout=timeout, isolation_level=None,
                                   check_same_thread=False, uri=True)
            conn.execute("PRAGMA temp_store = MEMORY")
            _ensure_schema(conn, path, lock_path, create=False)
            return conn
        except (sqlite3.Error, OSError):  # OSError: an old schema's upgrade, which needs the lock file
            if conn is not None:
                conn.close()
    return None


def open_database(
    path: Path, lock_path: Path, timeout: float = BUSY_TIMEOUT_S, *, create: bool = True
) -> sqlite3.Connection:
    """Open (migrating if needed) the store at `path`; errors become one-line StoreErrors.

    With `create` a missing or empty file becomes a new store; without it, that is a NoStoreError
    and nothing is written (no database, no lock file). Without `create` a home that cannot be
    written (read-only, or its disk full) opens for reading: writes then raise ReadOnlyStoreError or
    StoreFullError. With `create` such a home is that error at once.
    """
    conn: sqlite3.Connection | None = None
    try:
        # A database this process may not write opens read-only from the start: SQLite would open it
        # read-only anyway, but first leave -wal and -shm files with the database's read-only mode,
        # and those would stop every writer even after the database became writable again.
        if not create and path.is_file() and not _writable(path):
            conn = _connect_read_only(path, lock_path, timeout)
            if conn is not None:
                return conn
            # No way to read without them (a -wal left by a crash, no -shm): SQLite's own way, below.
        with private_umask():
            if create:
                # Created 0600 before SQLite sees it: SQLite gives -wal and -shm the database's mode.
                os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            conn = connect(path, timeout, create=create)
            _ensure_schema(conn, path, lock_path, create)
        if create:
            # Those who create (`run`, `daemon start`, the daemon) go on to write, some in processes
            # they start: a home that cannot take it is said here, once, not in a detached daemon's log.
            _check_writable(path)
        return conn
    except BaseException as exc:
        if conn is not None:
            conn.close()
        refusal = storage_refusal(exc, path)
        if refusal is not None:
            fallback = None if create else _connect_read_only(path, lock_path, timeout)
            if fallback is not None:
                return fallback
            raise refusal from None
        if isinstance(exc, sqlite3.DatabaseError):
            if "not a database" in str(exc):
                raise StoreError(f"{path} is not an SQLite database: move it or pick another home") from None
            raise StoreError(f"cannot open {path}: {exc}") from None
        if isinstance(exc, OSError):
            raise StoreError(f"cannot open {path}: {exc.strerror or exc}") from None
        raise
