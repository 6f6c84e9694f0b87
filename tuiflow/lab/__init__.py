"""The client API: what the TUI and the CLI both call.

One module per concern: recipes (list, run in the foreground), experiments (submit runs),
results (read what runs left in the store).
"""

from tuiflow.lab.experiments import Submission, run_foreground, submit
from tuiflow.lab.recipes import recipe_catalog
from tuiflow.lab.results import (
    Exported,
    ResultsError,
    count_results,
    export,
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

__all__ = [
    "Exported", "GpuRequest", "ResultsError", "RunTelemetry", "RunningRun", "SchedulerError", "Snapshot",
    "Submission", "cancel", "count_results", "daemon_info", "daemon_status", "export", "follow_log",
    "gpu_request", "gpus", "history", "iter_results", "latest", "list_results", "log_text", "pause", "queue",
    "recipe_catalog", "retry", "run_details", "run_foreground", "running_runs", "series", "set_priority",
    "start_daemon", "stop_daemon", "submit",
]
