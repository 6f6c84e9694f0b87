"""Errors raised by the experiment store."""

from __future__ import annotations


class StoreError(Exception):
    """A problem with the store a user can act on; the message is one line naming the database."""


class NotFoundError(StoreError):
    """An experiment, run or other record asked for by id or name does not exist."""


class NoStoreError(StoreError):
    """The home holds no tuiflow database, and the caller asked not to create one."""
