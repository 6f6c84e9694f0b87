"""Samples of several machines in one real store: the sink writes each record's node, the store reads it
back, and retention merges each node's devices on their own (two nodes each have a "gpu0")."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tuiflow.monitor.retention import HOUR, apply_retention
from tuiflow.monitor.sampler import SampleRecord, sqlite_sink
from tuiflow.store import Sample, Store

NOW = 1_700_000_400.0


@pytest.fixture
def store(tmp_path):
    opened = Store.open(tmp_path / "home")
    yield opened
    opened.close()


def test_the_sink_writes_the_node_and_the_store_reads_it_back(store, tmp_path):
    conn = sqlite3.connect(store.path)
    sink = sqlite_sink(conn)
    sink([SampleRecord(NOW, "gpu0", "gpu", {"index": 0, "utilization": 10.0}),
          SampleRecord(NOW, "gpu0", "gpu", {"index": 0, "utilization": 90.0}, node="node-b")])
    sink([SampleRecord(NOW + 1, "host", "host", {"cpu_percent": 5.0})])  # this machine only: the old INSERT
    conn.close()

    rows = store.samples(kind="gpu")
    assert [(s.node, s.values["utilization"]) for s in rows] == [(None, 10.0), ("node-b", 90.0)]
    assert [s.values["utilization"] for s in store.samples(kind="gpu", node="node-b")] == [90.0]
    assert [s.values["utilization"] for s in store.samples(kind="gpu", node=None)] == [10.0]
    assert [s.node for s in store.samples(device="host")] == [None]


def test_store_add_samples_keeps_the_node(store):
    store.add_samples([Sample(NOW, "cpu", "host", {"total": 1.0}, node="node-a"),
                       Sample(NOW, "cpu", "host", {"total": 2.0})])
    assert {(s.node, s.values["total"]) for s in store.samples(device="cpu")} == {("node-a", 1.0), (None, 2.0)}


def test_retention_merges_each_nodes_devices_apart(store):
    start = NOW - 2 * HOUR
    rows = []
    for second in range(60):  # one whole minute bucket, two hours old, on three machines
        for node, utilization in ((None, 10.0), ("node-a", 50.0), ("node-b", 90.0)):
            rows.append(Sample(start + second, "gpu0", "gpu", {"index": 0, "utilization": utilization}, node=node))
    store.add_samples(rows)
    conn = sqlite3.connect(store.path)
    result = apply_retention(conn, NOW)
    merged = conn.execute('SELECT node, "values" FROM samples ORDER BY node').fetchall()
    conn.close()
    assert result.merged == 180 and result.written == 3
    assert [(node, json.loads(values)["utilization"]) for node, values in merged] == [
        (None, 10.0), ("node-a", 50.0), ("node-b", 90.0)]
