"""Experiments as grids: a recipe, a base config, a grid of overrides and repetitions, expanded into
the configs of its runs. Everything is checked before anything is stored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tuiflow.flow import Domain
from tuiflow.recipes.params import RecipeError, parse_text
from tuiflow.recipes.recipe import Recipe

DEFAULT_LIMIT = 1000


class GridTooLarge(RecipeError):
    """A grid expands to more runs than the limit; confirm with ``--yes``."""


@dataclass(frozen=True)
class PlannedRun:
    """One run of an experiment: its full config, its repetition and its seed."""

    config: dict[str, Any]
    rep: int
    seed: int


def rep_seed(experiment_seed: int, rep: int) -> int:
    """The seed of repetition ``rep``: derived from the experiment's seed, the same on every machine."""
    return int(np.random.SeedSequence([experiment_seed, rep]).generate_state(1, dtype=np.uint32)[0])


def parse_grid(recipe: Recipe, texts: list[str]) -> Domain:
    """``["lr=1e-3,1e-2", "hidden=64,128"]`` from ``--grid``: the product of the options, each value
    read as its parameter's type."""
    grid = Domain()
    for text in texts:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key or not raw:
            raise RecipeError(f"--grid {text!r}: expected key=v1,v2,...")
        if key not in recipe.params:
            recipe.config({key: None})  # raises the unknown-parameter error, with a suggestion
        values = [parse_text(recipe.name, key, recipe.params[key], part.strip()) for part in raw.split(",")]
        if key in grid.parameters():
            raise RecipeError(f"--grid {key!r} is given twice")
        grid = grid * Domain({key: values})
    return grid


def expand(recipe: Recipe, base: Mapping[str, Any] | None = None, grid: Domain | None = None, reps: int = 1,
           seed: int = 0, limit: int | None = DEFAULT_LIMIT) -> list[PlannedRun]:
    """Every run of the experiment: each grid config over ``base`` over the defaults, ``reps`` times.

    When the recipe has a ``seed`` parameter that neither ``base`` nor the grid sets, each run's
    config gets its repetition's seed, so repetitions differ and each can be reproduced.
    """
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise RecipeError(f"--reps must be a whole number >= 1, not {reps!r}")
    grid = Domain() if grid is None else grid
    if not len(grid):
        raise RecipeError(f"recipe {recipe.name!r}: the grid is empty, so there is nothing to run")
    total = len(grid) * reps
    if limit is not None and total > limit:
        raise GridTooLarge(f"recipe {recipe.name!r}: the grid expands to {total:,} runs, more than {limit:,}; "
                           "add --yes to launch them all")
    base = dict(base or {})
    seeded = "seed" in recipe.params and "seed" not in base and "seed" not in grid.parameters()
    planned = []
    for overrides in grid:
        for rep in range(reps):
            run_seed = rep_seed(seed, rep)
            values = {**base, **overrides}
            if seeded:
                values["seed"] = _fit_seed(recipe, run_seed)
            planned.append(PlannedRun(recipe.config(values), rep, run_seed))
    return planned


def _fit_seed(recipe: Recipe, seed: int) -> Any:
    kind = recipe.params["seed"].type_name
    return float(seed) if kind == "float" else str(seed) if kind == "str" else seed
