"""Where tuiflow keeps its state: the home directory and the database file in it."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from .errors import NoStoreError, StoreError

HOME_ENV = "TUIFLOW_HOME"
DB_NAME = "tuiflow.db"
LOCK_NAME = DB_NAME + ".lock"


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """Return the tuiflow home: `home` if given, else $TUIFLOW_HOME, else the user's data dir.

    The user's data dir is `$XDG_DATA_HOME/tuiflow`, or `~/.local/share/tuiflow` when XDG_DATA_HOME
    is unset or empty. An empty `home` or $TUIFLOW_HOME is a StoreError. Nothing is created here;
    see `ensure_home`.
    """
    # An empty home is a mistake (an unset shell variable: `--home "$DIR"`), never the default: the
    # command would act on another store than the one meant, and `Path("")` would be the current folder.
    if home is not None:
        if os.fspath(home) == "":
            raise StoreError("the tuiflow home is an empty path: name a directory (--home DIR), "
                             "or leave --home out for the default")
        return Path(home).expanduser().absolute()
    env = os.environ.get(HOME_ENV)
    if env is not None:
        if env == "":
            raise StoreError(f"${HOME_ENV} is set but empty: name a directory, or unset it for the default home")
        return Path(env).expanduser().absolute()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return (base / "tuiflow").absolute()


def ensure_home(home: Path) -> Path:
    """Create the home directory if it is missing, private to the user (mode 0700)."""
    # An existing directory keeps its mode: a shared TUIFLOW_HOME is the user's choice to make.
    # Parents such as ~/.local/share get the default mode, like any other tool would create them.
    for folder in (home, *home.parents):
        if folder.exists():
            if not folder.is_dir():
                # mkdir would say "File exists" about the home even when a parent is the file.
                raise NotADirectoryError(errno.ENOTDIR, f"{folder} is a file, not a directory", str(folder))
            break
    home.parent.mkdir(parents=True, exist_ok=True)
    try:
        home.mkdir(mode=0o700)
    except FileExistsError:
        if not home.is_dir():
            raise
    return home


def db_path(home: Path) -> Path:
    """Path of the store's SQLite file inside `home`."""
    return home / DB_NAME


def no_store(home: Path, why: str = "nothing has been run there yet") -> NoStoreError:
    """The one-line error for a home without a tuiflow database."""
    return NoStoreError(f"no tuiflow store in {home} ({why}; check --home or ${HOME_ENV})")


def existing_db(home: Path) -> Path:
    """The database file of `home`, which must exist already: NoStoreError when it does not.

    Creates nothing, so a mistyped home stays a mistake rather than becoming an empty store.
    """
    path = db_path(home)
    try:
        if path.is_file():
            return path
        if home.exists() and not home.is_dir():
            raise no_store(home, "it is a file, not a directory")
    except OSError as exc:
        raise StoreError(f"cannot open {path}: {exc.strerror or exc}") from None
    raise no_store(home)
