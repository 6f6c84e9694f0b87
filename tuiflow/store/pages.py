"""Many runs at once, for readers and for cancels: filtered pages in any order, counts, the keys runs
have, and cancelling an experiment's queued runs in one statement.

Pages are keyset pages: a page starts after the last row of the one before (its sort value and id),
never after an OFFSET, so page 1,000 of 100,000 runs costs what page 1 does.

Parameters and final metrics are read from their side tables (`run_params`, `final_metrics`: one row
per run and key, with the run's experiment; see `schema.create_sort_tables`). Their indexes, (key,
value, run_id, experiment_id) and (key, value DESC, run_id), serve a sort by a parameter or metric in
either direction as an index range, and a count of the runs whose parameter or metric is in a range
(of an experiment) from the first index alone; a condition on the status looks each run up by id. No
page evaluates JSON over every run.

How a page is read depends on how many runs match (counted first, for `total`): when many do, or
nothing is asked of them, the page walks its sort order (a side table's index, or the runs by id) and
keeps the runs that match, a few hundred looked at at most; when few do, they are found through a
condition (a parameter's or metric's range, an experiment's runs) and sorted, few as they are.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from .base import StoreBase, marks
from .errors import StoreError
from .records import RUN_STATUSES, Run

Condition = tuple[str, str, Any]
"""(field, op, value): a run is kept when its `field` compares so to `value`.

A field is a run column (`status`, `experiment_id`, `duration_s`, `experiment` for its experiment's
name), a parameter (`config.lr`) or a final metric (`metrics.accuracy`; numbers and infinities only,
NaN counts as missing). op is one of `OPS`; `in` takes a list; `= None` and `!= None` test for a missing value.
"""

OPS = ("=", "!=", "<", "<=", ">", ">=", "in")
"""The comparisons a `Condition` may use."""

_SELECT = ", ".join(f"r.{name}" for name in Run.COLUMNS)
_FROM = "FROM runs r LEFT JOIN experiments e ON e.id = r.experiment_id"
# Run.duration_s in SQL: start to end, or to the last heartbeat while the run goes on.
_DURATION = (
    "CASE WHEN r.started_at IS NOT NULL THEN "
    "max(0.0, coalesce(r.ended_at, r.heartbeat_at, r.started_at) - r.started_at) END"
)
# Columns that hold JSON: compared as a whole they mean little, their keys are fields of their own.
_NOT_FIELDS = {"config", "metrics"}
FIELDS = tuple(name for name in Run.COLUMNS if name not in _NOT_FIELDS) + ("experiment", "duration_s")
"""The run columns a page can be filtered and sorted by (besides `config.X` and `metrics.X`)."""


class Cursor(NamedTuple):
    """Where a page ended: the sort it belongs to, and the sort value and id of its last run."""

    sort: str | None
    value: Any
    id: int


class RunsPage(NamedTuple):
    """One page of runs, each with its experiment's name; how many runs match in all; and the
    cursor to pass as `after` for the next page (None after the last page)."""

    rows: list[tuple[Run, str | None]]
    total: int
    next: Cursor | None


def _json_path(key: str) -> str:
    """An SQL literal for the JSON path of a top-level key, quoted so that `val/loss` or `a.b` work."""
    if not key or '"' in key:
        raise StoreError(f"cannot select the key {key!r}: keys must be non-empty and hold no double quote")
    return "'" + ('$."' + key + '"').replace("'", "''") + "'"


def field_sql(field: str) -> str:
    """The SQL expression of a field (see `Condition`) over `runs r` joined with `experiments e`."""
    kind, dot, key = field.partition(".")
    if dot and kind == "config":
        return f"json_extract(r.config, {_json_path(key)})"
    if dot and kind == "metrics":
        # NaN and the infinities are stored as "nan", "inf", "-inf": the infinities compare as the numbers
        # they are (9e999 is SQLite's infinity), NaN and other text as missing.
        value = f"json_extract(r.metrics, {_json_path(key)})"
        return (
            f"CASE json_type(r.metrics, {_json_path(key)}) WHEN 'integer' THEN {value} WHEN 'real' THEN {value} "
            f"WHEN 'text' THEN CASE {value} WHEN 'inf' THEN 9e999 WHEN '-inf' THEN -9e999 END END"
        )
    if field == "experiment":
        return "e.name"
    if field == "duration_s":
        return _DURATION
    if field in FIELDS:
        return f"r.{field}"
    raise StoreError(f"unknown run field {field!r}: use config.NAME, metrics.NAME or one of {', '.join(FIELDS)}")


# The side table holding each run's parameters or final metrics, one row per key, each value as
# `field_sql` gives it (NULL for a null, NaN or other text metric: missing).
_SIDE = {"config": "run_params", "metrics": "final_metrics"}
# The run column the side tables carry too (kept equal by triggers), so conditions on it are answered
# from a side table's index without looking the run up. Not the status: see `schema.create_sort_tables`.
_MIRRORED = ("experiment_id",)

WALK_SHARE = 0.05
"""A page walks its sort order when at least this share of all runs match its conditions (so it looks
at some 20 runs per run it keeps, at most); fewer matching runs are found through a condition and
sorted."""


def _side(field: str | None) -> tuple[str, str] | None:
    """(side table, key) of a `config.X` or `metrics.X` field; None for a run column."""
    kind, dot, key = (field or "").partition(".")
    if not (dot and kind in _SIDE):
        return None
    _json_path(key)  # the same refusal of odd keys as field_sql
    return _SIDE[kind], key


def _compare(sql: str, op: str, value: Any, field: str) -> tuple[str, list[Any]]:
    """`sql op value` as a clause and its parameters; `= None` and `!= None` test for NULL."""
    if op == "in":
        values = list(value)
        return (f"{sql} IN ({marks(len(values))})", values) if values else ("0", [])
    if value is None and op in ("=", "!="):
        return f"{sql} IS {'NOT ' if op == '!=' else ''}NULL", []
    if op in OPS:
        return f"{sql} {op} ?", [value]
    raise StoreError(f"unknown comparison {op!r} for {field}: use one of {' '.join(OPS)}")


def _where(conditions: Sequence[Condition], on: str | None = None) -> tuple[list[str], list[Any]]:
    """Clauses (all must hold) and their parameters for `conditions` over `runs r`, or, with `on`, over
    a side table's row `on` too: the run's id is `on.run_id` and mirrored columns are read from it.

    A condition on a parameter or final metric is a probe of its side table's primary key; `= None`
    (missing, null or NaN) is the absence of a value there."""
    clauses: list[str] = []
    params: list[Any] = []
    run_id = f"{on}.run_id" if on else "r.id"
    for field, op, value in conditions:
        side = _side(field)
        if side is not None:
            table, key = side
            probe = f"SELECT 1 FROM {table} x WHERE x.run_id = {run_id} AND x.key = ? AND "
            if value is None and op == "=":
                clause, values = f"NOT EXISTS ({probe}x.value IS NOT NULL)", []
            else:
                clause, values = _compare("x.value", op, value, field)
                clause = f"EXISTS ({probe}{clause})" if clause != "0" else clause
            clauses.append(clause)
            params += [key, *values] if clause != "0" else []
            continue
        sql = f"{on}.{field}" if on and field in _MIRRORED else field_sql(field)
        clause, values = _compare(sql, op, value, field)
        clauses.append(clause)
        params += values
    return clauses, params


def _needs_runs(conditions: Sequence[Condition]) -> bool:
    """Whether conditions over a side table's rows still need the run itself (a column not mirrored)."""
    return any(_side(field) is None and field not in _MIRRORED for field, _, _ in conditions)


