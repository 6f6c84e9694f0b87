"""Experiments as grids: a recipe, a base config, a grid of overrides and repetitions, expanded into
the configs of its runs. Everything is checked before anything is stored."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tuiflow.flow import Domain
from tuiflow.recipes.params import INT64_MAX, RecipeError, parse_text
from tuiflow.recipes.recipe import Recipe

DEFAULT_LIMIT = 1000
MAX_RUNS = 100_000
"""No experiment has more runs, whatever limit is asked: storing 100,000 takes seconds and half a GB."""


class GridTooLarge(RecipeError):
    """A grid expands to more runs than the limit (`limit`; `hard` when it is `MAX_RUNS`, which no
    confirmation lifts). The message names no command-line flag: a client adds how to confirm."""

    def __init__(self, message: str, total: int, limit: int, hard: bool) -> None:
        super().__init__(message)
        self.total, self.limit, self.hard = total, limit, hard


class Grid:
    """The product of ``--grid`` options, kept as its options: its size is a product of lengths, known
    before a single config is built (a grid of 10,000 x 10,000 x 10,000 must be refused, not built)."""

    def __init__(self, options: Mapping[str, list[Any]] | None = None) -> None:
        self.options: dict[str, list[Any]] = {key: list(values) for key, values in (options or {}).items()}

    @property
    def size(self) -> int:
        """How many configs the product has (1 for no options: the one empty config)."""
        return math.prod(len(values) for values in self.options.values())

    def parameters(self) -> list[str]:
        """The parameter names the grid sets."""
        return list(self.options)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        names = list(self.options)
        return (dict(zip(names, combo)) for combo in itertools.product(*self.options.values()))

    def __repr__(self) -> str:
        return f"Grid({self.size:,} configs over {self.parameters()})"


@dataclass(frozen=True)
class PlannedRun:
    """One run of an experiment: its full config, its repetition and its seed."""

    config: dict[str, Any]
    rep: int
    seed: int


def rep_seed(experiment_seed: int, rep: int) -> int:
    """The seed of repetition ``rep``: derived from the experiment's seed, the same on every machine."""
    return int(np.random.SeedSequence([experiment_seed, rep]).generate_state(1, dtype=np.uint32)[0])


def parse_grid(recipe: Recipe, texts: list[str]) -> Grid:
    """``["lr=1e-3,1e-2", "hidden=64,128"]`` from ``--grid``: the product of the options, each value
    read as its parameter's type (kept as options: see `Grid`)."""
    options: dict[str, list[Any]] = {}
    for text in texts:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key or not raw:
            raise RecipeError(f"--grid {text!r}: expected key=v1,v2,...")
        if key not in recipe.params:
            recipe.config({key: None})  # raises the unknown-parameter error, with a suggestion
        if key in options:
            raise RecipeError(f"--grid {key!r} is given twice")
        options[key] = [parse_text(recipe.name, key, recipe.params[key], part.strip()) for part in raw.split(",")]
    return Grid(options)


def expand(recipe: Recipe, base: Mapping[str, Any] | None = None, grid: Grid | Domain | None = None, reps: int = 1,
           seed: int = 0, limit: int | None = DEFAULT_LIMIT) -> list[PlannedRun]:
    """Every run of the experiment: each grid config over ``base`` over the defaults, ``reps`` times.

    When the recipe has a ``seed`` parameter that neither ``base`` nor the grid sets, each run's
    config gets its repetition's seed, so repetitions differ and each can be reproduced. More runs
    than ``limit`` (None: no limit) is a `GridTooLarge`; more than `MAX_RUNS` always is.
    """
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise RecipeError(f"reps must be a whole number >= 1, not {reps!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= INT64_MAX:
        # Repetition seeds derive from it (numpy takes no negative one), and the store keeps it (64 bits).
        raise RecipeError(f"the seed must be a whole number from 0 to 2**63 - 1, not {seed!r}")
    grid = Grid() if grid is None else grid
    # Counted, never built, before it is checked: the product of a few long options is astronomical.
    configs = grid.size if isinstance(grid, Grid) else len(grid)
    if not configs:
        raise RecipeError(f"recipe {recipe.name!r}: the grid is empty, so there is nothing to run")
    total = configs * reps
    if total > MAX_RUNS:
        sizes = f" ({configs:,} config{'s' if configs != 1 else ''} x {reps:,} reps)" if reps > 1 else ""
        raise GridTooLarge(f"recipe {recipe.name!r}: the grid expands to {total:,} runs{sizes}; one experiment "
                           f"holds at most {MAX_RUNS:,}: split it into smaller ones", total, MAX_RUNS, True)
    if limit is not None and total > limit:
        raise GridTooLarge(f"recipe {recipe.name!r}: the grid expands to {total:,} runs, more than {limit:,}; "
                           "raise the limit to launch them all", total, limit, False)
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
