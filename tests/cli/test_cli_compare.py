"""`tuiflow compare RUN RUN...`: the differing parameters (all with --all), final metrics and time per
action with ratios to the baseline, as tables or JSON; an unknown run is one line and exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from compare_home import CONFIGS, PROFILES, build

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compare") / "home"
    build(path).close()
    return path


def tuiflow(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tuiflow", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=60, env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1"})


def row(out: str, name: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if line.split()[:1] == [name])


def test_tables_show_differing_params_metrics_and_ratios(home: Path) -> None:
    out = tuiflow("compare", "1", "2", "3", "--home", str(home))
    assert out.returncode == 0, out.stderr
    assert row(out.stdout, "lr") == ["lr", "0.001", "0.003", "0.01"]
    assert row(out.stdout, "model") == ["model", "VGG", "VGG", "ResNet"]
    assert not any(line.split()[:1] in (["epochs"], ["batch_size"]) for line in out.stdout.splitlines())
    assert row(out.stdout, "accuracy") == ["accuracy", "0.952", "0.961", "-"]
    times = {run: dict(PROFILES[run]) for run in PROFILES}
    load = row(out.stdout, "load")
    assert load == ["load", "10.0s", "21.0s", f"{times[2]['load #1'] / times[1]['load #1']:.2f}x", "5.0s",
                    f"{times[3]['load #1'] / times[1]['load #1']:.2f}x"]
    every = tuiflow("compare", "1", "2", "3", "--all", "--home", str(home))
    assert all(row(every.stdout, key) for key in CONFIGS[1])


def test_baseline_and_json(home: Path) -> None:
    out = tuiflow("compare", "1", "3", "--baseline", "2", "--json", "--home", str(home))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [run["id"] for run in data["runs"]] == [2, 1, 3] and data["baseline"] == 2
    assert data["differing"] == ["lr", "model"]
    load = next(row for row in data["profile"] if row["action"] == "load #1")
    assert load["total_s"] == [21.0, 10.0, 5.0]
    assert load["ratio"] == pytest.approx([1.0, 10 / 21, 5 / 21])


def test_an_unknown_run_is_one_line(home: Path) -> None:
    out = tuiflow("compare", "1", "99", "--home", str(home))
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("tuiflow: error: no run 99") and out.stderr.count("\n") == 1