def _driver(conditions: Sequence[Condition]) -> int | None:
    """The condition on a parameter or final metric whose side table's index can find the runs that
    match (any but `= None`, which matches runs that have no row there); None when there is none."""
    for index, (field, op, value) in enumerate(conditions):
        if _side(field) is not None and not (value is None and op == "=") and not (op == "in" and not list(value)):
            return index
    return None


def _driven(conditions: Sequence[Condition], driver: int, join_runs: bool) -> tuple[str, list[str], list[Any]]:
    """FROM and WHERE (clauses, parameters) that find the runs matching `conditions` through the index
    of the condition `driver`, as rows `d` of its side table (joined with `runs r` if `join_runs`)."""
    field, op, value = conditions[driver]
    table, key = _side(field) or ("", "")
    if value is None and op == "!=":
        first, values = "d.value IS NOT NULL", []
    else:
        first, values = _compare("d.value", op, value, field)
    rest = [c for i, c in enumerate(conditions) if i != driver]
    clauses, params = _where(rest, on="d")
    source = f"FROM {table} d INDEXED BY {table}_asc"  # the one that holds experiment_id
    if join_runs or _needs_runs(rest):
        source += " CROSS JOIN runs r ON r.id = d.run_id LEFT JOIN experiments e ON e.id = r.experiment_id"
    return source, ["d.key = ?", first, *clauses], [key, *values, *params]


