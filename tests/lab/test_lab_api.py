"""`tuiflow.lab`: the one typed door of every client (issue 11), on real homes, stores and daemons."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time

import pytest

from tuiflow import lab
from tuiflow.store import RunSpec, Store

PIPELINE_RECIPE = '''
import time
import numpy as np
from tuiflow import Batch, Dataset, DatasetIndex, Pipeline, action, recipe

class SlowBatch(Batch):
    components = ("x",)

    @action
    def slow(self):
        time.sleep(0.02)
        return self

    @action
    def quick(self):
        return self

@recipe(name="piped", description="a pipeline with a slow action", params={"epochs": 40})
def piped(run):
    ds = Dataset(DatasetIndex(64), batch_class=SlowBatch, preloaded=(np.zeros((64, 2)),))
    ppl = (Pipeline().load().quick().slow()) << ds
    for epoch in range(run.config["epochs"]):
        ppl.run(batch_size=16)
        run.progress(epoch + 1, run.config["epochs"])
    return {"epochs": run.config["epochs"]}
'''


def test_looking_at_a_home_never_creates_a_store(home):
    with pytest.raises(lab.NoStoreError) as caught:
        lab.open(home)
    assert isinstance(caught.value, lab.LabError) and "no tuiflow store" in str(caught.value)
    empty = lab.open(home, missing_ok=True)
    assert not empty.exists
    assert empty.dashboard_runs() == [] and empty.results().total == 0 and empty.list_experiments() == []
    assert empty.data_version() == 0 and not empty.paused() and empty.daemon_status().running_daemon is False
    assert [gpu.index for gpu in empty.snapshot().gpus] == [0, 1]
    assert not home.exists()


def test_a_bad_parameter_names_its_recipe_and_field_and_stores_nothing(home):
    opened = lab.open(home, missing_ok=True)
    with pytest.raises(lab.ParamError) as caught:
        opened.plan("sleep", overrides={"seconds": 1.0}, grid={"steps": [1, "many"]})
    assert (caught.value.recipe, caught.value.param) == ("sleep", "steps")
    assert "expected an integer" in caught.value.reason and "--" not in str(caught.value)
    with pytest.raises(lab.ParamError) as unknown:
        opened.plan("sleep", overrides={"secs": 1})
    assert unknown.value.param == "secs" and "did you mean 'seconds'" in unknown.value.reason
    with pytest.raises(lab.LabError, match="no recipe"):
        opened.plan("nope")
    assert len(opened.plan("sleep", grid={"steps": [1, 2, 3]}, reps=2)) == 6
    assert not home.exists()


def test_launch_wait_results_and_series(home):
    opened = lab.open(home, missing_ok=True)
    plan = opened.plan("sleep", overrides={"seconds": 0.3}, grid={"steps": [2, 3, 6]}, name="grid")
    submission = opened.launch(plan)
    assert opened.exists and len(submission.run_ids) == 3 and submission.daemon_pid
    runs = opened.wait(submission.run_ids, timeout=60)
    assert {run.status for run in runs} == {lab.Status.DONE} and runs[0].status == "done"
    assert json.loads(json.dumps(runs[0].to_dict()))["status"] == "done"
    best = opened.results(filter="experiment=grid status=done", sort="-steps")
    assert best.total == 3 and [row["config"]["steps"] for row in best.rows] == [6, 3, 2]
    assert opened.results(filter="steps>2").total == 2
    first = opened.results(sort="steps", limit=2)
    second = opened.results(sort="steps", limit=2, after=first.next)
    assert [r["config"]["steps"] for r in first.rows + second.rows] == [2, 3, 6] and second.next is None
    with pytest.raises(lab.LabError, match="filter term"):
        opened.results(filter="steps>>2")
    series = opened.metric_series(runs[2].id, "value")
    assert [step for step, _ in series] == [1, 2, 3, 4, 5, 6]
    experiments = opened.list_experiments()
    assert experiments[0]["name"] == "grid" and experiments[0]["counts"] == {"done": 3}
    text, offset = opened.read_log(runs[0].id)
    assert "slept 0.3 s" in text and offset == len(text.encode())
    assert opened.read_log(runs[0].id, offset) == ("", offset)


def test_metric_series_keeps_each_buckets_extremes(home):
    store = Store.open(home)
    experiment = store.create_experiment("e", "sleep", runs=[RunSpec()])
    run_id = store.list_runs(experiment=experiment.id)[0].id
    values = [math.sin(i / 50) for i in range(10_000)]
    values[4321] = 99.0  # a spike must survive downsampling
    store.write_metrics([(run_id, "loss", i, v, 0.0) for i, v in enumerate(values)])
    opened = lab.open(home)
    points = opened.metric_series(run_id, "loss", max_points=100)
    assert len(points) <= 100 and (4321, 99.0) in points
    assert [s for s, _ in points] == sorted(s for s, _ in points)
    assert min(v for _, v in points) == pytest.approx(min(values))


def test_data_version_changes_with_any_write_and_only_then(home):
    Store.open(home).close()
    opened = lab.open(home)
    before = opened.data_version()
    assert opened.data_version() == before
    subprocess.run([sys.executable, "-m", "tuiflow", "pause", "--home", str(home)], check=True, capture_output=True)
    after_other = opened.data_version()
    assert after_other != before
    opened.resume()
    assert opened.data_version() != after_other
    started = time.perf_counter()
    for _ in range(100):
        opened.data_version()
    assert (time.perf_counter() - started) / 100 < 0.01  # generous: the benchmark holds it to 1 ms


def test_a_running_pipeline_reports_its_current_action_and_profile(home, tmp_path):
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "piped.py").write_text(PIPELINE_RECIPE)
    opened = lab.open(home, missing_ok=True)
    [run_id] = opened.launch(opened.plan("piped")).run_ids
    deadline = time.monotonic() + 60
    while opened.current_action(run_id) is None:
        assert time.monotonic() < deadline, opened.get_run(run_id)
        time.sleep(0.1)
    assert opened.current_action(run_id) == "slow #1"
    profile = opened.profile(run_id)
    assert profile[0]["action"] == "slow #1" and profile[0]["share"] > 0.5
    assert opened.cancel([run_id]) == 1  # recorded; the daemon stops it
    assert opened.wait([run_id], timeout=30)[0].status == lab.Status.CANCELLED
    assert opened.current_action(run_id) is None


def test_every_error_is_a_lab_error(home):
    opened = lab.open(home, create=True)
    for call in (lambda: opened.get_run(1), lambda: opened.retry(1), lambda: opened.cancel([1]),
                 lambda: opened.experiment_runs("nope"), lambda: opened.results(sort="x", filter="y=1"),
                 lambda: opened.cancel()):
        with pytest.raises(lab.LabError):
            call()
    assert os.path.exists(home / "tuiflow.db")
