"""How the ``tuiflow`` command starts: the app first, the typer CLI only when a command is asked for.

A bare ``tuiflow`` in a terminal opens the app without importing typer or any command module (the
recipes and the pipeline engine, numpy with them): the app's first frame is all the user waits for.
``tuiflow tui ...`` builds the typer CLI with the `tui` command only, and so does ``tuiflow --ascii``
(or any of the app's options first: ``tuiflow --home DIR --refresh 2``, as README shows); everything else
builds it whole.
"""

from __future__ import annotations

import os
import sys

APP_OPTIONS = ("--ascii", "--home", "--refresh", "--theme")
"""`tuiflow tui`'s options: given first to a bare ``tuiflow``, they open the app (``tuiflow --ascii``)."""


def main() -> None:
    """Console-script entry point (``tuiflow``, ``python -m tuiflow``)."""
    args = sys.argv[1:]
    if not args and sys.stdin.isatty() and sys.stdout.isatty():
        sys.exit(_bare())
    if args and args[0].split("=", 1)[0] in APP_OPTIONS:
        sys.argv[1:] = args = ["tui", *args]
    if args[:1] == ["tui"]:
        import tuiflow.cli.tui  # noqa: F401 - registers `tui`, the one command this line can name
        from tuiflow.cli.app import run_commands

        run_commands()
    from tuiflow.cli.app import main as cli_main

    cli_main()


def _bare() -> int:
    """A bare ``tuiflow`` in a terminal: the app with its defaults; its exit code."""
    from tuiflow.errors import LabError

    try:
        return run_app()
    except LabError as exc:  # a home that cannot be opened, met before the app could say it
        print(f"tuiflow: error: {exc}", file=sys.stderr)
        return 2


def run_app(home: str | None = None, refresh: float = 1.0, ascii_only: bool = False, theme: str = "tuiflow") -> int:
    """Run the app until the user quits; its exit code. Options are as checked by ``tuiflow tui``; a
    home the app could not open is said in one line (the app closed at once), exit code 2."""
    from tuiflow.tui import Options, TuiflowApp
    from tuiflow.tui.options import ascii_from_env

    application = TuiflowApp(Options(home=home, refresh_s=refresh, ascii=ascii_only or ascii_from_env(),
                                     theme=theme))
    if theme not in application.available_themes:
        from tuiflow.cli.errors import fail

        fail(f"--theme {theme!r} is not a theme: {', '.join(sorted(application.available_themes))}")
    # Piped or scripted, the app would draw into a file and wait for keys that never come; under
    # `tuiflow serve` Textual's web driver (TEXTUAL_DRIVER) speaks over pipes, as it should.
    if not os.environ.get("TEXTUAL_DRIVER") and not (sys.stdin.isatty() and sys.stdout.isatty()):
        from tuiflow.cli.errors import fail

        fail("the app needs a terminal, and here stdin or stdout is not one (`tuiflow serve` shows it in a browser)")
    application.run()
    if application.fatal:
        print(f"tuiflow: error: {application.fatal}", file=sys.stderr)
        return 2
    return application.return_code or 0
