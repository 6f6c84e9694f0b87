"""Recipes: named, parameterised experiments that the CLI and the TUI list and launch."""

from tuiflow.recipes.discovery import SHIPPED, Catalog, Problem, discover, load_file, recipe_dirs
from tuiflow.recipes.params import Param, ParamError, RecipeError
from tuiflow.recipes.recipe import Recipe, recipe, recipe_of
from tuiflow.recipes.run import MemorySink, Run

__all__ = [
    "SHIPPED", "Catalog", "MemorySink", "Param", "ParamError", "Problem", "Recipe", "RecipeError", "Run",
    "discover", "load_file", "recipe", "recipe_dirs", "recipe_of",
]
