"""What the Run detail and Compare screens read from `tuiflow.lab`, as plain records. The functions
block (SQLite, files): call them from worker threads, with the app's `LabData` (``app.data``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tuiflow.tui.data import LabData, LogTail
from tuiflow.tui.views import ProfileLine

CURVE_POINTS = 400  # a curve is read downsampled to this many points (spikes kept)
TELEMETRY_POINTS = 240


@dataclass(frozen=True)
class RunInfo:
    """One run's record as the detail's overview shows it."""

    id: int
    experiment: str | None
    recipe: str
    status: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    started_at: float | None
    ended_at: float | None
    duration_s: float | None
    gpus: tuple[int, ...]
    host: str | None
    attempt: int
    exit_code: int | None
    error: str | None
    traceback: str | None
    log_path: str | None
    progress_done: int | None
    progress_total: int | None
    eta_s: float | None
    action: str | None = None

    @property
    def active(self) -> bool:
        """Queued or running: the detail keeps polling."""
        return self.status in ("queued", "running")


@dataclass(frozen=True)
class Curve:
    """One metric of one run: (step, value) points in step order."""

    run_id: int
    key: str
    steps: tuple[float, ...]
    values: tuple[float | None, ...]

    @property
    def last(self) -> float | None:
        """The newest finite value."""
        return next((v for v in reversed(self.values) if v is not None and math.isfinite(v)), None)


@dataclass(frozen=True)
class DetailRead:
    """One poll of the run detail: the run, its metric names, the chosen curve, its profile, its process
    telemetry ({key: ((time, value), ...)}) and the log lines completed since the last poll."""

    info: RunInfo
    keys: tuple[str, ...]
    curve: Curve | None
    profile: tuple[ProfileLine, ...]
    telemetry: dict[str, tuple[tuple[float, float | None], ...]] | None  # None: not read this time
    new_lines: tuple[str, ...] = ()
    log_restarted: bool = False
    version: int = 0


@dataclass(frozen=True)
class CompareRead:
    """A comparison (`tuiflow.lab.compare.Comparison`) and the chosen metric's curve in each run."""

    comparison: Any
    keys: tuple[str, ...]
    metric: str | None
    curves: tuple[Curve, ...] = field(default=())


def run_info(data: LabData, run_id: int, experiment: str | None = None) -> RunInfo:
    """The run's record (a LabError when there is no such run). Without `experiment` (its name, once
    known) the run's full details are read; with it, only its record (each poll of a running run)."""
    lab = data.lab
    if experiment is None:
        d = lab.run_details(run_id)
        experiment = d.get("experiment")
    else:
        run = lab.get_run(run_id)
        d = {**run.to_dict(), "duration_s": run.duration_s}
    action = lab.current_action(run_id) if d["status"] == "running" else None
    return RunInfo(id=int(d["id"]), experiment=experiment, recipe=str(d["recipe"]), status=str(d["status"]),
                   config=dict(d.get("config") or {}), metrics=dict(d.get("metrics") or {}),
                   started_at=d.get("started_at"), ended_at=d.get("ended_at"), duration_s=d.get("duration_s"),
                   gpus=tuple(d.get("gpus") or ()), host=d.get("host"), attempt=int(d.get("attempt") or 0),
                   exit_code=d.get("exit_code"), error=d.get("error"), traceback=d.get("traceback"),
                   log_path=d.get("log_path"), progress_done=d.get("progress_done"),
                   progress_total=d.get("progress_total"), eta_s=d.get("eta_s"), action=action)


def metric_keys(data: LabData, run_id: int) -> tuple[str, ...]:
    """The run's metrics, `progress` last (it is the runner's, not the recipe's)."""
    keys = list(data.lab.metric_keys(run_id))
    return tuple(sorted(keys, key=lambda k: (k == "progress", k)))


def curve(data: LabData, run_id: int, key: str, points: int = CURVE_POINTS) -> Curve:
    """One metric of one run, downsampled to `points` at most."""
    series = data.lab.metric_series(run_id, key, max_points=points)
    return Curve(run_id=run_id, key=key, steps=tuple(float(s) for s, _ in series),
                 values=tuple(_number(v) for _, v in series))


def profile(data: LabData, run_id: int) -> tuple[ProfileLine, ...]:
    """The run's per-action profile, slowest (by steady time) first, named as every view names it."""
    return tuple(ProfileLine.from_dict(p) for p in data.lab.profile(run_id))


def read_detail(data: LabData, run_id: int, metric: str | None, tail: LogTail, *, telemetry: bool = True,
                experiment: str | None = None) -> DetailRead:
    """Everything the run detail shows, and the log's new lines into `tail`; the run's telemetry only
    with `telemetry` (a long run's samples are many: read while that tab is shown)."""
    version = data.version()
    info = run_info(data, run_id, experiment)
    keys = metric_keys(data, run_id)
    key = metric if metric in keys else (keys[0] if keys else None)
    offset = tail.offset
    new_lines = tuple(data.read_log(tail))
    series = data.lab.run_telemetry(run_id, max_points=TELEMETRY_POINTS, until=data.clock()) if telemetry else None
    return DetailRead(info=info, keys=keys, curve=curve(data, run_id, key) if key else None,
                      profile=profile(data, run_id),
                      telemetry=None if series is None else {k: tuple(v) for k, v in series.items()},
                      new_lines=new_lines, log_restarted=tail.offset < offset, version=version)


def read_compare(data: LabData, run_ids: list[int], baseline: int | None, metric: str | None) -> CompareRead:
    """The runs compared (baseline first) and the curves of `metric` (else the first metric they share)."""
    comparison = data.lab.compare(run_ids, baseline=baseline)
    keys_per_run = [metric_keys(data, run_id) for run_id in comparison.ids]
    keys = tuple(dict.fromkeys(k for keys in keys_per_run for k in keys))
    shared = [k for k in keys if all(k in run_keys for run_keys in keys_per_run)]
    key = metric if metric in keys else (shared[0] if shared else (keys[0] if keys else None))
    curves = tuple(curve(data, run_id, key) for run_id in comparison.ids) if key else ()
    return CompareRead(comparison=comparison, keys=keys, metric=key, curves=curves)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)
