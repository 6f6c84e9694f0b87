"""Retention on a real SQLite file with the store's `samples` schema: downsampling, averaging, pruning."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tuiflow.monitor.retention import (
    DAY,
    HOUR,
    RetentionStep,
    apply_retention,
    merge_values,
    retention_plan,
)

SCHEMA = [
    """CREATE TABLE samples (
        time REAL NOT NULL,
        device TEXT NOT NULL,
        kind TEXT NOT NULL,
        "values" TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX samples_kind_device_time ON samples(kind, device, time)",
    "CREATE INDEX samples_time ON samples(time)",
]
NOW = 1_700_000_400.0  # a multiple of 600: bucket edges fall on round ages
INSERT = 'INSERT INTO samples (time, device, kind, "values") VALUES (?, ?, ?, ?)'


def connect(path: Path, isolation_level: str | None = "") -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=isolation_level)
    for statement in SCHEMA:
        conn.execute(statement)
    conn.commit()
    return conn


def gpu_values(t: float) -> dict:
    return {"utilization": t % 100, "memory_used_mb": 1000.0, "name": f"gpu at {t}", "index": 0,
            "processes": [[int(t), 5]], "power_w": None}


def fill(conn: sqlite3.Connection, start: float, stop: float, step: float) -> None:
    rows = []
    t = start
    while t < stop:
        rows.append((t, "gpu0", "gpu", json.dumps(gpu_values(t))))
        rows.append((t, "cpu", "host", json.dumps({"cores": [t % 10, 50.0], "total": 1.0})))
        t += step
    if not conn.in_transaction:
        conn.execute("BEGIN")  # one transaction even on an autocommit connection
    conn.executemany(INSERT, rows)
    conn.commit()


def count(conn: sqlite3.Connection, low: float, high: float, device: str = "gpu0") -> int:
    return conn.execute("SELECT COUNT(*) FROM samples WHERE device = ? AND time >= ? AND time < ?",
                        (device, low, high)).fetchone()[0]


def snapshot(conn: sqlite3.Connection) -> list[tuple]:
    return conn.execute('SELECT time, device, kind, "values" FROM samples ORDER BY device, time').fetchall()


def test_the_plan_is_minute_buckets_after_an_hour_ten_minutes_after_a_day_and_nothing_after_30_days():
    assert retention_plan(NOW) == [
        RetentionStep(NOW - HOUR, 60.0),
        RetentionStep(NOW - DAY, 600.0),
        RetentionStep(NOW - 30 * DAY, None),
    ]
    with pytest.raises(ValueError):
        retention_plan(NOW, full_resolution=2 * DAY)


@pytest.mark.parametrize("isolation_level", ["", None])
def test_retention_downsamples_each_age_band_and_prunes_the_oldest(tmp_path, isolation_level):
    conn = connect(tmp_path / "samples.db", isolation_level)
    fill(conn, NOW - 2 * HOUR, NOW, 1.0)  # the last two hours at 1 Hz
    fill(conn, NOW - 3 * DAY, NOW - 2 * DAY, 10.0)  # a day, three days ago, every 10 s
    fill(conn, NOW - 32 * DAY, NOW - 31 * DAY, 60.0)  # a day beyond the horizon
    before = conn.execute("SELECT COUNT(*) FROM samples").fetchone()[0]

    result = apply_retention(conn, NOW)

    assert count(conn, NOW - HOUR, NOW) == 3600  # full resolution for the last hour
    assert count(conn, NOW - 2 * HOUR, NOW - HOUR) == 60  # one per minute
    assert count(conn, NOW - 3 * DAY, NOW - 2 * DAY) == 144  # one per 10 minutes
    assert count(conn, 0, NOW - 30 * DAY) == 0  # gone
    after = conn.execute("SELECT COUNT(*) FROM samples").fetchone()[0]
    assert result.removed == before - after
    assert result.deleted == 2 * 1440
    # Every device was downsampled on its own.
    assert count(conn, NOW - 2 * HOUR, NOW - HOUR, "cpu") == 60
    assert not conn.in_transaction


