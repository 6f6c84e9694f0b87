"""Issue 20, point 13: a run's progress has one unit for its life and never goes backwards.

`digits-mlp` polled with `tuiflow queue --json` gave `0/23`, `1/60 eta 476s`, `37/60 eta 1.2s`: the
runner showed the batches of the first epoch's pipeline until the recipe's first `run.progress`, then
the recipe's epochs; and between two reports, whichever pipeline moved last (an evaluation of 2
batches, then training again from batch 0). Unit tests drive the reporter with a clock of their own;
one runs a recipe of several epochs for real and polls the store while it goes.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from runner_helpers import Clock, FakeStore, finish, foreground

from tuiflow.flow import Dataset, Pipeline, add_observer, remove_observer
from tuiflow.runner.reporter import Reporter
from tuiflow.store import Store


class Profile:
    """A profiler as the reporter reads it: the rows of one pipeline run."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def info(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self.rows]


def one_way(seen: list[tuple[int, int | None, float | None]]) -> None:
    """The invariants a user polling the run relies on: once there is a total it never changes, done
    never decreases, and an ETA is a number of seconds, never negative."""
    totals = [total for _, total, _ in seen if total is not None]
    assert len(set(totals)) <= 1, f"the total changed: {sorted(set(totals))}"
    dones = [done for done, _, _ in seen]
    assert dones == sorted(dones), f"done went backwards: {dones}"
    assert all(eta is None or eta >= 0 for _, _, eta in seen), seen


def test_a_recipe_that_reports_its_epochs_shows_them_from_its_start(tmp_path: Path) -> None:
    """digits-mlp's shape: train (23 batches an epoch, one epoch a run) then evaluate (2 batches), then
    `run.progress(epoch, 8)`. Before the first report the run has no progress (0, no total: its first
    pipeline's epoch is not the run), and then epochs of 8, never batches of 23 or 2."""
    clock = Clock()
    store = FakeStore()
    reporter = Reporter(store, 1, clock=clock)
    train = SimpleNamespace(_state=SimpleNamespace(profiler=None, length_given=False))
    evaluate = SimpleNamespace(_state=SimpleNamespace(profiler=None, length_given=False))
    seen = []
    clock.advance(2.0)  # data and model set-up
    for epoch in range(1, 9):
        for pipeline, batches in ((train, 23), (evaluate, 2)):
            pipeline._state.profiler = Profile([])
            reporter.pipeline_started(pipeline, batches)
            for batch in range(1, batches + 1):
                clock.advance(0.05)
                reporter.batch_done(pipeline, batch, batches)
                seen.append(reporter.progress())
            reporter.pipeline_finished(pipeline, None)
            seen.append(reporter.progress())
        reporter.set_progress(epoch, 8)
        seen.append(reporter.progress())
        reporter.write()
    one_way(seen)
    one_way(store.progress)
    assert {total for _, total, _ in seen} == {None, 8}
    assert seen[-1] == (8, 8, 0.0)
    assert {total for _, total, _ in store.progress} <= {None, 8}


def test_one_epoch_runs_of_a_pipeline_are_no_measure_of_the_run() -> None:
    """A recipe that runs its pipeline once per epoch, an evaluation between, and reports nothing:
    each one-epoch run does not say how many there will be, so the run has no progress (it said 10/10,
    then 2/2 of the evaluation, then 1/10 again) and no ETA rather than one of the current epoch."""
    clock = Clock()
    reporter = Reporter(FakeStore(), 1, clock=clock)
    data = Dataset(100)
    train = data >> Pipeline().call(lambda batch: clock.advance(0.5))
    evaluate = Dataset(20) >> Pipeline().call(lambda batch: clock.advance(0.1))
    seen = []
    add_observer(reporter)
    try:
        for _ in range(3):
            for _batch in train.gen_batch(10):
                seen.append(reporter.progress())
            seen.append(reporter.progress())
            for _batch in evaluate.gen_batch(10):
                seen.append(reporter.progress())
            seen.append(reporter.progress())
    finally:
        remove_observer(reporter)
    one_way(seen)
    assert set(seen) == {(0, None, None)}


