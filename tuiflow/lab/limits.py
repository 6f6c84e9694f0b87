"""What one launch may ask for, in one table: how many runs an experiment may have, and the bounds of
the whole numbers a launch takes (reps, GPUs per run, runs per GPU, priority, retries). The CLI's
options, the app's launch form and `Lab.plan`/`Lab.launch` all read them here, so a number one of them
refuses the others refuse too, in the same words. Readable without importing the recipes (which bring
the pipeline engine and numpy).

`DEFAULT_LIMIT` and `MAX_RUNS` are `tuiflow.recipes.DEFAULT_LIMIT` and `MAX_RUNS`, which the recipes
enforce (the recipes sit below lab and cannot read this module); tests/lab checks that both say the same.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_LIMIT = 1_000
"""Runs a plan may have unless its caller confirms more (the CLI's --yes, the launch form's y/n)."""
MAX_RUNS = 100_000
"""Runs no experiment may exceed, whatever is confirmed."""


@dataclass(frozen=True)
class Bound:
    """A whole number a launch option takes, from ``low`` to ``high`` (both included)."""

    name: str
    """The option as `Lab` names it (``retries``); a client names it its own way (``--retries``)."""
    low: int
    high: int
    what: str = ""
    """What the number is, for a form's help line and the CLI's --help."""

    def problem(self, value: object, label: str | None = None) -> str | None:
        """Why ``value`` cannot be taken, one line naming ``label`` (default: the option's name); None
        when it can."""
        if not isinstance(value, bool) and isinstance(value, int) and self.low <= value <= self.high:
            return None
        return f"{label or self.name} must be a whole number from {self.low:,} to {self.high:,}, not {value!r}"

    def check(self, value: object, label: str | None = None) -> int:
        """``value`` when it is in range; a LabError saying the range otherwise."""
        from tuiflow.errors import LabError

        problem = self.problem(value, label)
        if problem is not None:
            raise LabError(problem)
        return value  # type: ignore[return-value]  # an int: problem() said so


BOUNDS: dict[str, Bound] = {bound.name: bound for bound in (
    Bound("reps", 1, MAX_RUNS, "repetitions of each config, each with its own seed"),
    Bound("num_gpus", 0, 64, "GPUs each run gets (0: CPU only)"),
    Bound("per_gpu", 1, 1_000, "how many runs may share one GPU"),
    Bound("priority", -1_000_000_000, 1_000_000_000, "higher starts first"),
    Bound("retries", 0, 1_000, "run a failed or lost run again up to this many times"),
)}
"""Every launch option's bounds, by `Lab`'s name for it: within SQLite's 64-bit integers and common sense."""
