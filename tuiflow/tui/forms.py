"""Reading what a user typed into the launch form: one value, or comma-separated values for a grid.

Only the form's own syntax is checked here (is "0.0.1" a number? is "sgd" one of the choices?); whether
a value suits the recipe is `lab`'s to say (`Lab.plan` raises a ParamError naming the parameter)."""

from __future__ import annotations

import math
from typing import Any

from tuiflow.lab.limits import Bound
from tuiflow.tui.views import ParamField


class FormError(ValueError):
    """What is wrong with what was typed, in words for the line next to the field."""


def parse_values(field: ParamField, text: str) -> list[Any]:
    """The values typed in a field: one, or several separated by commas (a grid over them). A choice
    or yes/no field typed into (`ParamRow.several`) takes each of its values once."""
    if field.choices or field.type == "bool":
        pieces = [p.strip() for p in text.split(",")]
        if any(p == "" for p in pieces):
            raise FormError("a value is missing" if len(pieces) > 1 else "type a value")
        values: list[Any] = []
        for piece in pieces:
            value = parse_choice(field, piece) if field.choices else parse_one(field, piece)
            if value in values:
                raise FormError(f"{show_value(value)!r} is given twice")
            values.append(value)
        return values
    if field.type == "str":
        pieces = [p.strip() for p in text.split(",")] if "," in text else [text]
    else:
        pieces = [p.strip() for p in text.split(",")]
        if any(p == "" for p in pieces):
            raise FormError("a value is missing" if len(pieces) > 1 else "type a value")
    return [parse_one(field, piece) for piece in pieces]


def parse_one(field: ParamField, text: str) -> Any:
    """One typed value as the parameter's type."""
    if field.type == "int":
        try:
            return int(text.replace("_", ""))
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise FormError(f"{text!r} is not a whole number") from None
            if math.isfinite(value) and value == int(value):
                return int(value)
            raise FormError(f"{text!r} is not a whole number") from None
    if field.type == "float":
        try:
            return float(text)
        except ValueError:
            raise FormError(f"{text!r} is not a number") from None
    if field.type == "bool":
        lowered = text.lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        raise FormError(f"{text!r} is not yes or no")
    if field.type == "any":
        for kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                continue
    return text


def parse_choice(field: ParamField, text: str) -> Any:
    """One of a choice field's choices, typed as the form shows it (case aside)."""
    choices = field.choices or ()
    for matches in (lambda shown: shown == text, lambda shown: shown.casefold() == text.casefold()):
        for choice in choices:
            if matches(show_value(choice)):
                return choice
    raise FormError(f"{text!r} is not one of {', '.join(show_value(c) for c in choices)}")


def show_value(value: Any) -> str:
    """A default as the form shows it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def whole(text: str, label: str, bound: Bound) -> int:
    """A whole number typed for a launch option (reps, per GPU, priority, retries), within `lab`'s
    bounds for it (`tuiflow.lab.limits.BOUNDS`, which the CLI reads too), said in `lab`'s words."""
    try:
        value = int(text.strip().replace("_", "").replace(",", "") or "x")
    except ValueError:
        raise FormError(f"{label}: {text.strip()!r} is not a whole number") from None
    problem = bound.problem(value, label)
    if problem is not None:
        raise FormError(problem)
    return value