def test_a_bucket_becomes_its_mean_time_and_merged_values(tmp_path):
    conn = connect(tmp_path / "samples.db")
    start = NOW - 2 * HOUR
    fill(conn, start, start + 60, 1.0)  # exactly one minute bucket
    apply_retention(conn, NOW)
    ((time_, values),) = conn.execute(
        "SELECT time, \"values\" FROM samples WHERE device = 'gpu0'").fetchall()
    merged = json.loads(values)
    assert time_ == pytest.approx(start + 29.5)
    assert merged["utilization"] == pytest.approx(sum((start + i) % 100 for i in range(60)) / 60, abs=1e-3)
    assert merged["memory_used_mb"] == 1000.0
    assert merged["name"] == f"gpu at {start + 59}"  # text: the latest
    assert merged["processes"] == [[int(start + 59), 5]]  # not a list of numbers: the latest
    assert merged["index"] == 0 and merged["power_w"] is None
    (cpu,) = conn.execute("SELECT \"values\" FROM samples WHERE device = 'cpu'").fetchall()
    cores = json.loads(cpu[0])["cores"]
    assert cores == [pytest.approx(sum((start + i) % 10 for i in range(60)) / 60, abs=1e-3), 50.0]


def test_retention_is_idempotent(tmp_path):
    conn = connect(tmp_path / "samples.db")
    fill(conn, NOW - 3 * DAY, NOW, 30.0)
    apply_retention(conn, NOW)
    once = snapshot(conn)
    again = apply_retention(conn, NOW)
    assert again.removed == 0 and again.merged == 0
    assert snapshot(conn) == once


def test_a_bucket_straddling_the_cut_waits_until_it_is_all_old(tmp_path):
    conn = connect(tmp_path / "samples.db")
    now = NOW + 30  # the cut (now - 1 h) falls in the middle of a minute bucket
    fill(conn, NOW - HOUR - 60, NOW - HOUR + 60, 1.0)
    apply_retention(conn, now)
    assert count(conn, NOW - HOUR - 60, NOW - HOUR) == 1  # the whole bucket before it: merged
    assert count(conn, NOW - HOUR, NOW - HOUR + 60) == 60  # the straddling bucket: untouched
    apply_retention(conn, now + 60)
    assert count(conn, NOW - HOUR, NOW - HOUR + 60) == 1


def test_ten_minute_buckets_merge_the_minute_records(tmp_path):
    conn = connect(tmp_path / "samples.db")
    start = NOW - 2 * DAY
    fill(conn, start, start + 600, 1.0)
    apply_retention(conn, NOW, [RetentionStep(NOW - HOUR, 60.0)])
    assert count(conn, start, start + 600) == 10
    apply_retention(conn, NOW)
    assert count(conn, start, start + 600) == 1
    (values,) = conn.execute("SELECT \"values\" FROM samples WHERE device = 'gpu0'").fetchone()
    assert json.loads(values)["memory_used_mb"] == 1000.0


def test_retention_inside_the_callers_transaction_leaves_the_commit_to_the_caller(tmp_path):
    path = tmp_path / "samples.db"
    conn = connect(path)
    fill(conn, NOW - 2 * HOUR, NOW - HOUR, 1.0)
    conn.execute("DELETE FROM samples WHERE device = 'cpu'")  # opens the caller's transaction
    apply_retention(conn, NOW)
    assert conn.in_transaction
    conn.rollback()
    assert count(conn, NOW - 2 * HOUR, NOW - HOUR) == 3600


def test_broken_json_in_a_bucket_does_not_stop_retention(tmp_path):
    conn = connect(tmp_path / "samples.db")
    start = NOW - 2 * HOUR
    conn.executemany(INSERT, [(start + 1, "gpu0", "gpu", "{not json"), (start + 2, "gpu0", "gpu", '{"a": 3}'),
                              (start + 3, "gpu0", "gpu", '{"a": 5}')])
    conn.commit()
    apply_retention(conn, NOW)
    assert [json.loads(v) for (v,) in conn.execute('SELECT "values" FROM samples')] == [{"a": 4}]


def test_merge_values_rules():
    assert merge_values([1, 2, 3, None]) == 2
    assert merge_values([None, None]) is None
    assert merge_values(["a", "b"]) == "b"
    assert merge_values([True, False]) is False  # a flag is not averaged
    assert merge_values([[1, 2], [3, None]]) == [2, 2]
    assert merge_values([[1, 2], [3]]) == [3]  # cores came and went: the latest
    assert merge_values([{"x": 1, "pid": 10}, {"x": 3, "pid": 11, "y": "z"}]) == {"x": 2, "pid": 11, "y": "z"}
