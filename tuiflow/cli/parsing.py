"""Command-line text into the Python values `Lab` takes: ``--set key=value``, ``--grid key=v1,v2`` and
``--gpus all|none|0,2|0-3``. Only the CLI reads such text; `Lab` checks the values it is given again.

Values are read as their parameter's type (``ParamInfo.type``), with the recipes' own reader
(`tuiflow.recipes.params.parse_text`), so an error says the same wherever the value was typed. The
recipes are imported when a value is read (they bring the pipeline engine and numpy), not with the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuiflow.lab import RecipeInfo
    from tuiflow.recipes import Param


def _params(recipe: RecipeInfo) -> dict[str, Param]:
    from tuiflow.recipes import Param

    return {name: Param(p.default, tuple(p.choices) if p.choices is not None else None, p.help, p.type)
            for name, p in recipe.params.items()}


def parse_sets(recipe: RecipeInfo, texts: list[str]) -> dict[str, Any]:
    """``["lr=0.01", "hidden=64"]`` from ``--set``: each value read as its parameter's type."""
    from tuiflow.recipes import RecipeError
    from tuiflow.recipes.params import check_names, parse_text

    params = _params(recipe)
    values: dict[str, Any] = {}
    for text in texts:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise RecipeError(f"recipe {recipe.name!r}: {text!r} is not key=value")
        check_names(recipe.name, params, {key: None})  # an unknown name, with a suggestion
        values[key] = parse_text(recipe.name, key, params[key], raw)
    return values


def parse_grid(recipe: RecipeInfo, texts: list[str]) -> dict[str, list[Any]]:
    """``["lr=1e-3,1e-2", "hidden=64,128"]`` from ``--grid``: parameter -> the values to try, each read
    as its parameter's type."""
    from tuiflow.recipes import RecipeError
    from tuiflow.recipes.params import check_names, parse_text

    params = _params(recipe)
    options: dict[str, list[Any]] = {}
    for text in texts:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key or not raw:
            raise RecipeError(f"--grid {text!r}: expected key=v1,v2,...")
        check_names(recipe.name, params, {key: None})
        if key in options:
            raise RecipeError(f"--grid {key!r} is given twice")
        options[key] = [parse_text(recipe.name, key, params[key], part.strip()) for part in raw.split(",")]
    return options


def needs_gpu_indices(spec: str | None) -> bool:
    """Whether a ``--gpus`` value names indices, which only this machine's GPUs can check."""
    return spec is not None and spec.strip().lower() not in ("all", "none", "cpu")


def parse_gpus(spec: str | None, available: list[int]) -> list[int] | None:
    """The GPU indices a ``--gpus`` value allows: None for "all" (or no value: any GPU), [] for "none"
    (CPU only), or indices like "0,2" or "0-3", each of which must be in ``available``. A malformed
    value or an index that does not exist is a ValueError saying what exists."""
    if spec is None or spec.strip().lower() == "all":
        return None
    text = spec.strip().lower()
    if text in ("none", "cpu"):
        return []
    chosen: set[int] = set()
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        try:
            first = int(low)
            last = int(high) if dash else first
            if first < 0 or last < first:
                raise ValueError
        except ValueError:
            raise ValueError(f"invalid GPU selection {spec!r}: expected 'all', 'none' or indices like 0,2 or 0-3")\
                from None
        for index in range(first, last + 1):
            if index not in available:
                have = f"GPUs {', '.join(map(str, sorted(available)))}" if available else "no GPUs"
                raise ValueError(f"GPU {index} does not exist: this machine has {have}")
            chosen.add(index)
    return sorted(chosen)
