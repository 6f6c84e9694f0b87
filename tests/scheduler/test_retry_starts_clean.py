"""A retried run starts clean for readers (issue 10, point 5): its metric series, profile and final
metrics are those of the attempt under way; the earlier attempt's outcome stays readable with
`show --attempt N`, its series are not kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from daemon_helpers import lab_in


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from lab_in(tmp_path, monkeypatch, cpu_slots=2)


def test_a_run_cancelled_at_step_7_and_retried_has_10_values_not_17(home):
    home.start_daemon()
    [run] = home.submit(sets=["seconds=4", "steps=10"])
    home.wait_metric(run.id, "value", 7, timeout=30)
    home.cli("cancel", str(run.id))
    home.wait_status(run.id, "cancelled")
    home.wait_until(lambda: not home.store.gpu_holds() and home.cli("retry", str(run.id), check=False).returncode == 0,
                    20, "the retry to be accepted once the runner has exited")
    home.wait_status(run.id, "done", 30)
    assert len(home.store.metric_series(run.id, "value")) == 10
    exported = home.home / "out.json"
    home.cli("export", "--experiment", str(run.experiment_id), "--format", "json", "--output", str(exported))
    shown = json.loads(home.cli("show", str(run.id), "--json").stdout)
    assert shown["attempt"] == 2 and shown["summary"]["value"]["count"] == 10
    assert [a["attempt"] for a in shown["attempts"]] == [1] and shown["attempts"][0]["status"] == "cancelled"
    first = json.loads(home.cli("show", str(run.id), "--json", "--attempt", "1").stdout)
    assert first["status"] == "cancelled" and first["error"] == "cancelled by the user" and first["summary"] == {}
    missing = home.cli("show", str(run.id), "--attempt", "5", check=False)
    assert missing.returncode != 0 and "has no attempt 5" in missing.stderr and "Traceback" not in missing.stderr


def test_a_retried_run_waiting_in_the_queue_shows_no_old_final_metrics(home):
    home.start_daemon()
    [run] = home.submit(sets=["seconds=0.2", "steps=2"])
    home.wait_status(run.id, "done", 30)
    assert home.run(run.id).metrics == {"steps": 2, "seconds": 0.2}
    home.cli("pause")
    home.wait_until(lambda: home.cli("retry", str(run.id), check=False).returncode == 0, 20, "the retry")
    waiting = home.run(run.id)
    assert waiting.status == "queued" and waiting.metrics is None
    assert home.store.metric_series(run.id, "value").steps == [] and home.store.profile(run.id) == []
    results = json.loads(home.cli("results", "--json").stdout)
    rows = results["runs"] if isinstance(results, dict) else results
    assert [row.get("metrics") or {} for row in rows if row["id"] == run.id] == [{}]
