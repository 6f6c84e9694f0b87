"""The client API: what the TUI, the CLI, scripts and notebooks call: ``lab.open(home) -> Lab``.

Every client goes through `Lab` (an import-linter contract keeps the CLI and the TUI off the layers
below). One module per concern behind it: launching (recipes, plans, launches), reading (results,
run details, logs, exports), experiments (submitting, running in the foreground), scheduler (the
daemon and the queue), steering, telemetry (what the daemon samples); gauges and results hold the
pure helpers a client formats with (bars, sparklines, JSON-safe values, CSV).

The names below load on first use (PEP 562), each from the module `_NAMES` gives: importing
``tuiflow.lab`` or a light module of it (`tuiflow.lab.gauges`) does not import the store, SQLite or
the engine; the app draws its first frame before `lab.open` brings them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tuiflow.errors import LabError

_NAMES: dict[str, str] = {
    **dict.fromkeys(("Lab", "open"), "tuiflow.lab.api"),
    # Store-level functions kept for the tests and benchmarks that drive a daemon without a `Lab`.
    "submit": "tuiflow.lab.experiments",
    "Exported": "tuiflow.lab.exports",
    "recipe_catalog": "tuiflow.lab.recipes",
    **dict.fromkeys(("DEFAULT_LIMIT", "MAX_RUNS"), "tuiflow.lab.limits"),
    **dict.fromkeys(("ResultsError", "log_text"), "tuiflow.lab.results"),
    **dict.fromkeys(("Cancelled", "QueuePage", "SchedulerError", "start_daemon", "stop_daemon"),
                    "tuiflow.lab.scheduler"),
    **dict.fromkeys(("RunningRun", "RunTelemetry", "Snapshot"), "tuiflow.lab.telemetry"),
    **dict.fromkeys(("DaemonStart", "DaemonStatus", "Page", "ParamError", "ParamInfo", "Plan", "RecipeInfo", "RunRow",
                     "Status", "Submission"), "tuiflow.lab.types"),
    **dict.fromkeys(("Experiment", "NoStoreError", "NotFoundError", "Run"), "tuiflow.store"),
}

if TYPE_CHECKING:  # what type checkers and editors see: the names as if imported here
    from tuiflow.lab.api import Lab, open
    from tuiflow.lab.experiments import submit
    from tuiflow.lab.exports import Exported
    from tuiflow.lab.limits import DEFAULT_LIMIT, MAX_RUNS
    from tuiflow.lab.recipes import recipe_catalog
    from tuiflow.lab.results import ResultsError, log_text
    from tuiflow.lab.scheduler import Cancelled, QueuePage, SchedulerError, start_daemon, stop_daemon
    from tuiflow.lab.telemetry import RunningRun, RunTelemetry, Snapshot
    from tuiflow.lab.types import (
        DaemonStart,
        DaemonStatus,
        Page,
        ParamError,
        ParamInfo,
        Plan,
        RecipeInfo,
        RunRow,
        Status,
        Submission,
    )
    from tuiflow.store import Experiment, NoStoreError, NotFoundError, Run


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use, and keep it here for the next."""
    module_name = _NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'tuiflow.lab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_NAMES})


__all__ = [
    "DEFAULT_LIMIT",
    "MAX_RUNS",
    "Cancelled",
    "DaemonStart",
    "DaemonStatus",
    "Experiment",
    "Exported",
    "Lab",
    "LabError",
    "NoStoreError",
    "NotFoundError",
    "Page",
    "ParamError",
    "ParamInfo",
    "Plan",
    "QueuePage",
    "RecipeInfo",
    "ResultsError",
    "Run",
    "RunRow",
    "RunTelemetry",
    "RunningRun",
    "SchedulerError",
    "Snapshot",
    "Status",
    "Submission",
    "log_text",
    "open",
    "recipe_catalog",
    "start_daemon",
    "stop_daemon",
    "submit",
]
