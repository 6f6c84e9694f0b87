"""``tuiflow recipes``: list the recipes and their parameters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
    # Recipes come from folders, not from a home: this Lab never opens its home (whose store may be
    # missing, read-only or of another version without that mattering here).
    shelf = lab.Lab(Path())
    shelf.use_recipe_dirs(recipes or [])
    listed = shelf.recipes()
    warn_problems(shelf.problems)
    if as_json:
        typer.echo(json.dumps([_recipe_json(r) for r in listed], indent=2))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{len(listed)} recipe{'s' if len(listed) != 1 else ''}", title_justify="left")
    table.add_column("recipe", style="bold")
    table.add_column("description")
    table.add_column("parameters (default)")
    for item in listed:
        params = ", ".join(
            f"{name}={param.default!r}" + (f" of {list(param.choices)}" if param.choices else "")
            for name, param in item.params.items()
        )
        table.add_row(item.name, Text(item.description + _needs(item)), Text(params))  # Text: "[torch]" is no markup
    Console().print(table)


def _needs(recipe: lab.RecipeInfo) -> str:
    """`` (needs tuiflow[torch] with framework=torch, ...)``: what the recipe's runs need installed."""
    said = [need["needs"] + (f" with {need['param']}={need['value']!r}" if "param" in need else "")
            for need in recipe.requires]
    return f" (needs {', '.join(said)})" if said else ""


def _recipe_json(recipe: lab.RecipeInfo) -> dict[str, Any]:
    """A recipe as `tuiflow recipes --json` prints it: each parameter's default, type, choices (a list
    or null), and its help and unit when it has them; and what its runs need installed, when anything."""
    params = {}
    for name, param in recipe.params.items():
        params[name] = {"default": param.default, "type": param.type, "choices": param.choices}
        if param.help:
            params[name]["help"] = param.help
        if param.unit:
            params[name]["unit"] = param.unit
    listed = {"name": recipe.name, "description": recipe.description, "file": recipe.file, "params": params}
    if recipe.requires:
        listed["requires"] = recipe.requires
    return listed
