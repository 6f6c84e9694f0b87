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
from typing import TYPE_CHECKING, Any

from tuiflow import lab
from tuiflow.lab.gauges import duration
from tuiflow.tui.data import ActionError, LabData
from tuiflow.tui.render import number

if TYPE_CHECKING:
    from tuiflow.lab.history import ResultLayout

EXPORT_FORMATS = ("csv", "json", "parquet")
ACTIVE = ("queued", "running")
# The run columns History shows besides parameters and final metrics, in the order they are shown.
RUN_COLUMNS = ("id", "experiment", "recipe", "status")
TIME_COLUMNS = ("duration_s", "started_at")
# Run columns the column picker offers besides (hidden until asked for).
MORE_RUN_COLUMNS = ("rep", "seed", "host", "gpus", "exit_code", "signal", "attempt", "error", "created_at",
                    "ended_at")
LABELS = {"duration_s": "time", "started_at": "started", "created_at": "created", "ended_at": "ended"}
RUN_KEYS = frozenset((*RUN_COLUMNS, *TIME_COLUMNS, *MORE_RUN_COLUMNS))
"""History's keys of run columns: sorted by as `run.KEY`, so that a parameter of the same name (sleep's
`exit_code`, `seed`) is not taken for them."""


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
    chosen: bool = False  # added by the user (the column picker): kept in sight with the sort's

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
    caption: str = ""
    """What every run of the view shares (``batch_size=64 epochs=150``), the columns it does not show."""
    choices: tuple[Column, ...] = ()
    """Every column the view can show (the column picker's list), in their order."""
    automatic: frozenset[str] = frozenset()
    """The keys of the columns shown when the user has chosen none."""
    shared: frozenset[str] = frozenset()
    """The keys of the parameters every run of the view shares (one value)."""


@dataclass(frozen=True)
class ColumnChoice:
    """The columns a user added to a view, and those taken from it (the column picker), by key."""

    add: frozenset[str] = frozenset()
    hide: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, list[str]]:
        """A JSON-able dict."""
        return {"add": sorted(self.add), "hide": sorted(self.hide)}

    @classmethod
    def from_dict(cls, data: Any) -> ColumnChoice:
        """The choice `to_dict` gave; anything else is no choice."""
        if not isinstance(data, dict):
            return cls()
        return cls(frozenset(str(k) for k in data.get("add") or () if isinstance(k, str)),
                   frozenset(str(k) for k in data.get("hide") or () if isinstance(k, str)))


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


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return shlex.quote(value) if value == "" or any(c.isspace() for c in value) else value
    return cell(value, "param")


def layout_columns(layout: ResultLayout, scoped: bool, choice: ColumnChoice | None = None,
                   ) -> tuple[tuple[Column, ...], tuple[Column, ...], frozenset[str], str]:
    """A view's columns from its `Lab.result_layout` (the rule of `tuiflow results --experiment`: the
    parameters that differ, then the final metrics; what every run shares goes to the caption) and the
    user's choice: (the columns shown, every column it can show, the keys shown without a choice, the
    caption)."""
    choice = choice or ColumnChoice()
    params = [*layout.differing, *layout.partial, *layout.fixed]
    names = params + list(layout.metrics)
    both = {name for name in names if names.count(name) > 1}

    def label(kind: str, name: str) -> str:
        return f"{kind}.{name}" if name in both else name

    run = [Column("id", "id", "run")]
    if not scoped:
        run += [Column("experiment", "experiment", "run"), Column("recipe", "recipe", "run")]
    run.append(Column("status", "status", "run"))
    choices = [*run, *(Column(f"config.{k}", label("config", k), "param") for k in params),
               *(Column(f"metrics.{k}", label("metrics", k), "metric") for k in layout.metrics),
               *(Column(k, LABELS[k], "time") for k in TIME_COLUMNS),
               *(Column(k, LABELS.get(k, k), "time" if k.endswith("_at") else "run") for k in MORE_RUN_COLUMNS)]
    automatic = frozenset([*(c.key for c in run), *(f"config.{k}" for k in layout.differing),
                           *(f"metrics.{k}" for k in layout.metrics), *TIME_COLUMNS])
    shown = tuple(Column(c.key, c.label, c.kind, chosen=c.key in choice.add and c.key not in automatic)
                  for c in choices
                  if c.key == "id" or (c.key in automatic and c.key not in choice.hide) or c.key in choice.add)
    keys = {c.key for c in shown}
    parts = [f"{label('config', k)}={_value_text(v)}" for k, v in layout.fixed.items() if f"config.{k}" not in keys]
    partial = [f"{label('config', k)}={_value_text(v)}" for k, v in layout.partial.items()
               if f"config.{k}" not in keys]
    caption = " ".join(parts)
    if partial:
        caption += ("  " if caption else "") + "where set: " + " ".join(partial)
    return shown, tuple(choices), automatic, caption


