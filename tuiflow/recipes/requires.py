"""What a recipe needs installed beyond tuiflow's core: ``@recipe(requires=...)``.

``requires="tuiflow[torch]"`` names one of tuiflow's extras (checked by the modules it brings); any
other name is a module to import (``"lightgbm"``). A dict makes a need depend on a parameter's value:
``requires={"framework": {"torch": "tuiflow[torch]", "tf": "tuiflow[tf]"}}``; a list holds several of
either. `Lab.plan` (so the CLI and the app) and the runner check a run's config against them, so a
launch the install cannot run is refused with the extra to install, not started to fail in a second
with a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tuiflow.recipes.params import Param, ParamError, RecipeError, coerce

EXTRAS: dict[str, dict[str, str]] = {
    "torch": {"torch": "torch", "sklearn": "scikit-learn"},
    "tf": {"tensorflow": "tensorflow", "sklearn": "scikit-learn"},
    "ray": {"ray": "ray"},
    "zoo": {"timm": "timm", "torchvision": "torchvision"},
    "stats": {"scipy": "scipy"},
    "serve": {"textual_serve": "textual-serve"},
}
"""tuiflow's extras (pyproject.toml's optional-dependencies): the modules each brings, each with the
distribution it comes in. tests/recipes checks this table against pyproject.toml."""

_EXTRA = re.compile(r"^tuiflow\[([A-Za-z0-9_-]+)\]$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class Need:
    """One thing a recipe needs installed: an extra (``tuiflow[torch]``) or a module (``lightgbm``),
    always (``param`` None) or only when parameter ``param`` is ``value``."""

    spec: str
    param: str | None = None
    value: Any = None

    @property
    def extra(self) -> str | None:
        """The extra's name (``torch``), or None when the need is a module."""
        found = _EXTRA.match(self.spec)
        return found.group(1) if found else None

    @property
    def modules(self) -> tuple[str, ...]:
        """The modules that must be importable."""
        extra = self.extra
        return tuple(EXTRAS[extra]) if extra is not None else (self.spec,)

    def install(self) -> str:
        """What to type to get it: ``pip install 'tuiflow[torch]'`` (a module one extra brings names
        that extra), else the module's distribution where tuiflow knows it."""
        extra = self.extra
        if extra is None:
            top = self.spec.split(".")[0]
            bringing = [name for name, modules in EXTRAS.items() if top in modules]
            if len(bringing) == 1:
                extra = bringing[0]
            else:
                dist = next((modules[top] for modules in EXTRAS.values() if top in modules), None)
                return f"pip install {dist}" if dist else f"the module {self.spec!r}"
        return f"pip install 'tuiflow[{extra}]'"

    def applies(self, config: Mapping[str, Any]) -> bool:
        """Whether a run of this config needs it."""
        return self.param is None or (self.param in config and config[self.param] == self.value)

    def to_json(self) -> dict[str, Any]:
        """``needs``, plus ``param`` and ``value`` when it depends on a parameter."""
        data: dict[str, Any] = {"needs": self.spec}
        if self.param is not None:
            data.update(param=self.param, value=self.value)
        return data


class MissingRequirement(RecipeError):
    """A run's config needs something this install lacks: the need, the module not found, and the
    parameter it depends on (None: the recipe always needs it). The message says what to install."""

    def __init__(self, recipe: str, need: Need, module: str) -> None:
        self.recipe, self.need, self.module, self.param = recipe, need, module, need.param
        why = f"(no module named {module!r} here)"
        if need.param is None:
            message = f"recipe {recipe!r} needs {need.install()} {why}"
        else:
            message = f"recipe {recipe!r}, parameter {need.param!r}: {need.value!r} needs {need.install()} {why}"
        super().__init__(message)


def parse_requires(recipe: str, spec: Any, params: Mapping[str, Param]) -> tuple[Need, ...]:
    """The needs a recipe declares (see the module's docstring); a malformed one is a RecipeError."""
    if spec is None:
        return ()
    if isinstance(spec, str):
        return (_need(recipe, spec),)
    if isinstance(spec, Mapping):
        needs = []
        for param, by_value in spec.items():
            if param not in params:
                raise RecipeError(f"recipe {recipe!r}: requires= names {param!r}, which is not one of its parameters")
            if not isinstance(by_value, Mapping):
                raise RecipeError(f"recipe {recipe!r}: requires={{{param!r}: ...}} must map its values to what "
                                  f"each needs, not {by_value!r}")
            for value, names in by_value.items():
                try:
                    value = coerce(recipe, param, params[param], value)
                except ParamError as exc:
                    raise RecipeError(f"{exc} (in requires=)") from None
                for name in [names] if isinstance(names, str) else _sequence(recipe, names):
                    needs.append(_need(recipe, name, param, value))
        return tuple(needs)
    return tuple(need for item in _sequence(recipe, spec) for need in parse_requires(recipe, item, params))


def _sequence(recipe: str, spec: Any) -> Sequence[Any]:
    if isinstance(spec, (list, tuple)):
        return spec
    raise RecipeError(f"recipe {recipe!r}: requires= takes a name, a list or a dict, not {spec!r}")


def _need(recipe: str, name: Any, param: str | None = None, value: Any = None) -> Need:
    if not isinstance(name, str):
        raise RecipeError(f"recipe {recipe!r}: requires= takes names as strings, not {name!r}")
    found = _EXTRA.match(name)
    if found and found.group(1) not in EXTRAS:
        raise RecipeError(f"recipe {recipe!r}: requires= names {name!r}, which tuiflow does not have; its extras: "
                          + ", ".join(f"tuiflow[{extra}]" for extra in EXTRAS))
    if not found and not _MODULE.match(name):
        raise RecipeError(f"recipe {recipe!r}: requires= takes tuiflow[extra] or a module name, not {name!r}")
    return Need(name, param, value)


def installed(module: str) -> bool:
    """Whether ``module`` can be imported here (found, not imported)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent that is missing, or a module left as None in sys.modules
        return False


def unmet(recipe: str, needs: Sequence[Need], configs: Iterable[Mapping[str, Any]]) -> list[MissingRequirement]:
    """What the runs of these configs need and this install lacks, one error per need (in the order
    declared), each naming the first module of it that is missing."""
    configs = list(configs)
    found: list[MissingRequirement] = []
    for need in needs:
        if not any(need.applies(config) for config in configs):
            continue
        module = next((m for m in need.modules if not installed(m)), None)
        if module is not None:
            found.append(MissingRequirement(recipe, need, module))
    return found
