"""What the screens draw: plain records the data adapter (`tuiflow.tui.data`) builds from `lab`.

Widgets take these and nothing else, so a change in `lab` touches the adapter only, and a widget can
be drawn from a record built by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACTIVE = ("queued", "running")


@dataclass(frozen=True)
class DaemonView:
    """The home's daemon and queue, as the status bar says it."""

    running: bool
    pid: int | None
    queued: int
    running_runs: int
    paused: bool


@dataclass(frozen=True)
class GpuCard:
    """One GPU: its newest reading, a minute of utilisation, and who holds it."""

    index: int
    name: str | None
    utilization: float | None
    memory_used_mb: float | None
    memory_total_mb: float | None
    temperature: float | None
    power_w: float | None
    history: tuple[float | None, ...] = ()  # utilisation, oldest first, evenly spaced over a minute
    runs: tuple[int, ...] = ()  # our runs holding it
    foreign: int = 0  # processes on it that are none of our runs' (another user's)
    node: str | None = None  # the cluster node it is on; None: the daemon's machine
    busy: str = ""  # "busy: other users (58.6G)" when other users hold it by the daemon's rule ("": not busy)
    busy_short: str = ""  # the same where room is short: "busy: others 58.6G"

    @property
    def memory_free_mb(self) -> float | None:
        """Total minus used, when both are known."""
        if self.memory_total_mb is None or self.memory_used_mb is None:
            return None
        return max(0.0, self.memory_total_mb - self.memory_used_mb)


@dataclass(frozen=True)
class HostView:
    """The host's newest reading and a minute of total CPU."""

    cpu_percent: float | None
    per_core: tuple[float, ...]
    memory_used_mb: float | None
    memory_total_mb: float | None
    swap_used_mb: float | None
    swap_total_mb: float | None
    load_1: float | None
    history: tuple[float | None, ...] = ()


@dataclass(frozen=True)
class NodeView:
    """One machine of a cluster, as the title line over its GPUs says it."""

    node: str | None  # None: the daemon's machine
    title: str
    cpu_percent: float | None = None
    cores: int = 0
    memory_used_mb: float | None = None
    memory_total_mb: float | None = None


@dataclass(frozen=True)
class Telemetry:
    """One telemetry poll: the GPUs, the host and the daemon, read at `now`; `nodes` names the
    machines when there are several (a Ray cluster), and is empty for one."""

    now: float
    gpus: tuple[GpuCard, ...]
    host: HostView | None
    daemon: DaemonView
    simulated: bool = False
    cpu_slots: int | None = None
    error: str | None = None
    nodes: tuple[NodeView, ...] = ()


@dataclass(frozen=True)
class RunLine:
    """A run as the runs table shows it."""

    id: int
    experiment: str
    recipe: str
    status: str
    priority: int
    gpus: tuple[int, ...]
    progress_done: int | None
    progress_total: int | None
    eta_s: float | None
    started_at: float | None
    ended_at: float | None
    action: str | None
    latest: tuple[tuple[str, float | None], ...]
    log_path: str | None
    error: str | None
    config: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    waiting: str | None = None  # a queued run: what it waits for ("waits for 1 GPU (GPU0: #15, GPU1: #16)")
    waiting_short: str | None = None  # the same in a word or two, for a narrow cell ("GPU held")
    params: tuple[tuple[str, str], ...] = ()  # the parameters that tell its experiment's runs apart, as text
    metric: str | None = None  # the metric one cell shows of it (`lab`'s headline metric)
    rep: int | None = None  # which repetition of its config it is

    @property
    def progress(self) -> float | None:
        """Fraction done, 0-1, when the run reports a total."""
        if not self.progress_total or self.progress_done is None:
            return None
        return min(1.0, max(0.0, self.progress_done / self.progress_total))

    @property
    def active(self) -> bool:
        """Queued or running."""
        return self.status in ACTIVE

    def elapsed(self, now: float) -> float | None:
        """Seconds it ran (or has been running), None before it starts."""
        if self.started_at is None:
            return None
        return max(0.0, (self.ended_at if self.ended_at is not None else now) - self.started_at)


