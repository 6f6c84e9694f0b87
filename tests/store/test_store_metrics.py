"""Metric values, profiles and samples: batching, reading back, and many writers at once."""

from __future__ import annotations

import json
import math
import signal
import threading
import time
from pathlib import Path

import pytest
from store_helpers import result, spawn

from tuiflow.store import RunSpec, Sample, Store, StoreError


@pytest.fixture
def run_id(store: Store) -> int:
    experiment = store.create_experiment("e", "r", runs=[RunSpec()])
    return store.list_runs(experiment.id)[0].id


def count(store: Store, run_id: int) -> int:
    return store.db.execute("SELECT count(*) FROM metrics WHERE run_id = ?", [run_id]).fetchone()[0]


def test_values_wait_for_a_full_batch(store: Store, run_id: int) -> None:
    writer = store.metric_writer(run_id, batch_size=10, interval_s=3600)
    for step in range(4):
        writer.log(step, loss=1.0, acc=0.5)
    assert count(store, run_id) == 0 and writer.pending == 8
    writer.log(4, loss=1.0, acc=0.5)
    assert count(store, run_id) == 10 and writer.pending == 0
    writer.log(5, {"val/loss": 2.0})
    writer.close()
    assert count(store, run_id) == 11 and writer.written == 11
    with pytest.raises(StoreError, match="closed"):
        writer.log(6, loss=1.0)


def test_waiting_values_are_flushed_within_the_interval(store: Store, run_id: int) -> None:
    writer = store.metric_writer(run_id, interval_s=0.05)
    writer.log(0, loss=1.0)
    deadline = time.monotonic() + 5
    while count(store, run_id) == 0:
        assert time.monotonic() < deadline, "the background flush never came"
        time.sleep(0.01)
    writer.close()


def test_series_and_summary(store: Store, run_id: int) -> None:
    with store.metric_writer(run_id) as writer:
        writer.log_many([("loss", step, 1.0 / (step + 1)) for step in range(100)])
        writer.log(100, loss=float("nan"), acc=0.75)
    series = store.metric_series(run_id, "loss")
    assert len(series) == 101 and series.steps[:3] == [0, 1, 2] and series.values[1] == 0.5
    assert series.values[-1] is None  # SQLite stores NaN as NULL
    assert store.metric_series(run_id, "loss", after_step=97).steps == [98, 99, 100]
    assert store.metric_series(run_id, "loss", limit=2).steps == [0, 1]
    assert store.metric_keys(run_id) == ["acc", "loss"]
    summary = store.metrics_summary(run_id)
    assert (summary["acc"].count, summary["acc"].last_value, summary["acc"].first_step) == (1, 0.75, 100)
    loss = summary["loss"]
    assert (loss.count, loss.first_step, loss.last_step, loss.min, loss.max) == (101, 0, 100, 0.01, 1.0)
    assert loss.last_value is None


def test_logging_from_many_threads(store: Store, run_id: int) -> None:
    writer = store.metric_writer(run_id, batch_size=100, interval_s=0.01)

    def log(thread: int) -> None:
        for step in range(2000):
            writer.log(step, {f"t{thread}": float(step)})

    threads = [threading.Thread(target=log, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    assert count(store, run_id) == 8000
    assert all(len(store.metric_series(run_id, f"t{i}")) == 2000 for i in range(4))


def test_closing_the_store_flushes_its_writers(home: Path) -> None:
    store = Store.open(home)
    experiment = store.create_experiment("e", "r", runs=[RunSpec()])
    writer = store.metric_writer(store.list_runs(experiment.id)[0].id, interval_s=3600)
    writer.log(0, loss=1.0)
    store.close()
    with Store.open(home) as again:
        assert again.metrics_summary(1)["loss"].count == 1


def test_profile_rows_are_upserted_per_action(store: Store, run_id: int) -> None:
    row = dict(action="load", calls=1, total_s=0.5, mean_s=0.5, max_s=0.5, cpu_s=0.4)
    store.write_profile(run_id, 0, [row, {**row, "action": "train", "total_s": 2.0}])
    store.write_profile(run_id, 0, [{**row, "calls": 2, "total_s": 1.0}])
    store.write_profile(run_id, "eval", [row])
    rows = store.profile(run_id)
    assert [(r.pipeline, r.action, r.calls, r.total_s) for r in rows] == [
        (0, "train", 1, 2.0),
        (0, "load", 2, 1.0),
        ("eval", "load", 1, 0.5),
    ]
    assert [r.action for r in store.profile(run_id, pipeline="eval")] == ["load"]
    with pytest.raises(StoreError, match="lacks 'cpu_s'"):
        store.write_profile(run_id, 0, [{"action": "x", "calls": 1, "total_s": 1, "mean_s": 1, "max_s": 1}])


def test_samples_filter_and_prune(store: Store) -> None:
    store.add_samples(
        [Sample(float(t), device, "gpu", {"util": t, "mem": [1, 2]}) for t in range(10) for device in ("gpu0", "gpu1")]
    )
    got = store.samples(kind="gpu", device="gpu1", since=5)
    assert [s.time for s in got] == [5, 6, 7, 8, 9] and got[0].values == {"util": 5, "mem": [1, 2]}
    assert store.prune_samples(before=8) == 16
    assert len(store.samples()) == 4


def test_concurrent_writer_processes_and_a_polling_reader(home: Path, tmp_path: Path) -> None:
    writers, per_writer = 4, 40_000
    with Store.open(home) as store:
        experiment = store.create_experiment("e", "r", runs=[RunSpec({"n": n}) for n in range(writers)])
        ids = [run.id for run in store.list_runs(experiment.id)]
    stop = tmp_path / "stop"
    reader = spawn("read", home, ",".join(map(str, ids)), stop)
    procs = [spawn("write", home, run_id, per_writer, tmp_path, writers) for run_id in ids]
    outcomes = [result(p) for p in procs]
    stop.touch()
    polled = result(reader)
    assert all(o == {**o, "written": per_writer, "locked": 0} for o in outcomes), outcomes
    assert polled["errors"] == 0 and polled["polls"] > 0
    with Store.open(home) as store:
        for run_id in ids:
            summary = store.metrics_summary(run_id)
            assert summary["loss"].count + summary["acc"].count == per_writer
            assert summary["loss"].last_step == per_writer - 1


def test_sigkill_keeps_every_flushed_batch(home: Path) -> None:
    with Store.open(home) as store:
        experiment = store.create_experiment("e", "r", runs=[RunSpec()])
        run_id = store.list_runs(experiment.id)[0].id
    proc = spawn("write_until_killed", home, run_id)
    assert proc.stdout is not None
    reported = 0
    for line in proc.stdout:
        reported = json.loads(line)["written"]
        if reported >= 20_000:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    with Store.open(home) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        series = store.metric_series(run_id, "value")
        # Whole batches or nothing: every value up to the last committed batch, no gaps.
        assert len(series) >= reported and len(series) % 1000 == 0
        assert series.steps == list(range(len(series)))
        assert all(math.isclose(v, s) for s, v in zip(series.steps, series.values))
