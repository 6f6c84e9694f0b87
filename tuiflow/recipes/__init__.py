"""Recipes: named, parameterised experiments that the CLI and the TUI list and launch."""

from tuiflow.recipes.discovery import SHIPPED, Catalog, Problem, discover, load_file, recipe_dirs
from tuiflow.recipes.grid import (
    DEFAULT_LIMIT,
    MAX_RUNS,
    Grid,
    GridTooLarge,
    PlannedRun,
    expand,
    parse_grid,
    rep_seed,
)
from tuiflow.recipes.params import Param, ParamError, RecipeError
from tuiflow.recipes.recipe import Recipe, recipe, recipe_of
from tuiflow.recipes.requires import EXTRAS, MissingRequirement, Need
from tuiflow.recipes.run import MemorySink, Run

__all__ = [
    "DEFAULT_LIMIT",
    "EXTRAS",
    "MAX_RUNS",
    "SHIPPED",
    "Catalog",
    "Grid",
    "GridTooLarge",
    "MemorySink",
    "MissingRequirement",
    "Need",
    "Param",
    "ParamError",
    "PlannedRun",
    "Problem",
    "Recipe",
    "RecipeError",
    "Run",
    "discover",
    "expand",
    "load_file",
    "parse_grid",
    "recipe",
    "recipe_dirs",
    "recipe_of",
    "rep_seed",
]
