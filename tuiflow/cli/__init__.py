"""The ``tuiflow`` command line: everything the TUI can do, as typer commands."""

from tuiflow.cli import demo, recipes, results, run, scheduler, top, tui  # noqa: F401 - each module registers its commands
from tuiflow.cli.app import UserError, app, fail, main

__all__ = ["UserError", "app", "fail", "main"]
