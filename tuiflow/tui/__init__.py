"""The terminal app (`tuiflow` with no arguments, or `tuiflow tui`): Dashboard, Launch, History, Help.

It imports textual, rich and `tuiflow.lab`, nothing else of tuiflow: every read and every action
goes through `tuiflow.tui.data`, the app's one door to `lab`.
"""

from tuiflow.tui.app import TuiflowApp, run_app
from tuiflow.tui.options import Options

__all__ = ["Options", "TuiflowApp", "run_app"]
