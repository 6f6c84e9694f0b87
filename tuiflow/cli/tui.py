"""``tuiflow tui`` (and a bare ``tuiflow``): open the app in this terminal."""

from __future__ import annotations

import math

import typer

from tuiflow.cli.app import MAX_SECONDS, HomeOption, app, fail

THEMES_HELP = "tuiflow (dark, the default), tuiflow-light, or any Textual theme (textual-light, nord, ...)."


@app.command("tui")
def tui_command(
    home: str | None = HomeOption,
    refresh: float = typer.Option(1.0, "--refresh", metavar="SECONDS", help="Seconds between two reads of the store."),
    ascii_only: bool = typer.Option(False, "--ascii", help="Draw with ASCII only: no block or braille glyphs "
                                                         "(also TUIFLOW_ASCII=1)."),
    theme: str = typer.Option("tuiflow", "--theme", metavar="NAME", help=THEMES_HELP),
) -> None:
    """Open the app: the dashboard of GPUs and runs, launching, help. Closing it stops only the view."""
    open_app(home=home, refresh=refresh, ascii_only=ascii_only, theme=theme)


def open_app(home: str | None = None, refresh: float = 1.0, ascii_only: bool = False, theme: str = "tuiflow") -> None:
    """Check the options, then run the app until the user quits (`tuiflow.cli.start.run_app`, where a
    bare ``tuiflow`` goes without the typer CLI)."""
    if not math.isfinite(refresh) or refresh < 0.1:
        fail(f"--refresh must be at least 0.1 seconds, not {refresh:g}")
    if refresh > MAX_SECONDS:
        fail(f"--refresh must be at most {MAX_SECONDS:,.0f} seconds, not {refresh:g}")
    if home is not None and not home.strip():
        fail("--home must name a folder, not an empty string")
    from tuiflow.cli.start import run_app

    code = run_app(home=home, refresh=refresh, ascii_only=ascii_only, theme=theme)
    if code:
        raise typer.Exit(code)
