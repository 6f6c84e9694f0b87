"""Issue 10, point 6: the ETA of a run comes from its own progress since it started, never from the
latest epoch: within 20% of the truth after 20% of a steady run. Unit tests drive the reporter with
a clock of their own; one runs the `sleep` recipe for real and reads `eta_s` from the store."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from runner_helpers import Clock, FakeStore, finish, foreground

from tuiflow.flow import Dataset, Pipeline, add_observer, remove_observer
from tuiflow.runner.reporter import Reporter
from tuiflow.store import Store


class FakePipeline:
    """Just what the reporter looks at: a pipeline's state and the profiler of its latest run."""

    def __init__(self) -> None:
        self._state = SimpleNamespace(profiler=None)


def within(eta: float | None, truth: float, tolerance: float = 0.2) -> bool:
    return eta is not None and abs(eta - truth) <= tolerance * truth


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_run_progress_counts_from_the_run_start_not_from_the_first_report(clock):
    """`sleep` with 20 s in 5 steps: at step 1 the ETA was 0 s (the clock started at that report)."""
    store = FakeStore()
    reporter = Reporter(store, 1, clock=clock)
    for step in range(1, 6):
        clock.advance(4.0)
        reporter.set_progress(step, 5)
        if step == 1:  # 20% of the run
            done, total, eta = reporter.progress()
            assert (done, total) == (1, 5)
            assert within(eta, 16.0), eta
            reporter.write()
            assert store.progress[-1][:2] == (1, 5) and within(store.progress[-1][2], 16.0)
    assert reporter.progress()[2] == 0.0


def test_run_progress_is_not_reset_by_the_pipeline_of_each_epoch(clock):
    """`digits-mlp --set epochs=500` showed 0.025 s at 136/500: every epoch's pipeline restarted the
    clock. Here 100 epochs of 10 batches of 0.1 s each, plus 0.2 s of evaluation, after 3 s of setup."""
    reporter = Reporter(FakeStore(), 1, clock=clock)
    train, evaluate = FakePipeline(), FakePipeline()
    clock.advance(3.0)  # loading the data, building the model
    epochs, per_epoch = 100, 10 * 0.1 + 0.2
    for epoch in range(1, 21):  # 20% of the run
        for pipeline, batches, seconds in ((train, 10, 0.1), (evaluate, 2, 0.1)):
            pipeline._state.profiler = SimpleNamespace(info=list)  # each run has a profiler of its own
            reporter.pipeline_started(pipeline, batches)
            for batch in range(1, batches + 1):
                clock.advance(seconds)
                reporter.batch_done(pipeline, batch, batches)
            reporter.pipeline_finished(pipeline, None)
        reporter.set_progress(epoch, epochs)
    done, total, eta = reporter.progress()
    assert (done, total) == (20, 100)
    assert within(eta, (epochs - 20) * per_epoch), eta


def test_the_setup_before_the_first_report_does_not_count_as_steps(clock):
    """A minute of imports and data loading, then 100 steps of 1 s: counting that minute as steps
    would say 320 s left at step 20 instead of 80."""
    reporter = Reporter(FakeStore(), 1, clock=clock)
    clock.advance(60.0)
    for step in range(1, 21):
        clock.advance(1.0)
        reporter.set_progress(step, 100)
    assert within(reporter.progress()[2], 80.0), reporter.progress()


def test_a_count_that_starts_again_is_paced_from_its_new_start(clock):
    """A recipe that reports a second phase from 0 again: its pace is that phase's, not the first's."""
    reporter = Reporter(FakeStore(), 1, clock=clock)
    for step in range(1, 11):  # a fast phase: 0.1 s a step
        clock.advance(0.1)
        reporter.set_progress(step, 10)
    reporter.set_progress(0, 50)
    for step in range(1, 11):  # a slow one: 2 s a step, 20% done
        clock.advance(2.0)
        reporter.set_progress(step, 50)
    assert within(reporter.progress()[2], 80.0), reporter.progress()


def test_without_run_progress_a_pipeline_told_its_epochs_keeps_its_pace(clock):
    """A recipe that runs its pipeline for its epochs (``n_epochs``) and reports nothing itself: the
    ETA comes from the pipeline's pace over its batches so far, for all the batches its epochs have
    left (a long set-up before it does not count). Issue 20: a pipeline run for one epoch by default
    is no measure of the run (see test_progress_one_unit.py)."""
    reporter = Reporter(FakeStore(), 1, clock=clock)
    data = Dataset(100)
    pipeline = data >> Pipeline().call(lambda batch: clock.advance(0.5))  # a steady 0.5 s per batch
    clock.advance(30.0)  # a long setup must not count as pipeline time
    add_observer(reporter)
    try:
        batches = pipeline.gen_batch(10, n_epochs=2)  # 20 batches: 10 s
        for _ in range(10):
            next(batches)
        done, total, eta = reporter.progress()
        assert (done, total) == (10, 20)
        assert within(eta, 5.0), eta
        next(batches)  # the second epoch has started: its first batch is made, nothing more
        clock.advance(0.2)  # between batches
        done, total, eta = reporter.progress()
        assert (done, total) == (11, 20)
        assert within(eta, 4.5 - 0.2), eta
        batches.close()
    finally:
        remove_observer(reporter)


def test_before_any_progress_there_is_no_eta(clock):
    reporter = Reporter(FakeStore(), 1, clock=clock)
    assert reporter.progress() == (0, None, None)
    reporter.set_progress(0, 10)
    clock.advance(5.0)
    assert reporter.progress() == (0, 10, None)


def test_the_sleep_recipe_stores_a_true_eta_after_its_first_step(tmp_path: Path):
    """A real run: `sleep` with 5 s in 5 steps; after step 1 its ETA in the store is within 20% of the
    time the run really had left (it said 0 s before)."""
    home = tmp_path / "home"
    store = Store.open(home)
    process = foreground(home, "sleep", "--set", "seconds=5", "--set", "steps=5")
    try:
        seen = None
        deadline = time.monotonic() + 60
        while seen is None and process.poll() is None and time.monotonic() < deadline:
            runs = store.list_runs()
            if runs and runs[0].progress_done == 1:
                seen = runs[0]  # eta_s was written with progress_done, at heartbeat_at
            time.sleep(0.02)
        _, err = finish(process)
        assert process.returncode == 0, err
        assert seen is not None, "never saw the run at step 1"
        ended = store.get_run(seen.id)
        assert ended.status == "done"
        truth = ended.ended_at - seen.heartbeat_at
        assert within(seen.eta_s, truth), (seen.eta_s, truth)
    finally:
        finish(process, 5)
        store.close()
