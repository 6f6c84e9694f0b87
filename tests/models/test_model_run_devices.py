"""`run.devices`: a run given two GPUs by the scheduler splits its model over both.

The GPUs are simulated (TUIFLOW_FAKE_GPUS), so the same config runs on two CPU replicas; a real
`tuiflow run --num-gpus 2 --foreground` in a subprocess, as a user types it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tuiflow.recipes.run import Run

ROOT = Path(__file__).resolve().parents[2]


def tuiflow(*args: str, home: Path, fake_gpus: str = "2") -> subprocess.CompletedProcess:
    env = {**__import__("os").environ, "TUIFLOW_HOME": str(home), "TUIFLOW_FAKE_GPUS": fake_gpus,
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "tuiflow", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600, env=env)


def test_run_devices_names_every_gpu_given(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    monkeypatch.setenv("TUIFLOW_DEVICE", "cuda:0")
    assert Run({}).devices == ["cuda:0", "cuda:1"]  # as the run sees them: from 0
    monkeypatch.setenv("TUIFLOW_DEVICE", "cpu")  # simulated GPUs
    assert Run({}).devices == ["cpu", "cpu"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert Run({}).devices == ["cpu"]


def test_a_recipe_given_two_simulated_gpus_sees_two_cpu_devices(tmp_path):
    (tmp_path / "where.py").write_text(
        "from tuiflow import recipe\n\n@recipe(name='where-all')\ndef where(run):\n"
        "    return {'devices': run.devices, 'gpus': run.gpus}\n"
    )
    result = tuiflow("run", "where-all", "--recipes", str(tmp_path), "--num-gpus", "2", "--foreground", "--json",
                     home=tmp_path / "home")
    assert result.returncode == 0, result.stderr[-2000:]
    (report,) = json.loads(result.stdout)
    assert report["gpus"] == [0, 1]
    assert report["metrics"] == {"devices": ["cpu", "cpu"], "gpus": [0, 1]}


def test_the_digits_recipe_trains_on_both_gpus_it_is_given(tmp_path):
    # TF, the stricter framework: its two logical CPUs must be made before TF starts, in the runner
    # (torch's split is the same config; tests/models/test_model_devices.py trains both frameworks)
    framework = "tf"
    result = tuiflow("run", "digits-mlp", "--set", f"framework={framework}", "--set", "epochs=3", "--num-gpus", "2",
                     "--foreground", "--json", home=tmp_path / "home")
    assert result.returncode == 0, result.stderr[-2000:]
    (report,) = json.loads(result.stdout)
    assert report["gpus"] == [0, 1]
    assert f"{framework} model on ['cpu', 'cpu']" in Path(report["log_path"]).read_text()
    assert report["metrics"]["accuracy"] > 0.9
