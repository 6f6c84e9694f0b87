"""The client telemetry API: `latest`, `history`, `series` and `running_runs` over a real SQLite store."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from claiming import claim_next
from telemetry_helpers import sample_for_a_while

from tuiflow.lab import telemetry
from tuiflow.monitor.fake_gpus import assign_fake_process
from tuiflow.store import RunSpec, Sample, Store

T0 = 1_700_000_000.0


def host(t: float, cpu: float) -> list[Sample]:
    """The two host records one tick writes."""
    return [
        Sample(t, "host", "host", {"cpu_percent": cpu, "memory_total_mb": 1000.0, "memory_used_mb": 250.0,
                                   "swap_total_mb": 0.0, "swap_used_mb": 0.0, "load_1": 0.5}),
        Sample(t, "cpu", "host", {"cores": [cpu - 10, cpu + 10], "total": cpu}),
    ]


def gpu(t: float, index: int, utilization: float, used: float = 100.0) -> Sample:
    return Sample(t, f"gpu{index}", "gpu", {
        "index": index, "uuid": f"GPU-{index}", "name": "Fake GPU", "memory_total_mb": 24576.0,
        "memory_used_mb": used, "utilization": utilization, "temperature": 40.0, "power_w": 80.0,
        "power_limit_w": 300.0, "processes": [[4242, used]] if used else []})


def run(t: float, run_id: int | str, cpu: float) -> Sample:
    return Sample(t, f"run:{run_id}", "run", {"pid": 4242, "processes": 3, "cpu_percent": cpu, "rss_mb": 512.0,
                                             "threads": 9, "gpu_memory_mb": 100.0})


# --- latest ------------------------------------------------------------------------------------------
def test_latest_of_an_empty_store_says_there_is_nothing(store: Store) -> None:
    snapshot = telemetry.latest(store, now=T0)
    assert snapshot.empty and snapshot.time is None and snapshot.age_s is None
    assert snapshot.is_stale()
    assert snapshot.host is None and snapshot.gpus == () and snapshot.runs == {}
    assert json.loads(json.dumps(snapshot.to_dict()))["time"] is None


def test_latest_picks_the_newest_sample_of_each_device(store: Store) -> None:
    rows = []
    for i in range(3):
        t = T0 + i
        rows += host(t, cpu=10.0 * (i + 1)) + [gpu(t, 0, utilization=float(i)), run(t, 3, cpu=100.0 + i)]
        if i < 2:  # gpu1 missed the newest tick: still shown, with its own newest reading
            rows.append(gpu(t, 1, utilization=50.0 + i))
    rows.append(run(T0 - 600, 9, cpu=1.0))  # a run that ended long ago
    rows.append(Sample(T0 + 1.5, "run:abc", "run", {"pid": 1}))  # a run id that is not a number
    store.add_samples(reversed(rows))  # insertion order must not matter

    snapshot = telemetry.latest(store, now=T0 + 4.5)
    assert snapshot.time == T0 + 2
    assert snapshot.age_s == pytest.approx(2.5)
    assert not snapshot.is_stale() and snapshot.is_stale(max_age_s=1.0)
    assert snapshot.host is not None
    assert snapshot.host.time == T0 + 2 and snapshot.host.cpu_percent == 30.0
    assert snapshot.host.per_core == [20.0, 40.0]  # from the "cpu" record
    assert snapshot.host.memory_used_mb == 250.0 and snapshot.host.disk_read_bps is None
    assert [g.index for g in snapshot.gpus] == [0, 1]
    assert snapshot.gpus[0].utilization == 2.0 and snapshot.gpus[1].utilization == 51.0
    assert snapshot.gpus[0].processes[0].pid == 4242 and snapshot.gpus[0].device == "gpu0"
    assert set(snapshot.runs) == {3, "abc"}  # run 9 is long gone
    assert snapshot.runs[3].cpu_percent == 102.0 and snapshot.runs[3].rss_mb == 512.0
    assert snapshot.runs[3].time == T0 + 2
    assert snapshot.devices["gpu1"].time == T0 + 1

    data = json.loads(json.dumps(snapshot.to_dict()))
    assert data["age_s"] == 2.5 and data["stale"] is False
    assert [g["device"] for g in data["gpus"]] == ["gpu0", "gpu1"]
    assert data["host"]["per_core"] == [20.0, 40.0]
    assert {r["run_id"] for r in data["runs"]} == {3, "abc"}


def test_latest_of_a_stopped_sampler_keeps_its_last_readings_and_their_age(store: Store) -> None:
    store.add_samples(host(T0, cpu=5.0) + [gpu(T0, 0, 7.0)])
    snapshot = telemetry.latest(store, now=T0 + 3600)
    assert snapshot.age_s == pytest.approx(3600) and snapshot.is_stale()
    assert snapshot.gpus[0].utilization == 7.0


def test_latest_from_the_real_sampler_with_two_fake_gpus_and_a_run(store: Store,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "2")
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert assign_fake_process(worker.pid, [1], memory_mb=3000)
        sample_for_a_while(store, ticks=4, runs=lambda: {7: worker.pid})
    finally:
        worker.kill()
        worker.wait()
    snapshot = telemetry.latest(store)
    assert {"host", "cpu", "gpu0", "gpu1", "run:7"} <= set(snapshot.devices)
    assert snapshot.age_s is not None and snapshot.age_s < 5
    assert snapshot.host is not None and snapshot.host.per_core and snapshot.host.memory_total_mb > 0
    assert [g.name for g in snapshot.gpus] == ["Fake GPU", "Fake GPU"]
    assert snapshot.gpus[1].memory_used_mb == 3000 and snapshot.gpus[0].memory_used_mb == 0
    assert snapshot.runs[7].pid == worker.pid and snapshot.runs[7].gpu_memory_mb == 3000
    # Every device's newest record is from the last tick.
    assert {s.time for s in snapshot.devices.values()} == {snapshot.time}


# --- history and series --------------------------------------------------------------------------------
@pytest.fixture
def gpu_hour(store: Store) -> Store:
    """gpu0 sampled every second for 1,000 s (utilization = seconds since T0 % 100), plus host noise."""
    store.add_samples(gpu(T0 + s, 0, utilization=float(s % 100), used=float(s)) for s in range(1000))
    store.add_samples(s for i in range(0, 1000, 10) for s in host(T0 + i, cpu=float(i % 50)))
    return store


def test_history_returns_one_device_in_a_window(gpu_hour: Store) -> None:
    points = telemetry.history(gpu_hour, "gpu0", "gpu", window_s=100, until=T0 + 1000)
    assert [t for t, _ in points] == [T0 + s for s in range(900, 1000)]
    assert all(values["index"] == 0 for _, values in points)

    since = telemetry.history(gpu_hour, "gpu0", "gpu", since=T0 + 990)
    assert [t for t, _ in since] == [T0 + s for s in range(990, 1000)]
    assert telemetry.history(gpu_hour, "gpu1", "gpu", since=T0) == []
    assert telemetry.history(gpu_hour, "gpu0", "host", since=T0) == []  # the kind is part of the key


def test_history_downsamples_to_at_most_max_points(gpu_hour: Store) -> None:
    points = telemetry.history(gpu_hour, "gpu0", "gpu", window_s=1000, until=T0 + 1000, max_points=10)
    assert len(points) == 10
    times = [t for t, _ in points]
    assert times == sorted(times)
    # Each point is the mean of one 100-second span: utilization 0..99 averages to 49.5.
    assert times[0] == pytest.approx(T0 + 49.5)
    assert all(values["utilization"] == pytest.approx(49.5) for _, values in points)
    assert points[3][1]["memory_used_mb"] == pytest.approx(349.5)
    assert points[3][1]["index"] == 0 and points[3][1]["name"] == "Fake GPU"  # names are kept, not averaged

    # Short enough already: untouched.
    short = telemetry.history(gpu_hour, "gpu0", "gpu", window_s=5, until=T0 + 1000, max_points=10)
    assert [t for t, _ in short] == [T0 + s for s in range(995, 1000)]
    with pytest.raises(ValueError, match="max_points"):
        telemetry.history(gpu_hour, "gpu0", "gpu", window_s=1000, until=T0 + 1000, max_points=0)


def test_downsampling_keeps_gaps(store: Store) -> None:
    # Samples only in the first and last tenth of the window.
    store.add_samples(gpu(T0 + s, 0, utilization=50.0) for s in [*range(0, 100), *range(900, 1000)])
    points = telemetry.history(store, "gpu0", "gpu", window_s=1000, until=T0 + 1000, max_points=10)
    assert len(points) == 2
    assert points[0][0] == pytest.approx(T0 + 49.5) and points[1][0] == pytest.approx(T0 + 949.5)


def test_series_extracts_one_numeric_field(gpu_hour: Store) -> None:
    times, values = telemetry.series(gpu_hour, "gpu0", "utilization", window_s=3, until=T0 + 1000)
    assert times == [T0 + 997, T0 + 998, T0 + 999] and values == [97.0, 98.0, 99.0]

    times, values = telemetry.series(gpu_hour, "host", "cpu_percent", window_s=30, until=T0 + 1000)
    assert times == [T0 + 970, T0 + 980, T0 + 990] and values == [20.0, 30.0, 40.0]
    _, cores = telemetry.series(gpu_hour, "cpu", "cores.1", window_s=30, until=T0 + 1000)
    assert cores == [30.0, 40.0, 50.0]
    _, missing = telemetry.series(gpu_hour, "gpu0", "no_such_field", window_s=2, until=T0 + 1000)
    assert missing == [None, None]
    _, names = telemetry.series(gpu_hour, "gpu0", "name", window_s=2, until=T0 + 1000)
    assert names == [None, None]  # not a number

    times, values = telemetry.series(gpu_hour, "gpu0", "utilization", window_s=1000, until=T0 + 1000,
                                     max_points=5)
    assert len(times) == len(values) == 5 and all(v == pytest.approx(49.5) for v in values)


def test_series_infers_the_kind_from_the_device(gpu_hour: Store) -> None:
    assert telemetry.device_kind("gpu12") == "gpu"
    assert telemetry.device_kind("cpu") == telemetry.device_kind("host") == "host"
    assert telemetry.device_kind("run:3") == "run"
    with pytest.raises(ValueError, match="pass its kind"):
        telemetry.series(gpu_hour, "tpu0", "utilization", window_s=10)
    assert telemetry.series(gpu_hour, "tpu0", "utilization", window_s=10, kind="tpu") == ([], [])


def test_queries_use_the_samples_indexes(gpu_hour: Store) -> None:
    statements: list[str] = []
    with gpu_hour.lock:
        gpu_hour._conn.set_trace_callback(statements.append)
    try:
        telemetry.latest(gpu_hour, now=T0 + 1000)
        telemetry.history(gpu_hour, "gpu0", "gpu", window_s=60, until=T0 + 1000, max_points=10)
        telemetry.series(gpu_hour, "host", "cpu_percent", window_s=60)
    finally:
        with gpu_hour.lock:
            gpu_hour._conn.set_trace_callback(None)
    selects = [s for s in statements if "FROM samples" in s]
    assert len(selects) == 4
    for sql in selects:
        plan = " ".join(row[3] for row in gpu_hour._read("EXPLAIN QUERY PLAN " + sql))
        assert "USING" in plan and "INDEX" in plan and "SCAN" not in plan, (sql, plan)


# --- running runs --------------------------------------------------------------------------------------
def test_running_runs_join_the_store_and_the_newest_telemetry(store: Store) -> None:
    experiment = store.create_experiment("sweep", "train", runs=[RunSpec({"lr": 0.1}), RunSpec({"lr": 0.2}),
                                                                  RunSpec({"lr": 0.3})])
    first = claim_next(store)
    second = claim_next(store)
    assert first is not None and second is not None
    store.start_run(first.id, pid=4242, gpus=[0, 1])
    store.set_progress(first.id, 25, 100, eta_s=30.0)
    store.start_run(second.id, pid=4343)
    store.add_samples(host(T0, 10.0) + [run(T0, first.id, cpu=150.0)])

    runs = telemetry.running_runs(store, telemetry.latest(store, now=T0))
    assert [r.id for r in runs] == [first.id, second.id]  # the third is still queued
    assert runs[0].experiment == "sweep" and runs[0].experiment_id == experiment.id
    assert runs[0].recipe == "train" and runs[0].gpus == [0, 1] and runs[0].progress == 0.25
    assert runs[0].eta_s == 30.0 and runs[0].telemetry is not None and runs[0].telemetry.cpu_percent == 150.0
    assert runs[1].telemetry is None and runs[1].progress is None and runs[1].gpus == []
    assert telemetry.running_runs(store)[0].telemetry is None