def _status_complement(conditions: Sequence[Condition]) -> tuple[list[Condition], list[str]] | None:
    """For conditions with one on the status (`=`, `!=`, `in`): the other conditions, and the statuses
    that condition leaves out; None otherwise."""
    on_status = [i for i, (field, op, _) in enumerate(conditions) if field == "status"]
    if len(on_status) != 1:
        return None
    _, op, value = conditions[on_status[0]]
    if op == "=":
        wanted = {value}
    elif op == "in":
        wanted = set(value)
    elif op == "!=" and value is not None:
        wanted = set(RUN_STATUSES) - {value}
    else:
        return None
    rest = [c for i, c in enumerate(conditions) if i != on_status[0]]
    return rest, [status for status in RUN_STATUSES if status not in wanted]


def _joins(conditions: Sequence[Condition], *fields: str | None) -> bool:
    """Whether a query needs the experiments table (for the experiment's name)."""
    return any(field == "experiment" for field in [*(c[0] for c in conditions), *fields])


def _and(clauses: Sequence[str]) -> str:
    return "".join(f" AND {clause}" for clause in clauses)


def _walk(
    table: str, key: str, descending: bool, where: Sequence[Condition], after: Cursor | None
) -> list[tuple[str, list[Any]]]:
    """A page sorted by a parameter or final metric, as queries that walk its side table's index in
    order, keeping the runs that match: the rest of the cursor's tie (by id), the runs beyond it, then
    the runs without a value (by id). Each is an index range; conditions on mirrored columns are read
    from the index before the run is looked up."""
    clauses, params = _where(where, on="s")
    walk = (
        f"SELECT {_SELECT}, e.name, s.value FROM {table} s CROSS JOIN runs r ON r.id = s.run_id "
        "LEFT JOIN experiments e ON e.id = r.experiment_id WHERE s.key = ?"
    )
    order = f"ORDER BY s.value {'DESC' if descending else 'ASC'}, s.run_id"
    bare, bare_params = _where(where)
    missing = (
        f"SELECT {_SELECT}, e.name, NULL {_FROM} WHERE NOT EXISTS "
        f"(SELECT 1 FROM {table} s WHERE s.run_id = r.id AND s.key = ? AND s.value IS NOT NULL)"
    )
    if after is not None and after.value is None:  # inside the trailing runs without a value
        return [(f"{missing} AND r.id > ?{_and(bare)} ORDER BY r.id", [key, after.id, *bare_params])]
    if after is None:
        parts = [(f"{walk} AND s.value IS NOT NULL{_and(clauses)} {order}", [key, *params])]
    else:
        beyond = "<" if descending else ">"
        parts = [
            (f"{walk} AND s.value = ? AND s.run_id > ?{_and(clauses)} ORDER BY s.run_id",
             [key, after.value, after.id, *params]),
            (f"{walk} AND s.value {beyond} ?{_and(clauses)} {order}", [key, after.value, *params]),
        ]  # fmt: skip
    return [*parts, (f"{missing}{_and(bare)} ORDER BY r.id", [key, *bare_params])]


def _sorted(
    field: str | None, descending: bool, where: Sequence[Condition], after: Cursor | None, drive: bool
) -> tuple[str, list[Any]]:
    """A page as one query that finds the runs and sorts them: through the index of a condition on a
    parameter or metric when `drive` and there is one, else as SQLite plans it (by id, walking the runs)."""
    side = _side(field)
    driver = _driver(where) if drive else None
    if driver is not None:
        source, clauses, params = _driven(where, driver, join_runs=True)
    else:
        clauses, params = _where(where)
        # Walking the runs by id, many matching: in id order, not through an index of a condition (say
        # status IN (...)), whose runs would all be sorted by id before the first row comes out.
        source = _FROM.replace("runs r", "runs r NOT INDEXED") if field in (None, "id") and not drive else _FROM
    head: list[Any] = []
    if side is not None:
        table, name = side
        source += f" LEFT JOIN {table} s ON s.run_id = r.id AND s.key = ?"
        head = [name]
        key = "s.value"
    else:
        key = field_sql(field) if field else "r.id"
    if after is not None:
        if not field:
            clauses.append("r.id > ?")
            params.append(after.id)
        elif after.value is None:  # inside the trailing runs without a value: only ids are left to go by
            clauses.append(f"{key} IS NULL AND r.id > ?")
            params.append(after.id)
        else:
            beyond = "<" if descending else ">"
            clauses.append(f"({key} IS NULL OR {key} {beyond} ? OR ({key} = ? AND r.id > ?))")
            params += [after.value, after.value, after.id]
    order = f"{key} {'DESC' if descending else 'ASC'} NULLS LAST, r.id" if field else "r.id"
    sql = f"SELECT {_SELECT}, e.name, {key} {source}"
    sql += (" WHERE " + " AND ".join(clauses) if clauses else "") + f" ORDER BY {order}"
    return sql, [*head, *params]


