"""Recipe parameters: a default, a type taken from it, and optional choices.

``params={"lr": 1e-3, "hidden": 128, "framework": ["torch", "tf"]}`` declares a float, an int and a
choice between two strings (the first is the default). A value of the wrong type, an unknown name or
a value outside the choices is a :class:`ParamError` naming the recipe and the parameter.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tuiflow.errors import LabError

_TYPES = {bool: "bool", int: "int", float: "float", str: "str"}
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""The whole numbers SQLite can hold: an int parameter may well end up in an integer column (a metric's
step, say), where a larger one fails only once the run is under way."""


class RecipeError(LabError):
    """Something about a recipe a user can fix: one line that says what and where."""


class ParamError(RecipeError, ValueError):
    """A parameter value a recipe cannot take."""


@dataclass(frozen=True)
class Param:
    """One parameter of a recipe: ``Param(default, choices=None, help="", unit="")``; its type is the
    default's (``int``, ``float``, ``bool`` or ``str``), or ``type=`` when the default is None. ``help``
    is one line the launch form and ``tuiflow recipes`` show; ``unit`` what a number counts (``s``)."""

    default: Any
    choices: tuple[Any, ...] | None = None
    help: str = ""
    type: str | None = None
    unit: str = ""

    @property
    def type_name(self) -> str:
        """``"int"``, ``"float"``, ``"bool"``, ``"str"`` or ``"any"``."""
        if self.type:
            return self.type
        return _TYPES.get(type(self.default), "any")

    def to_json(self) -> dict[str, Any]:
        """``default``, ``type`` and ``choices`` (a list or null), plus ``help`` and ``unit`` when given."""
        data: dict[str, Any] = {"default": self.default, "type": self.type_name,
                                "choices": list(self.choices) if self.choices is not None else None}
        if self.help:
            data["help"] = self.help
        if self.unit:
            data["unit"] = self.unit
        return data


def make_param(recipe: str, name: str, spec: Any) -> Param:
    """A Param from what a recipe declares: a Param, a list of choices, or a default value."""
    if isinstance(spec, Param):
        param = spec
    elif isinstance(spec, (list, tuple)):
        if not spec:
            raise RecipeError(f"recipe {recipe!r}: parameter {name!r} has an empty list of choices")
        param = Param(spec[0], tuple(spec))
    else:
        param = Param(spec)
    if param.type is not None and param.type not in _TYPES.values() and param.type != "any":
        raise RecipeError(f"recipe {recipe!r}: parameter {name!r} has unknown type {param.type!r}")
    if param.choices is not None:
        kinds = {_TYPES.get(type(c), "any") for c in param.choices}
        if len(kinds - {"int"} if "float" in kinds else kinds) > 1:
            raise RecipeError(f"recipe {recipe!r}: the choices of {name!r} mix types: {list(param.choices)}")
    return param


def coerce(recipe: str, name: str, param: Param, value: Any) -> Any:
    """``value`` as the parameter's type, checked against its choices."""
    kind = param.type_name
    where = f"recipe {recipe!r}, parameter {name!r}"
    if kind == "any" or (value is None and param.default is None):
        result = _check_int64(where, value) if isinstance(value, int) and not isinstance(value, bool) else value
    elif kind == "bool":
        if not isinstance(value, bool):
            raise ParamError(f"{where}: expected true or false, got {value!r}")
        result = value
    elif kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ParamError(f"{where}: expected an integer, got {value!r}")
        result = _check_int64(where, value)
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamError(f"{where}: expected a number, got {value!r}")
        result = float(value)
        if not math.isfinite(result):  # the store keeps configs as JSON, which has no NaN or infinity
            raise ParamError(f"{where}: expected a finite number, got {result!r}")
    else:
        if not isinstance(value, str):
            raise ParamError(f"{where}: expected a string, got {value!r}")
        result = value
    if param.choices is not None and result not in param.choices:
        raise ParamError(f"{where}: {result!r} is not one of {', '.join(map(repr, param.choices))}")
    return result


def _check_int64(where: str, value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise ParamError(f"{where}: {value} is outside the 64-bit range a store can hold "
                         "(-2**63 to 2**63 - 1)")
    return value


def parse_text(recipe: str, name: str, param: Param, text: str) -> Any:
    """A value typed on the command line, read as the parameter's type."""
    kind = param.type_name
    where = f"recipe {recipe!r}, parameter {name!r}"
    try:
        if kind == "bool":
            lowered = text.strip().lower()
            if lowered in _TRUE:
                value: Any = True
            elif lowered in _FALSE:
                value = False
            else:
                raise ValueError
        elif kind == "int":
            value = int(text)
        elif kind == "float":
            value = float(text)
        elif kind == "any":
            value = _guess(text)
        else:
            value = text
    except ValueError:
        raise ParamError(f"{where}: expected {_article(kind)}, got {text!r}") from None
    return coerce(recipe, name, param, value)


def _guess(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def _article(kind: str) -> str:
    return {"int": "an integer", "float": "a number", "bool": "true or false"}.get(kind, f"a {kind}")


def check_names(recipe: str, params: Mapping[str, Param], given: Mapping[str, Any]) -> None:
    """Unknown parameter names are an error that lists the known ones."""
    for name in given:
        if name not in params:
            close = difflib.get_close_matches(name, list(params), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(params) or "none"
            raise ParamError(f"recipe {recipe!r} has no parameter {name!r}{hint}; its parameters: {known}")


def resolve_config(recipe: str, params: Mapping[str, Param], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The full config of a run: defaults overridden by ``overrides``, each checked."""
    check_names(recipe, params, overrides)
    config = {}
    for name, param in params.items():
        value = overrides.get(name, param.default)
        config[name] = coerce(recipe, name, param, value)
    return config
