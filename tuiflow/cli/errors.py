"""The error a user causes on the command line: one line on stderr and exit code 2, never a traceback.

Apart from `tuiflow.cli.app` (which imports typer) so that a bare ``tuiflow`` can open the app, and
say why it could not, before the typer CLI is built.
"""

from __future__ import annotations

from typing import NoReturn


class UserError(Exception):
    """An error the user caused: printed as one line, exit code 2, no traceback."""


def fail(message: str) -> NoReturn:
    """Stop the command with a one-line error."""
    raise UserError(message)
