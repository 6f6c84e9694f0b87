"""The client API: what the TUI, the CLI, scripts and notebooks call: ``lab.open(home) -> Lab``.

One module per concern: recipes (the catalog), experiments (submit runs, run them in the
foreground), results and exports (read what runs left in the store), scheduler (the daemon and the
queue), telemetry (what the daemon samples).
"""

from tuiflow.errors import LabError
from tuiflow.lab.api import Lab, open
from tuiflow.lab.experiments import Plan, Submission, plan, run_foreground, submit
from tuiflow.lab.exports import Exported, export
from tuiflow.lab.recipes import recipe_catalog
from tuiflow.lab.results import (
    ResultsError,
    count_results,
    follow_log,
    iter_results,
    list_results,
    log_text,
    run_details,
)
from tuiflow.lab.scheduler import (
    GpuRequest,
    SchedulerError,
    cancel,
    daemon_info,
    daemon_status,
    gpu_request,
    gpus,
    pause,
    queue,
    retry,
    set_priority,
    start_daemon,
    stop_daemon,
)
from tuiflow.lab.telemetry import RunningRun, RunTelemetry, Snapshot, history, latest, running_runs, series
from tuiflow.lab.types import DaemonStatus, Page, ParamError, ParamInfo, RecipeInfo, RunRow, Status
from tuiflow.store import Experiment, NoStoreError, NotFoundError, Run

__all__ = [
    "DaemonStatus",
    "Experiment",
    "Exported",
    "GpuRequest",
    "Lab",
    "LabError",
    "NoStoreError",
    "NotFoundError",
    "Page",
    "ParamError",
    "ParamInfo",
    "Plan",
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
    "cancel",
    "count_results",
    "daemon_info",
    "daemon_status",
    "export",
    "follow_log",
    "gpu_request",
    "gpus",
    "history",
    "iter_results",
    "latest",
    "list_results",
    "log_text",
    "open",
    "pause",
    "plan",
    "queue",
    "recipe_catalog",
    "retry",
    "run_details",
    "run_foreground",
    "running_runs",
    "series",
    "set_priority",
    "start_daemon",
    "stop_daemon",
    "submit",
]
