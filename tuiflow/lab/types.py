"""The values `Lab` takes and gives: errors, run statuses, plans, submissions, pages and views.

Every error `Lab` raises is a `LabError` (the store's, the recipes' and the scheduler's errors are
subclasses of it), with a one-line message that says what and where.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tuiflow.errors import LabError
from tuiflow.store import Run, Status

__all__ = [
    "DaemonStart", "DaemonStatus", "LabError", "Page", "ParamError", "ParamInfo", "Plan", "RecipeInfo", "RunRow",
    "Status", "Submission",
]


class ParamError(LabError, ValueError):
    """A parameter value a recipe cannot take: which recipe, which parameter, and why, so that a form
    can show the reason next to its field. The message names no command-line flag."""

    def __init__(self, recipe: str, param: str | None, reason: str) -> None:
        self.recipe = recipe
        self.param = param
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class ParamInfo:
    """One parameter of a recipe: its default, type (int, float, bool, str or any), choices, help and unit."""

    name: str
    default: Any
    type: str
    choices: list[Any] | None = None
    help: str = ""
    unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return asdict(self)


@dataclass(frozen=True)
class RecipeInfo:
    """A recipe a user can launch."""

    name: str
    description: str
    file: str
    params: dict[str, ParamInfo]
    requires: list[dict[str, Any]] = field(default_factory=list)
    """What its runs need installed: ``{"needs": "tuiflow[torch]", "param": "framework", "value": "torch"}``
    (no ``param``: every run)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {"name": self.name, "description": self.description, "file": self.file,
                "params": {name: p.to_dict() for name, p in self.params.items()},
                "requires": [dict(need) for need in self.requires]}


@dataclass(frozen=True)
class Plan:
    """An experiment checked but not stored: the recipe, its base config and every run's config,
    repetition and seed. ``len(plan)`` is the run count."""

    recipe: str
    base: dict[str, Any]
    grid: dict[str, list[Any]]
    reps: int
    seed: int
    name: str | None
    runs: list[Any] = field(repr=False)
    recipe_file: str = ""
    source_run: int | None = None  # the run this plan was cloned from (`Lab.clone_plan`)

    def __len__(self) -> int:
        return len(self.runs)


@dataclass(frozen=True)
class Submission:
    """An experiment just stored and its runs' ids."""

    experiment_id: int
    experiment: str
    run_ids: list[int]
    daemon_pid: int | None = None  # the daemon that will run them (None: run in the foreground)
    daemon_started: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return asdict(self)


@dataclass(frozen=True)
class RunRow:
    """A run as a table shows it: the run, its experiment's name, the newest value of each metric."""

    run: Run
    experiment: str | None
    latest: dict[str, float | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict: the run's fields, plus experiment and latest."""
        return {**self.run.to_dict(), "experiment": self.experiment, "latest": dict(self.latest)}


@dataclass(frozen=True)
class Page:
    """One page of results: rows (each a dict: the run's fields, `experiment`, `config`, `metrics`), how
    many runs match in all, and `next`, the cursor to pass as `after` (None after the last page)."""

    rows: list[dict[str, Any]]
    total: int
    next: Any | None
    sort: str | None = None


@dataclass(frozen=True)
class DaemonStatus:
    """The home's daemon and queue."""

    running_daemon: bool
    pid: int | None
    home: str
    executor: str | None
    started_at: float | None
    host: str | None
    version: str | None
    running: int
    queued: int
    paused: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (what `tuiflow daemon status --json` prints)."""
        return asdict(self)


@dataclass(frozen=True)
class DaemonStart:
    """What `Lab.start_daemon` did: the daemon that serves the home now, and whether this call
    started it (False: one was running already, or another client's start won the race)."""

    pid: int
    home: str
    started: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return asdict(self)
