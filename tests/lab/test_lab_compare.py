"""`Lab.compare` and `Lab.run_telemetry`: runs side by side against a baseline, and a run's own samples."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from compare_home import CONFIGS, FINAL, PROFILES, build

from tuiflow import lab


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    now = [0.0]
    monkeypatch.setattr(time, "time", lambda: now[0])  # the store stamps the data's fixed times
    path = tmp_path / "home"
    build(path, lambda t: now.__setitem__(0, t)).close()
    monkeypatch.undo()
    return path


def test_runs_in_order_with_differing_params_metrics_and_profile_ratios(home: Path) -> None:
    with lab.open(home) as opened:
        comparison = opened.compare([1, 2, 3])
    assert comparison.ids == (1, 2, 3) and comparison.baseline == 1
    assert comparison.params == ("lr", "model", "epochs", "batch_size")
    assert comparison.differing == ("lr", "model")
    assert comparison.param("lr") == (0.001, 0.003, 0.01)
    assert comparison.metrics == ("accuracy", "loss")
    assert comparison.metric("accuracy") == (FINAL[1]["accuracy"], FINAL[2]["accuracy"], None)
    # run 1's slowest first
    assert [row.action for row in comparison.profile] == ["train_model #2", "load #1", "update #3"]
    times = {run: dict(PROFILES[run]) for run in (1, 2, 3)}
    for row in comparison.profile:
        assert row.totals == tuple(times[run].get(row.action) for run in (1, 2, 3))
        expected = [None if times[run].get(row.action) is None else times[run][row.action] / times[1][row.action]
                    for run in (1, 2, 3)]
        assert row.ratios == pytest.approx(expected)
    load = next(row for row in comparison.profile if row.action == "load #1")
    assert load.ratios[1] == pytest.approx(2.1)
    assert comparison.profile_totals == pytest.approx([sum(times[run].values()) for run in (1, 2, 3)])
    assert comparison.runs[2].status == "failed" and comparison.runs[2].error.startswith("RuntimeError")
    data = comparison.to_dict()
    assert data["differing"] == ["lr", "model"] and data["params"]["model"] == ["VGG", "VGG", "ResNet"]
    assert data["profile"][1]["ratio"][1] == pytest.approx(2.1)


def test_baseline_comes_first_and_ratios_are_against_it(home: Path) -> None:
    with lab.open(home) as opened:
        comparison = opened.compare([1, 3], baseline=2)
    assert comparison.ids == (2, 1, 3) and comparison.baseline == 2
    load = next(row for row in comparison.profile if row.action == "load #1")
    assert load.ratios == pytest.approx([1.0, 10.0 / 21.0, 5.0 / 21.0])


def test_runs_of_other_recipes_and_repeated_ids(home: Path) -> None:
    with lab.open(home) as opened:
        comparison = opened.compare([4, 1, 4])
    assert comparison.ids == (4, 1)
    assert set(comparison.differing) == {"seconds", *CONFIGS[1]}  # a key one run lacks differs
    assert comparison.profile_totals[0] is None  # run 4 profiled nothing
    assert all(row.ratios[1] is None for row in comparison.profile)


def test_unknown_run_and_no_runs_are_lab_errors(home: Path) -> None:
    with lab.open(home) as opened:
        with pytest.raises(lab.LabError, match="99"):
            opened.compare([1, 99])
        with pytest.raises(lab.LabError, match="at least one"):
            opened.compare([])


def test_run_telemetry_is_the_runs_own_samples_over_its_life(home: Path) -> None:
    with lab.open(home) as opened:
        series = opened.run_telemetry(1)
        run = opened.get_run(1)
        short = opened.run_telemetry(1, max_points=10)
        unsampled = opened.run_telemetry(4)
    assert set(series) == {"cpu_percent", "rss_mb", "gpu_memory_mb"}
    times = [t for t, _ in series["rss_mb"]]
    assert times and times == sorted(times) and run.started_at <= times[0] and times[-1] <= run.ended_at
    assert series["rss_mb"][0][1] == 510.0 and series["gpu_memory_mb"][0][1] == 2050.0
    assert 0 < len(short["cpu_percent"]) <= 10
    assert unsampled == {"cpu_percent": [], "rss_mb": [], "gpu_memory_mb": []}
