"""`tuiflow recipes` and `tuiflow run --foreground`, as a user types them, in real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tuiflow.store import Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Every test's runs go to a store of its own."""
    monkeypatch.setenv("TUIFLOW_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def tuiflow(*args: str, cwd: Path | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tuiflow", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout)


def test_recipes_json_lists_every_recipe_with_its_parameters():
    result = tuiflow("recipes", "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    by_name = {item["name"]: item for item in listed}
    assert {"digits-mlp", "digits-cnn", "images-augment", "segmentation-unet", "sleep"} <= set(by_name)
    mlp = by_name["digits-mlp"]
    assert set(mlp) == {"name", "description", "file", "params", "requires"}
    assert mlp["description"] == "MLP on scikit-learn's 8x8 digits"
    assert mlp["params"]["framework"] == {"default": "torch", "type": "str", "choices": ["torch", "tf"],
                                          "help": "the library that builds and trains the network: PyTorch or "
                                                  "TensorFlow"}
    assert mlp["requires"] == [{"needs": "tuiflow[torch]", "param": "framework", "value": "torch"},
                               {"needs": "tuiflow[tf]", "param": "framework", "value": "tf"}]
    assert by_name["sleep"]["params"]["seconds"]["unit"] == "s" and "requires" not in by_name["sleep"]
    assert mlp["params"]["lr"]["type"] == "float" and mlp["params"]["hidden"]["type"] == "int"
    assert Path(mlp["file"]).is_file()


def test_a_broken_recipe_file_is_a_warning_and_the_rest_are_listed(tmp_path):
    (tmp_path / "broken.py").write_text("import nothing_of_that_name\n")
    (tmp_path / "fine.py").write_text("from tuiflow import recipe\n\n@recipe(name='fine')\ndef fine(run):\n"
                                      "    return {'ok': 1}\n")
    result = tuiflow("recipes", "--json", "--recipes", str(tmp_path))
    assert result.returncode == 0
    assert "fine" in {item["name"] for item in json.loads(result.stdout)}
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"tuiflow: warning: {tmp_path / 'broken.py'}: ModuleNotFoundError")
    table = tuiflow("recipes", "--recipes", str(tmp_path))
    assert table.returncode == 0 and "fine" in table.stdout and "digits-mlp" in table.stdout


def test_run_foreground_prints_the_outcome():
    result = tuiflow("run", "sleep", "--set", "seconds=0.1", "--set", "steps=3", "--foreground", "--json")
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)
    assert report["status"] == "done"
    assert report["metrics"] == {"steps": 3, "seconds": 0.1}
    assert report["config"]["steps"] == 3 and report["config"]["fail"] == "no"


