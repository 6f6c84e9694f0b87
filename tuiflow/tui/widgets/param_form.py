"""The launch form's parameter rows, built from a recipe's schema: an input for numbers and text
(comma-separated values make a grid), a select for choices, a switch for yes/no."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Select, Static, Switch

from tuiflow.tui.forms import FormError, parse_values, show_value
from tuiflow.tui.views import ParamField, RecipeCard

NAME_WIDTH = 13


class ParamRow(Horizontal):
    """A parameter's name, its field, and a note: how many values, or what is wrong."""

    def __init__(self, field: ParamField) -> None:
        super().__init__(classes="param-row", id=f"row-{field.name}")
        self.field = field

    def compose(self) -> ComposeResult:
        field = self.field
        yield Static(Text(field.name[:NAME_WIDTH - 1]), classes="param-name")
        if field.choices:
            default = next((i for i, c in enumerate(field.choices) if c == field.default), 0)
            yield Select([(show_value(c), i) for i, c in enumerate(field.choices)], value=default,
                         allow_blank=False, compact=True, id=f"param-{field.name}", classes="param-field")
        elif field.type == "bool":
            yield Switch(value=bool(field.default), id=f"param-{field.name}", classes="param-field")
            yield Static("yes" if field.default else "no", classes="switch-state")
        else:
            yield Input(show_value(field.default), compact=True, id=f"param-{field.name}", classes="param-field",
                        tooltip=field.help or None)
        yield Static("", classes="param-note", id=f"note-{field.name}")

    def values(self) -> list[Any]:
        """The value(s) the field holds now; FormError when they cannot be read."""
        widget = self.query_one(".param-field")
        if isinstance(widget, Select):
            return [self.field.choices[widget.value]]  # type: ignore[index]
        if isinstance(widget, Switch):
            return [widget.value]
        assert isinstance(widget, Input)
        return parse_values(self.field, widget.value)

    def note(self, text: str, error: bool = False) -> None:
        """Say something next to the field (an error is marked with "!" as well as colour)."""
        note = self.query_one(".param-note", Static)
        note.update(Text(("! " + text) if error else text, style="bold red" if error else "dim"))
        self.set_class(error, "-error")

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self.query_one(".switch-state", Static).update("yes" if event.value else "no")


class ParamForm(Vertical):
    """One recipe's parameters."""

    def __init__(self, recipe: RecipeCard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.recipe = recipe

    def compose(self) -> ComposeResult:
        if not self.recipe.params:
            yield Static("This recipe takes no parameters.", classes="param-none")
        for field in self.recipe.params:
            yield ParamRow(field)

    def rows(self) -> list[ParamRow]:
        """The parameter rows, in the recipe's order."""
        return list(self.query(ParamRow))

    def read(self) -> tuple[dict[str, Any], dict[str, list[Any]], dict[str, str]]:
        """The overrides (one value that differs from the default), the grid (several values) and the
        errors of the form's own syntax, by parameter."""
        overrides: dict[str, Any] = {}
        grid: dict[str, list[Any]] = {}
        errors: dict[str, str] = {}
        for row in self.rows():
            try:
                values = row.values()
            except FormError as exc:
                errors[row.field.name] = str(exc)
                continue
            if len(values) > 1:
                grid[row.field.name] = values
            elif values and values[0] != row.field.default:
                overrides[row.field.name] = values[0]
        return overrides, grid, errors
