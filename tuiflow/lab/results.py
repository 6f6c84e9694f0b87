"""Results for clients: runs with their configs and final metrics, one run in full, its log, exports.

Plain functions over an open `Store` that return dicts ready for JSON, a table or a TUI widget.
Large result sets are read a page at a time (`limit`/`offset`, `iter_results`), never all at once.
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict
from typing import Any, TextIO

from tuiflow.store import RUN_STATUSES, NotFoundError, Run, Store, metrics_from_json, spell_non_finite

RESULT_FIELDS = (
    "id", "experiment", "experiment_id", "recipe", "status", "config", "metrics", "gpus", "rep", "seed",
    "host", "created_at", "started_at", "ended_at", "duration_s", "exit_code", "signal", "error", "attempt",
    "executor",
)  # fmt: skip
"""The keys of a results row, in order."""

SERIES_FIELDS = ("run_id", "key", "step", "value", "time")
"""The columns of metric series in long form."""


_RUN_JOIN = (
    f"SELECT {', '.join('r.' + c for c in Run.COLUMNS)}, e.name "
    "FROM runs r LEFT JOIN experiments e ON e.id = r.experiment_id"
)
_READ_CHUNK = 1 << 16


class ResultsError(Exception):
    """A request for results the user can fix (a bad status, a missing package, an unwritable target)."""


# -- runs as rows -----------------------------------------------------------------------------------


def result_row(run: Run, experiment: str | None) -> dict[str, Any]:
    """One run as a results row: the keys of RESULT_FIELDS, JSON-ready."""
    values = asdict(run)
    values["experiment"] = experiment
    values["metrics"] = run.metrics or {}
    values["duration_s"] = run.duration_s
    return {name: values[name] for name in RESULT_FIELDS}


def json_safe(value: Any) -> Any:
    """`value` with NaN and the infinities as "nan", "inf" and "-inf", as the store keeps them in final
    metrics, so that it encodes as strict JSON and still says what the value was."""
    return spell_non_finite(value)


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def _filters(store: Store, experiment: int | str | None, status: str | Iterable[str] | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if experiment is not None:
        clauses.append("r.experiment_id = ?")
        params.append(store.find_experiment(experiment).id)
    if status is not None:
        names = [status] if isinstance(status, str) else list(status)
        for name in names:
            if name not in RUN_STATUSES:
                raise ResultsError(f"unknown run status {name!r}: use one of {', '.join(RUN_STATUSES)}")
        if names:
            clauses.append(f"r.status IN ({_marks(names)})")
            params.extend(names)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _query(store: Store, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    # `store.db` is the store's documented way in for queries it has no method for; it shares the
    # store's one connection, so it is used under the store's lock.
    with store.lock:
        return store.db.execute(sql, list(params)).fetchall()


def _rows(store: Store, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    return [result_row(Run.from_row(r[:-1]), r[-1]) for r in _query(store, sql, params)]


def _metric_key(value: Any) -> float | None:
    """A final metric as a sort key: real numbers only, NaN and the rest count as missing."""
    if isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
        return float(value)
    return None


def _some(names: Sequence[str], most: int = 8) -> str:
    """Names for a one-line message: the first `most`, then how many more."""
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def list_results(
    store: Store,
    experiment: int | str | None = None,
    status: str | Iterable[str] | None = None,
    sort: str | None = None,
    *,
    ascending: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """A page of results rows, in submission order or by the final metric `sort`.

    Sorting is descending unless `ascending`; runs without that metric (or with NaN or a non-number)
    come last either way. NotFoundError for an unknown experiment (name or id); ResultsError for a bad
    status, and for a `sort` that no selected run has as a final metric while some have final metrics.
    """
    where, params = _filters(store, experiment, status)
    if sort is None:
        page = " LIMIT ? OFFSET ?"
        return _rows(
            store, f"{_RUN_JOIN}{where} ORDER BY r.id{page}", [*params, -1 if limit is None else limit, offset]
        )
    # Order the (id, metrics) pairs here, then read only the page's runs: stores written before
    # tuiflow spelled NaN as "nan" hold bare NaN in that column, which SQLite's JSON functions refuse.
    keyed = []
    known: set[str] = set()
    for run_id, text in _query(store, f"SELECT r.id, r.metrics FROM runs r{where}", params):
        metrics = metrics_from_json(text)
        value = None
        if isinstance(metrics, dict):
            known.update(metrics)
            value = _metric_key(metrics.get(sort))
        keyed.append((value is None, 0.0 if value is None else (value if ascending else -value), run_id))
    if known and sort not in known:
        raise ResultsError(f"no run selected has a final metric {sort!r}: sort by one of {_some(sorted(known))}")
    keyed.sort()
    ids = [run_id for *_, run_id in keyed[offset : None if limit is None else offset + limit]]
    found = {}
    for start in range(0, len(ids), 500):  # SQLite caps the number of parameters of one statement
        chunk = ids[start : start + 500]
        found.update((row["id"], row) for row in _rows(store, f"{_RUN_JOIN} WHERE r.id IN ({_marks(chunk)})", chunk))
    return [found[run_id] for run_id in ids if run_id in found]


def count_results(store: Store, experiment: int | str | None = None, status: str | Iterable[str] | None = None) -> int:
    """How many runs `list_results` would list without a limit."""
    where, params = _filters(store, experiment, status)
    return _query(store, f"SELECT count(*) FROM runs r{where}", params)[0][0]


def iter_results(
    store: Store,
    experiment: int | str | None = None,
    status: str | Iterable[str] | None = None,
    *,
    page_size: int = 500,
) -> Iterator[dict[str, Any]]:
    """Every results row in submission order, read `page_size` runs at a time."""
    where, params = _filters(store, experiment, status)
    where += " AND r.id > ?" if where else " WHERE r.id > ?"
    last = 0
    while True:
        page = _rows(store, f"{_RUN_JOIN}{where} ORDER BY r.id LIMIT ?", [*params, last, page_size])
        yield from page
        if len(page) < page_size:
            return
        last = page[-1]["id"]


def _same(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def varying_config(configs: Iterable[dict[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    """Split configs into the keys that tell them apart and the values they all share.

    The keys come in two groups, each sorted: those with differing values first, then those with one
    value that only some configs have (they tell experiments apart more than runs).
    """
    configs = list(configs)
    differing, partial, fixed = [], [], {}
    for key in sorted({key for config in configs for key in config}):
        values = {_same(config[key]) for config in configs if key in config}
        if len(values) > 1:
            differing.append(key)
        elif all(key in config for config in configs):
            fixed[key] = configs[0][key]
        else:
            partial.append(key)
    return differing + partial, fixed


def flatten(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Rows with `config.X` and `metrics.Y` columns instead of nested dicts; and the columns, in order."""
    config_keys = sorted({key for row in rows for key in row["config"]})
    metric_keys = sorted({key for row in rows for key in row["metrics"]})
    base = [name for name in RESULT_FIELDS if name not in ("config", "metrics")]
    columns = base + [f"config.{k}" for k in config_keys] + [f"metrics.{k}" for k in metric_keys]
    flat = []
    for row in rows:
        out = {name: row[name] for name in base}
        out.update((f"config.{k}", v) for k, v in row["config"].items())
        out.update((f"metrics.{k}", v) for k, v in row["metrics"].items())
        flat.append(out)
    return columns, flat


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (bool, list, dict)):
        return json.dumps(value, default=str)
    return value


