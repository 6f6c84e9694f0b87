"""Telemetry retention: full resolution for an hour, then coarser, then gone.

The policy, per (node, device, kind) - a cluster's nodes each have their own "gpu0":

    age < 1 h          every sample (1 per second at the default interval)
    1 h  .. 24 h       one record per minute
    24 h .. 30 days    one record per 10 minutes
    > 30 days          deleted

so a device keeps at most about 3,600 + 1,380 + 4,176 = 9,156 records however long the daemon runs.

Downsampling replaces the records of one bucket (an interval aligned to multiples of the bucket size
since the epoch) with one record: its time is the mean of their times, and its values are merged key
by key - numbers averaged (None ignored), lists of numbers of one length averaged element-wise,
dicts merged the same way, anything else (names, process lists) taken from the latest record. Only
whole buckets older than the cut are merged and a bucket holding one record is left alone, so
applying the policy again changes nothing, and a minute bucket is merged once, complete.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

HOUR = 3600.0
DAY = 24 * HOUR
# Numbers that name something rather than measure it: the mean of two pids is nobody's pid.
IDENTITY_KEYS = frozenset({"pid", "index"})
INSERT_SQL = 'INSERT INTO samples (time, device, kind, "values") VALUES (?, ?, ?, ?)'
INSERT_NODE_SQL = 'INSERT INTO samples (time, device, kind, "values", node) VALUES (?, ?, ?, ?, ?)'


@dataclass(frozen=True)
class RetentionStep:
    """Records older than `older_than` (a time stamp) become one per `bucket_seconds`, or go if that is None."""

    older_than: float
    bucket_seconds: float | None


@dataclass
class RetentionResult:
    """What one `apply_retention` pass did."""

    merged: int = 0  # records replaced by downsampled ones
    written: int = 0  # downsampled records written
    deleted: int = 0  # records dropped for age

    @property
    def removed(self) -> int:
        """How many fewer records the table holds now."""
        return self.merged - self.written + self.deleted


def retention_plan(now: float, full_resolution: float = HOUR, minute_until: float = DAY,
                   max_age: float = 30 * DAY) -> list[RetentionStep]:
    """The steps of the policy at time `now`: minute buckets, ten-minute buckets, deletion."""
    if not 0 < full_resolution <= minute_until <= max_age:
        raise ValueError("retention ages must satisfy 0 < full_resolution <= minute_until <= max_age")
    return [
        RetentionStep(now - full_resolution, 60.0),
        RetentionStep(now - minute_until, 600.0),
        RetentionStep(now - max_age, None),
    ]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def merge_values(values: list[Any]) -> Any:
    """Merge the values of one key over a bucket's records, oldest first (see the module docstring)."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    if all(_is_number(v) for v in present):
        mean = math.fsum(present) / len(present)
        return round(mean, 3)
    if all(isinstance(v, list) for v in present) and len({len(v) for v in present}) == 1 and all(
            _is_number(x) or x is None for v in present for x in v):
        return [merge_values(list(column)) for column in zip(*present)]
    if all(isinstance(v, dict) for v in present):
        merged = {}
        for key in dict.fromkeys(k for v in present for k in v):
            column = [v.get(key) for v in present]
            merged[key] = column[-1] if key in IDENTITY_KEYS else merge_values(column)
        return merged
    return values[-1]


def _merge_bucket(rows: list[tuple[int, float, str]]) -> tuple[float, str]:
    decoded = []
    for _, _, text in rows:
        try:
            decoded.append(json.loads(text))
        except ValueError:
            decoded.append(None)
    dicts = [v for v in decoded if isinstance(v, dict)]
    merged = merge_values(dicts) if dicts else {}
    time = math.fsum(t for _, t, _ in rows) / len(rows)
    return time, json.dumps(merged, separators=(",", ":"))


def _has_node(conn: sqlite3.Connection) -> bool:
    # Schema 7 added `node`; a table from before it has one machine's samples only.
    return any(row[1] == "node" for row in conn.execute("PRAGMA table_info(samples)"))


def _downsample(conn: sqlite3.Connection, cut: float, bucket: float, result: RetentionResult) -> None:
    # Whole buckets only: a bucket straddling the cut waits until all of it is older.
    node = "node" if _has_node(conn) else "NULL"
    end = math.floor(cut / bucket) * bucket
    window = bucket * 60  # bounded work per transaction, and bounded memory
    start_row = conn.execute("SELECT MIN(time) FROM samples WHERE time < ?", (end,)).fetchone()
    start = None if start_row is None or start_row[0] is None else math.floor(start_row[0] / bucket) * bucket
    while start is not None and start < end:
        stop = min(end, start + window)
        rows = conn.execute(
            f'SELECT rowid, time, device, kind, "values", {node} FROM samples WHERE time >= ? AND time < ? '
            f"ORDER BY {node}, device, kind, time, rowid", (start, stop)).fetchall()
        groups: dict[tuple[str | None, str, str, int], list[tuple[int, float, str]]] = {}
        for rowid, time, device, kind, values, where in rows:
            groups.setdefault((where, device, kind, math.floor(time / bucket)), []).append((rowid, time, values))
        doomed: list[tuple[int]] = []
        fresh: list[tuple[float, str, str, str, str | None]] = []
        for (where, device, kind, _), members in groups.items():
            if len(members) < 2:
                continue
            time, values = _merge_bucket(members)
            doomed += [(rowid,) for rowid, _, _ in members]
            fresh.append((time, device, kind, values, where))
        if doomed:
            with _savepoint(conn):
                conn.executemany("DELETE FROM samples WHERE rowid = ?", doomed)
                if node == "node":
                    conn.executemany(INSERT_NODE_SQL, fresh)
                else:
                    conn.executemany(INSERT_SQL, [row[:4] for row in fresh])
            result.merged += len(doomed)
            result.written += len(fresh)
        following = conn.execute("SELECT MIN(time) FROM samples WHERE time >= ? AND time < ?", (stop, end)).fetchone()
        start = None if following[0] is None else math.floor(following[0] / bucket) * bucket


@contextmanager
def _savepoint(conn: sqlite3.Connection) -> Iterator[None]:
    # A savepoint is a transaction whatever the connection's isolation mode, and nests inside the
    # caller's transaction if there is one: a crash never leaves a bucket deleted and not rewritten.
    conn.execute("SAVEPOINT tuiflow_retention")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK TO tuiflow_retention")
        conn.execute("RELEASE tuiflow_retention")
        raise
    conn.execute("RELEASE tuiflow_retention")


def apply_retention(conn: sqlite3.Connection, now: float, plan: list[RetentionStep] | None = None) -> RetentionResult:
    """Downsample and prune the `samples` table in place, per `plan` (default: `retention_plan(now)`).

    Works in short transactions (one per window of 60 buckets), so the daemon can run it while
    workers write; commits its own work unless the caller already holds a transaction.
    """
    result = RetentionResult()
    steps = plan if plan is not None else retention_plan(now)
    # Deleting first spares the work of downsampling what is about to go.
    for step in sorted(steps, key=lambda s: s.bucket_seconds is not None):
        if step.bucket_seconds is None:
            with _savepoint(conn):
                result.deleted += conn.execute("DELETE FROM samples WHERE time < ?", (step.older_than,)).rowcount
        else:
            _downsample(conn, step.older_than, step.bucket_seconds, result)
    return result