def test_a_pipeline_told_its_epochs_gives_the_run_its_whole_length() -> None:
    """`gen_batch(10, n_epochs=3)`: the run's total is its 30 batches from the first, with an ETA at
    the pipeline's pace; an evaluation run inside the loop does not move it."""
    clock = Clock()
    reporter = Reporter(FakeStore(), 1, clock=clock)
    train = Dataset(100) >> Pipeline().call(lambda batch: clock.advance(0.5))
    evaluate = Dataset(20) >> Pipeline().call(lambda batch: clock.advance(0.1))
    seen = []
    add_observer(reporter)
    try:
        for number, _batch in enumerate(train.gen_batch(10, n_epochs=3), 1):
            seen.append(reporter.progress())
            if number % 10 == 0:
                evaluate.run(10)
                seen.append(reporter.progress())
            if number == 6:
                done, total, eta = reporter.progress()
                assert (done, total) == (6, 30)
                assert eta is not None and abs(eta - 24 * 0.5) <= 0.2 * 24 * 0.5, eta
    finally:
        remove_observer(reporter)
    one_way(seen)
    assert {total for _, total, _ in seen} == {30}
    assert seen[-1][:2] == (30, 30)


def test_the_eta_at_the_first_report_leaves_the_set_up_out() -> None:
    """The first epoch of digits-mlp took 8 s, 7.9 of them the model's first build (init_model's first
    call); the ETA at 1/60 said 476 s where 59 epochs of 0.1 s were left. The set-up (before the first
    pipeline, and each action's first call beyond its later ones) is not a step."""
    clock = Clock()
    reporter = Reporter(FakeStore(), 1, clock=clock)
    train = SimpleNamespace(_state=SimpleNamespace(profiler=None, length_given=False))
    clock.advance(1.0)  # imports and data, before any pipeline
    train._state.profiler = Profile([
        {"action": "init_model #1", "calls": 23, "total_s": 7.9 + 22 * 0.0001, "first_s": 7.9,
         "mean_s": 0.0001, "max_s": 0.0002, "cpu_s": 7.0},
        {"action": "train_model #1", "calls": 23, "total_s": 0.1, "first_s": 0.005, "mean_s": 0.1 / 23,
         "max_s": 0.006, "cpu_s": 0.1},
    ])
    reporter.pipeline_started(train, 23)
    clock.advance(7.9 + 0.1)
    reporter.batch_done(train, 23, 23)
    reporter.pipeline_finished(train, None)
    reporter.set_progress(1, 60)
    done, total, eta = reporter.progress()
    assert (done, total) == (1, 60)
    assert eta is not None and eta <= 59 * 0.2, eta  # 476 s before: the set-up counted as a step


RECIPE = '''
import time

from tuiflow import Batch, Dataset, Pipeline, action, recipe


class Epochs(Batch):
    components = ("x",)

    @action
    def work(self, state):
        # The first call builds something (a model, say): much more work than the calls after it.
        if not state:
            time.sleep(0.3)
            state.append(True)
        time.sleep(0.01)
        return self


@recipe(name="epochs", params={"epochs": 6})
def epochs(run):
    data = Dataset(80, batch_class=Epochs)
    data.split(0.8)
    state = []
    train = data.train >> Pipeline().work(state)
    evaluate = data.test >> Pipeline().work(state)
    for epoch in range(run.config["epochs"]):
        train.run(8)
        evaluate.run(8)
        run.progress(epoch + 1, run.config["epochs"])
    return {"epochs": run.config["epochs"]}
'''


def test_a_real_run_of_several_epochs_moves_one_way(tmp_path: Path) -> None:
    """A real run of a recipe of 6 epochs (8 training batches, 2 of evaluation each) polled in the
    store while it goes: its total is 6 from the first time it has one, done never decreases, the ETA
    is never negative, and the run ends at 6 of 6."""
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "epochs.py").write_text(RECIPE)
    home = tmp_path / "home"
    store = Store.open(home)
    process = foreground(home, "epochs", recipes=recipes)
    seen: list[tuple[int, int | None, float | None]] = []
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            runs = store.list_runs()
            if runs and runs[0].status == "running" and runs[0].progress_done is not None:
                run = runs[0]
                point = (run.progress_done, run.progress_total, run.eta_s)
                if not seen or seen[-1] != point:
                    seen.append(point)
            time.sleep(0.01)  # a poll's pace, as `tuiflow queue` is polled; nothing waits on it
        _, err = finish(process)
        assert process.returncode == 0, err
        [run] = store.list_runs()
        assert run.status == "done" and (run.progress_done, run.progress_total) == (6, 6)
        print(json.dumps(seen), file=sys.stderr)
        assert len(seen) >= 2, f"too few progress points seen while it ran: {seen}"
        one_way([*seen, (run.progress_done, run.progress_total, run.eta_s)])
        assert {total for _, total, _ in seen} <= {None, 6}
    finally:
        finish(process, 5)
        store.close()
