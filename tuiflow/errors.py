"""The root of the errors a user can cause and fix: `LabError`. The store's, the recipes' and the
scheduler's errors derive from it, so a client catches one class and shows its one-line message."""


class LabError(Exception):
    """Something a user can act on: the message is one line that says what, where and what to do."""
