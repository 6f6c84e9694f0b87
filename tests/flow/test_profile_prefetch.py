"""Profiling, prefetch, the progress bar and run observers."""

from __future__ import annotations

import threading
import time
import tracemalloc

import numpy as np
import pytest
from flowbatches import make_dataset

from tuiflow import ActionError, B, Pipeline, V
from tuiflow.flow import add_observer, remove_observer
from tuiflow.flow.profiler import Profiler

KEYS = {"action", "calls", "total_s", "first_s", "mean_s", "max_s", "cpu_s"}


def test_profile_has_one_row_per_action_in_pipeline_order():
    ppl = make_dataset(50).p.init_variable("n", 0).load().scale().sleep(0.002).scale(factor=3) \
        .update(V("n"), V("n") + 1)
    assert ppl.profile_info == []
    ppl.run(10, n_epochs=2, profile=True)
    rows = ppl.profile_info
    assert [r["action"] for r in rows] == ["load #1", "scale #1", "sleep #1", "scale #2", "update #1"]
    for row in rows:
        assert set(row) == KEYS
        assert row["calls"] == 10
        assert row["mean_s"] == pytest.approx((row["total_s"] - row["first_s"]) / 9)  # after the first call
        assert 0 < row["max_s"] <= row["total_s"]
        assert row["cpu_s"] >= 0
    sleep = rows[2]
    assert sleep["total_s"] >= 10 * 0.002
    assert sleep["cpu_s"] < sleep["total_s"] / 2  # sleeping is wall time, not CPU time


def test_cpu_time_follows_busy_work():
    # Batches of 25 ms CPU are slow enough that every one reads the CPU clock, so cpu_s is the CPU
    # time measured, not an estimate from a sampled batch: on a busy machine the spin takes longer
    # (wall time) but burns the same CPU time. The sampled estimate of fast batches is checked on
    # given timings in test_sampled_cpu_time_is_estimated_for_fast_actions.
    def spin(batch, seconds):
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass
        return batch

    ppl = make_dataset(20).p.load().call(spin, 0.025)
    ppl.run(2, profile=True)
    (_, row) = ppl.profile_info
    assert row["calls"] == 10
    assert 10 * 0.025 <= row["cpu_s"] <= row["total_s"] * 1.05 + 0.002


def test_profiling_is_off_unless_asked_and_reset_per_run():
    ppl = make_dataset(20).p.load()
    ppl.run(5, profile=True)
    assert ppl.profile_info[0]["calls"] == 4
    ppl.run(10, profile=True)
    assert ppl.profile_info[0]["calls"] == 2
    ppl.run(10)
    assert ppl.profile_info == []


def test_profile_memory_is_constant_however_long_the_run():
    ppl = make_dataset(200).p.load().scale().shift(by=1)
    ppl.run(1, n_epochs=1, profile=True)  # warm up
    tracemalloc.start()
    try:
        ppl.run(1, n_epochs=15, profile=True)  # 3,000 batches: the stamp buffer fills and folds
        short_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        ppl.run(1, n_epochs=150, profile=True)
        long_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ppl.profile_info[0]["calls"] == 30_000
    assert long_peak < short_peak + 100_000  # a leak of 8 bytes a batch would add 216 kB


def test_sampled_cpu_time_is_estimated_for_fast_actions():
    profiler = Profiler(["fast #1", "fast #2"])
    sampled, until_cpu = 0, 0
    for number in range(1000):
        if until_cpu:
            until_cpu -= 1
            profiler.stamps.extend([0.0, 1e-6, 3e-6])
        else:
            sampled += 1
            profiler.add_batch([1e-6, 2e-6], [0.5e-6, 2e-6])
            until_cpu = profiler.batches_until_cpu(number)
    profiler.fold()
    first, second = profiler.info()
    assert 1 <= sampled < 10  # fast batches read the CPU clock on a sample only
    assert first["calls"] == second["calls"] == 1000
    assert first["total_s"] == pytest.approx(1e-3) and second["total_s"] == pytest.approx(2e-3)
    assert first["cpu_s"] == pytest.approx(first["total_s"] / 2)
    assert second["cpu_s"] == pytest.approx(second["total_s"])


def test_slow_batches_read_the_cpu_clock_every_time():
    profiler = Profiler(["slow #1"])
    for number in range(200):
        profiler.add_batch([40e-3], [10e-3])
        assert profiler.batches_until_cpu(number) == 0
    (row,) = profiler.info()
    assert row["cpu_s"] == pytest.approx(2.0)


def test_batches_of_a_millisecond_read_the_cpu_clock_one_in_twenty():
    # A model's training step: reading the CPU clock at every batch would cost it about 1%.
    profiler = Profiler(["train #1"])
    sampled, until_cpu = 0, 0
    for number in range(1000):
        if until_cpu:
            until_cpu -= 1
            profiler.stamps.extend([0.0, 1e-3])
        else:
            sampled += 1
            profiler.add_batch([1e-3], [0.25e-3])
            until_cpu = profiler.batches_until_cpu(number)
    profiler.fold()
    (row,) = profiler.info()
    assert 50 <= sampled <= 52  # the first batch, then one in 20
    assert row["calls"] == 1000
    assert row["total_s"] == pytest.approx(1.0)
    assert row["cpu_s"] == pytest.approx(0.25)


