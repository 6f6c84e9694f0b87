"""Recipes for clients: the catalog, and one config run in this process."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tuiflow.recipes import Catalog, Recipe, Run, discover


def recipe_catalog(extra_dirs: Iterable[str | os.PathLike] = ()) -> Catalog:
    """Every recipe found: shipped, ./recipes, $TUIFLOW_RECIPES and ``extra_dirs``."""
    return discover(extra_dirs)


@dataclass
class ForegroundResult:
    """What a run in this process gave: its config, final metrics and pipeline profiles."""

    config: dict[str, Any]
    metrics: dict[str, Any] | None
    profiles: list[list[dict[str, Any]]] = field(default_factory=list)


class _ProfileCollector:
    """Turns profiling on for every pipeline a recipe runs and keeps the last profile of each."""

    wants_profile = True

    def __init__(self) -> None:
        self.pipelines: list[Any] = []

    def pipeline_started(self, pipeline: Any, total: int | None) -> None:
        state = pipeline._state
        if all(p._state is not state for p in self.pipelines):
            self.pipelines.append(pipeline)

    def profiles(self) -> list[list[dict[str, Any]]]:
        return [p.profile_info for p in self.pipelines if p.profile_info]


def run_foreground(recipe: Recipe, assignments: list[str], echo: Callable[[str], Any] | None = None,
                   seed: int | None = None) -> ForegroundResult:
    """Run one config of ``recipe`` in this process: ``assignments`` are ``key=value`` strings."""
    from tuiflow.flow import add_observer, remove_observer

    config = recipe.config(recipe.parse(assignments))
    run_seed = seed if seed is not None else int(config.get("seed", 0) or 0)

    def on_log(step: int, values: dict[str, float]) -> None:
        if echo is not None:
            echo(f"step {step}: " + ", ".join(f"{k}={v:.4g}" for k, v in values.items()))

    run = Run(config, seed=run_seed, on_log=on_log)
    collector = _ProfileCollector()
    add_observer(collector)
    try:
        metrics = recipe.func(run)
    finally:
        remove_observer(collector)
    if metrics is not None and not isinstance(metrics, dict):
        metrics = {"result": metrics}
    return ForegroundResult(config, metrics, collector.profiles())
