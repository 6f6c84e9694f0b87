"""Comparing runs, and one run's own telemetry: what the app's Compare and Run detail screens and
`tuiflow compare` read.

A comparison puts a baseline first (the pinned run, else the first asked for) and says every other
run's figures against it: which parameters differ, the final metrics side by side, and each
pipeline action's time as a ratio to the baseline's, so "run 7 is slower because `load` took 2.1x"
is one row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tuiflow.errors import LabError
from tuiflow.lab.profiles import action_names

RUN_TELEMETRY_KEYS = ("cpu_percent", "rss_mb", "gpu_memory_mb")
"""What the daemon samples of a run's process tree, over time (see `tuiflow.lab.telemetry.RunTelemetry`)."""


@dataclass(frozen=True)
class ComparedRun:
    """One run of a comparison: what the tables show of it."""

    id: int
    experiment: str | None
    recipe: str
    status: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    duration_s: float | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {"id": self.id, "experiment": self.experiment, "recipe": self.recipe, "status": self.status,
                "config": self.config, "metrics": self.metrics, "duration_s": self.duration_s, "error": self.error}


@dataclass(frozen=True)
class ActionTimes:
    """One pipeline action across the compared runs: its total time in each (None: that run has no such
    action) and each time as a ratio to the first run's (None where either is missing or the first is 0)."""

    action: str
    pipeline: str
    totals: tuple[float | None, ...]
    ratios: tuple[float | None, ...]
    name: str = ""  # as every view names it (`tuiflow.lab.profiles.action_names`): "load", "1/load"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {"action": self.action, "pipeline": self.pipeline, "name": self.name or self.action,
                "total_s": list(self.totals), "ratio": list(self.ratios)}


