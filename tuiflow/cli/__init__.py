"""The ``tuiflow`` command line: everything the TUI can do, as typer commands.

Importing this package is light (the console script does, for `main`): a bare ``tuiflow`` opens the
app without building the typer CLI (`tuiflow.cli.start`). The typer app, every command registered, is
`tuiflow.cli.app.app` after `tuiflow.cli.app.register_commands()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuiflow.cli.start import main

if TYPE_CHECKING:
    from tuiflow.cli.errors import UserError, fail

__all__ = ["UserError", "fail", "main"]


def __getattr__(name: str) -> Any:
    """`UserError` and `fail`, imported on first use."""
    if name in ("UserError", "fail"):
        from tuiflow.cli import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'tuiflow.cli' has no attribute {name!r}")
