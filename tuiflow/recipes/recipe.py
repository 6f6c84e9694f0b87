"""The ``@recipe`` decorator and the Recipe record."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tuiflow.recipes.params import Param, RecipeError, make_param, parse_text, resolve_config
from tuiflow.recipes.requires import MissingRequirement, Need, parse_requires, unmet

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
    requires: tuple[Need, ...] = ()
    """What runs of it need installed beyond tuiflow's core (``@recipe(requires=...)``)."""

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

    def unmet(self, configs: Iterable[Mapping[str, Any]]) -> list[MissingRequirement]:
        """What runs of these (resolved) configs need and this install lacks; empty when all is there."""
        return unmet(self.name, self.requires, configs)

    def check_installed(self, config: Mapping[str, Any]) -> None:
        """Raise the first `MissingRequirement` of a run of this config (the runner's check)."""
        for missing in self.unmet([config]):
            raise missing

    def to_json(self) -> dict[str, Any]:
        """``name``, ``description``, ``file``, ``params`` (each: default, type, choices) and, when it has
        any, ``requires``."""
        data = {"name": self.name, "description": self.description, "file": self.file,
                "params": {name: param.to_json() for name, param in self.params.items()}}
        if self.requires:
            data["requires"] = [need.to_json() for need in self.requires]
        return data


def recipe(name: str | None = None, description: str | None = None,
           params: Mapping[str, Any] | None = None,
           requires: Any = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make a function a recipe: ``@recipe(name="digits-mlp", params={"lr": 1e-3})``.

    The function takes one argument, the run (``run.config``, ``run.log(...)``, ``run.device``) and
    returns a dict of final metrics (or None). ``description`` defaults to the docstring's first line.
    A parameter is a default, a list of choices, or ``Param(default, help=..., unit=...)``.
    ``requires`` says what the runs need installed: ``"tuiflow[torch]"``, a module name, a list of
    them, or ``{"framework": {"torch": "tuiflow[torch]"}}`` for what one value of a parameter needs
    (see `tuiflow.recipes.requires`); a launch the install cannot run is refused, naming the extra.
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
        needs = parse_requires(recipe_name, requires, declared)
        doc = (inspect.getdoc(func) or "").strip().splitlines()
        setattr(func, _MARK, Recipe(recipe_name, func, description or (doc[0] if doc else ""), declared,
                                    requires=needs))
        return func

    return decorate


def recipe_of(obj: Any) -> Recipe | None:
    """The Recipe a decorated function carries, if any."""
    found = getattr(obj, _MARK, None) if callable(obj) else None
    return found if isinstance(found, Recipe) else None
