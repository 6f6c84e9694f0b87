"""The typer app, and how the CLI reports errors: one line and exit code 2, never a traceback."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from tuiflow._version import __version__
from tuiflow.cli.errors import UserError, fail
from tuiflow.lab.limits import BOUNDS

if TYPE_CHECKING:
    from tuiflow.lab import Lab

app = typer.Typer(
    name="tuiflow",
    help="A terminal workbench for machine-learning experiments.",
    no_args_is_help=False,  # a bare `tuiflow` opens the app (see _root)
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"tuiflow {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """tuiflow: pipelines, recipes, a GPU scheduler and one SQLite store, in the terminal. Without a
    command it opens the app (`tuiflow tui`)."""
    if ctx.invoked_subcommand is None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            # Piped or scripted: an app there would draw into a file. The help says what there is.
            typer.echo(ctx.get_help(), err=True)
            typer.echo("\n(a bare `tuiflow` opens the app in a terminal; here there is none)", err=True)
            raise typer.Exit(2)
        from tuiflow.cli.tui import open_app

        open_app()


INT64_MAX = 2**63 - 1
"""The largest whole number SQLite holds: an id or count typed beyond it is refused where it is typed,
not met as an OverflowError deep in a query."""
MAX_SECONDS = 86_400.0
"""The longest interval, tick or grace a command takes (a day). More is a typo, and a timer asked to
wait 1e300 s overflows far from where the number was typed (in a detached daemon's log)."""
MAX_MIB = 1_048_576.0
"""The most MiB of GPU memory a command takes (1 TiB, more than any GPU holds)."""
MAX_PRIORITY = BOUNDS["priority"].high
"""A run's priority is from -MAX_PRIORITY to MAX_PRIORITY (`tuiflow.lab.limits`, which `lab` and the app read)."""


def whole_number(name: str, low: int | None = None, high: int | None = None) -> Callable[[int | None], int | None]:
    """A typer ``callback=`` that stops the command with one line unless ``low <= value <= high``: checked
    as the command line is read, before any store is opened."""

    def check(value: int | None) -> int | None:
        if value is None or ((low is None or value >= low) and (high is None or value <= high)):
            return value
        if low is not None and high is not None:
            fail(f"{name} must be a whole number from {low:,} to {high:,}, not {value}")
        fail(f"{name} must be at least {low:,}, not {value}" if low is not None
             else f"{name} must be at most {high:,}, not {value}")

    return check


def check_at_most(option: str, value: float, high: float, unit: str) -> None:
    """Stop the command with one line when ``value`` is over ``high`` (each option says its own lower bound)."""
    if value > high:
        fail(f"{option} must be at most {high:,.0f} {unit}, not {value:g}")


def _home_text(value: str) -> str:
    # Kept as typed: as a Path, `--home ""` would become "." (the current folder) before the store
    # could refuse an empty home.
    return value


HomeOption = typer.Option(None, "--home", parser=_home_text, metavar="DIR", show_default=False,
                          help="The tuiflow home (default: $TUIFLOW_HOME, else the user's data dir).")


_opened: list[Lab] = []
"""The homes this command opened, so an SQLite error met later can name the database file."""


def open_lab(home: str | None, *, create: bool = False, missing_ok: bool = False) -> Lab:
    """The home ``home`` (imported here: `--help` stays fast). A foreign or newer database is a user
    error, and so is a missing one unless ``create`` or ``missing_ok``: only commands that start state
    (``run``, ``daemon start``) create a store, ``run`` once everything it was given has been checked."""
    from tuiflow import lab

    opened = lab.open(home, create=create, missing_ok=missing_ok)
    _opened.append(opened)
    return opened


def user_errors() -> tuple[type[BaseException], ...]:
    """Exception types that mean the user asked for something wrong, not that tuiflow is broken: every
    error of the store, the recipes, the results and the scheduler is a LabError."""
    from tuiflow.lab import LabError

    return (UserError, LabError)


def _database_error(exc: sqlite3.DatabaseError) -> str:
    """One line for an SQLite error met after the store opened (a page damaged deep in the file, a
    lock held too long): the file, SQLite's words, and what to do when the file is damaged."""
    if _opened:
        # A full disk or a read-only home met outside the store's own writes: said as those are.
        refusal = _opened[-1].storage_refusal(exc)
        if refusal is not None:
            return str(refusal)
    path = str(_opened[-1].path) if _opened else "the store"
    text = str(exc)
    if "malformed" in text or "not a database" in text:
        return (f"{path}: {text}: the store is damaged; check it with `sqlite3 {path} 'PRAGMA integrity_check'`, "
                "or move it away to start a new one")
    return f"{path}: {text}"


def register_commands() -> None:
    """Import every command module: each registers its commands on `app` when imported."""
    import tuiflow.cli.serve  # noqa: F401 - `tuiflow serve` (it imports textual-serve only when it runs)
    from tuiflow.cli import compare, delete, demo, recipes, results, run, scheduler, top, tui  # noqa: F401


def main() -> None:
    """The whole CLI (`tuiflow.cli.start.main` comes here for any command but `tui`)."""
    register_commands()
    run_commands()


def run_commands() -> None:
    """Run the typer app with the commands registered so far: user errors, usage errors and SQLite
    errors end as one line on stderr and exit code 2; only a bug in tuiflow shows a traceback."""
    try:
        # Not standalone: click's own usage errors come here, to be told in one line like ours.
        code = app(standalone_mode=False)
    except user_errors() as exc:
        typer.echo(f"tuiflow: error: {exc}", err=True)
        sys.exit(2)
    except sqlite3.DatabaseError as exc:
        typer.echo(f"tuiflow: error: {_database_error(exc)}", err=True)
        sys.exit(2)
    except typer.TyperException as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare `tuiflow` or `tuiflow daemon`: the help
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)
        command = ctx.command_path if ctx is not None else "tuiflow"
        where = f"{command}: " if ctx is not None and ctx.parent is not None else ""
        message = exc.format_message().rstrip(".")
        typer.echo(f"tuiflow: error: {where}{message} (see `{command} --help`)", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("tuiflow: aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
