"""``tuiflow recipes``: list the recipes and their parameters."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tuiflow import lab
from tuiflow.cli.app import app

RecipesOption = typer.Option(None, "--recipes", help="Another folder of recipe files (repeatable).")


def warn_problems(problems: list) -> None:
    """Print the recipe files that could not be loaded, one line each, on stderr."""
    for problem in problems:
        typer.echo(f"tuiflow: warning: {problem}", err=True)


@app.command("recipes")
def recipes_command(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
    recipes: list[Path] = RecipesOption,
) -> None:
    """List the recipes found (shipped, ./recipes, $TUIFLOW_RECIPES, --recipes) and their parameters."""
    catalog = lab.recipe_catalog(recipes or [])
    warn_problems(catalog.problems)
    listed = [catalog.recipes[name] for name in sorted(catalog.recipes)]
    if as_json:
        typer.echo(json.dumps([r.to_json() for r in listed], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(listed)} recipe{'s' if len(listed) != 1 else ''}", title_justify="left")
    table.add_column("recipe", style="bold")
    table.add_column("description")
    table.add_column("parameters (default)")
    for item in listed:
        params = ", ".join(
            f"{name}={param.default!r}" + (f" of {list(param.choices)}" if param.choices else "")
            for name, param in item.params.items()
        )
        table.add_row(item.name, item.description, params)
    Console().print(table)
