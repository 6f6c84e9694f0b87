"""`tuiflow export`: results rows and metric series as JSON, CSV and parquet files."""

from __future__ import annotations

import csv
import json
import os

import pytest
from results_data import tuiflow

SERIES_COUNT = 11  # run 'best' logged acc and loss at 5 steps, val/loss once


def export(populated, *args: str, env: dict[str, str] | None = None):
    return tuiflow("export", "--home", str(populated.home), *args, env=env)


def test_json_to_stdout_holds_runs_and_metric_series(populated):
    out = export(populated, "--format", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert set(doc) == {"runs", "metrics"}
    assert [row["id"] for row in doc["runs"]] == sorted(populated.runs.values())
    assert doc["runs"][0]["metrics"] == {"acc": 0.9, "loss": 0.2, "val/loss": 0.25}
    assert len(doc["metrics"]) == SERIES_COUNT
    assert doc["metrics"][0] == {"run_id": populated.runs["best"], "key": "acc", "step": 0, "value": 0.5,
                                 "time": doc["metrics"][0]["time"]}  # fmt: skip
    assert [m["step"] for m in doc["metrics"] if m["key"] == "loss"] == [0, 1, 2, 3, 4]


def test_json_to_a_file_filtered_without_series(populated, tmp_path):
    target = tmp_path / "beta.json"
    out = export(populated, "-F", "json", "-e", "beta", "--no-metrics-series", "-o", str(target))
    assert out.returncode == 0 and out.stdout == ""
    assert out.stderr == f"tuiflow: exported 2 runs to {target}\n"
    doc = json.loads(target.read_text())
    assert set(doc) == {"runs"} and [row["experiment"] for row in doc["runs"]] == ["beta", "beta"]


def test_csv_files_for_runs_and_series(populated, tmp_path):
    target = tmp_path / "runs.csv"
    out = export(populated, "--format", "csv", "--output", str(target), "--status", "done")
    assert out.returncode == 0, out.stderr
    series_file = tmp_path / "runs-metrics.csv"
    assert out.stderr == f"tuiflow: exported 4 runs and {SERIES_COUNT} metric values to {target} and {series_file}\n"
    runs = list(csv.DictReader(target.open()))
    assert [row["status"] for row in runs] == ["done"] * 4
    assert runs[0]["config.lr"] == "0.1" and runs[0]["metrics.acc"] == "0.9" and runs[3]["metrics.steps"] == "5"
    series = list(csv.DictReader(series_file.open()))
    assert list(series[0]) == ["run_id", "key", "step", "value", "time"] and len(series) == SERIES_COUNT
    assert series[-1]["key"] == "val/loss" and float(series[-1]["value"]) == 0.25


def test_csv_to_stdout_is_the_runs_only(populated):
    out = export(populated, "--format", "csv", "-e", "alpha")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("id,experiment,") and len(out.stdout.splitlines()) == 8
    asked = export(populated, "--format", "csv", "--metrics")
    assert asked.returncode == 2 and asked.stderr.startswith("tuiflow: error: CSV metric series go to a second file")


def test_parquet_files_for_runs_and_series(populated, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    target = tmp_path / "all.parquet"
    out = export(populated, "--format", "parquet", "--output", str(target))
    assert out.returncode == 0, out.stderr
    runs = pq.read_table(target).to_pylist()
    assert [row["id"] for row in runs] == sorted(populated.runs.values())
    assert runs[0]["experiment"] == "alpha" and runs[0]["config.lr"] == 0.1 and runs[0]["gpus"] == [0, 1]
    assert runs[0]["metrics.val/loss"] == 0.25 and runs[-1]["config.steps"] == 5 and runs[0]["config.steps"] is None
    series = pq.read_table(tmp_path / "all-metrics.parquet")
    assert series.column_names == ["run_id", "key", "step", "value", "time"] and series.num_rows == SERIES_COUNT
    empty = export(populated, "-F", "parquet", "-o", str(tmp_path / "none.parquet"), "-s", "queued")
    assert empty.returncode == 0, empty.stderr
    assert pq.read_table(tmp_path / "none-metrics.parquet").num_rows == 0
    assert pq.read_table(tmp_path / "none.parquet").to_pylist()[0]["status"] == "queued"


def test_parquet_without_pyarrow_says_how_to_get_it(populated, tmp_path):
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pyarrow.py").write_text("raise ImportError('No module named pyarrow')\n")
    path = os.pathsep.join(p for p in (str(shadow), os.environ.get("PYTHONPATH", "")) if p)
    out = export(populated, "-F", "parquet", "-o", str(tmp_path / "x.parquet"), env={"PYTHONPATH": path})
    assert out.returncode == 2 and out.stdout == "" and not (tmp_path / "x.parquet").exists()
    assert out.stderr == "tuiflow: error: parquet export needs pyarrow: pip install pyarrow\n"


@pytest.mark.parametrize(("args", "message"), [
    (["-F", "xml"], "unknown export format 'xml': use one of csv, json, parquet"),
    (["-F", "parquet"], "parquet export needs a file: add --output FILE"),
    (["-F", "json", "-e", "gamma"], "no experiment 'gamma' in "),
    (["-F", "json", "-o", "/nonexistent-dir/x.json"], "cannot write /nonexistent-dir/x.json: No such file"),
])  # fmt: skip
def test_export_errors_are_one_line(populated, args, message):
    out = export(populated, *args)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith(f"tuiflow: error: {message}") and out.stderr.count("\n") == 1