@pytest.mark.parametrize(("args", "message"), [
    (["run", "sleep", "--set", "secs=1", "--foreground"], "recipe 'sleep' has no parameter 'secs'"),
    (["run", "sleep", "--set", "steps=many", "--foreground"], "parameter 'steps': expected an integer"),
    (["run", "sleep", "--set", "fail=sometimes", "--foreground"], "'sometimes' is not one of"),
    (["run", "nope", "--foreground"], "no recipe named 'nope'"),
    (["run", "sleep", "--detach", "--wait"], "choose one of --detach, --wait and --foreground"),
    (["run", "sleep", "--gpus", "7"], "--gpus: GPU 7 does not exist"),
    (["run", "sleep", "--grid", "steps=", "--foreground"], "expected key=v1,v2"),
    (["run", "sleep", "--grid", "steps=1,x", "--foreground"], "parameter 'steps': expected an integer, got 'x'"),
    (["run", "sleep", "--grid", "stepz=1,2", "--foreground"], "has no parameter 'stepz'"),
    (["run", "sleep", "--reps", "0", "--foreground"], "--reps must be a whole number from 1 to 100,000, not 0"),
    (["run", "sleep", "--grid", "steps=" + ",".join(map(str, range(1, 1002))), "--foreground"],
     "expands to 1,001 runs, more than 1,000; add --yes"),
    (["run", "sleep", "--set", "seconds=inf", "--foreground"], "parameter 'seconds': expected a finite number"),
    (["run", "sleep", "--name", "42", "--foreground"], "experiment name '42' reads as an id"),
    (["run", "sleep", "--name", "exp:3", "--foreground"], "experiment name 'exp:3' reads as an id"),
    (["run"], "name a recipe (see `tuiflow recipes`), or a run to run again with --from RUN"),
    # click's own errors, told the same way rather than as a four-line usage block
    (["run", "sleep", "--sett", "seconds=1"], "tuiflow run: No such option: --sett"),
    (["run", "sleep", "--reps", "many"], "tuiflow run: Invalid value for '--reps'"),
    (["rn", "sleep"], "No such command 'rn'"),
])
def test_user_errors_are_one_line_and_exit_code_2(args, message, home):
    result = tuiflow(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("tuiflow: error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not home.exists()  # everything is checked before the home and its store are created


def test_a_bare_command_group_still_prints_its_help():
    for args in ([], ["daemon"]):
        result = tuiflow(*args)
        assert result.returncode == 2
        assert result.stderr.startswith("Usage: ") and "Commands:" in result.stderr and "error" not in result.stderr


def test_a_failing_recipe_keeps_its_traceback(home):
    result = tuiflow("run", "sleep", "--set", "fail=raise", "--foreground", "--json")
    assert result.returncode == 1
    (report,) = json.loads(result.stdout)
    assert report["status"] == "failed"
    assert report["error"] == "RuntimeError: the sleep recipe was told to fail"
    log = Path(report["log_path"]).read_text()
    assert "Traceback (most recent call last)" in log and "RuntimeError: the sleep recipe was told to fail" in log
    with Store.open(home) as store:
        assert "raise RuntimeError" in store.get_run(report["id"]).traceback


@pytest.mark.parametrize("framework", ["torch", "tf"])
def test_digits_mlp_reaches_its_accuracy_with_defaults(framework, home):
    result = tuiflow("run", "digits-mlp", "--set", f"framework={framework}", "--foreground", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    (report,) = json.loads(result.stdout)
    assert report["metrics"]["accuracy"] >= 0.9
    with Store.open(home) as store:
        profile = store.profile(report["id"])
        series = store.metric_series(report["id"], "accuracy")
    train = next(r for r in profile if r.action == "train_model #1")
    assert train.calls == 8 * 23  # every epoch: 1,437 training digits in batches of 64, 8 epochs
    assert series.steps == list(range(1, 9)) and series.values[-1] == report["metrics"]["accuracy"]


@pytest.mark.parametrize(("recipe", "sets", "metric", "floor"), [
    ("digits-cnn", ["epochs=3"], "accuracy", 0.8),
    ("digits-cnn", ["epochs=3", "arch=ResNet", "framework=tf"], "accuracy", 0.8),
    ("segmentation-unet", [], "iou", 0.8),
    ("segmentation-unet", ["framework=tf"], "iou", 0.8),
])
def test_training_recipes_reach_a_real_result(recipe, sets, metric, floor):
    args = [arg for pair in (("--set", s) for s in sets) for arg in pair]
    result = tuiflow("run", recipe, *args, "--foreground", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)[0]["metrics"][metric] >= floor


def test_a_run_on_simulated_gpus_computes_on_the_cpu(tmp_path, monkeypatch):
    # TUIFLOW_FAKE_GPUS hands out GPUs no framework can use: with run.device "cuda:0" every
    # training recipe failed ("gpu:0 is not visible (torch sees 0 GPUs)").
    (tmp_path / "where.py").write_text("from tuiflow import recipe\n\n@recipe(name='where')\ndef where(run):\n"
                                       "    return {'device': run.device, 'gpus': run.gpus}\n")
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "2")
    result = tuiflow("run", "where", "--recipes", str(tmp_path), "--gpus", "1", "--foreground", "--json")
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)
    assert report["gpus"] == [1]
    assert report["metrics"] == {"device": "cpu", "gpus": [1]}


def test_foreground_runs_get_the_gpus_asked_for(monkeypatch):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "2")
    result = tuiflow("run", "sleep", "--set", "seconds=0", "--gpus", "1", "--foreground", "--json")
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)
    assert report["gpus"] == [1]
    assert "CUDA_VISIBLE_DEVICES='1'" in Path(report["log_path"]).read_text()
    monkeypatch.delenv("TUIFLOW_FAKE_GPUS")
    (cpu,) = json.loads(tuiflow("run", "sleep", "--set", "seconds=0", "--foreground", "--json").stdout)
    assert cpu["gpus"] == [] and "CUDA_VISIBLE_DEVICES=''" in Path(cpu["log_path"]).read_text()
