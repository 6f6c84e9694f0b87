"""``tuiflow run``: launch a recipe."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import typer

from tuiflow import lab
from tuiflow.cli.app import app, fail
from tuiflow.cli.recipes import RecipesOption, warn_problems


@app.command("run")
def run_command(
    recipe: str = typer.Argument(..., help="The recipe's name (see `tuiflow recipes`)."),
    sets: list[str] = typer.Option(None, "--set", help="A parameter value, key=value (repeatable)."),
    foreground: bool = typer.Option(False, "--foreground", help="Run here, in this terminal, and wait."),
    as_json: bool = typer.Option(False, "--json", help="Print the final metrics as JSON."),
    recipes: list[Path] = RecipesOption,
) -> None:
    """Run a recipe with its defaults overridden by --set key=value."""
    if not foreground:
        fail("runs in the background need the scheduler, which is not built yet: add --foreground")
    catalog = lab.recipe_catalog(recipes or [])
    warn_problems(catalog.problems)
    chosen = catalog.get(recipe)
    if as_json:  # stdout carries the JSON alone: what the recipe prints goes to stderr
        with contextlib.redirect_stdout(sys.stderr):
            result = lab.run_foreground(chosen, sets or [], echo=None)
    else:
        result = lab.run_foreground(chosen, sets or [], echo=typer.echo)
    if as_json:
        typer.echo(json.dumps({"recipe": recipe, "config": result.config, "metrics": result.metrics,
                               "profile": result.profiles}, indent=2, default=str))
        return
    from rich.console import Console

    from tuiflow.flow.profiler import render_profile

    console = Console()
    for number, rows in enumerate(result.profiles, 1):
        console.print(render_profile(rows, title=f"pipeline {number}: last run's profile"))
    console.print("[bold]final metrics[/]")
    for key, value in (result.metrics or {}).items():
        console.print(f"  {key} = {value}")