@dataclass(frozen=True)
class EndedLine:
    """Runs that ended one after another in one status, too many to list: one row, "900 cancelled".
    `at` is where it goes among the rows of its `RunsView` (the index of the run row it comes before)."""

    status: str
    count: int
    first_ended_at: float | None
    last_ended_at: float | None
    newest: int
    experiments: tuple[str, ...] = ()
    at: int = 0

    @property
    def key(self) -> str:
        """The table's row key (a run's is its id)."""
        return f"ended-{self.status}-{self.newest}"


@dataclass(frozen=True)
class RunsView:
    """One runs poll: the rows in dashboard order, and the store version they were read at; `ended`
    holds the masses of ended runs said in one row each, and where they go among the rows."""

    version: int
    rows: tuple[RunLine, ...]
    ended: tuple[EndedLine, ...] = ()
    exists: bool = True  # False: the home has no store yet (nothing was ever launched)
    error: str | None = None


@dataclass(frozen=True)
class ProfileLine:
    """One action of a run's pipeline profile."""

    action: str
    pipeline: str
    calls: int
    total_s: float
    mean_s: float | None  # of the calls after the first, where the first is known
    max_s: float | None
    name: str = ""  # as every view names it (`tuiflow.lab.profiles`): "load", "1/load"
    first_s: float | None = None  # the first call (set-up); None: unknown, or no call yet
    steady_calls: int = 0  # the calls after the first (all calls where the first is unknown)
    steady_s: float = 0.0  # their time

    @classmethod
    def from_dict(cls, p: dict[str, Any]) -> ProfileLine:
        """From a row of `Lab.profile`."""
        return cls(action=str(p["action"]), pipeline=str(p.get("pipeline", "")), calls=int(p.get("calls") or 0),
                   total_s=float(p.get("total_s") or 0.0), mean_s=p.get("mean_s"), max_s=p.get("max_s"),
                   name=str(p.get("name") or p["action"]), first_s=p.get("first_s"),
                   steady_calls=int(p.get("steady_calls") or 0), steady_s=float(p.get("steady_s") or 0.0))


@dataclass(frozen=True)
class RunDetail:
    """The selected run's live detail: its profile, current action, a metric curve and its log's tail."""

    run_id: int
    status: str
    action: str | None
    profile: tuple[ProfileLine, ...]
    metric: str | None
    series: tuple[float | None, ...]
    last_value: float | None
    log_lines: tuple[str, ...]
    log_path: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ParamField:
    """One parameter of a recipe, as the launch form shows it."""

    name: str
    default: Any
    type: str  # int, float, bool, str or any
    choices: tuple[Any, ...] | None
    help: str
    unit: str = ""  # what a number counts ("s", "px")


@dataclass(frozen=True)
class RecipeCard:
    """A recipe a user can launch."""

    name: str
    description: str
    file: str
    params: tuple[ParamField, ...]


@dataclass(frozen=True)
class GpuChoice:
    """A GPU as the launch form's picker offers it."""

    index: int
    name: str | None
    memory_free_mb: float | None
    memory_total_mb: float | None
    utilization: float | None
    runs: tuple[int, ...]
    foreign: int
    busy: str = ""  # "busy: other users (58.6G)" when other users hold it by the daemon's rule ("": not busy)
    busy_short: str = ""  # the same where room is short: "busy: others 58.6G"


@dataclass(frozen=True)
class LaunchRequest:
    """Everything the launch form asks `lab` for."""

    recipe: str
    overrides: dict[str, Any]
    grid: dict[str, list[Any]]
    reps: int = 1
    gpus: tuple[int, ...] | None = None  # None: any GPU
    num_gpus: int | None = None
    per_gpu: int = 1
    priority: int = 0
    retries: int = 0
    name: str | None = None
    source_run: int | None = None  # the run the form was cloned from (History's `n`)
    confirmed: bool = False  # the user said yes to more runs than lab's DEFAULT_LIMIT


@dataclass(frozen=True)
class Launched:
    """A launch `lab` took: the experiment's name and its runs."""

    experiment: str
    run_ids: tuple[int, ...]