@pytest.mark.parametrize("batch_size", [2, 1])
def test_a_failed_batch_counts_the_steps_that_ran(batch_size):
    ppl = make_dataset(40).p.load().scale().fail_on(74).shift(by=1)  # item 37, doubled
    with pytest.raises(ActionError):
        ppl.run(batch_size, profile=True)
    calls = [row["calls"] for row in ppl.profile_info]
    done = 37 // batch_size  # batches before the failing one
    assert calls == [done + 1, done + 1, done + 1, done]


def test_profile_can_be_read_while_the_run_goes_on():
    ppl = make_dataset(3000).p.load().scale()
    seen = []
    for i, _ in enumerate(ppl.gen_batch(1, profile=True)):
        if i in (100, 1000, 2999):
            seen.append(ppl.profile_info[0]["calls"])
    assert seen[0] >= 90 and seen[1] >= 990 and seen[0] < seen[1] <= 1001
    assert ppl.profile_info[0]["calls"] == 3000


@pytest.mark.parametrize("prefetch", [0, 1, 3])
def test_batches_and_variable_updates_keep_the_index_order(prefetch):
    ppl = make_dataset(100).p.init_variable("order", list).load().update(V("order", mode="a"), B("x")[0])
    seen = [batch.x[0] for batch in ppl.gen_batch(7, shuffle=11, n_epochs=2, prefetch=prefetch)]
    reference = [batch.x[0] for batch in ppl.gen_batch(7, shuffle=11, n_epochs=2)]
    assert seen == reference
    assert ppl.v("order") == reference


def test_prefetch_runs_ahead_by_at_most_n_batches():
    produced = []
    ppl = make_dataset(40).p.load().call(lambda batch: produced.append(batch.x[0]))
    gen = ppl.gen_batch(4, prefetch=2)
    first = next(gen)
    assert first.x[0] == 0
    deadline = time.monotonic() + 5
    while len(produced) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    # batch 0 consumed, batches 1-2 waiting in the buffer, batch 3 made and waiting for room
    assert len(produced) == 4
    rest = [b.x[0] for b in gen]
    assert rest == [4.0 * i for i in range(1, 10)]


def test_prefetch_can_read_variables_while_the_producer_updates_them():
    ppl = make_dataset(500).p.init_variable("n", 0).load().update(V("n"), V("n") + B("size"))
    totals = []
    for batch in ppl.gen_batch(5, prefetch=3):
        totals.append(ppl.v("n"))
        assert ppl.v("n") >= batch.x[-1] + 1
    assert ppl.v("n") == 500 and totals == sorted(totals)


def test_an_error_in_a_prefetched_batch_reaches_the_consumer_in_order():
    ppl = make_dataset(50).p.load().fail_on(23)
    got = []
    with pytest.raises(ActionError, match="batch 4"):
        for batch in ppl.gen_batch(5, prefetch=2):
            got.append(batch.x[0])
    assert got == [0, 5, 10, 15]
    assert not [t for t in threading.enumerate() if t.name == "tuiflow-prefetch"]


def test_stopping_early_stops_the_prefetch_thread():
    ppl = make_dataset(1000).p.load()
    for i, _ in enumerate(ppl.gen_batch(5, prefetch=4)):
        if i == 3:
            break
    deadline = time.monotonic() + 5
    while [t for t in threading.enumerate() if t.name == "tuiflow-prefetch"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not [t for t in threading.enumerate() if t.name == "tuiflow-prefetch"]


def test_profile_and_prefetch_together():
    ppl = make_dataset(30).p.load().scale()
    ppl.run(3, prefetch=2, profile=True)
    assert [r["calls"] for r in ppl.profile_info] == [10, 10]


def test_progress_bar_reports_batches(capfd):
    make_dataset(30).p.load().run(3, bar=True)
    err = capfd.readouterr().err
    assert "pipeline" in err and "10/10" in err


class Recorder:
    def __init__(self, wants_profile=False):
        self.wants_profile = wants_profile
        self.events = []

    def pipeline_started(self, pipeline, total):
        self.events.append(("start", total))

    def batch_done(self, pipeline, done, total):
        self.events.append(("batch", done, len(pipeline.profile_info)))

    def pipeline_finished(self, pipeline, error):
        self.events.append(("end", type(error).__name__ if error else None))


def test_observers_see_every_run_and_can_turn_profiling_on():
    recorder = Recorder(wants_profile=True)
    add_observer(recorder)
    try:
        ppl = make_dataset(9).p.load().scale()
        ppl.run(3)
        with pytest.raises(ActionError):
            make_dataset(9).p.load().fail_on(4).run(3)
    finally:
        remove_observer(recorder)
    assert recorder.events[:5] == [("start", 3), ("batch", 1, 2), ("batch", 2, 2), ("batch", 3, 2), ("end", None)]
    assert recorder.events[5:] == [("start", 3), ("batch", 1, 2), ("end", "ActionError")]
    assert ppl.profile_info[0]["calls"] == 3
    make_dataset(9).p.load().run(3)
    assert len(recorder.events) == 8  # removed observers hear nothing


def test_a_failing_observer_does_not_break_the_run():
    class Broken:
        def batch_done(self, *args):
            raise RuntimeError("observer bug")

    broken = Broken()
    add_observer(broken)
    try:
        ppl = Pipeline().init_variable("n", 0).load().update(V("n"), V("n") + 1)
        (make_dataset(6) >> ppl).run(2)
        assert ppl.v("n") == 3
    finally:
        remove_observer(broken)


def test_memory_of_batches_is_released():
    ppl = make_dataset(10).p.load()
    batches = list(ppl.gen_batch(5))
    assert all(isinstance(b.x, np.ndarray) for b in batches)
