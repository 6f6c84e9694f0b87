"""What opening a Lab imports (issue 12): a client that only watches runs (the app's dashboard, `tuiflow
queue`) does not wait for the recipes, the pipeline engine, numpy, sqlite-utils or a framework; planning
brings the recipes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import tuiflow.recipes
from tuiflow import lab

ROOT = Path(__file__).resolve().parents[2]
LATER = ("tuiflow.recipes", "tuiflow.flow", "numpy", "sqlite_utils", "torch", "tensorflow", "ray")


def _loaded_after(code: str, home: Path) -> list[str]:
    probe = (f"import json, sys\nfrom tuiflow import lab\n{code}\n"
             f"print(json.dumps(sorted(m for m in {LATER!r} if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "TUIFLOW_HOME": str(home),
                                 "TUIFLOW_FAKE_GPUS": "2", "TUIFLOW_FAKE_GPUS_STATE": str(home.parent / "gpus")})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_watching_a_home_imports_no_recipes_engine_or_numpy(home: Path) -> None:
    with lab.open(home, create=True) as opened:
        opened.launch(opened.plan("sleep", overrides={"seconds": 0.1}), start_daemon=False)
    # What the app's dashboard reads on each poll, and `tuiflow queue`.
    watch = ("h = lab.open(missing_ok=True)\nh.data_version(); h.daemon_status(); h.snapshot(); h.gpu_holders()\n"
             "[row] = h.dashboard_runs(20); h.get_run(row.run.id); h.profile(row.run.id); h.metric_keys(row.run.id)")
    assert _loaded_after(watch, home) == []
    planned = _loaded_after("lab.open(missing_ok=True).plan('sleep')", home)
    assert planned == ["numpy", "tuiflow.flow", "tuiflow.recipes"]


def test_the_limits_a_client_reads_are_the_recipes() -> None:
    assert (lab.DEFAULT_LIMIT, lab.MAX_RUNS) == (tuiflow.recipes.DEFAULT_LIMIT, tuiflow.recipes.MAX_RUNS)
