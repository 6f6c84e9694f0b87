"""History's door to `tuiflow.lab`: experiments at a glance, keyset pages of runs with their columns,
exports of what a view shows, deleting an experiment. Beside `tuiflow.tui.data` (the app's `LabData`,
whose Lab it uses); the methods block (SQLite, files): call them from worker threads.

What comes back are the plain records below, with every cell already text: widgets only lay them out.
"""

from __future__ import annotations

import math
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuiflow import lab
from tuiflow.lab.gauges import duration
from tuiflow.tui.data import ActionError, LabData
from tuiflow.tui.render import number

EXPORT_FORMATS = ("csv", "json", "parquet")
ACTIVE = ("queued", "running")
# The run columns History shows besides parameters and final metrics, in the order they are shown.
RUN_COLUMNS = ("id", "experiment", "recipe", "status")
TIME_COLUMNS = ("duration_s", "started_at")
LABELS = {"duration_s": "time", "started_at": "started"}


@dataclass(frozen=True)
class ExperimentLine:
    """One experiment as the experiments table shows it."""

    id: int
    name: str
    recipe: str
    created_at: float
    counts: dict[str, int] = field(hash=False, compare=True)
    metric: str | None
    best: float | None

    @property
    def runs(self) -> int:
        """Runs in all."""
        return sum(self.counts.values())

    @property
    def active(self) -> int:
        """Runs queued or running."""
        return sum(self.counts.get(status, 0) for status in ACTIVE)


@dataclass(frozen=True)
class Column:
    """A column of the runs table: `key` is what `Lab.results` sorts and filters by (``id``,
    ``config.lr``, ``metrics.accuracy``, ``duration_s``), `kind` one of run, param, metric, time."""

    key: str
    label: str
    kind: str

    @property
    def right(self) -> bool:
        """Numbers right-aligned."""
        return self.kind in ("metric", "time") or self.key == "id"


@dataclass(frozen=True)
class ResultLine:
    """One run of a page: its id, status, experiment and every column's text."""

    id: int
    status: str
    experiment: str
    cells: dict[str, str] = field(hash=False)


@dataclass(frozen=True)
class RunsQuery:
    """What the runs table asks for: a scope (one experiment, None: all), a filter, a sort and a page."""

    experiment: str | None = None
    filter: str = ""
    sort: str | None = None  # a column key, "-key" for highest first; None: by id
    after: Any = None
    limit: int = 20
    offset: int = 0  # rows skipped first (End: the last page, whose `after` key is not known)


@dataclass(frozen=True)
class Offset:
    """A page known by how many rows come before it, not by the key of the row before (End's pages)."""

    rows: int


@dataclass(frozen=True)
class RunsPage:
    """One page of runs: its lines, how many runs the filter keeps (`total`) of how many in the scope
    (`scope_total`), the cursor of the next page (None: the last), and the columns of the selection."""

    query: RunsQuery
    lines: tuple[ResultLine, ...]
    total: int
    scope_total: int
    next: Any
    columns: tuple[Column, ...]
    version: int = 0


@dataclass(frozen=True)
class DeleteCheck:
    """What deleting an experiment would remove, or why it cannot be deleted now."""

    experiment: str
    runs: int
    active: int


def runs_text(count: int) -> str:
    """``1 run``, ``2 runs``, ``1,204 runs``."""
    return f"{count:,} run{'s' * (count != 1)}"


def filtered_names(text: str) -> set[str]:
    """The names a filter tests (``lr<0.01 accuracy>0.9`` -> lr, accuracy), for the columns it
    should keep in sight; a filter that does not parse gives what it can."""
    try:
        parts = shlex.split(text or "")
    except ValueError:
        parts = (text or "").split()
    names = set()
    for part in parts:
        for index, char in enumerate(part):
            if char in "=<>!":
                names.add(part[:index].strip())
                break
    return names


def cell(value: Any, kind: str) -> str:
    """A value as a table cell: numbers short, times as dates, nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == "time":
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return number(value) if kind == "metric" else f"{value:g}"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    return str(value)


def _when(stamp: float | None) -> str:
    return "" if stamp is None else time.strftime("%m-%d %H:%M", time.localtime(stamp))


def _columns(keys: Sequence[str], scoped: bool) -> tuple[Column, ...]:
    """The columns of a selection from `Lab.result_columns`: id, experiment and recipe (when all runs
    are shown), status, the parameters, the final metrics, the run's time and start."""
    params = [k for k in keys if k.startswith("config.")]
    metrics = [k for k in keys if k.startswith("metrics.") and k != "metrics.progress"]
    columns = [Column("id", "id", "run")]
    if not scoped:
        columns += [Column("experiment", "experiment", "run"), Column("recipe", "recipe", "run")]
    columns.append(Column("status", "status", "run"))
    # A parameter and a final metric of one name (sleep's `seconds`) are told apart by their whole keys,
    # as the filter spells them; every other column goes by its name alone.
    names = [k.partition(".")[2] for k in params + metrics]
    both = {name for name in names if names.count(name) > 1}
    columns += [Column(k, k if k.partition(".")[2] in both else k.partition(".")[2], "param") for k in params]
    columns += [Column(k, k if k.partition(".")[2] in both else k.partition(".")[2], "metric") for k in metrics]
    columns += [Column(k, LABELS[k], "time") for k in TIME_COLUMNS]
    return tuple(columns)


