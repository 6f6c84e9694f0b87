"""Launch: pick a recipe, set its parameters (several values make a grid), repetitions, GPUs, and go.

Numbers and text take several values as typed (``0.1,0.01``); a choice or yes/no field takes them once
ctrl+g has turned it into an input (``sgd,adam``, ``yes,no``), and back.

Every field is checked as it is typed, by `lab` itself (`Lab.plan` with that field alone), so the
error under a field is the one a launch would meet; so is what the install lacks for the values chosen
(the recipe's ``requires=``: "needs pip install 'tuiflow[torch]'" under framework). The run count
follows every key typed, and `lab`'s plan checks it. The launch options are within `lab`'s bounds
(`tuiflow.lab.limits`, which the CLI reads too); more than its DEFAULT_LIMIT runs asks y/n here. A
launch `lab` refuses stores nothing and says why.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Footer, Input, OptionList, Select, Static, Switch
from textual.worker import get_current_worker

from tuiflow.lab.limits import BOUNDS, DEFAULT_LIMIT
from tuiflow.tui.data import FieldError
from tuiflow.tui.forms import FormError, whole
from tuiflow.tui.screens.confirm import ConfirmScreen
from tuiflow.tui.views import LaunchRequest, RecipeCard
from tuiflow.tui.widgets.gpu_picker import GpuPicker
from tuiflow.tui.widgets.param_form import ParamForm, ParamRow
from tuiflow.tui.widgets.recipe_list import RecipeList

if TYPE_CHECKING:
    from tuiflow.tui.app import TuiflowApp

CHECK_DELAY_S = 0.25  # typing pauses this long before the form is checked
OPTIONS = (("reps", "reps", "1"), ("num_gpus", "GPUs/run", "1"), ("per_gpu", "per GPU", "1"),
           ("priority", "priority", "0"), ("retries", "retries", "0"))
NO_TICK = "GPUs: none ticked, so any free one (space ticks)"
WIDGET_HELP = {
    "recipes": (("recipes", "bold"), ": up and down choose the form's recipe"),
    "gpus": (("GPUs", "bold"), ": space ticks or unticks the highlighted GPU; the runs use only the ticked "
             "ones (none ticked: any free one)"),
    "launch": (("Launch", "bold"), ": enter or space launches the runs the form describes (f5 from anywhere)"),
}
"""The help line for the widgets that are not a field."""


def runs_text(count: int) -> str:
    """``2,000 runs``, ``1 run``."""
    return f"{count:,} run{'s' if count != 1 else ''}"


class LaunchGpuPicker(GpuPicker):
    """The GPU picker, saying when a tick changes (the GPU header follows it)."""

    class Ticked(Message):
        """The ticked GPUs changed."""

    def action_toggle(self) -> None:
        super().action_toggle()
        self.post_message(self.Ticked())


class LaunchScreen(Screen[None]):
    """Recipe list on the left, the chosen recipe's form on the right."""

    CSS_PATH = "launch.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # wide: longer recipe descriptions
    AUTO_FOCUS = "#recipes"
    BINDINGS = [
        Binding("escape", "app.show_dashboard", "back", id="launch.back", tooltip="Back to the dashboard"),
        Binding("f5", "submit", "launch now", id="launch.submit", tooltip="Launch the runs the form describes"),
        Binding("ctrl+g", "several", "several values", id="launch.several",
                tooltip="Give the focused choice or yes/no field several values (a grid), or one again"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.recipes: dict[str, RecipeCard] = {}
        self.count: int | None = None
        self.errors: dict[str, str] = {}  # by parameter (or option name); "" for the form as a whole
        # F5 came while a check of what was typed was to come: (the check asked then, the recipe)
        self._submit_when_checked: tuple[int, str] | None = None
        self._check_timer: Timer | None = None
        self._checks = (0, 0)  # (asked, answered): the form's checks asked for, and the latest one answered
        self._launching = False
        self.source_run: int | None = None
        """The run the form was cloned from (History's `n`): the launched experiment records it."""
        self._clone: tuple[str, dict[str, Any]] | None = None  # (recipe, values) for the form to start from
        self._clone_shown = False  # whether the form shows the clone yet

    @property
    def tui(self) -> TuiflowApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble((" Launch", "bold"), "  a recipe, a grid of its parameters, GPUs"), id="title")
        with Horizontal(id="launch-body"):
            yield RecipeList(id="recipes")
            with VerticalScroll(id="form-box", can_focus=False):
                yield Static("reading the recipes...", id="recipe-head")
                yield Vertical(id="form")
                with Horizontal(classes="option-row", id="first-options"):
                    for key, label, default in OPTIONS[:2]:
                        with Horizontal(classes="option"):
                            yield Static(label, classes="option-name")
                            yield Input(default, compact=True, id=f"opt-{key}", classes="option-field",
                                        tooltip=BOUNDS[key].what)
                    yield Static("", id="run-count")
                with Horizontal(classes="option-row"):
                    for key, label, default in OPTIONS[2:]:
                        with Horizontal(classes="option"):
                            yield Static(label, classes="option-name")
                            yield Input(default, compact=True, id=f"opt-{key}", classes="option-field",
                                        tooltip=BOUNDS[key].what)
                yield Static(NO_TICK, id="gpu-head")
                yield LaunchGpuPicker(id="gpus")
                yield Static("", id="form-error")
                yield Static("", id="launch-result")
                yield Static("", id="field-help")
                with Horizontal(id="launch-row"):
                    yield Button("Launch", id="launch", compact=True)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#recipes").border_title = "recipes"
        self.load()

    def on_screen_resume(self) -> None:
        if self.recipes:
            self.load_gpus()

    # --- loading --------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="recipes", exit_on_error=False)
    def load(self) -> None:
        """Read the recipe catalog and the GPUs."""
        try:
            recipes, problems = self.tui.data.recipes()
            gpus = self.tui.data.gpu_choices()
            result: Any = (recipes, problems, gpus)
        except Exception as exc:
            result = exc
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._loaded, result)

    def _loaded(self, result: Any) -> None:
        if isinstance(result, BaseException):
            self.query_one("#recipe-head", Static).update(Text(f"! cannot read the recipes: {result}", style="red"))
            return
        recipes, problems, gpus = result
        self.recipes = {r.name: r for r in recipes}
        self._show_gpus(gpus)
        self.query_one(RecipeList).show(recipes, problems)
        if self._clone is not None:
            self._choose(self._clone[0])
        if not recipes:
            self.query_one("#recipe-head", Static).update("No recipes found: put recipe files in ./recipes or "
                                                          "$TUIFLOW_RECIPES")

    @work(thread=True, exclusive=True, group="gpus", exit_on_error=False)
    def load_gpus(self) -> None:
        """Read the GPUs again (their load and holders change)."""
        try:
            gpus: Any = self.tui.data.gpu_choices()
        except Exception as exc:
            gpus = exc
        if not get_current_worker().is_cancelled and not isinstance(gpus, BaseException):
            self.app.call_from_thread(self._show_gpus, gpus)

    def _show_gpus(self, gpus: Any) -> None:
        picker = self.query_one(GpuPicker)
        picker.show(gpus)
        picker.display = bool(gpus)
        self._gpu_head()
        if not gpus:
            self.query_one("#opt-num_gpus", Input).value = "0"

    @on(LaunchGpuPicker.Ticked)
    def _gpu_head(self) -> None:
        """The GPU header says what the ticks mean now."""
        picker = self.query_one(GpuPicker)
        if not picker.gpus:
            head = "CPU only: no GPUs here, runs take CPU slots"
        elif picker.chosen is None:
            head = NO_TICK
        else:
            ticked = ", ".join(map(str, picker.chosen))
            head = f"GPUs: {ticked} ticked: the runs use only {'this one' if len(picker.chosen) == 1 else 'these'}"
        self.query_one("#gpu-head", Static).update(head)

    # --- cloning --------------------------------------------------------------------------------------
    def clone(self, recipe: str, values: dict[str, Any], source_run: int) -> None:
        """Start the form from a run: its recipe, its parameter values; the launch records the run."""
        self._clone, self.source_run, self._clone_shown = (recipe, dict(values)), source_run, False
        if self.recipes:
            self._choose(recipe)

    def _choose(self, recipe: str) -> None:
        """Highlight a recipe (the form follows); a recipe no longer found drops the clone, saying so."""
        names = list(self.recipes)
        if recipe not in names:
            self.notify(f"recipe {recipe!r} is not found any more: cannot clone", severity="error")
            self._clone, self.source_run = None, None
            return
        recipes = self.query_one(RecipeList)
        if recipes.highlighted == names.index(recipe) and self.recipe is not None and self.recipe.name == recipe:
            self.run_worker(self._show_form(self.recipes[recipe]), exclusive=True, group="form")
        recipes.highlighted = names.index(recipe)

    # --- the form -------------------------------------------------------------------------------------
    @on(OptionList.OptionHighlighted, "#recipes")
    async def _recipe_chosen(self, event: OptionList.OptionHighlighted) -> None:
        recipe = self.recipes.get(event.option.id or "")
        if recipe is None:
            return
        await self._show_form(recipe)

    async def _show_form(self, recipe: RecipeCard) -> None:
        values: dict[str, Any] = {}
        if self._clone is not None and self._clone[0] == recipe.name:
            values = self._clone[1]
            self._clone_shown = True
        elif self._clone is not None and not self._clone_shown:
            return  # the list's first highlight, before the clone's recipe is: not a choice of the user's
        else:  # another recipe chosen: the clone is forgotten
            self._clone, self.source_run = None, None
        head = Text.assemble((recipe.name, "bold"))
        if self.source_run is not None:
            head.append(f"  cloned from run {self.source_run}", style="bold")
        if recipe.description:
            head.append(" - " + recipe.description)
        self.query_one("#recipe-head", Static).update(head)
        self.errors = {}
        self.count = None  # before the old form goes: a count is always the shown form's
        box = self.query_one("#form", Vertical)
        await box.remove_children()
        await box.mount(ParamForm(recipe, values))
        self._count_now()  # never the last recipe's count
        self.check_soon()

    @property
    def recipe(self) -> RecipeCard | None:
        """The recipe the form is for."""
        forms = self.query(ParamForm)
        return forms.first().recipe if forms else None

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Switch.Changed)
    def _changed(self) -> None:
        self._say("#launch-result", "")  # a refusal was about the form as it was
        self._count_now()
        self.check_soon()

    def _count_now(self) -> None:
        """The run count of the form as it reads this moment (`lab`'s check follows): the product of the
        fields' value counts times reps; "?" while a field cannot be read."""
        forms = self.query(ParamForm)
        if not forms:
            return
        count: int | None = None
        try:
            sizes = [len(row.values()) for row in forms.first().rows()]
            reps = whole(self.query_one("#opt-reps", Input).value, "reps", BOUNDS["reps"])
            count = math.prod(sizes) * reps
        except FormError:
            pass
        self._show_count(count)

    def _show_count(self, count: int | None) -> None:
        text = f"-> {runs_text(count)}" if count is not None else "-> ? runs (see !)"
        self.query_one("#run-count", Static).update(Text(text, style="bold"))

    def _say(self, where: str, text: Text | str) -> None:
        """A line below the options (a refusal, the form's problems); none takes no room."""
        line = self.query_one(where, Static)
        line.update(text)
        line.display = bool(str(text))

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """The focused field's name drawn as focused, and its help, whole, above the Launch button."""
        self._mark_focus(event.widget)
        self._show_help(event.widget)

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self._mark_focus(self.focused)

    def _mark_focus(self, widget: Any) -> None:
        """The row (a parameter's, or an option's) holding the focus has the class -focus; no other."""
        holder = widget
        while holder is not None and holder is not self and not any(map(holder.has_class, ("param-row", "option"))):
            holder = holder.parent
        for row in self.query(".param-row.-focus, .option.-focus"):
            if row is not holder:
                row.remove_class("-focus")
        if holder is not None and holder is not self:
            holder.add_class("-focus")

    def _show_help(self, widget: Any) -> None:
        node, text = widget, Text("")
        while node is not None and node is not self:
            if isinstance(node, ParamRow):
                field = node.field
                unit = f" ({field.unit})" if field.unit else ""
                text = Text.assemble((field.name, "bold"), unit, ": ", field.help or "no help given")
                break
            if node.id in WIDGET_HELP:
                text = Text.assemble(*WIDGET_HELP[node.id])
                break
            if isinstance(node, Input) and (node.id or "").startswith("opt-"):
                key = (node.id or "")[4:]
                bound = BOUNDS[key]
                label = next(label for k, label, _ in OPTIONS if k == key)
                text = Text.assemble((label, "bold"), f": {bound.what} ({bound.low:,} to {bound.high:,})")
                break
            node = node.parent
        self.query_one("#field-help", Static).update(text)

    @on(Input.Submitted)
    def _next_field(self) -> None:
        self.focus_next()

    def _focused_row(self) -> ParamRow | None:
        """The parameter row holding the focus, if it is a choice or yes/no field."""
        node = self.focused
        while node is not None and not isinstance(node, ParamRow):
            node = node.parent
        return node if isinstance(node, ParamRow) and node.can_take_several else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """ctrl+g shows in the footer only on a choice or yes/no field."""
        if action == "several":
            return self._focused_row() is not None
        return True

    async def action_several(self) -> None:
        """Swap the focused choice or yes/no field for an input of several values, or back."""
        row = self._focused_row()
        if row is None:
            return
        await row.set_several(not row.several)
        self.check_soon()

    @property
    def checking(self) -> bool:
        """Whether a check of the form is still to come (what it shows may change)."""
        asked, answered = self._checks
        return answered < asked

    def check_soon(self) -> None:
        """Check the form once typing pauses."""
        self._checks = (self._checks[0] + 1, self._checks[1])
        if self._check_timer is not None:
            self._check_timer.stop()
        self._check_timer = self.set_timer(CHECK_DELAY_S, self.check)

    def _options(self, errors: dict[str, str]) -> dict[str, int]:
        values = {}
        for key, label, _ in OPTIONS:
            try:
                values[key] = whole(self.query_one(f"#opt-{key}", Input).value, label, BOUNDS[key])
            except FormError as exc:
                errors[key] = str(exc)
        return values

    def _read(self) -> tuple[RecipeCard, dict[str, Any], dict[str, list[Any]], dict[str, int], dict[str, str]] | None:
        recipe, forms = self.recipe, self.query(ParamForm)
        if recipe is None or not forms:
            return None
        overrides, grid, errors = forms.first().read()
        return recipe, overrides, grid, self._options(errors), errors

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def check(self) -> None:
        """Check each field with `lab` (that field alone), then count the runs of the whole form."""
        worker = get_current_worker()
        asked = self._checks[0]
        read = self.app.call_from_thread(self._read)
        if read is None:
            self.app.call_from_thread(self._answered, asked)
            return
        recipe, overrides, grid, options, errors = read
        data = self.tui.data
        for name, value in overrides.items():
            try:
                data.count(recipe.name, {name: value}, {}, 1)
            except FieldError as exc:
                errors[exc.param or name] = exc.reason
        for name, values in grid.items():
            try:
                data.count(recipe.name, {}, {name: values}, 1)
            except FieldError as exc:
                errors[exc.param or name] = exc.reason
        count = None
        good_overrides = {k: v for k, v in overrides.items() if k not in errors}
        good_grid = {k: v for k, v in grid.items() if k not in errors}
        try:
            count = data.count(recipe.name, good_overrides, good_grid, options.get("reps", 1))
            if "reps" in errors:
                count = None  # a count of one rep is not the form's
            for param, reason in data.unmet(recipe.name, good_overrides, good_grid, 1).items():
                errors.setdefault(param or "", reason)
        except FieldError as exc:
            errors[exc.param or ""] = exc.reason
        if not worker.is_cancelled:
            self.app.call_from_thread(self._checked, recipe.name, errors, count, asked)

    def _answered(self, asked: int) -> None:
        self._checks = (self._checks[0], max(self._checks[1], asked))

    def _checked(self, recipe: str, errors: dict[str, str], count: int | None, asked: int = 0) -> None:
        self._answered(asked)
        if self.recipe is None or self.recipe.name != recipe:
            return
        self.errors, self.count = errors, count
        # F5 while this check was to come launches now, unless the form changed after it (then it waits
        # for the next F5: a launch never takes values typed after the key).
        if self._submit_when_checked is not None and not self.checking:
            pending, self._submit_when_checked = self._submit_when_checked, None
            if pending == (self._checks[0], recipe):
                self.call_after_refresh(self.action_submit)
        for row in self.query(ParamRow):
            error = errors.get(row.field.name)
            if error is not None:
                row.note(error, error=True)
            else:
                try:
                    values = row.values()
                except FormError:
                    values = []
                row.note(f"{len(values)} values" if len(values) > 1 else "")
        # A parameter's problem is under its field, whole; the options' and the form's below the options.
        params = {row.field.name for row in self.query(ParamRow)}
        problems = [errors[key] for key, _, _ in OPTIONS if key in errors]
        problems += [text for name, text in errors.items() if name not in params and name not in
                     {key for key, _, _ in OPTIONS}]
        self._say("#form-error",
                  Text("! " + "; ".join(problems), style="bold red") if problems else "")
        if count is not None:
            self._show_count(count)
        else:
            self._count_now()
        button = self.query_one("#launch", Button)
        button.label = f"Launch {runs_text(count)}" if count and not errors else "Launch"
        button.disabled = bool(errors) or not count

    # --- launching ------------------------------------------------------------------------------------
    @on(Button.Pressed, "#launch")
    def _pressed(self) -> None:
        self.action_submit()

    def action_submit(self) -> None:
        read = self._read()
        if read is None or self._launching:
            return
        if self.checking:  # typed just now: launch when the check of what was typed answers, not on older errors
            self._submit_when_checked = (self._checks[0], self.recipe.name if self.recipe else "")
            return
        recipe, overrides, grid, options, errors = read
        if errors or self.errors:
            self.notify("Fix the fields marked ! first", severity="error")
            return
        num_gpus = options.get("num_gpus", 0)
        request = LaunchRequest(recipe=recipe.name, overrides=overrides, grid=grid, reps=options["reps"],
                                gpus=self.query_one(GpuPicker).chosen if num_gpus else None,
                                num_gpus=num_gpus, per_gpu=options["per_gpu"], priority=options["priority"],
                                retries=options["retries"], source_run=self.source_run)
        count = self.count
        if count is not None and count > DEFAULT_LIMIT:
            def answered(yes: bool | None) -> None:
                if yes:
                    self._go(dataclasses.replace(request, confirmed=True))
            self.app.push_screen(ConfirmScreen(f"Launch all {count:,} runs?",
                                               f"That is more than {DEFAULT_LIMIT:,}: y launches them all, "
                                               "n goes back to the form."), answered)
            return
        self._go(request)

    def _go(self, request: LaunchRequest) -> None:
        if self._launching:
            return
        self._launching = True
        self.query_one("#launch", Button).disabled = True
        self._say("#launch-result", Text("launching...", style="dim"))
        self.launch(request)

    @work(thread=True, exclusive=True, group="launch", exit_on_error=False)
    def launch(self, request: LaunchRequest) -> None:
        """Submit through `lab` (which starts the daemon if none runs)."""
        try:
            result: Any = self.tui.data.launch(request)
        except FieldError as exc:
            result = exc
        self.app.call_from_thread(self._launched, result)

    def _launched(self, result: Any) -> None:
        self._launching = False
        self.query_one("#launch", Button).disabled = False
        if isinstance(result, FieldError):
            rows = {row.field.name: row for row in self.query(ParamRow)}
            if result.param in rows:
                rows[result.param].note(result.reason, error=True)
            self._say("#launch-result",
                      Text(f"! not launched, nothing stored: {result.reason}", style="bold red"))
            return
        self._say("#launch-result", "")
        self._clone, self.source_run = None, None  # launched: the next launch is a new one
        count = len(result.run_ids)
        self.notify(f"Launched {count} run{'s' if count != 1 else ''} of {result.experiment}")
        self.tui.show_launched(result.run_ids)
