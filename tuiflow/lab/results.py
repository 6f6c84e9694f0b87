"""Results for clients: runs with their configs and final metrics, one run in full, its log, exports.

Plain functions over an open `Store` that return dicts ready for JSON, a table or a TUI widget.
Large result sets are read a page at a time (`results_page`, by keyset; `iter_results`), never all at once.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TextIO

from tuiflow.lab.pages import (  # noqa: F401 - the listing lived here: exports and older callers import it from here
    RESULT_FIELDS,
    Page,
    ResultsError,
    _filters,
    _query,
    conditions,
    count_results,
    find_experiment,
    iter_results,
    result_row,
    results_page,
    sort_field,
)
from tuiflow.lab.profiles import profile_rows
from tuiflow.scheduler.orphans import settle_orphans
from tuiflow.store import NotFoundError, Run, Store, spell_non_finite
from tuiflow.store.pages import Condition

SERIES_FIELDS = ("run_id", "key", "step", "value", "time")
"""The columns of metric series in long form."""


_READ_CHUNK = 1 << 16


# -- runs as rows -----------------------------------------------------------------------------------


def json_safe(value: Any) -> Any:
    """`value` with NaN and the infinities as "nan", "inf" and "-inf", as the store keeps them in final
    metrics, so that it encodes as strict JSON and still says what the value was."""
    return spell_non_finite(value)


def _same(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


@dataclass(frozen=True)
class KeySpread:
    """How one parameter spreads over a selection of runs: how many of them have a value for it (None:
    not counted, as it has several values), and whether those share one value (`value`)."""

    runs: int | None
    one_value: bool
    value: Any = None


@dataclass(frozen=True)
class KeySplit:
    """A selection's parameters by what they say about its runs (see `split_keys`)."""

    differing: list[str]
    """Parameters whose values differ: what tells the runs apart, sorted."""
    partial: list[str]
    """Parameters of one value that only some runs have (they tell experiments apart more than runs), sorted."""
    fixed: dict[str, Any]
    """Parameters every run has, with the one value they share, by name."""


def split_keys(spreads: Mapping[str, KeySpread], runs: int) -> KeySplit:
    """The one rule of what varies, for `tuiflow results`' table and History's columns alike: which
    parameters of `runs` runs differ, which have one value where set, which every run shares."""
    differing, partial, fixed = [], [], {}
    for key in sorted(spreads):
        spread = spreads[key]
        if not spread.one_value:
            differing.append(key)
        elif spread.runs == runs and runs:
            fixed[key] = spread.value
        else:
            partial.append(key)
    return KeySplit(differing, partial, fixed)


def varying_config(configs: Iterable[dict[str, Any]]) -> tuple[list[str], dict[str, Any]]:
    """Split configs into the keys that tell them apart and the values they all share (`split_keys`).

    The keys come in two groups, each sorted: those with differing values first, then those with one
    value that only some configs have (they tell experiments apart more than runs).
    """
    configs = list(configs)
    spreads = {}
    for key in {key for config in configs for key in config}:
        having = [config[key] for config in configs if key in config]
        spreads[key] = KeySpread(len(having), len({_same(value) for value in having}) == 1, having[0])
    split = split_keys(spreads, len(configs))
    return split.differing + split.partial, split.fixed


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


def csv_columns(store: Store, where: Sequence[Condition] = ()) -> list[str]:
    """The CSV columns of every run `where` selects (see `flatten`), without reading the runs."""
    base = [name for name in RESULT_FIELDS if name not in ("config", "metrics")]
    return (base + [f"config.{k}" for k in store.run_keys("config", where)]
            + [f"metrics.{k}" for k in store.run_keys("metrics", where)])  # fmt: skip


def write_csv(rows: Iterable[dict[str, Any]], stream: TextIO, columns: Sequence[str] | None = None) -> int:
    """Write results rows as flat CSV (see `flatten`); return how many. With `columns` (see
    `csv_columns`) the rows are written as they come, never all held at once."""
    writer = csv.writer(stream, lineterminator="\n")
    if columns is None:
        columns, flat = flatten(list(rows))
    else:
        flat = (flatten([row])[1][0] for row in rows)
    writer.writerow(columns)
    count = 0
    for row in flat:
        writer.writerow([_cell(row.get(name)) for name in columns])
        count += 1
    return count


# -- one run in full --------------------------------------------------------------------------------


def run_details(store: Store, run_id: int, attempt: int | None = None) -> dict[str, Any]:
    """Everything about a run: its record, experiment, metric series summary and profile.

    `summary` maps each metric key to count, first_step, last_step, last_value, min, max; `profile`
    lists the per-action timings as `tuiflow.lab.profiles.profile_rows` reads them, slowest first.
    `attempts` lists the earlier attempts (a retry starts clean); `attempt` N shows one of those as
    it ended: status, error, final metrics and times (its metric series and profile are not kept).
    """
    run = store.get_run(run_id)
    earlier = store.attempts(run_id)
    if attempt is not None and attempt != run.attempt:
        return _earlier_attempt(store, run, earlier, attempt)
    if run.status == "running" and settle_orphans(store, [run]):
        run = store.get_run(run_id)  # its process was gone and nobody watched it: lost now
    try:
        found = store.get_experiment(run.experiment_id)
        experiment, source_run = found.name, found.source_run
    except NotFoundError:
        experiment, source_run = None, None
    details: dict[str, Any] = {"id": run.id, "experiment": experiment, **asdict(run)}
    details["cloned_from"] = source_run  # the run its experiment was cloned from (`run --from`, History's n)
    details["metrics"] = run.metrics or {}
    details["duration_s"] = run.duration_s
    details["summary"] = {
        key: {name: value for name, value in asdict(item).items() if name != "key"}
        for key, item in store.metrics_summary(run.id).items()
    }
    details["profile"] = profile_rows(store.profile(run.id))
    details["attempts"] = [{k: v for k, v in asdict(a).items() if k != "run_id"} for a in earlier]
    return details


def _earlier_attempt(store: Store, run: Run, earlier: Sequence[Any], attempt: int) -> dict[str, Any]:
    found = next((a for a in earlier if a.attempt == attempt), None)
    if found is None:
        have = [a.attempt for a in earlier] + ([run.attempt] if run.attempt else [])
        raise ResultsError(f"run {run.id} has no attempt {attempt}: it has "
                           + (", ".join(map(str, have)) if have else "none yet"))
    details = {"id": run.id, **asdict(run), **asdict(found)}
    details.update(metrics=found.metrics or {}, summary={}, profile=[], attempts=[],
                   duration_s=None if found.started_at is None or found.ended_at is None
                   else max(0.0, found.ended_at - found.started_at),
                   pid=None, traceback=None, progress_done=None, progress_total=None, eta_s=None)
    try:
        details["experiment"] = store.get_experiment(run.experiment_id).name
    except NotFoundError:
        details["experiment"] = None
    details.pop("run_id", None)
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
            if run.status == "running" and settle_orphans(store, [run]):
                run = store.get_run(run_id)  # gone with nobody watching: lost, and the log is whole
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