def write_csv(rows: Sequence[dict[str, Any]], stream: TextIO) -> int:
    """Write results rows as flat CSV (see `flatten`); return how many."""
    columns, flat = flatten(rows)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    for row in flat:
        writer.writerow([_cell(row.get(name)) for name in columns])
    return len(flat)


# -- one run in full --------------------------------------------------------------------------------


def run_details(store: Store, run_id: int) -> dict[str, Any]:
    """Everything about a run: its record, experiment, metric series summary and profile.

    `summary` maps each metric key to count, first_step, last_step, last_value, min, max; `profile`
    lists the per-action timings (pipeline, action, calls, total_s, mean_s, max_s, cpu_s), slowest first.
    """
    run = store.get_run(run_id)
    try:
        experiment: str | None = store.get_experiment(run.experiment_id).name
    except NotFoundError:
        experiment = None
    details: dict[str, Any] = {"id": run.id, "experiment": experiment, **asdict(run)}
    details["metrics"] = run.metrics or {}
    details["duration_s"] = run.duration_s
    details["summary"] = {
        key: {name: value for name, value in asdict(item).items() if name != "key"}
        for key, item in store.metrics_summary(run.id).items()
    }
    details["profile"] = [
        {name: value for name, value in asdict(row).items() if name != "run_id"} for row in store.profile(run.id)
    ]
    return details


