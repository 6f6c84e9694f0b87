"""Exports for clients: results rows and every metric value, as CSV, JSON or parquet."""

from __future__ import annotations

import contextlib
import csv
import errno
import itertools
import json
import os
import re
import secrets
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from tuiflow.lab.results import (
    SERIES_FIELDS,
    ResultsError,
    _cell,
    _filters,
    _query,
    flatten,
    iter_results,
    json_safe,
    write_csv,
)
from tuiflow.store import Store

EXPORT_FORMATS = ("csv", "json", "parquet")


@dataclass
class Exported:
    """What an export wrote: the files (none for a stream), and how many runs and metric values."""

    files: list[Path] = field(default_factory=list)
    runs: int = 0
    values: int = 0


class _Staging:
    """The files of one export, each written under a temporary name beside its target and renamed
    into place only once all are complete: a failed export leaves every earlier file as it was."""

    def __init__(self) -> None:
        self._files: list[tuple[Path, Path]] = []  # (temporary, target)
        self.current: Path | None = None
        """The target being written, for the error: never the temporary name the user did not ask for."""

    def path(self, target: Path) -> Path:
        """Where to write `target` for now; OSError when it cannot be written."""
        self.current = target
        real = Path(os.path.realpath(target))  # through a symlink: the file it points to is replaced
        if real.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
        if real.exists() and not real.is_file():
            return real  # a device or a pipe (/dev/null, a FIFO): nothing to replace, written as it is
        if real.exists() and not os.access(real, os.W_OK):
            # A rename could replace it, but a file the user made read-only is not ours to replace.
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(target))
        while True:
            temp = real.with_name(f".{real.name}.{secrets.token_hex(4)}.tmp")
            try:
                # 0666 less the umask, like the file `open(target, "w")` would have made.
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                break
            except FileExistsError:
                continue
        self._files.append((temp, real))
        try:
            if real.exists():
                os.fchmod(fd, stat.S_IMODE(real.stat().st_mode))  # a replaced file keeps its mode
        finally:
            os.close(fd)
        return temp

    def commit(self) -> None:
        """Move every written file into place."""
        for temp, target in self._files:
            self.current = target
            os.replace(temp, target)
        self._files = []

    def discard(self) -> None:
        """Remove the temporary files of a failed export."""
        for temp, _ in self._files:
            with contextlib.suppress(OSError):
                os.unlink(temp)
        self._files = []


def _why(exc: OSError) -> str:
    """The system's words for a failed write; pyarrow's errors bury them, with the temporary name, in text."""
    found = re.search(r"\[errno (\d+)\]", str(exc))
    return os.strerror(int(found[1])) if found else exc.strerror or str(exc)


def series_path(output: Path) -> Path:
    """Where an export to `output` puts the metric series: `runs.csv` -> `runs-metrics.csv`."""
    return output.with_name(f"{output.stem}-metrics{output.suffix}")


def iter_metric_series(
    store: Store, experiment: int | str | None = None, status: str | Iterable[str] | None = None
) -> Iterator[tuple[int, str, int, float | None, float]]:
    """Every metric value of the selected runs in long form (run_id, key, step, value, time), one run at a time."""
    where, params = _filters(store, experiment, status)
    for (run_id,) in _query(store, f"SELECT r.id FROM runs r{where} ORDER BY r.id", params):
        yield from _query(
            store,
            "SELECT run_id, key, step, value, time FROM metrics WHERE run_id = ? ORDER BY key, step, rowid",
            (run_id,),
        )


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ResultsError("parquet export needs pyarrow: pip install pyarrow") from None
    return pyarrow


def _arrow_column(pa: Any, values: list[Any]) -> Any:
    try:
        return pa.array(values)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        # Mixed types in one column (a parameter that is a number in one run, a string in another).
        return pa.array(
            [None if v is None else v if isinstance(v, str) else json.dumps(v, default=str) for v in values]
        )


