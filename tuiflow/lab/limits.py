"""How many runs one experiment may have, readable without importing the recipes (which bring the
pipeline engine and numpy): the CLI's help and `Lab.plan`'s default take them from here.

They are `tuiflow.recipes.DEFAULT_LIMIT` and `MAX_RUNS`, which the recipes enforce; tests/lab checks
that both places say the same.
"""

DEFAULT_LIMIT = 1_000
"""Runs a plan may have unless its caller raises the limit (the CLI's --yes)."""
MAX_RUNS = 100_000
"""Runs no experiment may exceed, whatever limit is asked."""
