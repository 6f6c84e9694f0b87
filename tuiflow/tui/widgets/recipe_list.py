"""The launch screen's recipe list: each recipe's name and, dimmed, its description."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tuiflow.tui.render import fit
from tuiflow.tui.views import RecipeCard
from tuiflow.tui.widgets.glyphs import glyphs_of

DEFAULT_WIDTH = 26  # before the list is laid out


class RecipeList(OptionList):
    """One option per recipe, keyed by its name."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.recipes: list[RecipeCard] = []
        self._width = 0

    def show(self, recipes: Sequence[RecipeCard], problems: Sequence[str] = ()) -> None:
        """List the recipes (and, dimmed, the recipe files that failed to import)."""
        self.recipes = list(recipes)
        self._width = self.size.width or DEFAULT_WIDTH
        self.clear_options()
        options = [Option(self._prompt(recipe), id=recipe.name) for recipe in recipes]
        options += [Option(Text(problem, style="red"), disabled=True) for problem in problems]
        self.add_options(options)
        if recipes:
            self.highlighted = 0

    def _prompt(self, recipe: RecipeCard) -> Text:
        glyphs = glyphs_of(self)
        prompt = Text.assemble((recipe.name, "bold"), no_wrap=True, overflow=glyphs.overflow)
        if recipe.description:
            prompt.append("\n")
            prompt.append(fit(recipe.description.splitlines()[0], max(8, self._width - 2), glyphs), style="dim")
        return prompt

    def on_resize(self) -> None:
        """Descriptions are cut to the list's width: cut them again when it changes."""
        if self.recipes and self.size.width and self.size.width != self._width:
            self._width = self.size.width
            for index, recipe in enumerate(self.recipes):
                self.replace_option_prompt_at_index(index, self._prompt(recipe))

    @property
    def chosen(self) -> str | None:
        """The name of the highlighted recipe."""
        option = self.highlighted_option
        return option.id if option is not None else None
