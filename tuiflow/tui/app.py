"""`TuiflowApp`: the workbench. One more client of `tuiflow.lab`: it holds no state the store does not
have, and closing it stops nothing but the view."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterable
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tuiflow.lab.gauges import Glyphs
from tuiflow.tui.data import LabData
from tuiflow.tui.keymap import KeymapError, load_keymap
from tuiflow.tui.options import Options
from tuiflow.tui.themes import THEMES

HANGUP_GRACE_S = 3.0  # after the terminal went away, the app is gone within this, cleanly or not


class TuiflowApp(App[None]):
    """Dashboard, Launch, History and Help over one home."""

    CSS_PATH = "app.tcss"
    TITLE = "tuiflow"
    DEFAULT_MODE = "dashboard"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("d", "show_dashboard", "dash", id="dashboard", tooltip="The dashboard: GPUs, host and runs"),
        Binding("l", "launch", "launch", id="launch", tooltip="Launch a recipe: parameters, grid, GPUs"),
        Binding("h", "history", "hist", id="history", tooltip="Every past run (comes with the next issue)"),
        Binding("question_mark,f1", "help", "help", id="help", key_display="?", tooltip="Every key, and its id"),
        Binding("q", "quit", "quit", id="quit", tooltip="Quit the view: the daemon and the runs go on"),
        Binding("ctrl+p", "command_palette", "palette", id="command_palette", show=False, priority=True,
                tooltip="Open the command palette"),
    ]

    def __init__(self, options: Options | None = None, data: LabData | None = None) -> None:
        self.options = options or Options()
        self.data = data or LabData(self.options.home, clock=self.options.clock)
        self.glyphs = Glyphs.pick(self.options.ascii)
        self.keymap_problem: str | None = None
        super().__init__()
        if self.options.ascii:
            _ascii_scrollbars()
        for theme in THEMES:
            self.register_theme(theme)
        self.add_mode("dashboard", self._dashboard)
        self.add_mode("launch", self._launch)
        self.add_mode("history", self._history)
        try:
            self.user_keymap = load_keymap(self.data.home)
        except KeymapError as exc:
            self.user_keymap, self.keymap_problem = {}, str(exc)

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
        self.theme = self.options.theme
        if self.options.ascii:
            self.add_class("-ascii")
        if self.user_keymap:
            self.set_keymap(self.user_keymap)
        if self.keymap_problem:
            self.notify(f"{self.keymap_problem}: the default keys are used", severity="warning", timeout=8)
        self._watch_hangup()

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
        from tuiflow.tui.screens.confirm import ConfirmScreen
        from tuiflow.tui.screens.dashboard import DashboardScreen
        from tuiflow.tui.screens.history import HistoryScreen
        from tuiflow.tui.screens.launch import LaunchScreen
        from tuiflow.tui.screens.log import LogScreen
        from tuiflow.tui.widgets.runs_table import RunsTable

        def own(*owners: Any) -> list[Binding]:
            return [b for owner in owners for b in owner.BINDINGS if isinstance(b, Binding)]

        return [("everywhere", own(TuiflowApp)),
                ("dashboard: the selected run", own(DashboardScreen, RunsTable)),
                ("launch", own(LaunchScreen)), ("log view", own(LogScreen)), ("history", own(HistoryScreen)),
                ("questions", own(ConfirmScreen))]

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

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette: the app's screens and the current screen's actions, beside Textual's own."""
        yield SystemCommand("Dashboard", "GPUs, host, runs and the selected run", self.action_show_dashboard)
        yield SystemCommand("Launch", "Launch a recipe", self.action_launch)
        yield SystemCommand("History", "Every past run (next issue)", self.action_history)
        yield SystemCommand("Keys", "Every key, and its id", self.action_help)
        for binding in getattr(screen, "BINDINGS", []):
            if isinstance(binding, Binding) and binding.tooltip and binding.action.isidentifier():
                action = getattr(screen, f"action_{binding.action}", None)
                if action is not None:
                    yield SystemCommand(binding.tooltip.split(" (")[0], f"key {self.keys_of(binding)}", action)
        for command in super().get_system_commands(screen):
            if command.title in ("Theme", "Quit", "Keys", "Screenshot"):
                yield command


def _ascii_scrollbars() -> None:
    """Scrollbars drawn without block glyphs (Textual's use eighth blocks for a smooth thumb)."""
    from textual.scrollbar import ScrollBar, ScrollBarRender

    class AsciiScrollBarRender(ScrollBarRender):
        VERTICAL_BARS = [" "] * 8
        HORIZONTAL_BARS = [" "] * 8

    ScrollBar.renderer = AsciiScrollBarRender


def run_app(options: Options) -> int:
    """Run the app in this terminal until the user quits (or the terminal goes away); the exit code."""
    app = TuiflowApp(options)
    app.run()
    return app.return_code or 0
