"""Records that cross layers: what the store hands to the scheduler, the runner, the lab and the TUI."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import PurePath
from typing import Any

from .errors import StoreError


class Status(str, Enum):
    """A run's status: a `str` whose value is what the store and JSON say ("running" == Status.RUNNING)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"

    # Printed and formatted as its value, not "Status.RUNNING": tables and messages show statuses.
    __str__ = str.__str__
    __format__ = str.__format__

    @property
    def is_final(self) -> bool:
        """True for the statuses a run ends in."""
        return self.value in FINAL_STATUSES


RUN_STATUSES = ("queued", "running", "done", "failed", "cancelled", "lost")
ACTIVE_STATUSES = ("queued", "running")
FINAL_STATUSES = ("done", "failed", "cancelled", "lost")
EXECUTORS = ("daemon", "foreground")
"""Who executes a queued run: the home's scheduler daemon, or the foreground command that submitted it
(`tuiflow run --foreground`), its owner."""


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays turn up in grids and results; they have exact JSON equivalents.
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, PurePath):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def to_json(value: Any, what: str = "value") -> str:
    """Encode `value` as JSON text for a TEXT column; anything JSON can't hold is a StoreError.

    NaN and the infinities are refused too: Python's json would write them as bare `NaN` and
    `Infinity`, which SQLite's JSON functions (and every strict reader) reject. Final metrics spell
    them as strings first (`metrics_to_json`).
    """
    try:
        return json.dumps(value, default=_json_default, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:
        if "Out of range float" in str(exc):
            raise StoreError(f"{what} holds NaN or an infinity, which JSON has no number for: "
                             "use a finite number") from None
        raise StoreError(f"{what} must be JSON (numbers, strings, lists, dicts): {exc}") from None
    except TypeError as exc:
        raise StoreError(f"{what} must be JSON (numbers, strings, lists, dicts): {exc}") from None


def from_json(text: str | None, default: Any = None) -> Any:
    """Decode a JSON TEXT column; NULL gives `default`."""
    return default if text is None else json.loads(text)


NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
"""How final metrics keep NaN and the infinities: as these JSON strings, since SQLite's JSON functions
refuse the bare `NaN` and `Infinity` that Python's json writes."""


def _map_floats(value: Any, leaf: Any) -> Any:
    """`value` (a float, or dicts and lists of them, numpy included) with each float passed to `leaf`."""
    if isinstance(value, float):  # numpy's float64 too: it is a float
        return leaf(value)
    if isinstance(value, dict):
        return {key: _map_floats(item, leaf) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_map_floats(item, leaf) for item in value]
    if not isinstance(value, (str, bytes, int)) and (hasattr(value, "tolist") or hasattr(value, "item")):
        try:
            return _map_floats(_json_default(value), leaf)  # numpy float32 scalars and arrays
        except (TypeError, ValueError):
            return value  # not numpy after all: the JSON encoder says what it makes of it
    return value


def _spell(number: float) -> Any:
    if math.isfinite(number):
        return number
    return "nan" if math.isnan(number) else "inf" if number > 0 else "-inf"


def spell_non_finite(value: Any) -> Any:
    """`value` (a float, or dicts and lists of them) with NaN and the infinities as "nan", "inf", "-inf"."""
    return _map_floats(value, _spell)


def _read_non_finite(value: Any) -> Any:
    if isinstance(value, str):
        return NON_FINITE.get(value, value)
    if isinstance(value, dict):
        return {key: _read_non_finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_read_non_finite(item) for item in value]
    return value


def metrics_to_json(metrics: Any) -> str:
    """Encode final metrics as strict JSON: NaN and the infinities become "nan", "inf" and "-inf"."""
    return to_json(spell_non_finite(metrics), "run metrics")


def _finite_or_none(value: Any) -> Any:
    """`value` with NaN and the infinities as None (telemetry readers expect a number or None)."""
    return _map_floats(value, lambda number: number if math.isfinite(number) else None)


def samples_to_json(values: Any) -> str:
    """Encode telemetry values: NaN and the infinities become null, what the monitor writes for a
    reading it has not got (the telemetry readers expect a number or None, never a string)."""
    return to_json(_finite_or_none(values), "sample values")


def metrics_from_json(text: str | None) -> Any:
    """Decode final metrics, the strings "nan", "inf" and "-inf" back to floats; NULL gives None."""
    return None if text is None else _read_non_finite(json.loads(text))


@dataclass(frozen=True)
class Experiment:
    """One launch of a recipe: a base config, a grid of overrides and a number of repetitions."""

    id: int
    name: str
    recipe: str
    recipe_file: str | None
    config: dict[str, Any]
    grid: Any
    reps: int
    seed: int | None
    created_at: float
    notes: str
    recipe_sha256: str | None = None  # the recipe file's hash when it was submitted
    source_run: int | None = None  # the run it was cloned from (its recipe and parameters), if any

    COLUMNS = ("id", "name", "recipe", "recipe_file", "config", "grid", "reps", "seed", "created_at", "notes",
               "recipe_sha256", "source_run")

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Experiment:
        """Build from a row selected with `COLUMNS` in that order."""
        values = dict(zip(cls.COLUMNS, row))
        values["config"] = from_json(values["config"], {})
        values["grid"] = from_json(values["grid"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-able."""
        return asdict(self)


@dataclass(frozen=True)
class RunSpec:
    """A run to queue: one config of an experiment, for one repetition."""

    config: dict[str, Any] = field(default_factory=dict)
    rep: int = 0
    seed: int | None = None
    priority: int = 0
    gpus_requested: int = 0
    retries: int = 0
    recipe: str | None = None  # None: the experiment's recipe
    gpus_allowed: list[int] | None = None  # the GPUs the run may be given; None: any
    per_gpu: int = 1  # how many runs may share one of its GPUs
    executor: str = "daemon"  # one of EXECUTORS
    owner_pid: int | None = None  # a foreground run's owner: the pid of the command that will run it
    owner_start_time: float | None = None  # ... and that process's start time (None: unknown)
    workdir: str | None = None  # the run's working directory: the folder it was submitted from


@dataclass(frozen=True)
class Run:
    """One config of an experiment executed in one process, as the store last saw it."""

    id: int
    experiment_id: int
    recipe: str
    config: dict[str, Any]
    rep: int
    seed: int | None
    status: Status
    priority: int
    gpus_requested: int
    gpus: list[int] | None
    pid: int | None
    pid_start_time: float | None
    host: str | None
    created_at: float
    started_at: float | None
    ended_at: float | None
    heartbeat_at: float | None
    exit_code: int | None
    signal: int | None
    error: str | None
    traceback: str | None
    log_path: str | None
    attempt: int
    retries: int
    progress_done: int | None
    progress_total: int | None
    eta_s: float | None
    metrics: dict[str, Any] | None
    gpus_allowed: list[int] | None
    per_gpu: int
    executor: str
    owner_pid: int | None
    owner_start_time: float | None
    workdir: str | None
    action: str | None
    node: str | None = None  # the Ray node it runs on (its id); None: the daemon's own machine

    COLUMNS = (
        "id", "experiment_id", "recipe", "config", "rep", "seed", "status", "priority", "gpus_requested",
        "gpus", "pid", "pid_start_time", "host", "created_at", "started_at", "ended_at", "heartbeat_at",
        "exit_code", "signal", "error", "traceback", "log_path", "attempt", "retries", "progress_done",
        "progress_total", "eta_s", "metrics", "gpus_allowed", "per_gpu", "executor", "owner_pid",
        "owner_start_time", "workdir", "action", "node",
    )  # fmt: skip

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Run:
        """Build from a row selected with `COLUMNS` in that order."""
        values = dict(zip(cls.COLUMNS, row))
        values["config"] = from_json(values["config"], {})
        values["gpus"] = from_json(values["gpus"])
        values["metrics"] = metrics_from_json(values["metrics"])
        values["gpus_allowed"] = from_json(values["gpus_allowed"])
        values["status"] = Status(values["status"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-able (the status as its string)."""
        values = asdict(self)
        values["status"] = self.status.value if isinstance(self.status, Status) else self.status
        return values

    @property
    def is_final(self) -> bool:
        """True once the run has ended, whatever the outcome."""
        return self.status in FINAL_STATUSES

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end (or to the last heartbeat while running); None before it starts."""
        if self.started_at is None:
            return None
        end = self.ended_at or self.heartbeat_at or self.started_at
        return max(0.0, end - self.started_at)


@dataclass(frozen=True)
class MetricSeries:
    """One metric of one run, as columns: ready to plot or tabulate."""

    run_id: int
    key: str
    steps: list[int]
    values: list[float | None]  # None where the value logged was NaN (SQLite stores NaN as NULL)
    times: list[float]

    def __len__(self) -> int:
        return len(self.steps)


@dataclass(frozen=True)
class MetricSummary:
    """Aggregates of one metric of one run."""

    key: str
    count: int
    first_step: int
    last_step: int
    last_value: float | None
    min: float | None
    max: float | None


@dataclass(frozen=True)
class ProfileRow:
    """Timing of one action of one pipeline in one run, as the pipeline profiler reports it."""

    run_id: int
    pipeline: int | str
    action: str
    calls: int
    total_s: float
    mean_s: float
    max_s: float
    cpu_s: float
    first_s: float | None = None  # the first call (set-up); None: unknown (a store before version 8)

    FIELDS = ("action", "calls", "total_s", "mean_s", "max_s", "cpu_s")  # what a written row must have
    """With ``first_s`` known, ``mean_s`` and ``max_s`` are those of the calls after the first; else of all."""

    @property
    def steady_calls(self) -> int:
        """The calls after the first (all of them when the first is unknown)."""
        return self.calls - 1 if self.first_s is not None and self.calls > 0 else self.calls

    @property
    def steady_s(self) -> float:
        """The time of the calls after the first (all of it when the first is unknown)."""
        return max(0.0, self.total_s - self.first_s) if self.first_s is not None else self.total_s


@dataclass(frozen=True)
class Attempt:
    """An earlier attempt of a run: how it ended, kept when the run went back to the queue."""

    run_id: int
    attempt: int
    status: str
    gpus: list[int] | None
    host: str | None
    started_at: float | None
    ended_at: float | None
    exit_code: int | None
    signal: int | None
    error: str | None
    metrics: dict[str, Any] | None
    node: str | None = None  # the Ray node it ran on; None: the daemon's own machine

    COLUMNS = ("run_id", "attempt", "status", "gpus", "host", "started_at", "ended_at", "exit_code", "signal",
               "error", "metrics", "node")

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Attempt:
        """Build from a row selected with `COLUMNS` in that order."""
        values = dict(zip(cls.COLUMNS, row))
        values["gpus"] = from_json(values["gpus"])
        values["metrics"] = metrics_from_json(values["metrics"])
        return cls(**values)


@dataclass(frozen=True)
class GpuHold:
    """One GPU held by one run, live while its process is: the runner's, or before it started the
    process that claimed the run."""

    run_id: int
    gpu: int
    per_gpu: int
    holder_pid: int | None
    holder_start_time: float | None
    pid: int | None
    pid_start_time: float | None
    since: float

    COLUMNS = ("run_id", "gpu", "per_gpu", "holder_pid", "holder_start_time", "pid", "pid_start_time", "since")


@dataclass(frozen=True)
class Sample:
    """One telemetry reading: a device (e.g. 'gpu0', 'host') and a kind of reading at a time, on a node
    (None: the daemon's own machine; a cluster node's label otherwise)."""

    time: float
    device: str
    kind: str
    values: dict[str, Any]
    node: str | None = None
