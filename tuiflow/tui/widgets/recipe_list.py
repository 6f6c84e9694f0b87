"""The launch screen's recipe list: each recipe's name and, dimmed, its description."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tuiflow.tui.render import fit
from tuiflow.tui.views import RecipeCard
from tuiflow.tui.widgets.glyphs import glyphs_of


class RecipeList(OptionList):
    """One option per recipe, keyed by its name."""

    def show(self, recipes: Sequence[RecipeCard], problems: Sequence[str] = ()) -> None:
        """List the recipes (and, dimmed, the recipe files that failed to import)."""
        self.clear_options()
        options: list[Option] = []
        for recipe in recipes:
            prompt = Text.assemble((recipe.name, "bold"), no_wrap=True, overflow=glyphs_of(self).overflow)
            if recipe.description:
                prompt.append("\n")
                room = max(8, (self.size.width or 26) - 2)
                prompt.append(fit(recipe.description.splitlines()[0], room, glyphs_of(self)), style="dim")
            options.append(Option(prompt, id=recipe.name))
        for problem in problems:
            options.append(Option(Text(problem, style="red"), disabled=True))
        self.add_options(options)
        if recipes:
            self.highlighted = 0

    @property
    def chosen(self) -> str | None:
        """The name of the highlighted recipe."""
        option = self.highlighted_option
        return option.id if option is not None else None
