"""`tuiflow show RUN_ID`: everything about one run, as JSON and as panels."""

from __future__ import annotations

import json
import re

from results_data import tuiflow

SHOW_FIELDS = {
    "id", "experiment", "experiment_id", "recipe", "status", "config", "metrics", "gpus", "gpus_requested",
    "host", "pid", "created_at", "started_at", "ended_at", "heartbeat_at", "duration_s", "exit_code", "signal",
    "error", "traceback", "log_path", "attempt", "retries", "progress_done", "progress_total", "eta_s",
    "summary", "profile",
}  # fmt: skip


def show_json(populated, name: str) -> dict:
    out = tuiflow("show", str(populated.runs[name]), "--json", "--home", str(populated.home))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_json_holds_the_record_the_series_summary_and_the_profile(populated):
    run = show_json(populated, "best")
    assert set(run) >= SHOW_FIELDS
    assert run["id"] == populated.runs["best"] and run["experiment"] == "alpha" and run["recipe"] == "digits-mlp"
    assert run["status"] == "done" and run["host"] == "gpu-box" and run["pid"] == 4242 and run["gpus"] == [0, 1]
    assert run["log_path"] == str(populated.log) and run["progress_done"] == 10 and run["progress_total"] == 10
    assert run["config"] == {"epochs": 3, "lr": 0.1, "hidden": 32}
    assert run["metrics"] == {"acc": 0.9, "loss": 0.2, "val/loss": 0.25}
    assert run["summary"] == {
        "acc": {"count": 5, "first_step": 0, "last_step": 4, "last_value": 0.9, "min": 0.5, "max": 0.9},
        "loss": {"count": 5, "first_step": 0, "last_step": 4, "last_value": 0.2, "min": 0.2, "max": 1.0},
        "val/loss": {"count": 1, "first_step": 4, "last_step": 4, "last_value": 0.25, "min": 0.25, "max": 0.25},
    }
    assert [row["action"] for row in run["profile"]] == ["train", "load"]  # slowest first
    assert run["profile"][0] == {"pipeline": 0, "action": "train", "name": "train", "calls": 5, "total_s": 2.0,
                                 "first_s": None, "mean_s": 0.4, "max_s": 0.5, "cpu_s": 1.9, "steady_calls": 5,
                                 "steady_s": 2.0, "share": 0.8}  # fmt: skip


def test_json_of_a_failed_run_has_its_error_and_traceback(populated):
    run = show_json(populated, "failed")
    assert run["status"] == "failed" and run["exit_code"] == 1
    assert run["error"] == "ValueError: lr [too] small" and run["traceback"].startswith("Traceback")
    assert run["summary"] == {} and run["profile"] == [] and run["metrics"] == {}


def test_panels_show_record_config_metrics_series_profile_and_error(populated):
    out = tuiflow("show", str(populated.runs["best"]), "--home", str(populated.home))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert f"run {populated.runs['best']} · experiment alpha · recipe digits-mlp" in text
    for expected in ("gpu-box", "4242", "[0, 1] (asked 1)", "10 / 10", "config", "final metrics",
                     "val/loss", "metric series", "0..4", "profile: where the time goes", "train", "load"):  # fmt: skip
        assert expected in text, expected
    # The log's path is folded over lines where it is longer than the panel (a deep temporary folder).
    assert str(populated.log) in re.sub(r"\s*│\s*|\n", "", text)
    failed = tuiflow("show", str(populated.runs["failed"]), "--home", str(populated.home))
    assert failed.returncode == 0, failed.stderr
    # Rich markup in user text is shown as typed, never interpreted.
    assert "ValueError: lr [too] small" in failed.stdout and "Traceback (most recent call last)" in failed.stdout