@dataclass(frozen=True)
class Comparison:
    """Runs side by side, the baseline first: their parameters (`params`: every key any run has;
    `differing`: those whose values are not all equal), final metrics, and per-action profile."""

    runs: tuple[ComparedRun, ...]
    baseline: int
    params: tuple[str, ...]
    differing: tuple[str, ...]
    metrics: tuple[str, ...]
    profile: tuple[ActionTimes, ...]
    profile_totals: tuple[float | None, ...]

    @property
    def ids(self) -> tuple[int, ...]:
        """The run ids, baseline first."""
        return tuple(run.id for run in self.runs)

    def param(self, key: str) -> tuple[Any, ...]:
        """One parameter's value in each run (None where a run lacks it)."""
        return tuple(run.config.get(key) for run in self.runs)

    def metric(self, key: str) -> tuple[Any, ...]:
        """One final metric's value in each run (None where a run lacks it)."""
        return tuple(run.metrics.get(key) for run in self.runs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (what `tuiflow compare --json` prints)."""
        return {"baseline": self.baseline, "runs": [run.to_dict() for run in self.runs],
                "params": {key: list(self.param(key)) for key in self.params}, "differing": list(self.differing),
                "metrics": {key: list(self.metric(key)) for key in self.metrics},
                "profile": [row.to_dict() for row in self.profile],
                "profile_total_s": list(self.profile_totals)}


def ratio(value: float | None, base: float | None) -> float | None:
    """``value / base``; None when either is missing or the base is not above 0."""
    if value is None or base is None or not base > 0 or not math.isfinite(value):
        return None
    return value / base


def order_ids(run_ids: Sequence[int], baseline: int | None = None) -> list[int]:
    """The ids to compare, each once in the order given, with ``baseline`` (when given) moved or put first."""
    ids = list(dict.fromkeys(int(i) for i in run_ids))
    if baseline is not None:
        ids = [int(baseline)] + [i for i in ids if i != int(baseline)]
    if not ids:
        raise LabError("compare takes at least one run id")
    return ids


class CompareMixin:
    """`Lab`'s comparisons of runs and per-run telemetry."""

    store: Any

    def compare(self, run_ids: Sequence[int], baseline: int | None = None) -> Comparison:
        """The runs side by side, ``baseline`` first (added when not among ``run_ids``), else the first
        given; an unknown id is a NotFoundError (a LabError) naming it."""
        ids = order_ids(run_ids, baseline)
        store = self.store
        records = [store.get_run(run_id) for run_id in ids]
        names = store.experiment_names({run.experiment_id for run in records})
        runs = tuple(ComparedRun(id=run.id, experiment=names.get(run.experiment_id), recipe=run.recipe,
                                 status=str(run.status), config=dict(run.config or {}), metrics=dict(run.metrics or {}),
                                 duration_s=run.duration_s, error=run.error)
                     for run in records)
        params = tuple(dict.fromkeys(key for run in runs for key in run.config))
        differing = tuple(key for key in params if _differ([run.config.get(key, _MISSING) for run in runs]))
        metrics = tuple(dict.fromkeys(key for run in runs for key in run.metrics))
        profiles = [store.profile(run.id) for run in runs]
        profile, totals = _profile_rows(profiles)
        return Comparison(runs=runs, baseline=runs[0].id, params=params, differing=differing, metrics=metrics,
                          profile=profile, profile_totals=totals)

    def run_telemetry(self, run_id: int, max_points: int | None = None,
                      until: float | None = None) -> dict[str, list[tuple[float, float | None]]]:
        """What the daemon sampled of a run's process tree from its start to its end (or ``until``, else
        now): ``cpu_percent`` (100 = one core), ``rss_mb`` and ``gpu_memory_mb``, each a list of (time,
        value); with ``max_points``, that many equal spans of time at most. Empty lists before it starts."""
        from tuiflow.lab import telemetry as _telemetry

        run = self.store.get_run(run_id)
        empty: dict[str, list[tuple[float, float | None]]] = {key: [] for key in RUN_TELEMETRY_KEYS}
        if run.started_at is None:
            return empty
        end = run.ended_at if run.ended_at is not None else until
        points = _telemetry.history(self.store, f"run:{run.id}", "run", since=run.started_at, until=end,
                                    max_points=max_points)
        for when, values in points:
            for key in RUN_TELEMETRY_KEYS:
                empty[key].append((when, _number(values.get(key) if isinstance(values, dict) else None)))
        return empty


_MISSING = object()


def _differ(values: list[Any]) -> bool:
    first = values[0]
    return any(not _same(first, value) for value in values[1:])


def _same(a: Any, b: Any) -> bool:
    if a is _MISSING or b is _MISSING:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))
    return bool(a == b)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _profile_rows(profiles: list[list[Any]]) -> tuple[tuple[ActionTimes, ...], tuple[float | None, ...]]:
    """Each action of any run's profile, the first run's slowest first (then the others' by their most
    time); every time against the first run's. A run that profiled nothing has None for its total."""
    pipelines = {str(row.pipeline) for rows in profiles for row in rows}
    times: dict[tuple[str, str], list[float | None]] = {}
    for index, rows in enumerate(profiles):
        for row in rows:
            slot = times.setdefault((str(row.pipeline), str(row.action)), [None] * len(profiles))
            slot[index] = (slot[index] or 0.0) + float(row.total_s or 0.0)
    first = {key: values[0] for key, values in times.items()}
    order = sorted(times, key=lambda key: (first[key] is None, -(first[key] or 0.0),
                                           -max((v for v in times[key] if v is not None), default=0.0)))
    names = action_names(order)
    rows = tuple(ActionTimes(action=action if len(pipelines) <= 1 else f"{pipeline}/{action}", pipeline=pipeline,
                             totals=tuple(times[(pipeline, action)]),
                             ratios=tuple(ratio(v, times[(pipeline, action)][0]) for v in times[(pipeline, action)]),
                             name=name)
                 for (pipeline, action), name in zip(order, names))
    totals = tuple(math.fsum(float(row.total_s or 0.0) for row in rows_) if rows_ else None for rows_ in profiles)
    return rows, totals
