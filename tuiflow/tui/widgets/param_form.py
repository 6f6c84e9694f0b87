"""The launch form's parameter rows, built from a recipe's schema: an input for numbers and text
(comma-separated values make a grid), a select for choices, a switch for yes/no. A choice or yes/no
row can be turned into an input too (`ParamRow.set_several`), where ``a,b`` makes a grid of them.

Beside each field: its unit and as much of its help as fits (the focused field's help is shown whole
by the screen); under it, what is wrong with it, wrapped whole over the form's width."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.suggester import Suggester
from textual.widget import Widget
from textual.widgets import Input, Select, Static, Switch

from tuiflow.tui.forms import FormError, parse_values, show_value
from tuiflow.tui.views import ParamField, RecipeCard

NAME_WIDTH = 13


class LastValueSuggester(Suggester):
    """Completes the value being typed after the last comma from a field's choices (right arrow takes it)."""

    def __init__(self, shown: list[str]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.shown = shown

    async def get_suggestion(self, value: str) -> str | None:
        typed = value.rpartition(",")[2].lstrip()
        if not typed:
            return None
        for shown in self.shown:
            if shown.casefold().startswith(typed.casefold()) and len(shown) > len(typed):
                return value + shown[len(typed):]
        return None


class ParamRow(Vertical):
    """A parameter's line (its name, its field, a note: the unit, how many values, the help) and, under
    it, what is wrong with it."""

    def __init__(self, field: ParamField, values: list[Any] | None = None) -> None:
        super().__init__(classes="param-row", id=f"row-{field.name}")
        self.field = field
        self.initial = list(values) if values else [field.default]
        self.several = len(self.initial) > 1 and self.can_take_several
        """Whether a choice or yes/no field is an input taking several values (numbers and text always are)."""

    @property
    def can_take_several(self) -> bool:
        """Whether the row has a one-value form to swap for an input (a choice or a yes/no field)."""
        return bool(self.field.choices) or self.field.type == "bool"

    def compose(self) -> ComposeResult:
        with Horizontal(classes="param-line"):
            yield Static(Text(self.field.name[:NAME_WIDTH - 1]), classes="param-name")
            yield from self._field_widgets(self.initial)
            yield Static(self._note_text(""), classes="param-note", id=f"note-{self.field.name}")
        yield Static("", classes="param-error", id=f"error-{self.field.name}")

    def _field_widgets(self, values: list[Any]) -> list[Widget]:
        """The widgets that hold the value(s): a select or a switch for one, else an input."""
        field, ident = self.field, f"param-{self.field.name}"
        if field.choices and not self.several:
            index = next((i for i, c in enumerate(field.choices) if c == values[0]), 0)
            return [Select([(show_value(c), i) for i, c in enumerate(field.choices)], value=index,
                           allow_blank=False, compact=True, id=ident, classes="param-field")]
        if field.type == "bool" and not self.several:
            return [Switch(value=bool(values[0]), id=ident, classes="param-field"),
                    Static("yes" if values[0] else "no", classes="switch-state")]
        if not self.can_take_several:
            return [Input(show_value(values[0]), compact=True, id=ident, classes="param-field",
                          tooltip=field.help or None)]
        shown = [show_value(c) for c in field.choices] if field.choices else ["yes", "no"]
        # The cursor after the value it had, not the value selected: typing ",b" adds a value to it.
        return [Input(", ".join(show_value(v) for v in values), compact=True, id=ident, classes="param-field",
                      placeholder=", ".join(shown), tooltip=self._help_for(shown), select_on_focus=False,
                      suggester=LastValueSuggester(shown))]

    def _help_for(self, shown: list[str]) -> str:
        several = f"One or more of {', '.join(shown)}, separated by commas (several make a grid)"
        return f"{self.field.help}\n{several}" if self.field.help else several

    def values(self) -> list[Any]:
        """The value(s) the field holds now; FormError when they cannot be read."""
        widget = self.query_one(".param-field")
        if isinstance(widget, Select):
            return [self.field.choices[widget.value]]  # type: ignore[index]
        if isinstance(widget, Switch):
            return [widget.value]
        assert isinstance(widget, Input)
        return parse_values(self.field, widget.value)

    async def set_several(self, several: bool) -> None:
        """Turn a choice or yes/no field into an input that takes several values, or back into its
        select or switch (with the first value typed, or the default when none reads); focus stays on it."""
        if several == self.several or not self.can_take_several:
            return
        try:
            values = self.values() or [self.field.default]
        except FormError:
            values = [self.field.default]
        self.several = several
        await self.query(".param-field, .switch-state").remove()
        widgets = self._field_widgets(values)
        await self.query_one(".param-line").mount(*widgets, before=self.query_one(".param-note"))
        widgets[0].focus()

    def _note_text(self, text: str) -> Content:
        """The unit, then ``text`` (how many values), then the help, as much as fits."""
        parts = [Content.styled(self.field.unit, "bold")] if self.field.unit else []
        if text:
            parts.append(Content(text))
        if self.field.help:
            parts.append(Content.styled(self.field.help, "dim"))
        return Content("  ").join(parts)

    def note(self, text: str, error: bool = False) -> None:
        """Say how many values the field holds (beside it), or what is wrong with it (under it, whole,
        marked with "!" as well as colour); an empty error clears it."""
        message = self.query_one(".param-error", Static)
        message.update(Text("! " + text, style="bold red") if error else "")
        message.display = error
        self.query_one(".param-note", Static).update(self._note_text("" if error else text))
        self.set_class(error, "-error")

    @property
    def error(self) -> str:
        """The error shown under the field ("" when none)."""
        message = self.query_one(".param-error", Static)
        return str(message.render()) if message.display else ""

    def on_switch_changed(self, event: Switch.Changed) -> None:
        self.query_one(".switch-state", Static).update("yes" if event.value else "no")


class ParamForm(Vertical):
    """One recipe's parameters."""

    def __init__(self, recipe: RecipeCard, values: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.recipe = recipe
        self.values = dict(values or {})  # a parameter's value to start from (a clone's); else its default

    def compose(self) -> ComposeResult:
        if not self.recipe.params:
            yield Static("This recipe takes no parameters.", classes="param-none")
        for field in self.recipe.params:
            yield ParamRow(field, [self.values[field.name]] if field.name in self.values else None)

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
