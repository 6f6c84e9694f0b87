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

__all__ = [
    "Exported", "ResultsError", "Submission", "count_results", "export", "follow_log", "iter_results",
    "list_results", "log_text", "recipe_catalog", "run_details", "run_foreground", "submit",
]
