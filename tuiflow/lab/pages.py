"""Results rows for clients, a page at a time: which runs (an experiment by name, id or `exp:ID`,
statuses, conditions on parameters and final metrics), in which order (a metric, a parameter or a
column), and keyset pages over them, so that page 1,000 of 100,000 runs costs what page 1 does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tuiflow.errors import LabError
from tuiflow.store import RUN_STATUSES, Experiment, NotFoundError, Run, Store
from tuiflow.store.pages import FIELDS, Condition, Cursor

RESULT_FIELDS = (
    "id", "experiment", "experiment_id", "recipe", "status", "config", "metrics", "gpus", "rep", "seed",
    "host", "created_at", "started_at", "ended_at", "duration_s", "exit_code", "signal", "error", "attempt",
    "executor",
)  # fmt: skip
"""The keys of a results row, in order."""

_RUN_FIELDS = tuple(name for name in RESULT_FIELDS if name not in ("experiment", "metrics", "duration_s"))


class ResultsError(LabError):
    """A request for results the user can fix (a bad status, a missing package, an unwritable target)."""


def result_row(run: Run, experiment: str | None) -> dict[str, Any]:
    """One run as a results row: the keys of RESULT_FIELDS, JSON-ready."""
    # Field by field, not dataclasses.asdict: that deep-copies every value, and was most of a page's time.
    values = {name: getattr(run, name) for name in _RUN_FIELDS}
    values["experiment"] = experiment
    values["metrics"] = run.metrics or {}
    values["duration_s"] = run.duration_s
    return {name: values[name] for name in RESULT_FIELDS}


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def find_experiment(store: Store, name_or_id: int | str) -> Experiment:
    """The experiment with this name, else this id (a number, or `exp:ID`); NotFoundError naming both
    ways when there is none."""
    try:
        try:
            return store.find_experiment(name_or_id)
        except NotFoundError:
            number = name_or_id.strip().removeprefix("exp:") if isinstance(name_or_id, str) else ""
            if not (isinstance(name_or_id, str) and name_or_id.strip().startswith("exp:") and number.isdigit()):
                raise
            return store.get_experiment(int(number))
    except NotFoundError as exc:
        raise NotFoundError(f"{exc}: give an experiment's name, or exp:ID for its id") from None


def _check_statuses(status: str | Iterable[str] | None) -> list[str] | None:
    if status is None:
        return None
    names = [status] if isinstance(status, str) else list(status)
    for name in names:
        if name not in RUN_STATUSES:
            raise ResultsError(f"unknown run status {name!r}: use one of {', '.join(RUN_STATUSES)}")
    return names or None


def conditions(
    store: Store, experiment: int | str | None = None, status: str | Iterable[str] | None = None
) -> list[Condition]:
    """The store conditions that select one experiment (name, id or `exp:ID`) and some statuses."""
    where: list[Condition] = []
    if experiment is not None:
        where.append(("experiment_id", "=", find_experiment(store, experiment).id))
    names = _check_statuses(status)
    if names:
        where.append(("status", "in", names))
    return where


def _filters(store: Store, experiment: int | str | None, status: str | Iterable[str] | None) -> tuple[str, list[Any]]:
    """The same selection as `conditions`, as a WHERE clause over `runs r` (for exports)."""
    clauses: list[str] = []
    params: list[Any] = []
    for field, _, value in conditions(store, experiment, status):
        if field == "experiment_id":
            clauses.append("r.experiment_id = ?")
            params.append(value)
        else:
            clauses.append(f"r.status IN ({_marks(value)})")
            params.extend(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _query(store: Store, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    return store.query(sql, params)


def _some(names: Sequence[str], most: int = 8) -> str:
    """Names for a one-line message: the first `most`, then how many more."""
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def best_first(name: str, ascending: bool = False) -> str:
    """The sort a client asks for when the user names a column to sort by (`tuiflow results --sort NAME`,
    History's `s` and a click on a header): highest first (``-NAME``), lowest first with `ascending`."""
    name = name.removeprefix("-")
    return name if ascending else f"-{name}"


def reverse_sort(sort: str) -> str:
    """The same sort the other way: ``-lr`` -> ``lr``, ``lr`` -> ``-lr``."""
    return sort[1:] if sort.startswith("-") else f"-{sort}"


RUN_PREFIX = "run."
"""Names a run's own column in a filter or a sort (``run.exit_code``), where a bare name would be a
parameter or a final metric of that name."""


def resolve_field(store: Store, name: str, where: Sequence[Condition] = ()) -> str | None:
    """The store field a name means, in a filter and in a sort alike (README: "Which column a name
    means"): `config.X` and `metrics.X` as they are; `run.X` the run's column X; another name is a
    final metric if a run `where` selects has it, else a parameter if one has it, else a run column
    (`duration_s`, `exit_code`). None: it is none of them (or `run.X` names no run column)."""
    if name.startswith(("config.", "metrics.")):
        return name
    if name.startswith(RUN_PREFIX):
        column = name.removeprefix(RUN_PREFIX)
        return column if column in FIELDS else None
    for kind in ("metrics", "config"):
        if store.has_field(f"{kind}.{name}", where):
            return f"{kind}.{name}"
    return name if name in FIELDS else None


def sort_field(store: Store, name: str, where: Sequence[Condition] = ()) -> str:
    """The store field a sort name means for the runs `where` selects (see `resolve_field`).
    ResultsError for a name none of them is, while runs have final metrics (with none at all, any name
    sorts them in submission order)."""
    field = resolve_field(store, name, where)
    if field is not None:
        return field
    if name.startswith(RUN_PREFIX):
        raise ResultsError(f"sort {name!r}: no run column {name.removeprefix(RUN_PREFIX)!r}; "
                           f"run columns are {', '.join(FIELDS)}")
    known = store.run_keys("metrics", where)
    if known:
        raise ResultsError(f"no run selected has a final metric {name!r}: sort by one of {_some(known)}")
    return f"metrics.{name}"


@dataclass(frozen=True)
class Page:
    """A page of results rows (see `result_row`), how many runs match in all, and `next`: the cursor
    to pass as `after` for the page that follows, None after the last."""

    rows: list[dict[str, Any]]
    total: int
    next: Cursor | None
    sort: str | None = None
    """What the rows are sorted by, as a store field (`metrics.acc`, `-config.lr`); None: by id."""


def results_page(
    store: Store,
    experiment: int | str | None = None,
    status: str | Iterable[str] | None = None,
    sort: str | None = None,
    *,
    where: Sequence[Condition] = (),
    after: Cursor | None = None,
    limit: int | None = 50,
    offset: int = 0,
    total: int | None = None,
) -> Page:
    """One page of results, by keyset: page 1,000 costs what page 1 does.

    `sort` is a final metric, a parameter or a run column (see `sort_field`), `-name` for highest first;
    runs without a value (or with NaN) come last either way, ties in submission order; None: submission
    order. `where` adds store conditions (`("config.lr", "<", 0.01)`). `limit` None: every run.
    `total`: the count of an earlier page of the same selection (not counted again).
    """
    selected, field = _selection(store, experiment, status, sort, where)
    page = store.results_page(selected, sort=field, after=after, limit=limit, offset=offset, total=total)
    return Page([result_row(run, name) for run, name in page.rows], page.total, page.next, field)


def _selection(
    store: Store,
    experiment: int | str | None,
    status: str | Iterable[str] | None,
    sort: str | None,
    where: Sequence[Condition],
) -> tuple[list[Condition], str | None]:
    """The store conditions and sort field of a results request."""
    selected = [*conditions(store, experiment, status), *where]
    if not sort:
        return selected, None
    descending = sort.startswith("-")
    return selected, ("-" if descending else "") + sort_field(store, sort.removeprefix("-"), selected)


def count_results(store: Store, experiment: int | str | None = None, status: str | Iterable[str] | None = None,
                  *, where: Sequence[Condition] = ()) -> int:
    """How many runs `results_page` would list without a limit."""
    return store.count_runs([*conditions(store, experiment, status), *where])


def iter_results(
    store: Store,
    experiment: int | str | None = None,
    status: str | Iterable[str] | None = None,
    sort: str | None = None,
    *,
    where: Sequence[Condition] = (),
    limit: int | None = None,
    offset: int = 0,
    page_size: int = 500,
) -> Iterator[dict[str, Any]]:
    """Results rows as `results_page` orders them, the first `limit` (None: all) after `offset`, read
    `page_size` runs at a time: memory stays flat however many runs there are. A bad request is an
    error here, before the first row is asked for."""
    selected, field = _selection(store, experiment, status, sort, where)
    return _rows(store, selected, field, limit, offset, page_size)


def _rows(
    store: Store, where: list[Condition], sort: str | None, limit: int | None, offset: int, page_size: int
) -> Iterator[dict[str, Any]]:
    after, left = None, limit
    while left is None or left > 0:
        size = page_size if left is None else min(page_size, left)
        page = store.results_page(where, sort=sort, after=after, limit=size, offset=offset if after is None else 0)
        yield from (result_row(run, name) for run, name in page.rows)
        if page.next is None:
            return
        after, left = page.next, None if left is None else left - len(page.rows)