class PagesStore(StoreBase):
    """Pages, counts and bulk cancels over many runs; see `Store` for the whole API."""

    def results_page(
        self,
        where: Sequence[Condition] = (),
        *,
        sort: str | None = None,
        after: Cursor | None = None,
        limit: int | None = 50,
        offset: int = 0,
        total: int | None = None,
    ) -> RunsPage:
        """The runs matching every condition of `where`, a page at a time.

        `sort` is a field (see `Condition`), `-field` for descending; runs without a value come last
        either way, and ties go in submission order; None sorts by id. `after` is the `next` of the
        page before, for the same sort; `limit` None means every run from there; `offset` skips rows.
        `total`: the count an earlier page of the same conditions gave, not counted again (a count
        of a filter over 100,000 runs can be most of a page's time).
        """
        descending = bool(sort and sort.startswith("-"))
        field = sort[1:] if sort and descending else sort
        if after is not None and after.sort != sort:
            raise StoreError(f"this page cursor belongs to sort {after.sort!r}, not {sort!r}: start again")
        where = list(where)
        _where(where)  # a bad condition is an error before anything is read
        side = _side(field)
        want = None if limit is None else limit + 1  # one row past the page says whether a next one exists
        with self._snapshot():  # the rows and the total of one moment, even while runs are written
            if total is None:
                total = self.count_runs(where)
            many = not where or total >= WALK_SHARE * self._run_count()
            if side is not None and many:
                parts = _walk(*side, descending, where, after)
            else:
                # By id, many matching: walk the runs in id order. Otherwise find them and sort them.
                parts = [_sorted(field, descending, where, after, drive=not (many and field in (None, "id")))]
            found = self._gather(parts, want, offset)
        more = limit is not None and len(found) > limit
        page = found[:limit] if more else found
        last = page[-1] if page else None
        cursor = Cursor(sort, last[-1] if field else None, last[0]) if more and last is not None else None
        return RunsPage([(Run.from_row(row[:-2]), row[-2]) for row in page], total, cursor)

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Run the enclosed reads in one read transaction (in the caller's, if one is open)."""
        with self._lock:
            if self._conn.in_transaction:
                yield
                return
            self._conn.execute("BEGIN")
            try:
                yield
            finally:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")  # a read: nothing to write, the snapshot is let go

    def _run_count(self) -> int:
        return self._read("SELECT count(*) FROM runs")[0][0]

    def _gather(self, parts: Sequence[tuple[str, list[Any]]], want: int | None, offset: int) -> list[tuple[Any, ...]]:
        """Rows of `parts` (queries whose rows follow one another), the first `want` after skipping
        `offset`; a part is read only while the page is not full."""
        found: list[tuple[Any, ...]] = []
        skip = offset
        for sql, params in parts:
            if want is not None and len(found) >= want:
                break
            rows = self._read(f"{sql} LIMIT ?", [*params, -1 if want is None else want - len(found) + skip])
            taken = min(skip, len(rows))
            skip -= taken
            found += rows[taken:]
        return found

    def count_runs(self, where: Sequence[Condition] = ()) -> int:
        """How many runs match every condition of `where`: from a side table's index alone when one
        condition is on a parameter or metric and the others on it or experiment_id."""
        where = list(where)
        driver = _driver(where)
        if driver is not None:
            complement = _status_complement(where)
            if complement is not None:
                rest, others = complement
                # Status is not in the side tables' index: each match would be looked up in the runs.
                # When the other statuses hold fewer runs than the rest of the conditions match, count
                # those and subtract (status=done of 100,000 runs: 20 ms instead of 40).
                matching = self.count_runs(rest)
                if not matching:
                    return 0
                clauses, params = _where(rest)
                other_runs = self._read(f"SELECT count(*) FROM runs WHERE status IN ({marks(len(others))})",
                                        others)[0][0]  # fmt: skip
                if other_runs < matching:
                    source = "FROM runs r INDEXED BY runs_status"
                    if _joins(rest):
                        source += " LEFT JOIN experiments e ON e.id = r.experiment_id"
                    sql = f"SELECT count(*) {source} WHERE r.status IN ({marks(len(others))}){_and(clauses)}"
                    return matching - self._read(sql, [*others, *params])[0][0]
            source, clauses, params = _driven(where, driver, join_runs=False)
            return self._read(f"SELECT count(*) {source} WHERE {' AND '.join(clauses)}", params)[0][0]
        clauses, params = _where(where)
        source = _FROM if _joins(where) else "FROM runs r"
        return self._read(f"SELECT count(*) {source}" + (" WHERE " + " AND ".join(clauses) if clauses else ""),
                          params)[0][0]  # fmt: skip

    def has_field(self, field: str, where: Sequence[Condition] = ()) -> bool:
        """Whether any run matching `where` has a value for `config.X` or `metrics.X` (NaN included)."""
        kind, _, key = field.partition(".")
        if kind not in ("config", "metrics"):
            raise StoreError(f"has_field takes config.NAME or metrics.NAME, not {field!r}")
        table, key = _side(field) or ("", "")
        clauses, params = _where(where, on="s")
        source = f"FROM {table} s"
        if _needs_runs(where):
            source += " CROSS JOIN runs r ON r.id = s.run_id LEFT JOIN experiments e ON e.id = r.experiment_id"
        return bool(self._read(f"SELECT 1 {source} WHERE s.key = ?{_and(clauses)} LIMIT 1", [key, *params]))

    def param_spreads(self, where: Sequence[Condition] = ()) -> dict[str, tuple[int | None, Any, Any]]:
        """Parameter -> (how many runs matching `where` have a value for it, its lowest, its highest):
        enough to tell a parameter every run shares from one that tells runs apart, without reading
        the runs. Over all runs, from the side table's index (a seek per end of each key's range, and a
        count only of a key whose range is one value: None for the others); otherwise grouped over the
        runs that match."""
        where = list(where)
        if not where:
            spreads: dict[str, tuple[int | None, Any, Any]] = {}
            for key in self.run_keys("config"):
                ends = [self._read(f"SELECT value FROM run_params WHERE key = ? AND value IS NOT NULL "
                                   f"ORDER BY value {order} LIMIT 1", [key]) for order in ("ASC", "DESC")]
                low, high = (rows[0][0] if rows else None for rows in ends)
                # Only a key of one value needs its runs counted (whether all have it); the others differ.
                count = self._read("SELECT count(*) FROM run_params WHERE key = ? AND value IS NOT NULL",
                                   [key])[0][0] if low == high else None
                spreads[key] = (count, low, high)
            return spreads
        driver = _driver(where)
        if driver is not None:  # the runs found through a parameter's or metric's index, as a page's count does
            source, clauses, params = _driven(where, driver, join_runs=False)
            run_id = "d.run_id"
        else:
            clauses, params = _where(where)
            source, run_id = _FROM, "r.id"
        sql = (f"SELECT p.key, count(p.value), min(p.value), max(p.value) {source} "
               f"CROSS JOIN run_params p ON p.run_id = {run_id} WHERE {' AND '.join(clauses)} GROUP BY p.key")
        return {key: (count, low, high) for key, count, low, high in self._read(sql, params)}

    def run_keys(self, kind: str, where: Sequence[Condition] = ()) -> list[str]:
        """The keys of `config` or `metrics` that runs matching `where` have, sorted."""
        if kind not in ("config", "metrics"):
            raise StoreError(f"run_keys takes 'config' or 'metrics', not {kind!r}")
        table = _SIDE[kind]
        if not where:
            # One seek per key in the (key, ...) index, however many runs have each.
            sql = f"""WITH RECURSIVE k(key) AS (SELECT min(key) FROM {table}
                      UNION ALL SELECT (SELECT min(key) FROM {table} WHERE key > k.key) FROM k WHERE k.key IS NOT NULL)
                      SELECT key FROM k WHERE key IS NOT NULL"""
            return [row[0] for row in self._read(sql)]
        clauses, params = _where(where)
        source = _FROM if _joins(where) else "FROM runs r"
        sql = (
            f"SELECT DISTINCT s.key {source} JOIN {table} s ON s.run_id = r.id "
            f"WHERE {' AND '.join(clauses)} ORDER BY s.key"
        )
        return [row[0] for row in self._read(sql, params)]

    def cancel_queued(self, experiment_id: int, *, error: str = "cancelled by the user") -> int:
        """Cancel every queued run of an experiment in one statement; return how many.

        Runs already claimed are running by then and are not touched: cancel those one by one, since
        their processes need a signal.
        """
        with self._write() as conn:
            return conn.execute(
                "UPDATE runs SET status = 'cancelled', ended_at = ?, error = ? "
                "WHERE experiment_id = ? AND status = 'queued'",
                (time.time(), error, experiment_id),
            ).rowcount
