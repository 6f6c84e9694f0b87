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


LOCK_WAIT_S = 1.0  # clients probe the lock (is_locked) by holding it shared for an instant


def try_lock(home: Path, wait_s: float = LOCK_WAIT_S) -> IO[Any] | None:
    """Take the home's daemon lock (kept while the returned file stays open); None when another
    daemon holds it. A client's probe holds it for an instant only, so trying for ``wait_s`` tells
    the two apart."""
    handle = open(home / LOCK_NAME, "a+")  # noqa: SIM115 - held open for the daemon's whole life
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except OSError:
            if time.monotonic() >= deadline:
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
    """Record the daemon's identity (atomically: readers never see half a file)."""
    temporary = home / f".{INFO_NAME}.{os.getpid()}"
    temporary.write_text(json.dumps(asdict(info)))
    os.replace(temporary, home / INFO_NAME)


def read_info(home: Path) -> DaemonInfo | None:
    """The running daemon's identity, or None when no daemon holds the lock."""
    if not is_locked(home):
        return None
    for _ in range(50):  # a daemon that just took the lock writes its record a moment later
        try:
            return DaemonInfo(**json.loads((home / INFO_NAME).read_text()))
        except (OSError, ValueError, TypeError):
            time.sleep(0.02)
    return None
