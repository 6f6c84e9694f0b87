"""Issue 10, points 8 and 9: what a recipe does wrong ends its run `failed` with the real reason in
its error, never `done` with its metrics lost, nor "the runner exited with code 1". Real runner
processes (`tuiflow run --foreground`) on a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from runner_helpers import finish, foreground

from tuiflow.store import Run, Store

RECIPES = '''
import time
from tuiflow import recipe


@recipe(name="not-json")
def not_json(run):
    run.log(step=1, a=1.0)
    return {"x": object()}


@recipe(name="not-json-deep")
def not_json_deep(run):
    return {"ok": 1.5, "nested": {"list": [1, 2, {3}, object()]}}


@recipe(name="huge-step")
def huge_step(run):
    run.log(step=1, a=1.0)
    run.log(step=10**30, a=2.0)
    return {"ok": 1}


@recipe(name="text-value")
def text_value(run):
    run.log(step=1, a=1.0)
    run.log(step=2, a="0.5")
    return {"ok": 1}


@recipe(name="poison-then-return")
def poison_then_return(run):
    run.log(step=1, a=1.0)
    run.sink.log(10**30, {"a": 2.0}, time.time())  # around run.log's checks, straight to the writer
    return {"ok": 1}


@recipe(name="poison-then-log")
def poison_then_log(run):
    run.sink.log(10**30, {"a": 2.0}, time.time())
    deadline = time.monotonic() + 60
    while not run.sink.writer._failing:  # until the writer's background flush (every second) has failed
        if time.monotonic() > deadline:
            raise RuntimeError("the background flush never failed")
        time.sleep(0.01)
    run.log(step=2, b=1.0)
    return {"ok": 1}
'''


@pytest.fixture
def recipes(tmp_path: Path) -> Path:
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "wrong.py").write_text(RECIPES)
    return folder


def run_recipe(tmp_path: Path, recipes: Path, name: str) -> tuple[Run, dict[str, list[int]], str]:
    """Run recipe ``name`` in the foreground to its end: the run as the store has it, the steps of each
    metric it stored, and the run's log."""
    home = tmp_path / "home"
    out, err = finish(foreground(home, name, recipes=recipes))
    with Store.open(home, create=False) as store:
        [run] = store.list_runs()
        steps = {key: store.metric_series(run.id, key).steps for key in store.metric_keys(run.id)}
    [report] = json.loads(out)
    assert report["status"] == run.status, err
    return run, steps, Path(run.log_path).read_text()


def test_final_metrics_that_are_not_json_fail_the_run_with_the_reason(tmp_path, recipes):
    run, steps, log = run_recipe(tmp_path, recipes, "not-json")
    assert (run.status, run.exit_code) == ("failed", 1)
    assert run.error == "final metrics must be JSON: x is object"
    assert run.metrics is None
    assert steps == {"a": [1]}  # what it logged is kept
    assert "tuiflow runner: run 1 failed: final metrics must be JSON: x is object" in log
    assert "Traceback" not in log


def test_the_reason_names_where_in_the_final_metrics_the_value_is(tmp_path, recipes):
    run, _, _ = run_recipe(tmp_path, recipes, "not-json-deep")
    assert run.status == "failed"
    assert run.error == "final metrics must be JSON: nested.list[3] is object"


def test_a_step_sqlite_cannot_hold_fails_the_run_at_the_log_call(tmp_path, recipes):
    run, steps, _ = run_recipe(tmp_path, recipes, "huge-step")
    assert (run.status, run.exit_code) == ("failed", 1)
    assert run.error.count("\n") == 0
    assert "run.log" in run.error and "'a'" in run.error and str(10**30) in run.error
    assert "which the store cannot hold" in run.error
    assert "huge_step" in run.traceback  # raised in the recipe's own frame
    assert steps == {"a": [1]}  # the good value is not lost with the bad
    assert run.metrics is None


def test_a_metric_value_that_is_not_a_number_fails_the_run(tmp_path, recipes):
    run, steps, _ = run_recipe(tmp_path, recipes, "text-value")
    assert run.status == "failed"
    assert run.error == "TypeError: run.log: metric 'a' at step 2 must be a number, not '0.5' (str)"
    assert steps == {"a": [1]}


def test_values_the_store_cannot_write_at_the_end_fail_the_run_not_done(tmp_path, recipes):
    """Values that reach the writer but not the store: the run used to end `done`, metrics lost."""
    run, _, log = run_recipe(tmp_path, recipes, "poison-then-return")
    assert (run.status, run.exit_code) == ("failed", 1)
    assert run.error.startswith(f"could not write the metrics of run {run.id} (2 values waiting): ")
    assert "too large" in run.error
    assert "Traceback" not in log  # the store's own close at exit does not fail again


def test_a_failed_background_write_reaches_the_recipe_at_its_next_log(tmp_path, recipes):
    run, _, _ = run_recipe(tmp_path, recipes, "poison-then-log")
    assert run.status == "failed"
    assert run.error.startswith(f"StoreError: could not write the metrics of run {run.id} (2 values waiting): ")
    assert "poison_then_log" in run.traceback  # raised at the recipe's run.log
