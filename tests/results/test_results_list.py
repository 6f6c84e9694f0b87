"""`tuiflow results`: rows as JSON, CSV and a table; filters, sorting and paging; the lab functions under it."""

from __future__ import annotations

import csv
import io
import json

import pytest
from results_data import Populated, tuiflow

from tuiflow.lab import results as lab
from tuiflow.store import Store

JSON_FIELDS = {
    "id", "experiment", "experiment_id", "recipe", "status", "config", "metrics", "gpus", "rep", "seed",
    "started_at", "ended_at", "duration_s", "exit_code", "signal", "error", "attempt",
}  # fmt: skip


def results_json(populated: Populated, *args: str) -> list[dict]:
    out = tuiflow("results", "--json", "--home", str(populated.home), *args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_json_has_one_object_per_run_with_every_field(populated):
    rows = results_json(populated)
    ids = populated.runs
    assert [row["id"] for row in rows] == sorted(ids.values())
    assert all(set(row) >= JSON_FIELDS for row in rows)
    by_id = {row["id"]: row for row in rows}
    best = by_id[ids["best"]]
    assert best["experiment"] == "alpha" and best["recipe"] == "digits-mlp" and best["status"] == "done"
    assert best["config"] == {"epochs": 3, "lr": 0.1, "hidden": 32}
    assert best["metrics"] == {"acc": 0.9, "loss": 0.2, "val/loss": 0.25}
    assert best["gpus"] == [0, 1] and best["rep"] == 0 and best["seed"] == 0 and best["attempt"] == 1
    assert best["executor"] == "daemon"
    assert best["exit_code"] == 0 and best["signal"] is None and best["error"] is None
    assert best["ended_at"] >= best["started_at"] and best["duration_s"] == pytest.approx(
        best["ended_at"] - best["started_at"]
    )
    failed = by_id[ids["failed"]]
    assert failed["status"] == "failed" and failed["exit_code"] == 1 and "lr [too] small" in failed["error"]
    cancelled = by_id[ids["cancelled"]]
    assert cancelled["signal"] == 15 and cancelled["metrics"] == {"acc": "nan"}  # NaN is not JSON: as the store has it
    queued = by_id[ids["queued"]]
    assert queued["status"] == "queued" and queued["started_at"] is None and queued["duration_s"] is None
    assert queued["gpus"] is None and queued["metrics"] == {} and queued["attempt"] == 0
    beta = by_id[ids["beta3"]]
    assert beta["experiment"] == "beta" and beta["recipe"] == "sleep" and beta["experiment_id"] != best["experiment_id"]
    assert {row["status"] for row in rows} == {"queued", "running", "done", "failed", "cancelled", "lost"}


def test_filters_by_experiment_name_or_id_and_by_status(populated):
    ids = populated.runs
    beta = results_json(populated, "--experiment", "beta")
    assert [row["id"] for row in beta] == [ids["beta3"], ids["beta5"]]
    done = results_json(populated, "-e", "alpha", "--status", "done")
    assert [row["id"] for row in done] == [ids["best"], ids["good"]]
    several = results_json(populated, "-s", "failed,lost", "-s", "queued")
    assert [row["status"] for row in several] == ["failed", "queued", "lost"]


def test_sort_by_a_final_metric_puts_runs_without_it_last(populated):
    ids = populated.runs
    desc = [row["id"] for row in results_json(populated, "--sort", "acc")]
    assert desc[:2] == [ids["best"], ids["good"]]
    assert set(desc[2:]) == set(ids.values()) - {ids["best"], ids["good"]}  # NaN counts as missing
    assert desc[2:] == sorted(desc[2:])  # ties keep submission order
    asc = [row["id"] for row in results_json(populated, "--sort", "-acc")]
    assert asc[:2] == [ids["good"], ids["best"]] and asc[2:] == desc[2:]
    page = results_json(populated, "--sort", "acc", "--asc", "--limit", "2", "--offset", "1")
    assert [row["id"] for row in page] == asc[1:3]


def test_sort_by_a_metric_of_only_some_selected_runs_works_and_one_of_none_is_refused(populated):
    ids = populated.runs
    # 'steps' is a final metric of beta's runs only: every alpha run goes last, in submission order.
    rows = results_json(populated, "--sort", "steps")
    assert [row["id"] for row in rows[:2]] == [ids["beta5"], ids["beta3"]]
    assert [row["id"] for row in rows[2:]] == sorted(set(ids.values()) - {ids["beta3"], ids["beta5"]})
    # Runs with no final metric at all have nothing to sort by, so any key will do; but a key that none
    # of the selected runs has, while they have others, is a typo.
    assert len(results_json(populated, "-s", "queued", "--sort", "acc")) == 1
    out = tuiflow("results", "--home", str(populated.home), "-e", "beta", "--sort", "acc")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == "tuiflow: error: no run selected has a final metric 'acc': sort by one of steps\n"


def test_limit_and_offset_page_in_submission_order(populated):
    every = sorted(populated.runs.values())
    assert [row["id"] for row in results_json(populated, "-n", "3", "--offset", "7")] == every[7:]


def test_csv_has_flat_config_and_metrics_columns(populated):
    out = tuiflow("results", "--csv", "--home", str(populated.home))
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    header = out.stdout.splitlines()[0].split(",")
    assert header[:5] == ["id", "experiment", "experiment_id", "recipe", "status"]
    assert "config" not in header and "metrics" not in header
    assert {"config.epochs", "config.lr", "config.hidden", "config.steps"} <= set(header)
    assert {"metrics.acc", "metrics.loss", "metrics.val/loss", "metrics.steps"} <= set(header)
    best = rows[0]
    assert best["config.lr"] == "0.1" and best["metrics.val/loss"] == "0.25" and best["gpus"] == "[0, 1]"
    assert best["config.steps"] == "" and rows[-1]["metrics.steps"] == "5" and rows[-1]["config.lr"] == ""
    assert len(rows) == len(populated.runs)


def test_table_fits_80_columns_and_shows_what_varies(populated):
    out = tuiflow("results", "--home", str(populated.home), "-e", "alpha", "--sort", "acc")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0].strip() == "7 runs"
    header = next(line for line in lines if " id " in f" {line} ")
    assert "lr" in header and "acc" in header and "status" in header
    assert "epochs" not in header and "hidden" not in header  # the same for every run: in the caption
    assert "epochs=3" in out.stdout and "experiment alpha" in out.stdout and "digits-mlp" in out.stdout
    everything = tuiflow("results", "--home", str(populated.home))
    lines = everything.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    # Two header lines: the groups (parameters, final metrics) over the columns' names.
    assert lines[2].split() == ["params", "metrics"] and "experiment" in lines[3]
    assert "beta" in everything.stdout and "cancelled" in everything.stdout
    assert "more columns: use --json or --csv" in everything.stdout