def _write_parquet(
    pa: Any, rows: list[dict[str, Any]], series: Iterator[tuple] | None, output: Path, staging: _Staging
) -> int:
    columns, flat = flatten(rows)
    table = pa.table({name: _arrow_column(pa, [row.get(name) for row in flat]) for name in columns})
    pa.parquet.write_table(table, str(staging.path(output)))
    if series is None:
        return 0
    schema = pa.schema([("run_id", pa.int64()), ("key", pa.string()), ("step", pa.int64()),
                        ("value", pa.float64()), ("time", pa.float64())])  # fmt: skip
    count = 0
    with pa.parquet.ParquetWriter(str(staging.path(series_path(output))), schema) as writer:
        while batch := list(itertools.islice(series, 100_000)):
            writer.write_table(pa.table(list(zip(*batch)), schema=schema))
            count += len(batch)
        if count == 0:
            writer.write_table(schema.empty_table())
    return count


def _write_json(rows: list[dict[str, Any]], series: Iterator[tuple] | None, stream: TextIO) -> int:
    # Written piece by piece: a long series never has to sit in memory as one document.
    stream.write('{"runs": [')
    for i, row in enumerate(rows):
        stream.write(("\n" if i == 0 else ",\n") + json.dumps(json_safe(row), default=str))
    stream.write("\n]")
    count = 0
    if series is not None:
        stream.write(', "metrics": [')
        for count, values in enumerate(series, 1):
            stream.write(("\n" if count == 1 else ",\n") + json.dumps(json_safe(dict(zip(SERIES_FIELDS, values)))))
        stream.write("\n]")
    stream.write("}\n")
    return count


def export(
    store: Store,
    fmt: str,
    output: Path | TextIO,
    *,
    experiment: int | str | None = None,
    status: str | Iterable[str] | None = None,
    series: bool = True,
) -> Exported:
    """Export results rows, and with `series` every metric value in long form.

    json: one document {"runs": [rows], "metrics": [{run_id, key, step, value, time}]}.
    csv and parquet: flat runs (config.X, metrics.Y columns) to `output`, series to `series_path(output)`.
    `output` may be a text stream for json and for csv without series. Files are replaced only when
    the whole export succeeds: on any failure the files there before are left as they were.
    """
    if fmt not in EXPORT_FORMATS:
        raise ResultsError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    pa = _pyarrow() if fmt == "parquet" else None
    to_file = isinstance(output, Path)
    if not to_file and (fmt == "parquet" or (fmt == "csv" and series)):
        what = "parquet" if fmt == "parquet" else "CSV metric series (a second file)"
        raise ResultsError(f"{what} cannot go to a stream: export to a file")
    rows = list(iter_results(store, experiment, status))
    values = iter_metric_series(store, experiment, status) if series else None
    done = Exported(files=[output] if to_file else [], runs=len(rows))
    staging = _Staging()
    try:
        if fmt == "parquet":
            done.values = _write_parquet(pa, rows, values, output, staging)
        elif fmt == "json":
            if to_file:
                with open(staging.path(output), "w", encoding="utf-8") as stream:
                    done.values = _write_json(rows, values, stream)
            else:
                done.values = _write_json(rows, values, output)
        elif to_file:
            with open(staging.path(output), "w", encoding="utf-8", newline="") as stream:
                write_csv(rows, stream)
            if values is not None:
                with open(staging.path(series_path(output)), "w", encoding="utf-8", newline="") as stream:
                    writer = csv.writer(stream, lineterminator="\n")
                    writer.writerow(SERIES_FIELDS)
                    for row in values:
                        writer.writerow(_cell(v) for v in row)
                        done.values += 1
        else:
            write_csv(rows, output)
        staging.commit()
    except OSError as exc:
        # The file named is the one asked for, even when the temporary one beside it failed.
        raise ResultsError(f"cannot write {staging.current or exc.filename or output}: {_why(exc)}") from None
    finally:
        staging.discard()  # after a failure only: a commit leaves nothing to discard
    if to_file and values is not None and fmt != "json":
        done.files.append(series_path(output))
    return done
