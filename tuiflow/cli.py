"""The ``tuiflow`` command line: everything the TUI can do, as typer commands."""

from __future__ import annotations

import sys

import typer

from tuiflow._version import __version__

app = typer.Typer(
    name="tuiflow",
    help="A terminal workbench for machine-learning experiments.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class UserError(Exception):
    """An error the user caused: printed as one line, exit code 2, no traceback."""


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


@app.command()
def demo(
    items: int = typer.Option(20_000, min=1, help="Number of items in the demo dataset."),
    batch_size: int = typer.Option(64, min=1, help="Items per batch."),
    epochs: int = typer.Option(2, min=1, help="Number of passes over the data."),
    bar: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Run a small demo pipeline and print its per-action profile table."""
    from tuiflow.demo import run_demo

    run_demo(items=items, batch_size=batch_size, epochs=epochs, bar=bar)


def main() -> None:
    """Console-script entry point: user errors become one line and exit code 2."""
    try:
        app()
    except UserError as exc:
        typer.echo(f"tuiflow: error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
