"""Who the daemon of a home is: a lock file it holds for its whole life, and a small JSON record
(pid, start time, executor) beside it. One daemon per home: a second one cannot take the lock."""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from tuiflow.store import process_alive, process_start_time

LOCK_NAME = "daemon.lock"
INFO_NAME = "daemon.json"
LOG_NAME = "daemon.log"


@dataclass(frozen=True)
class DaemonInfo:
    """What a running daemon says about itself."""

    pid: int
    home: str
    executor: str
    started_at: float
    host: str
    version: str
    pid_start_time: float | None = None  # when its process began: a reused pid has another


LOCK_WAIT_S = 1.0  # clients probe the lock (is_locked) by holding it shared for an instant
RECORD_WAIT_S = 1.0  # a daemon that just took the lock writes its record a moment later


def try_lock(home: Path, wait_s: float = LOCK_WAIT_S) -> IO[Any] | None:
    """Take the home's daemon lock (kept while the returned file stays open); None when another
    daemon holds it. A client's probe holds it for an instant only, so a lock held with no live
    daemon's record beside it is tried again for ``wait_s``; a lock held by the daemon the record
    names is given up at once, or this loser would take the home the moment that daemon stops."""
    handle = open(home / LOCK_NAME, "a+")  # noqa: SIM115 - held open for the daemon's whole life
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except OSError:
            if time.monotonic() >= deadline or _live_record(home) is not None:
                handle.close()
                return None
            time.sleep(0.01)


def is_locked(home: Path) -> bool:
    """Whether some process holds the home's daemon lock (that is, a daemon runs)."""
    if not (home / LOCK_NAME).exists():
        return False
    with open(home / LOCK_NAME, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def write_info(home: Path, info: DaemonInfo) -> None:
    """Record the daemon's identity (atomically: readers never see half a file). Only the holder
    of the lock writes it, right after taking the lock."""
    temporary = home / f".{INFO_NAME}.{os.getpid()}"
    temporary.write_text(json.dumps(asdict(info)))
    os.replace(temporary, home / INFO_NAME)


def clear_info(home: Path) -> None:
    """Remove the daemon's record, before its lock is let go (so a record always has its holder)."""
    (home / INFO_NAME).unlink(missing_ok=True)


def read_info(home: Path) -> DaemonInfo | None:
    """The running daemon's identity, or None when no daemon holds the lock. A record left by a
    daemon that was killed (SIGKILL leaves it) is not believed: its process is gone, or its pid now
    belongs to a process that started later."""
    deadline = time.monotonic() + RECORD_WAIT_S
    while is_locked(home):
        info = _live_record(home)
        if info is not None or time.monotonic() >= deadline:
            return info
        time.sleep(0.02)  # the lock's new holder has not written its record yet
    return None


def _live_record(home: Path) -> DaemonInfo | None:
    """The record beside the lock when the process it names is alive and is the one that wrote it."""
    try:
        info = DaemonInfo(**json.loads((home / INFO_NAME).read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return info if is_running(info) else None


def is_running(info: DaemonInfo) -> bool:
    """Whether the process a record names is alive (not a zombie) and is the one that wrote it."""
    if info.pid_start_time is not None:
        return process_alive(info.pid, info.pid_start_time)
    # An older record, without the start time: its writer began before it wrote it.
    began = process_start_time(info.pid)
    return began is not None and began <= info.started_at + 1.0 and process_alive(info.pid, began)