def lab_sort(sort: str | None) -> str | None:
    """A History sort as `Lab.results` takes it: a run column's key as ``run.KEY`` (see RUN_KEYS)."""
    if sort is None:
        return None
    descending = sort.startswith("-")
    key = sort.removeprefix("-")
    return ("-" if descending else "") + (f"run.{key}" if key in RUN_KEYS else key)


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
        elif column.key.endswith("_at"):
            cells[column.key] = _when(value)
        elif column.key == "gpus":
            cells[column.key] = ",".join(map(str, value or []))
        else:
            cells[column.key] = cell(value, column.kind)
    return ResultLine(id=int(row["id"]), status=str(row["status"]), experiment=str(row.get("experiment") or ""),
                      cells=cells)


class HistoryData:
    """History's reads and acts over the app's Lab (`LabData.lab`)."""

    def __init__(self, data: LabData) -> None:
        self.data = data
        self._layouts: dict[tuple[str | None, str], Any] = {}  # (scope, filter) -> lab.ResultLayout
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

    def page(self, query: RunsQuery, *, fresh_columns: bool = False, choice: ColumnChoice | None = None) -> RunsPage:
        """One page of runs; a bad filter or sort is an ActionError with the lab's one line. The layout of
        a scope and filter (`Lab.result_layout`) is read once (`fresh_columns` reads it again: the store
        has changed); `choice`: the columns the user added or took away."""
        home = self.lab
        try:
            version = home.data_version()
            key = (query.experiment, query.filter)
            # The counts of a scope and filter are read once while nothing is written: a page move of a
            # filter over 100,000 runs is then its page's query alone, not two counts more.
            known = self._totals.get(key)
            total, scope_total = known[1:] if known is not None and known[0] == version else (None, None)
            page = home.results(query.filter, lab_sort(query.sort), query.after, query.limit,
                                experiment=query.experiment, total=total, offset=query.offset)
            if fresh_columns or key not in self._layouts:
                self._layouts[key] = home.result_layout(query.filter, experiment=query.experiment, total=page.total)
            columns, choices, automatic, caption = layout_columns(self._layouts[key], query.experiment is not None,
                                                                  choice)
            if scope_total is None:
                scope_total = page.total if not query.filter else home.count_results(experiment=query.experiment)
            self._totals[key] = (version, page.total, scope_total)
        except lab.LabError as exc:
            raise ActionError(_one_line(exc)) from None
        lines = tuple(_line(row, columns) for row in page.rows)
        shared = frozenset(f"config.{key}" for key in self._layouts[key].fixed)
        return RunsPage(query, lines, page.total, scope_total, page.next, columns, version, caption, choices,
                        automatic, shared)

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
            done = self.lab.export_selection(fmt, path, filter=query.filter, sort=lab_sort(query.sort),
                                             experiment=query.experiment)
        except lab.LabError as exc:
            raise ActionError(_one_line(exc)) from None
        return path.resolve(), done.runs


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
