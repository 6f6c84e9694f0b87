"""The ``@recipe`` decorator and the Recipe record."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tuiflow.recipes.params import Param, RecipeError, make_param, parse_text, resolve_config

_MARK = "__tuiflow_recipe__"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Recipe:
    """A named, parameterised experiment: ``func(run)`` runs one config and returns final metrics."""

    name: str
    func: Callable[..., Any] = field(repr=False)
    description: str = ""
    params: dict[str, Param] = field(default_factory=dict)
    file: str = ""

    def config(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overridden by ``overrides``; wrong names, types or choices raise ParamError."""
        return resolve_config(self.name, self.params, overrides or {})

    def parse(self, assignments: list[str]) -> dict[str, Any]:
        """``["lr=0.01", "hidden=64"]`` from the command line, each read as its parameter's type."""
        values: dict[str, Any] = {}
        for text in assignments:
            key, sep, raw = text.partition("=")
            key = key.strip()
            if not sep or not key:
                raise RecipeError(f"recipe {self.name!r}: {text!r} is not key=value")
            self.config({key: self.params[key].default} if key in self.params else {key: None})
            values[key] = parse_text(self.name, key, self.params[key], raw)
        return values

    def to_json(self) -> dict[str, Any]:
        """``name``, ``description``, ``file`` and ``params`` (each: default, type, choices)."""
        return {"name": self.name, "description": self.description, "file": self.file,
                "params": {name: param.to_json() for name, param in self.params.items()}}


def recipe(name: str | None = None, description: str | None = None,
           params: Mapping[str, Any] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make a function a recipe: ``@recipe(name="digits-mlp", params={"lr": 1e-3})``.

    The function takes one argument, the run (``run.config``, ``run.log(...)``, ``run.device``) and
    returns a dict of final metrics (or None). ``description`` defaults to the docstring's first line.
    """
    if callable(name):  # used bare: @recipe
        return recipe()(name)  # type: ignore[return-value]

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        recipe_name = name or func.__name__.replace("_", "-")
        if not _NAME.match(recipe_name):
            raise RecipeError(f"recipe name {recipe_name!r} must be letters, digits, '-', '_' or '.'")
        try:
            signature = inspect.signature(func)
            signature.bind(None)
        except TypeError:
            raise RecipeError(f"recipe {recipe_name!r}: {func.__qualname__} must take exactly one argument, "
                              "the run") from None
        declared = {key: make_param(recipe_name, key, spec) for key, spec in (params or {}).items()}
        doc = (inspect.getdoc(func) or "").strip().splitlines()
        setattr(func, _MARK, Recipe(recipe_name, func, description or (doc[0] if doc else ""), declared))
        return func

    return decorate


def recipe_of(obj: Any) -> Recipe | None:
    """The Recipe a decorated function carries, if any."""
    found = getattr(obj, _MARK, None) if callable(obj) else None
    return found if isinstance(found, Recipe) else None
