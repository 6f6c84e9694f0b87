"""Issue 10, point 8: a metric write that fails in the writer's background thread is never lost in
silence. The error reaches the run at its next log (after one retry, so a passing hiccup costs
nothing) or at close, once. Real stores in temporary homes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tuiflow.store import MetricWriter, RunSpec, Store, StoreError


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "home") as opened:
        yield opened


@pytest.fixture
def run_id(store: Store) -> int:
    experiment = store.create_experiment("e", "r", runs=[RunSpec()])
    return store.list_runs(experiment.id)[0].id


def steps(store: Store, run_id: int, key: str) -> list[int]:
    return store.metric_series(run_id, key).steps


def count_failed_writes(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """The store's metric writes that raised, in order, as the writer's threads see them."""
    real, failed = store.write_metrics, []

    def write(rows):
        try:
            return real(rows)
        except BaseException as exc:
            failed.append(exc)
            raise

    monkeypatch.setattr(store, "write_metrics", write)
    return failed


def wait_for_background_flush(writer: MetricWriter, failed: list[BaseException]) -> None:
    # Flushes go one at a time: a second failed write starts only once the first failed flush has
    # put its values back and noted the failure, so the next log knows of it.
    deadline = time.monotonic() + 30
    while len(failed) < 2:
        assert time.monotonic() < deadline, "the background flush never failed twice"
        time.sleep(0.01)
    assert writer.pending, "the values were written after all"


def test_a_failed_background_flush_raises_at_the_next_log(store, run_id, monkeypatch):
    failed = count_failed_writes(store, monkeypatch)
    writer = store.metric_writer(run_id, interval_s=0.05)
    writer.log(2**70, a=1.0)  # past SQLite's 64-bit integers: the background flush fails on it
    wait_for_background_flush(writer, failed)
    with pytest.raises(StoreError, match=rf"could not write the metrics of run {run_id} \(2 values waiting\): "
                                         "Python int too large"):
        writer.log(2, b=1.0)
    with pytest.raises(StoreError, match="could not write"):
        writer.close()
    writer.close()  # once said, not again: the store's own close at exit stays quiet
    assert writer.pending == 0


def test_close_raises_a_store_error_once_for_values_it_cannot_write(store, run_id):
    writer = store.metric_writer(run_id, interval_s=3600)
    writer.log(1, a=1.0)
    writer.log(-(2**70), a=2.0)
    with pytest.raises(StoreError, match=r"\(2 values waiting\)"):
        writer.close()
    writer.close()
    with pytest.raises(StoreError, match="closed"):
        writer.log(3, a=3.0)


def test_a_passing_failure_of_the_background_flush_loses_nothing(store, run_id, monkeypatch):
    real = store.write_metrics
    failures = []

    def fails_once(rows):
        if not failures:
            failures.append(len(rows))
            raise StoreError("database is locked")
        return real(rows)

    monkeypatch.setattr(store, "write_metrics", fails_once)
    writer = store.metric_writer(run_id, interval_s=0.05)
    writer.log(1, a=1.0)
    deadline = time.monotonic() + 5
    while not failures:
        assert time.monotonic() < deadline, "the background flush never came"
        time.sleep(0.01)
    writer.log(2, a=2.0)  # retries the failed flush, which now goes through: no error
    writer.close()
    assert failures == [1]
    assert steps(store, run_id, "a") == [1, 2]
