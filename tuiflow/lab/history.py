"""`Lab` for browsing what has run: experiments at a glance (runs per status, best final metric), an
export of exactly the runs a view shows (its filter, sort and experiment), and deleting a finished
experiment with everything it left behind."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tuiflow.errors import LabError
from tuiflow.lab import pages as _pages
from tuiflow.lab.exports import EXPORT_FORMATS, Exported, _pyarrow, _Staging, _why, _write_json, _write_parquet
from tuiflow.lab.pages import ResultsError
from tuiflow.lab.results import KeySpread, split_keys, write_csv
from tuiflow.scheduler.orphans import settle_orphans
from tuiflow.store import StoreError
from tuiflow.store.deleting import ExperimentActiveError

# Final metrics where lower is better: a loss, an error, a distance, a time.
_LOWER_IS_BETTER = re.compile(r"loss|err|mse|mae|rmse|nll|perplexity|distance|time|latency|(^|_)s$", re.I)


class ExperimentRunningError(LabError):
    """An experiment with queued or running runs cannot be deleted: cancel them first."""


def lower_is_better(metric: str) -> bool:
    """Whether a final metric's best value is its lowest (a loss, an error, a time) rather than its highest."""
    return bool(_LOWER_IS_BETTER.search(metric))


@dataclass(frozen=True)
class ExperimentSummary:
    """One experiment at a glance: its runs per status, and its best final metric (the experiment's
    first metric that is not a loss-like one, else its first: highest, or lowest for a loss)."""

    id: int
    name: str
    recipe: str
    created_at: float
    counts: dict[str, int] = field(default_factory=dict)
    metric: str | None = None
    best: float | None = None
    lower_is_better: bool = False

    @property
    def runs(self) -> int:
        """Runs in all."""
        return sum(self.counts.values())

    @property
    def active(self) -> int:
        """Runs queued or running."""
        return self.counts.get("queued", 0) + self.counts.get("running", 0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict, `runs` included."""
        return {**asdict(self), "runs": self.runs}


def headline_metric(keys: Iterable[str]) -> str | None:
    """The metric a one-cell view shows of a run: its first (by name) that is not a loss-like one, else
    its first; progress is never one. An experiment's best metric in History is chosen the same way."""
    known = sorted(key for key in set(keys) if key != "progress")
    if not known:
        return None
    return next((key for key in known if not lower_is_better(key)), known[0])


def _best(ranges: dict[str, tuple[float | None, float | None, int]]) -> tuple[str | None, float | None, bool]:
    metric = headline_metric(key for key, (_, _, count) in ranges.items() if count)
    if metric is None:
        return None, None, False
    low, high, _ = ranges[metric]
    lower = lower_is_better(metric)
    value = low if lower else high
    return metric, (float(value) if isinstance(value, int | float) else None), lower


@dataclass(frozen=True)
class ResultLayout:
    """What a results view shows of a selection of runs, as `tuiflow results --experiment` lays it out
    (`lab.results.split_keys`): the parameters that differ first, then those of one value only some runs
    have, then the final metrics; what every run shares goes to a caption (`fixed`, by name)."""

    runs: int
    differing: list[str]
    partial: dict[str, Any]
    """Parameters of one value that only some runs have, with that value."""
    fixed: dict[str, Any]
    metrics: list[str]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResultLayout:
        """The layout `to_dict` gave."""
        return cls(int(data["runs"]), list(data["differing"]), dict(data["partial"]), dict(data["fixed"]),
                   list(data["metrics"]))


class HistoryMixin:
    """`Lab`'s experiments at a glance, exports of a view, and deleting experiments."""

    store: Any
    exists: bool
    home: Path

    def experiment_summaries(self, best: bool = True) -> list[ExperimentSummary]:
        """Every experiment, newest first, with its runs per status and (unless ``best`` is False: it
        reads every final metric, a few tenths of a second over 100,000 runs) its best final metric."""
        if not self.exists:
            return []
        counts = self.store.experiment_counts()
        ranges = self.store.experiment_metric_ranges() if best else {}
        summaries = []
        for experiment in self.store.list_experiments():
            metric, best, lower = _best(ranges.get(experiment.id, {}))
            summaries.append(ExperimentSummary(
                id=experiment.id, name=experiment.name, recipe=experiment.recipe, created_at=experiment.created_at,
                counts=dict(counts.get(experiment.id, {})), metric=metric,
                best=None if best is None or math.isnan(best) else best, lower_is_better=lower))
        return summaries

    def result_layout(self, filter: str = "", *, experiment: int | str | None = None,
                      total: int | None = None) -> ResultLayout:
        """How a results view of a selection (``filter`` and ``experiment`` as `results` takes them) lays
        out its runs' parameters and final metrics, read without reading the runs (see `ResultLayout`).
        ``total``: how many runs the selection holds, when the caller has counted them."""
        if not self.exists:
            return ResultLayout(0, [], {}, {}, [])
        chosen, status, where = self._selection(filter, experiment, None)  # type: ignore[attr-defined]
        conditions = [*_pages.conditions(self.store, chosen, status), *where]
        runs = self.store.count_runs(conditions) if total is None else total
        spreads = {key: KeySpread(count, low == high, low)
                   for key, (count, low, high) in self.store.param_spreads(conditions).items()}
        split = split_keys(spreads, runs)
        fixed = split.fixed
        if fixed:  # their values as the runs hold them (the side table keeps a boolean as 1 or 0)
            page = self.store.results_page(conditions, limit=1, total=runs)
            config = page.rows[0][0].config if page.rows else {}
            fixed = {key: config.get(key, value) for key, value in fixed.items()}
        metrics = [key for key in self.store.run_keys("metrics", conditions) if key != "progress"]
        partial = {key: spreads[key].value for key in split.partial}
        return ResultLayout(runs, split.differing, partial, fixed, metrics)

    def delete_experiment(self, experiment: int | str) -> int:
        """Delete a finished experiment (its name, id or ``exp:ID``): its record, its runs, their metrics,
        profiles, attempts and telemetry, all in one transaction, and their log files in the home's logs
        folder; returns how many runs went. ExperimentRunningError while any of its runs is queued or running."""
        store = self.store
        found = _pages.find_experiment(store, experiment)
        running = store.list_runs(experiment=found.id, status="running")
        if running:  # a run whose process is gone while nothing watched it is not running any more
            try:
                settle_orphans(store, running)
            except StoreError:
                pass
        try:
            deleted = store.delete_experiment(found.id)
        except ExperimentActiveError as exc:
            raise ExperimentRunningError(str(exc)) from None
        logs = (self.home / "logs").resolve()
        for path in deleted.log_paths:
            target = Path(path)
            try:
                if target.resolve().parent == logs and target.is_file() and not target.is_symlink():
                    target.unlink()
            except OSError:
                pass  # a log that cannot be removed is left; the runs are gone either way
        return deleted.runs

    def export_selection(self, fmt: str, output: Path, *, filter: str = "", sort: str | None = None,
                         experiment: int | str | None = None, run_ids: Sequence[int] | None = None) -> Exported:
        """Write the runs a results view shows (``filter``, ``sort`` and ``experiment`` as `results` takes
        them), every one of them in that order, as csv, json or parquet to the file ``output``; the file
        is replaced only once the whole export is written. ``run_ids``: these runs, in this order (what
        the dashboard or a comparison shows); an id of no run is a NotFoundError."""
        if fmt not in EXPORT_FORMATS:
            raise ResultsError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
        pa = _pyarrow() if fmt == "parquet" else None
        if run_ids is not None:
            ids = [int(i) for i in run_ids]
            for run_id in ids:
                self.store.get_run(run_id)  # type: ignore[attr-defined]  # NotFoundError names a missing one
            selected = _pages.iter_results(self.store, where=[("id", "in", ids)])  # type: ignore[attr-defined]
            found = {row["id"]: row for row in selected}
            rows = [found[i] for i in dict.fromkeys(ids)]
        else:
            rows = list(self.iter_results(filter, sort, experiment=experiment))  # type: ignore[attr-defined]
        staging = _Staging()
        try:
            if fmt == "parquet":
                _write_parquet(pa, rows, None, output, staging)
            else:
                with open(staging.path(output), "w", encoding="utf-8", newline="") as stream:
                    if fmt == "json":
                        _write_json(rows, None, stream)
                    else:
                        write_csv(rows, stream)
            staging.commit()
        except OSError as exc:
            raise ResultsError(f"cannot write {staging.current or output}: {_why(exc)}") from None
        finally:
            staging.discard()
        return Exported(files=[output], runs=len(rows))
