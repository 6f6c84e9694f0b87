"""Issue 20, point 12: the profile tells bottlenecks, not start-up.

`init_model 3450 calls 7.9s ◀ slowest` was one first call (a framework's import, a model built) and
3,449 calls of nothing. The engine keeps each action's first call apart (``first_s``); ``mean_s`` and
``max_s`` are those of the calls after it. The "slow" first call here is deterministic: it does much
more work than the others (it sleeps 0.25 s, the others not at all), and the tests assert on the
first and steady fields, never on wall-clock targets.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from flowbatches import make_dataset

from tuiflow.flow import add_observer, remove_observer
from tuiflow.flow.profiler import Profiler
from tuiflow.runner.reporter import Reporter, merge_profiles

SET_UP = 0.25  # what the first call does beyond the others


def builder() -> Any:
    """An action whose first call builds something (sleeps SET_UP) and whose later calls do nothing."""
    built: list[bool] = []

    def build(batch: Any) -> Any:
        if not built:
            time.sleep(SET_UP)
            built.append(True)
        return batch

    return build


def row_of(rows: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    return next(row for row in rows if row["action"].startswith(prefix))


def test_the_first_call_is_kept_apart_from_the_steady_calls() -> None:
    ppl = make_dataset(200).p.load().call(builder()).scale()
    ppl.run(10, n_epochs=2, profile=True)  # 40 batches
    build = row_of(ppl.profile_info, "build")
    assert build["calls"] == 40
    assert build["first_s"] >= SET_UP
    assert build["total_s"] >= build["first_s"]
    # Mean and max are those of the 39 calls after the first: the set-up is in none of them.
    assert build["mean_s"] == pytest.approx((build["total_s"] - build["first_s"]) / 39)
    assert build["mean_s"] < SET_UP / 10 and build["max_s"] < SET_UP
    for row in ppl.profile_info:
        assert row["first_s"] is not None and row["calls"] == 40


def test_a_fast_pipeline_timed_in_samples_still_keeps_its_first_call() -> None:
    """Thousands of batches of a microsecond: most are timed as a whole or by stamps, never the first."""
    ppl = make_dataset(3000).p.load().call(builder())
    ppl.run(1, profile=True)
    build = row_of(ppl.profile_info, "build")
    assert build["calls"] == 3000
    assert build["first_s"] >= SET_UP
    assert build["mean_s"] < SET_UP / 100 and build["max_s"] < SET_UP


def test_a_pipeline_cut_by_rebatch_keeps_each_steps_first_call() -> None:
    ppl = make_dataset(60).p.load().call(builder()).rebatch(20).scale()
    ppl.run(5, profile=True)
    build = row_of(ppl.profile_info, "build")
    assert build["calls"] == 12 and build["first_s"] >= SET_UP and build["max_s"] < SET_UP
    rows = {row["action"]: row for row in ppl.profile_info}
    assert all(row["first_s"] is not None for row in rows.values() if row["calls"])


def test_before_the_first_batch_no_call_is_known() -> None:
    rows = Profiler(["load #1", "init_model #1"]).info()
    assert [(row["calls"], row["first_s"], row["mean_s"]) for row in rows] == [(0, None, 0.0), (0, None, 0.0)]


class _Store:
    def __init__(self) -> None:
        self.profiles: dict[int, list[dict[str, Any]]] = {}

    def write_profile(self, run_id: int, number: int, rows: list[dict[str, Any]]) -> None:
        self.profiles[number] = rows

    def set_action(self, *args: Any) -> None:
        pass

    def set_progress(self, *args: Any) -> None:
        pass

    def heartbeat(self, *args: Any) -> None:
        pass


def test_a_pipeline_run_once_per_epoch_keeps_the_first_epochs_first_call() -> None:
    """A recipe's training pipeline runs once per epoch, each run with a profiler of its own: the run's
    profile keeps the first call of the first epoch as the set-up; each later epoch's first call is
    one more steady call (the model is built once)."""
    store = _Store()
    reporter = Reporter(store, 1)
    ppl = make_dataset(40).p.load().call(builder())
    add_observer(reporter)
    try:
        for _ in range(3):
            ppl.run(10)  # 4 batches an epoch
    finally:
        remove_observer(reporter)
    reporter.write()
    build = row_of(store.profiles[1], "build")
    assert build["calls"] == 12 and build["first_s"] >= SET_UP
    assert build["mean_s"] == pytest.approx((build["total_s"] - build["first_s"]) / 11)
    assert build["max_s"] < SET_UP


def test_merging_profiles_keeps_the_earlier_first_call() -> None:
    first = [{"action": "a", "calls": 1, "total_s": 2.0, "first_s": 2.0, "mean_s": 2.0, "max_s": 2.0, "cpu_s": 1.0}]
    second = [{"action": "a", "calls": 3, "total_s": 0.6, "first_s": 0.3, "mean_s": 0.15, "max_s": 0.2,
               "cpu_s": 0.5}]
    [merged] = merge_profiles(first, second)
    assert merged["calls"] == 4 and merged["first_s"] == 2.0 and merged["total_s"] == pytest.approx(2.6)
    assert merged["mean_s"] == pytest.approx(0.6 / 3)  # the later run's first call is a steady call
    assert merged["max_s"] == pytest.approx(0.3)
    # Rows of a store before version 8 (no first call) merge as before.
    old = [{"action": "a", "calls": 2, "total_s": 1.0, "mean_s": 0.5, "max_s": 0.6, "cpu_s": 1.0}]
    [both] = merge_profiles(old, old)
    assert both["first_s"] is None and both["mean_s"] == pytest.approx(0.5) and both["calls"] == 4

