"""The Sampler: one record per device per tick, the loop, the sink, and records landing in a real SQLite file."""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
import time

import pytest

from tuiflow.monitor.fake_gpus import assign_fake_process
from tuiflow.monitor.sampler import MIN_INTERVAL, Sampler, SampleRecord, check_interval, sqlite_sink

SCHEMA = """CREATE TABLE samples (
    time REAL NOT NULL,
    device TEXT NOT NULL,
    kind TEXT NOT NULL,
    "values" TEXT NOT NULL DEFAULT '{}'
)"""


@pytest.mark.parametrize("bad", [0.1, 0, -1, float("nan"), float("inf"), "often", None])
def test_an_interval_below_the_minimum_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="sampling interval") as caught:
        Sampler(interval=bad)
    assert "\n" not in str(caught.value)


def test_the_minimum_interval_is_allowed():
    assert check_interval("0.25") == MIN_INTERVAL
    assert Sampler(interval=MIN_INTERVAL).interval == 0.25
    assert Sampler().interval == 1.0


def test_a_tick_gives_host_cpu_gpu_and_run_records(monkeypatch, spawn_tree):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "3")
    tree = spawn_tree(children=2, grandchildren=1)
    assign_fake_process(tree.root, [1], memory_mb=4000)
    assign_fake_process(tree.grandchildren[0], [1, 2], memory_mb=500)
    sampler = Sampler(runs=lambda: {7: tree.root})
    time.sleep(0.1)
    records = sampler.tick(now=1000.0)
    by_device = {r.device: r for r in records}
    assert set(by_device) == {"host", "cpu", "gpu0", "gpu1", "gpu2", "run:7"}
    assert {r.kind for r in records} == {"host", "gpu", "run"}
    assert all(r.time == 1000.0 for r in records)
    assert by_device["host"].kind == "host" and "memory_used_mb" in by_device["host"].values
    assert by_device["cpu"].kind == "host" and len(by_device["cpu"].values["cores"]) >= 1
    gpu1 = by_device["gpu1"].values
    assert gpu1["memory_used_mb"] == 4500 and sorted(gpu1["processes"]) == sorted(
        [[tree.root, 4000], [tree.grandchildren[0], 500]])
    run = by_device["run:7"].values
    assert run["pid"] == tree.root and run["processes"] == len(tree.pids)
    assert run["gpu_memory_mb"] == 5000  # 4000 + 500 on each of two GPUs
    for record in records:
        time_, device, kind, text = record.row()
        assert (time_, device, kind) == (record.time, record.device, record.kind)
        assert json.loads(text) == record.values
    assert sampler.last_gpu_report.source == "fake"
    assert sampler.our_pids() == tree.pids


def test_runs_come_and_go_between_ticks(spawn_tree):
    first, second = spawn_tree(children=0, grandchildren=0), spawn_tree(children=0, grandchildren=0)
    watched = {1: first.root}
    sampler = Sampler(runs=lambda: dict(watched), host=False)
    assert [r.device for r in sampler.tick()] == ["run:1"]
    watched[2] = second.root
    assert sorted(r.device for r in sampler.tick()) == ["run:1", "run:2"]
    first.stop()
    assert [r.device for r in sampler.tick()] == ["run:2"]


def test_without_gpus_run_records_have_no_gpu_memory(spawn_tree):
    tree = spawn_tree(children=0, grandchildren=0)
    sampler = Sampler(runs=lambda: {"a": tree.root}, host=False)  # this machine: no driver, no fakes
    (record,) = sampler.tick()
    assert record.values["gpu_memory_mb"] is None
    assert sampler.last_gpu_report.source == "none"


def test_a_failing_gpu_layer_does_not_stop_the_other_records(monkeypatch, caplog):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "many")
    sampler = Sampler()
    time.sleep(0.06)
    first = sampler.tick()
    time.sleep(0.06)
    second = sampler.tick()
    assert {r.device for r in first} == {r.device for r in second} == {"host", "cpu"}
    assert "TUIFLOW_FAKE_GPUS='many'" in sampler.last_gpu_report.reason
    warnings = [r for r in caplog.records if "GPU sampling failed" in r.getMessage()]
    assert len(warnings) == 1  # said once, not every tick


def test_the_loop_hands_each_tick_to_the_sink():
    batches: list[list[SampleRecord]] = []
    sampler = Sampler(sink=batches.append, interval=0.25)
    sampler.start()
    time.sleep(1.2)
    sampler.stop()
    count = len(batches)
    assert 3 <= count <= 5
    times = [batch[0].time for batch in batches]
    assert all(0.15 < b - a < 0.5 for a, b in itertools.pairwise(times))
    time.sleep(0.4)
    assert len(batches) == count  # stopped means stopped


def test_a_failing_sink_does_not_kill_the_loop():
    calls = []

    def sink(records):
        calls.append(len(records))
        raise sqlite3.OperationalError("database is locked")

    stop = threading.Event()
    sampler = Sampler(sink=sink, interval=0.25)
    thread = threading.Thread(target=sampler.run, args=(stop,))
    thread.start()
    time.sleep(0.9)
    stop.set()
    thread.join(5)
    assert len(calls) >= 2


def test_the_sqlite_sink_writes_rows_the_store_can_read(tmp_path, monkeypatch, spawn_tree):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "2")
    tree = spawn_tree(children=1, grandchildren=0)
    conn = sqlite3.connect(tmp_path / "telemetry.db", check_same_thread=False)
    conn.execute(SCHEMA)
    sampler = Sampler(runs=lambda: {3: tree.root}, sink=sqlite_sink(conn), interval=0.25)
    sampler.start()
    time.sleep(0.9)
    sampler.stop()
    conn.close()
    reader = sqlite3.connect(tmp_path / "telemetry.db")
    rows = reader.execute('SELECT time, device, kind, "values" FROM samples ORDER BY time, device').fetchall()
    reader.close()
    devices = {device for _, device, _, _ in rows}
    assert {"host", "cpu", "gpu0", "gpu1", "run:3"} <= devices
    runs = [json.loads(v) for _, d, _, v in rows if d == "run:3"]
    assert len(runs) >= 2 and all(r["pid"] == tree.root for r in runs)
