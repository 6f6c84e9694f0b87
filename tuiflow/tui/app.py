"""`TuiflowApp`: the workbench. One more client of `tuiflow.lab`: it holds no state the store does not
have, and closing it stops nothing but the view."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from textual import events, work
from textual.app import App, SystemCommand
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.filter import LineFilter
from textual.geometry import Size
from textual.screen import Screen
from textual.scrollbar import ScrollBar, ScrollBarRender

from tuiflow.lab.gauges import Glyphs
from tuiflow.tui.commands import DaemonCommands
from tuiflow.tui.data import ActionError, HomeError, LabData
from tuiflow.tui.key_order import KeysInOrder
from tuiflow.tui.keymap import KeymapError, check_keymap, load_keymap
from tuiflow.tui.options import Options
from tuiflow.tui.screens.too_small import TooSmallScreen, too_small
from tuiflow.tui.themes import THEMES
from tuiflow.tui.widgets.glyphs import AsciiOnly

HANGUP_GRACE_S = 3.0  # after the terminal went away, the app is gone within this, cleanly or not


class TuiflowApp(KeysInOrder, App[None]):
    """Dashboard, Launch, History and Help over one home."""

    # The dashboard's styles are read with the app's: a screen with a stylesheet of its own makes Textual
    # parse every style of the app again when it is first shown, and the dashboard is shown at start.
    CSS_PATH = ["app.tcss", "screens/dashboard.tcss"]
    NOTIFICATION_TIMEOUT = 4  # a toast covers part of an 80x24 screen: gone sooner than Textual's 5 s
    TITLE = "tuiflow"
    DEFAULT_MODE = "dashboard"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {DaemonCommands}  # starting and stopping the daemon, on every screen
    BINDINGS = [
        Binding("d", "show_dashboard", "dash", id="dashboard", tooltip="The dashboard: GPUs, host and runs"),
        Binding("l", "launch", "launch", id="launch", tooltip="Launch a recipe: parameters, grid, GPUs"),
        Binding("h", "history", "hist", id="history", tooltip="Every past run: experiments, filters, compare, clone"),
        Binding("question_mark,f1", "help", "help", id="help", key_display="?", tooltip="Every key, and its id"),
        Binding("q", "quit", "quit", id="quit", tooltip="Quit the view: the daemon and the runs go on"),
        Binding("ctrl+p", "command_palette", "palette", id="command_palette", show=False, priority=True,
                tooltip="Open the command palette"),
    ]

    def __init__(self, options: Options | None = None, data: LabData | None = None) -> None:
        self.options = options or Options()
        self.data = data or LabData(self.options.home, clock=self.options.clock)
        self.glyphs = Glyphs.pick(self.options.ascii)
        self._ascii_only = AsciiOnly()
        self.keymap_problem: str | None = None
        self.keymap_refused: list[str] = []  # entries of the keymap file not applied, one line each
        self.user_keymap: dict[str, str] = {}
        self.fatal: str | None = None  # why the app could not open its home (the command line says it)
        self._waiting_for_lab: list[Callable[[], None]] | None = []  # None once the Lab is open
        super().__init__()
        _pick_scrollbars(self.options.ascii)
        # Set before the first frame rather than on mount: there each would restyle every widget again.
        self.set_class(self.options.ascii, "-ascii", update=False)
        for theme in THEMES:
            self.register_theme(theme)
        if self.options.theme in self.available_themes:
            self.theme = self.options.theme
        self.add_mode("dashboard", self._dashboard)
        self.add_mode("launch", self._launch)
        self.add_mode("history", self._history)

    def _dashboard(self) -> Screen:
        from tuiflow.tui.screens.dashboard import DashboardScreen

        return DashboardScreen()

    def _launch(self) -> Screen:
        from tuiflow.tui.screens.launch import LaunchScreen

        return LaunchScreen()

    def _history(self) -> Screen:
        from tuiflow.tui.screens.history import HistoryScreen

        return HistoryScreen()

    def on_mount(self) -> None:
        self._watch_hangup()
        self._open_lab()
        self._guard_size()

    # --- a terminal smaller than 80x24 ----------------------------------------------------------------
    @property
    def too_small(self) -> bool:
        """Whether the terminal is smaller than the screens are made for (they wait, behind a notice)."""
        return too_small(*self.size)

    def on_resize(self, event: events.Resize) -> None:
        self._guard_size(event.size)  # before Textual's own handler takes the new size (self.size is the old)

    def _guard_size(self, size: Size | None = None) -> None:
        """The notice on top while the terminal is too small (whatever screen or mode came up since);
        gone once it is large enough."""
        size = size or self.size
        top = self.screen_stack[-1] if self.screen_stack else None
        if too_small(*size):
            if isinstance(top, TooSmallScreen):
                top.show_size(*size)
            elif top is not None:
                self.push_screen(TooSmallScreen((size.width, size.height)))
        elif isinstance(top, TooSmallScreen):
            self.pop_screen()

    def switch_mode(self, mode: str) -> AwaitComplete:
        done = super().switch_mode(mode)
        if self.too_small:
            self.call_after_refresh(self._guard_size)  # the notice on the new mode's screens too
        return done

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        pushed = super().push_screen(screen, *args, **kwargs)
        if self.too_small and not isinstance(screen, TooSmallScreen):
            self.call_after_refresh(self._guard_size)  # a screen a worker opened: the notice stays on top
        return pushed

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the terminal is too small, the app's keys wait (but quit)."""
        if self.too_small and action not in ("quit", "command_palette"):
            return False
        return super().check_action(action, parameters)

    # --- the home -------------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="open", exit_on_error=False)
    def _open_lab(self) -> None:
        """Open the home's Lab and read its keymap, off the event loop: the first frame does not wait."""
        keymap: dict[str, str] = {}
        refused: list[str] = []
        problem = fatal = None
        try:
            home = self.data.open()
        except HomeError as exc:  # the user's to fix: said on the command line, the app closes
            fatal = str(exc)
        except Exception:  # ours, or a store that fails now and may not later: the polls say it, and retry
            pass
        else:
            try:
                keymap = load_keymap(home)
            except KeymapError as exc:
                problem = str(exc)
            if keymap:  # the screens' bindings are imported here, off the loop, and only for a keymap
                keymap, refused = check_keymap(keymap, self.binding_keys())
        self.call_from_thread(self._lab_opened, keymap, problem, fatal, refused)

    def _lab_opened(self, keymap: dict[str, str], problem: str | None, fatal: str | None,
                    refused: list[str] | None = None) -> None:
        if fatal is not None:
            self.fatal = fatal
            self.exit(return_code=2)
            return
        self.user_keymap, self.keymap_problem, self.keymap_refused = keymap, problem, list(refused or ())
        if keymap:
            self.set_keymap(keymap)
        if problem:
            self.notify(f"{problem}: the default keys are used", severity="warning", timeout=8)
        for line in self.keymap_refused:
            self.notify(line, severity="warning", timeout=8)
        waiting, self._waiting_for_lab = self._waiting_for_lab or [], None
        for callback in waiting:
            callback()

    def when_open(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the Lab is open and the keymap applied (at once if they are)."""
        if self._waiting_for_lab is None:
            callback()
        else:
            self._waiting_for_lab.append(callback)

    # --- the terminal going away ----------------------------------------------------------------------
    def _watch_hangup(self) -> None:
        """SIGHUP (the SSH session or tmux pane gone) ends the app; should a clean exit hang on a dead
        terminal, the process ends anyway after HANGUP_GRACE_S. The daemon and the runs go on."""
        if threading.current_thread() is not threading.main_thread() or self.is_headless:
            return
        loop = self._loop

        def hangup(signum: int, frame: Any) -> None:
            threading.Timer(HANGUP_GRACE_S, os._exit, args=(129,)).start()
            if loop is not None:
                loop.call_soon_threadsafe(self.exit, None, 129)

        signal.signal(signal.SIGHUP, hangup)

    # --- screens --------------------------------------------------------------------------------------
    def action_show_dashboard(self) -> None:
        self.switch_mode("dashboard")

    def action_launch(self) -> None:
        self.switch_mode("launch")

    def action_history(self) -> None:
        self.switch_mode("history")

    baseline_run: int | None = None
    """The run pinned as the baseline in Compare: first in every comparison, ratios against it."""

    def action_open_run(self, run_id: int) -> None:
        """Push the run detail of one run (Overview, Metrics, Profile, Telemetry, Log)."""
        from tuiflow.tui.screens.run_detail import RunDetailScreen

        self.push_screen(RunDetailScreen(int(run_id)))

    def action_compare(self, run_ids: list[int]) -> None:
        """Push Compare for these runs, the pinned baseline (`baseline_run`) first."""
        from tuiflow.tui.screens.compare import CompareScreen

        self.push_screen(CompareScreen([int(i) for i in run_ids]))

    def action_clone(self, run_id: int) -> None:
        """Open Launch on a run's recipe and exact parameters, to edit and submit (History's `n`)."""
        self._read_clone(int(run_id))

    @work(thread=True, exclusive=True, group="clone", exit_on_error=False)
    def _read_clone(self, run_id: int) -> None:
        try:
            recipe, values = self.data.clone_source(run_id)
        except ActionError as exc:
            self.call_from_thread(self.notify, f"cannot clone run {run_id}: {exc}", severity="error")
            return
        self.call_from_thread(self._open_clone, recipe, values, run_id)

    def _open_clone(self, recipe: str, values: dict[str, Any], run_id: int) -> None:
        from tuiflow.tui.screens.launch import LaunchScreen

        self.switch_mode("launch")
        if isinstance(self.screen, LaunchScreen):
            self.screen.clone(recipe, values, run_id)

    def action_help(self) -> None:
        from tuiflow.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def show_launched(self, run_ids: Iterable[int]) -> None:
        """Back on the dashboard, with the first of the runs just launched selected."""
        from tuiflow.tui.screens.dashboard import DashboardScreen

        ids = list(run_ids)
        self.switch_mode("dashboard")
        screen = self.screen
        if isinstance(screen, DashboardScreen) and ids:
            screen.pending_select = ids[0]
            screen.refresh_now()

    # --- keys -----------------------------------------------------------------------------------------
    def binding_groups(self) -> list[tuple[str, list[Binding]]]:
        """Every binding of the app, by the screen where it works (the help screen's table)."""
        from tuiflow.tui.screens.compare import CompareScreen
        from tuiflow.tui.screens.confirm import ConfirmScreen
        from tuiflow.tui.screens.dashboard import DashboardScreen
        from tuiflow.tui.screens.export import ExportScreen
        from tuiflow.tui.screens.help import HelpScreen
        from tuiflow.tui.screens.history import HistoryScreen
        from tuiflow.tui.screens.launch import LaunchScreen
        from tuiflow.tui.screens.log import LogScreen
        from tuiflow.tui.screens.run_detail import RunDetailScreen
        from tuiflow.tui.widgets.experiments_table import ExperimentsTable
        from tuiflow.tui.widgets.filter_bar import FilterBar
        from tuiflow.tui.widgets.gpu_picker import GpuPicker
        from tuiflow.tui.widgets.results_table import ResultsTable
        from tuiflow.tui.widgets.runs_table import RunsTable

        def own(*owners: Any) -> list[Binding]:
            seen: set[str] = set()  # a subclass repeats its base's bindings: each id once
            found = []
            for owner in owners:
                for binding in owner.BINDINGS:
                    if isinstance(binding, Binding) and (binding.id is None or binding.id not in seen):
                        seen.add(binding.id or "")
                        found.append(binding)
            return found

        return [("everywhere", own(TuiflowApp)),
                ("dashboard: the selected run", own(DashboardScreen, RunsTable)),
                ("launch", own(LaunchScreen, GpuPicker)), ("log view", own(LogScreen)),
                ("history", own(HistoryScreen, ExperimentsTable, ResultsTable, FilterBar)),
                ("run detail", own(RunDetailScreen)), ("compare", own(CompareScreen)),
                ("export", own(ExportScreen)), ("questions", own(ConfirmScreen)), ("this help", own(HelpScreen))]

    def binding_keys(self) -> dict[str, str]:
        """Every binding id of the app -> its default keys (what a keymap file may remap)."""
        return {binding.id: binding.key for _, bindings in self.binding_groups() for binding in bindings
                if binding.id}

    def keys_of(self, binding: Binding) -> str:
        """A binding's keys as the user has them (the keymap file applied), for display."""
        keys = self.user_keymap.get(binding.id, binding.key) if binding.id else binding.key
        shown = []
        for key in keys.split(","):
            key = key.strip()
            if key == binding.key and binding.key_display and "," not in binding.key:
                shown.append(binding.key_display)
            else:
                shown.append({"question_mark": "?", "plus": "+", "minus": "-", "escape": "esc",
                              "enter": "enter"}.get(key, key))
        return " ".join(shown)

    def key_for(self, binding_id: str) -> str:
        """The first key of a binding of the app's own, by id (what "press l" says)."""
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.id == binding_id:
                return self.keys_of(binding).split(" ")[0]
        return binding_id

    def get_key_display(self, binding: Binding) -> str:
        """Textual's display of a key, in words where it would be a symbol under --ascii (``⏎``: enter)."""
        shown = super().get_key_display(binding)
        return shown if not self.options.ascii or shown.isascii() else binding.key.split(",")[0]

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, and under --ascii one that keeps every line ASCII: the app's own glyphs are,
        and it turns what Textual's and textual-plot's widgets draw (tab underlines, a select's arrow,
        a plot's axes, rounded borders) into - | + and look-alikes."""
        filters = super().get_line_filters()
        return [*filters, self._ascii_only] if self.options.ascii else filters

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette: the app's screens and the current screen's actions, beside Textual's own."""
        yield SystemCommand("Dashboard", "GPUs, host, runs and the selected run", self.action_show_dashboard)
        yield SystemCommand("Launch", "Launch a recipe", self.action_launch)
        yield SystemCommand("History", "Every past run: experiments, filters, compare, clone", self.action_history)
        yield SystemCommand("Keys", "Every key, and its id", self.action_help)
        for binding in getattr(screen, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.tooltip and binding.action.isidentifier():
                action = getattr(screen, f"action_{binding.action}", None)
                if action is not None:
                    yield SystemCommand(binding.tooltip.split(" (")[0], f"key {self.keys_of(binding)}", action)
        for command in super().get_system_commands(screen):
            if command.title in ("Theme", "Quit", "Screenshot"):  # its "Keys" is ours above
                yield command


class AsciiScrollBarRender(ScrollBarRender):
    """Scrollbars drawn without block glyphs (Textual's use eighth blocks for a smooth thumb)."""

    VERTICAL_BARS = [" "] * 8
    HORIZONTAL_BARS = [" "] * 8


def _pick_scrollbars(ascii_only: bool) -> None:
    """ASCII scrollbars under --ascii, else Textual's own. Textual has one renderer for every scrollbar
    of the process, so each app sets it: an app made after an --ascii one (in tests) gets the usual back."""
    ScrollBar.renderer = AsciiScrollBarRender if ascii_only else ScrollBarRender


def run_app(options: Options) -> int:
    """Run the app in this terminal until the user quits (or the terminal goes away); the exit code."""
    app = TuiflowApp(options)
    app.run()
    if app.fatal:
        print(f"tuiflow: {app.fatal}", file=sys.stderr)
    return app.return_code or 0
