"""Errors raised by the experiment store."""

from __future__ import annotations

from tuiflow.errors import LabError


class StoreError(LabError):
    """A problem with the store a user can act on; the message is one line naming the database."""


class NotFoundError(StoreError):
    """An experiment, run or other record asked for by id or name does not exist."""


class NoStoreError(StoreError):
    """The home holds no tuiflow database, and the caller asked not to create one."""


class ReadOnlyStoreError(StoreError):
    """The home can be read but not written (permissions, a read-only file system): reading still works."""


class StoreFullError(StoreError):
    """The disk holding the home is full: nothing more can be written there until space is freed."""
