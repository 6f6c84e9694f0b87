"""``tuiflow delete EXPERIMENT``: remove a finished experiment, its runs and everything they left (metrics,
profiles, attempts, telemetry, log files), after a y/n question unless ``--yes``."""

from __future__ import annotations

import sys

import typer

from tuiflow.cli.app import HomeOption, app, fail, open_lab


@app.command("delete")
def delete_command(
    experiment: str = typer.Argument(..., metavar="EXPERIMENT", help="An experiment's name (exp:ID for its id)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete without asking (needed without a terminal)."),
    home: str = HomeOption,
) -> None:
    """Delete a finished experiment with its runs, their metrics, profiles and logs. Refused while any
    of its runs is queued or running (cancel them first)."""
    home_lab = open_lab(home)
    runs = home_lab.count_results(experiment=experiment)  # an unknown experiment: its one-line error
    active = home_lab.count_results(experiment=experiment, status=["queued", "running"])
    if active:
        fail(f"experiment {experiment} has {active:,} run{'s' * (active != 1)} queued or running: cancel them "
             f"first (tuiflow cancel {experiment}), then delete it")
    what = f"experiment {experiment} and its {runs:,} run{'s' * (runs != 1)} (metrics, profiles, logs)"
    if not yes:
        if not (sys.stdin is not None and sys.stdin.isatty()):
            fail(f"delete asks before removing {what}: add --yes to delete without a terminal")
        if not typer.confirm(f"Delete {what}? This cannot be undone.", default=False):
            typer.echo("nothing deleted")
            raise typer.Exit(1)
    deleted = home_lab.delete_experiment(experiment)
    typer.echo(f"deleted experiment {experiment}: {deleted:,} run{'s' * (deleted != 1)} with their metrics, "
               "profiles and logs")