# -- logs -------------------------------------------------------------------------------------------


def _tail_start(file: Any, lines: int) -> int:
    """Offset in an open binary file where its last `lines` lines begin (lines end in b"\\n" only)."""
    end = file.seek(0, os.SEEK_END)
    if lines <= 0:
        return end
    pos, data = end, b""
    while pos > 0 and data.count(b"\n") <= lines:
        step = min(_READ_CHUNK, pos)
        pos -= step
        file.seek(pos)
        data = file.read(step) + data
    cut = len(data) - 1 if data.endswith(b"\n") else len(data)
    for _ in range(lines):
        cut = data.rfind(b"\n", 0, cut)
        if cut < 0:
            return pos
    return pos + cut + 1


def read_log(path: str | os.PathLike[str], *, tail: int | None = None) -> str:
    """A log file as text, whatever bytes it holds (invalid UTF-8 becomes U+FFFD); its last `tail` lines."""
    with open(path, "rb") as file:
        if tail is not None:
            file.seek(_tail_start(file, tail))
        return file.read().decode("utf-8", errors="replace")


def log_text(run: Run, *, tail: int | None = None) -> str | None:
    """The run's log as text; None when it has none (yet). ResultsError when it cannot be read."""
    if not run.log_path:
        return None
    try:
        return read_log(run.log_path, tail=tail)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ResultsError(f"cannot read the log of run {run.id}, {run.log_path}: {exc.strerror or exc}") from None


def follow_log(
    store: Store,
    run_id: int,
    *,
    tail: int | None = None,
    poll_s: float = 0.5,
    sleep: Callable[[float], Any] = time.sleep,
) -> Iterator[str]:
    """Yield a run's log text as it grows, until the run reaches a final status and all is read.

    Waits for a log that does not exist yet; starts at the last `tail` lines of the first log seen;
    follows the run to a new log file (a retry) and back to the start of a truncated one.
    """
    file: Any = None
    path: str | None = None
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    first = True
    try:
        while True:
            # Status before reading: whatever the run wrote before it ended is then read below.
            run = store.get_run(run_id)
            if run.log_path != path:
                if file is not None:
                    file.close()
                    file = None
                    if text := decoder.decode(b"", final=True):
                        yield text
                    decoder.reset()
                path = run.log_path
            if file is None and path:
                try:
                    file = open(path, "rb")  # noqa: SIM115 - held open across polls
                except FileNotFoundError:
                    pass
                else:
                    if first and tail is not None:
                        file.seek(_tail_start(file, tail))
                    first = False
            if file is not None:
                if os.fstat(file.fileno()).st_size < file.tell():
                    file.seek(0)
                while chunk := file.read(_READ_CHUNK):
                    if text := decoder.decode(chunk):
                        yield text
            if run.is_final:
                if text := decoder.decode(b"", final=True):
                    yield text
                return
            sleep(poll_s)
    finally:
        if file is not None:
            file.close()