def test_an_empty_store_lists_no_runs(tmp_path):
    Store.open(tmp_path / "fresh").close()
    out = tuiflow("results", "--home", str(tmp_path / "fresh"))
    assert out.returncode == 0 and out.stdout.strip() == "no runs yet"


def test_home_comes_from_tuiflow_home_when_not_given(populated):
    out = tuiflow("results", "--json", env={"TUIFLOW_HOME": str(populated.home)})
    assert out.returncode == 0 and len(json.loads(out.stdout)) == len(populated.runs)


def test_lab_pages_and_counts_without_loading_everything(populated):
    with Store.open(populated.home) as store:
        assert lab.count_results(store) == len(populated.runs)
        assert lab.count_results(store, "alpha", ["done", "failed"]) == 3
        first = lab.results_page(store, limit=4).rows
        second = lab.results_page(store, limit=4, offset=4).rows
        assert [r["id"] for r in first + second] == sorted(populated.runs.values())[:8]
        assert [r["id"] for r in lab.iter_results(store, page_size=2)] == sorted(populated.runs.values())
        assert lab.results_page(store, sort="-acc", limit=1).rows[0]["id"] == populated.runs["best"]
        with pytest.raises(lab.ResultsError, match="no run selected has a final metric 'no-such-metric'"):
            lab.results_page(store, sort="-no-such-metric", limit=2)
        assert tuple(first[0]) == lab.RESULT_FIELDS


def test_varying_config_splits_what_differs_from_what_is_shared():
    varying, fixed = lab.varying_config(
        [{"a": 1, "b": [1], "c": 0}, {"a": 2, "b": [1], "c": 0, "d": 5}, {"a": 1, "b": [1]}]
    )
    assert varying == ["a", "c", "d"] and fixed == {"b": [1]}
    assert lab.varying_config([]) == ([], {})