def _line(row: dict[str, Any], columns: Sequence[Column]) -> ResultLine:
    cells = {}
    for column in columns:
        key = column.key.partition(".")[2]
        if column.kind == "param":
            value = row["config"].get(key)
        elif column.kind == "metric":
            value = row["metrics"].get(key)
        else:
            value = row.get(column.key)
        if column.key == "duration_s":
            cells[column.key] = "" if value is None else duration(float(value))
        elif column.key == "started_at":
            cells[column.key] = _when(value)
        else:
            cells[column.key] = cell(value, column.kind)
    return ResultLine(id=int(row["id"]), status=str(row["status"]), experiment=str(row.get("experiment") or ""),
                      cells=cells)


class HistoryData:
    """History's reads and acts over the app's Lab (`LabData.lab`)."""

    def __init__(self, data: LabData) -> None:
        self.data = data
        self._columns: dict[tuple[str | None, str], tuple[Column, ...]] = {}
        self._totals: dict[tuple[str | None, str], tuple[int, int, int]] = {}  # key -> (version, total, scope)

    @property
    def lab(self) -> Any:
        return self.data.lab

    def version(self) -> int:
        """The store's data version (changes with any write)."""
        return self.data.version()

    def experiments(self, best: bool = True) -> list[ExperimentLine]:
        """Every experiment, newest first, with its runs per status and (with `best`) best final metric."""
        return [ExperimentLine(id=s.id, name=s.name, recipe=s.recipe, created_at=s.created_at, counts=s.counts,
                               metric=s.metric, best=s.best)
                for s in self.lab.experiment_summaries(best=best)]

    def page(self, query: RunsQuery, *, fresh_columns: bool = False) -> RunsPage:
        """One page of runs; a bad filter or sort is an ActionError with the lab's one line. The columns of
        a scope and filter are read once (`fresh_columns` reads them again: the store has changed)."""
        home = self.lab
        try:
            version = home.data_version()
            key = (query.experiment, query.filter)
            # The counts of a scope and filter are read once while nothing is written: a page move of a
            # filter over 100,000 runs is then its page's query alone, not two counts more.
            known = self._totals.get(key)
            total, scope_total = known[1:] if known is not None and known[0] == version else (None, None)
            page = home.results(query.filter, query.sort, query.after, query.limit, experiment=query.experiment,
                                total=total, offset=query.offset)
            if fresh_columns or key not in self._columns:
                keys = home.result_columns(query.filter, experiment=query.experiment) if home.exists else []
                self._columns[key] = _columns(keys, scoped=query.experiment is not None)
            columns = self._columns[key]
            if scope_total is None:
                scope_total = page.total if not query.filter else home.count_results(experiment=query.experiment)
            self._totals[key] = (version, page.total, scope_total)
        except lab.LabError as exc:
            raise ActionError(_one_line(exc)) from None
        lines = tuple(_line(row, columns) for row in page.rows)
        return RunsPage(query, lines, page.total, scope_total, page.next, columns, version)

    def delete_check(self, experiment: str) -> DeleteCheck:
        """How many runs deleting `experiment` removes, and how many of them are queued or running."""
        try:
            runs = self.lab.count_results(experiment=experiment)
            active = self.lab.count_results(experiment=experiment, status=list(ACTIVE))
        except lab.LabError as exc:
            raise ActionError(_one_line(exc)) from None
        return DeleteCheck(experiment, runs, active)

    def delete(self, experiment: str) -> int:
        """Delete a finished experiment; how many runs went."""
        try:
            return int(self.lab.delete_experiment(experiment))
        except lab.LabError as exc:
            raise ActionError(_one_line(exc)) from None

    def export(self, fmt: str, folder: Path, query: RunsQuery, now: float) -> tuple[Path, int]:
        """Export every run `query` selects, in its order, to ``tuiflow-export-YYYYmmdd-HHMMSS.FMT`` in
        `folder`; the file's path and how many runs it holds."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
        path = folder / f"tuiflow-export-{stamp}.{fmt}"
        try:
            done = self.lab.export_selection(fmt, path, filter=query.filter, sort=query.sort,
                                             experiment=query.experiment)
        except lab.LabError as exc:
            raise ActionError(_one_line(exc)) from None
        return path.resolve(), done.runs


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
