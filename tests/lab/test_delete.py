"""Deleting an experiment through `Lab`: everything of its runs goes in one transaction (runs, metrics,
profiles, attempts, side-table rows, run telemetry, log files in the home's logs folder) and nothing
of the others; an experiment with a queued or running run is refused with nothing deleted. And the
experiments at a glance, with their best final metric."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from history_home import build_history

from tuiflow import lab
from tuiflow.lab.history import ExperimentRunningError, lower_is_better
from tuiflow.store import RunSpec

TABLES = ("runs", "metrics", "profile", "attempts", "run_params", "final_metrics", "gpu_holds")


def counts(db: Path, run_ids: list[int]) -> dict[str, int]:
    """Rows per table that belong to these runs, read through a connection of the test's own."""
    marks = ", ".join("?" * len(run_ids))
    with sqlite3.connect(db) as conn:
        found = {table: conn.execute(f"SELECT count(*) FROM {table} WHERE {'id' if table == 'runs' else 'run_id'} "
                                     f"IN ({marks})", run_ids).fetchone()[0] for table in TABLES}
        found["samples"] = conn.execute(f"SELECT count(*) FROM samples WHERE device IN ({marks})",
                                        [f"run:{i}" for i in run_ids]).fetchone()[0]
    return found


@pytest.fixture
def history(tmp_path: Path) -> lab.Lab:
    home = tmp_path / "home"
    build_history(home).close()
    with lab.open(home) as opened:
        yield opened


def test_delete_removes_the_experiment_and_all_its_runs_left(history: lab.Lab) -> None:
    ids = [run.id for run in history.experiment_runs("cnn-sweep")]
    others = [run.id for run in history.experiment_runs("mlp-sweep")]
    before = counts(history.path, ids)
    assert all(before[t] for t in ("runs", "metrics", "profile", "attempts", "run_params", "final_metrics",
                                   "samples"))
    kept = counts(history.path, others)
    logs = [Path(run.log_path) for run in history.experiment_runs("cnn-sweep")]
    assert all(log.exists() for log in logs)

    assert history.delete_experiment("cnn-sweep") == len(ids) == 90

    assert not any(counts(history.path, ids).values())
    assert counts(history.path, others) == kept
    assert not any(log.exists() for log in logs)
    assert sorted(e["name"] for e in history.list_experiments()) == ["mlp-sweep", "naps"]
    with pytest.raises(lab.LabError, match="cnn-sweep"):
        history.experiment_runs("cnn-sweep")
    assert history.results(experiment="mlp-sweep").total == 120
    assert history.count_results() == 180


def test_delete_by_id_and_an_unknown_experiment(history: lab.Lab) -> None:
    naps = next(e for e in history.list_experiments() if e["name"] == "naps")
    assert history.delete_experiment(f"exp:{naps['id']}") == 60
    with pytest.raises(lab.LabError, match="no experiment 'nope'"):
        history.delete_experiment("nope")


def test_a_log_outside_the_homes_logs_folder_is_left_alone(history: lab.Lab, tmp_path: Path) -> None:
    elsewhere = tmp_path / "mine.log"
    elsewhere.write_text("not tuiflow's to remove\n")
    run = history.experiment_runs("naps")[0]
    with sqlite3.connect(history.path) as conn:
        conn.execute("UPDATE runs SET log_path = ? WHERE id = ?", (str(elsewhere), run.id))
    history.delete_experiment("naps")
    assert elsewhere.read_text() == "not tuiflow's to remove\n"


@pytest.mark.parametrize("status", ["queued", "running"])
def test_an_experiment_with_an_unfinished_run_is_refused(history: lab.Lab, status: str) -> None:
    experiment = history.store.create_experiment("live", "sleep", runs=[RunSpec(config={"seconds": 1})] * 3)
    first = history.experiment_runs("live")[0]
    for run in history.experiment_runs("live")[1:]:
        history.store.finish_run(run.id, "done", exit_code=0, metrics={"accuracy": 0.5})
    if status == "running":  # this process runs it: alive, so nothing settles it
        history.store.start_run(first.id, pid=os.getpid(), host=None)
    with pytest.raises(ExperimentRunningError, match=f"1 {status}.*cancel them first") as raised:
        history.delete_experiment("live")
    assert "\n" not in str(raised.value)
    assert len(history.experiment_runs(experiment.id)) == 3  # nothing deleted
    assert isinstance(raised.value, lab.LabError)


def test_experiment_summaries_count_runs_and_pick_the_best_metric(history: lab.Lab) -> None:
    summaries = history.experiment_summaries()
    assert [s.name for s in summaries] == ["naps", "cnn-sweep", "mlp-sweep"]
    mlp = summaries[-1]
    assert mlp.runs == 120 and mlp.recipe == "digits-mlp" and mlp.active == 0
    assert set(mlp.counts) == {"done", "failed", "cancelled"}
    assert mlp.metric == "accuracy" and not mlp.lower_is_better
    best = max(row["metrics"]["accuracy"] for row in history.iter_results(experiment="mlp-sweep", status="done"))
    assert mlp.best == pytest.approx(best)
    assert lower_is_better("val_loss") and lower_is_better("duration_s") and not lower_is_better("accuracy")


def test_export_selection_writes_the_rows_a_view_shows(history: lab.Lab, tmp_path: Path) -> None:
    import csv
    import json

    out = tmp_path / "shown.csv"
    done = history.export_selection("csv", out, filter="status=done lr<0.01", sort="-accuracy",
                                    experiment="mlp-sweep")
    rows = list(csv.DictReader(out.open()))
    expected = [row["id"] for row in history.iter_results("status=done lr<0.01", "-accuracy", experiment="mlp-sweep")]
    assert done.runs == len(rows) == len(expected) > 0
    assert [int(row["id"]) for row in rows] == expected
    assert {row["experiment"] for row in rows} == {"mlp-sweep"}
    out_json = tmp_path / "shown.json"
    history.export_selection("json", out_json, filter="status=failed")
    assert {row["status"] for row in json.loads(out_json.read_text())["runs"]} == {"failed"}
    with pytest.raises(lab.LabError, match="unknown export format"):
        history.export_selection("xls", tmp_path / "x.xls")
