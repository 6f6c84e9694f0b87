"""The typer app, and how the CLI reports errors: one line and exit code 2, never a traceback."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from tuiflow._version import __version__

app = typer.Typer(
    name="tuiflow",
    help="A terminal workbench for machine-learning experiments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class UserError(Exception):
    """An error the user caused: printed as one line, exit code 2, no traceback."""


def fail(message: str) -> NoReturn:
    """Stop the command with a one-line error."""
    raise UserError(message)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"tuiflow {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """tuiflow: pipelines, recipes, a GPU scheduler and one SQLite store, in the terminal."""


HomeOption = typer.Option(None, "--home", help="The tuiflow home (default: $TUIFLOW_HOME, else the user's "
                                              "data dir).", show_default=False)


def open_store(home: str | None, *, create: bool = False):  # -> tuiflow.store.Store; lazy: `--help` stays fast
    """The store in ``home``; a foreign or newer database is a user error, and so is a missing one
    unless ``create``: only commands that start state (``run``, ``daemon start``) create a store."""
    from tuiflow.store import Store

    return Store.open(home, create=create)


def user_errors() -> tuple[type[BaseException], ...]:
    """Exception types that mean the user asked for something wrong, not that tuiflow is broken."""
    from tuiflow.recipes import RecipeError
    from tuiflow.store import StoreError

    return (UserError, RecipeError, StoreError)


def main() -> None:
    """Console-script entry point."""
    import tuiflow.cli  # noqa: F401 - registers the commands

    try:
        app(standalone_mode=True)
    except user_errors() as exc:
        typer.echo(f"tuiflow: error: {exc}", err=True)
        sys.exit(2)
