"""The client API: what the TUI and the CLI both call.

One module per concern: recipes (list, run in the foreground), experiments (submit runs),
results (read what runs left in the store).
"""

from tuiflow.lab.experiments import Submission, run_foreground, submit
from tuiflow.lab.recipes import recipe_catalog

__all__ = ["Submission", "recipe_catalog", "run_foreground", "submit"]
