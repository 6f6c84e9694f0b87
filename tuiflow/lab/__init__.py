"""The client API: what the TUI and the CLI both call.

One module per concern: recipes (list, run in the foreground), experiments (submit runs),
results (read what runs left in the store).
"""

from tuiflow.lab.recipes import ForegroundResult, recipe_catalog, run_foreground

__all__ = ["ForegroundResult", "recipe_catalog", "run_foreground"]
