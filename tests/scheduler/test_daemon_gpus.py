"""GPU placement with real runners on fake GPUs (TUIFLOW_FAKE_GPUS=2): runs never share a GPU beyond
--per-gpu, --gpus restricts where they go, an impossible --gpus fails at submission, and the runner
sees exactly its GPUs in CUDA_VISIBLE_DEVICES."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from daemon_helpers import Lab, lab_in, overlaps, runner_line

from tuiflow.store import FINAL_STATUSES

FINAL = FINAL_STATUSES


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "2")
    yield from lab_in(tmp_path, monkeypatch, cpu_slots=8)


def _submit(home: Lab, *args: str) -> list[int]:
    result = home.cli("run", "sleep", *args, "--detach", "--json")
    return [row["id"] for row in json.loads(result.stdout)]


def _most_at_once(runs, gpu: int) -> int:
    """The most runs that held ``gpu`` at one moment (checked at every start)."""
    on_gpu = [r for r in runs if gpu in r.gpus]
    return max((sum(1 for r in on_gpu if r.started_at <= s.started_at < r.ended_at) for s in on_gpu), default=0)


def test_one_run_per_gpu_never_overlap_on_a_gpu(home):
    home.start_daemon()
    ids = _submit(home, "--set", "seconds=0.3", "--set", "steps=2", "--reps", "8", "--per-gpu", "1")
    runs = home.wait_all_final(ids, 90)
    assert [r.status for r in runs] == ["done"] * 8
    assert all(len(r.gpus) == 1 for r in runs)
    for a, b in itertools.combinations(runs, 2):
        if set(a.gpus) & set(b.gpus):
            assert not overlaps(a, b), f"runs {a.id} and {b.id} held GPU {a.gpus} at the same time"
    assert {g for r in runs for g in r.gpus} == {0, 1}  # both GPUs were used
    for run in runs:
        line = runner_line(home.log(run.id))
        assert f"CUDA_VISIBLE_DEVICES='{run.gpus[0]}'" in line


def test_two_runs_per_gpu_at_most_two_at_once(home):
    home.start_daemon()
    ids = _submit(home, "--set", "seconds=1.5", "--set", "steps=3", "--reps", "8", "--per-gpu", "2")
    runs = home.wait_all_final(ids, 90)
    assert [r.status for r in runs] == ["done"] * 8
    most = {gpu: _most_at_once(runs, gpu) for gpu in (0, 1)}
    assert all(1 <= n <= 2 for n in most.values()), most
    assert max(most.values()) == 2  # they did pack: 1.5 s runs started within a few ticks of each other


def test_gpus_restriction_puts_every_run_on_the_allowed_gpu(home):
    home.start_daemon()
    ids = _submit(home, "--set", "seconds=0.2", "--set", "steps=1", "--reps", "3", "--gpus", "1")
    runs = home.wait_all_final(ids, 60)
    assert [r.status for r in runs] == ["done"] * 3
    assert [r.gpus for r in runs] == [[1]] * 3
    assert all(r.gpus_allowed == [1] for r in runs)
    for a, b in itertools.combinations(runs, 2):
        assert not overlaps(a, b)
    assert all("CUDA_VISIBLE_DEVICES='1'" in runner_line(home.log(r.id)) for r in runs)


def test_gpus_that_do_not_exist_fail_at_submission_with_one_line_and_store_nothing(home):
    result = home.cli("run", "sleep", "--gpus", "5", check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.search(r"GPU 5 does not exist: this machine has GPUs 0, 1", lines[0])
    assert "Traceback" not in result.stderr + result.stdout
    assert home.store.list_experiments() == [] and home.store.list_runs() == []
    assert home.daemon_pid() is None  # nothing to run, so no daemon was started for it


@pytest.mark.parametrize("command", [["run", "sleep"], ["gpus"], ["daemon", "start"]])
def test_a_malformed_fake_gpus_variable_is_one_line_and_starts_nothing(home, command):
    home.env["TUIFLOW_FAKE_GPUS"] = "four"
    result = home.cli(*command, check=False, timeout=30)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("tuiflow: error: TUIFLOW_FAKE_GPUS='four': not a count nor valid JSON")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert home.store.list_runs() == [] and home.daemon_pid() is None


def test_a_cpu_only_run_sees_no_gpus_and_a_two_gpu_run_sees_both(home):
    home.start_daemon()
    [cpu] = _submit(home, "--set", "seconds=0", "--set", "steps=1", "--gpus", "none")
    [both] = _submit(home, "--set", "seconds=0", "--set", "steps=1", "--num-gpus", "2")
    cpu_run, both_run = home.wait_all_final([cpu, both], 60)
    assert (cpu_run.status, both_run.status) == ("done", "done")
    assert cpu_run.gpus == [] and both_run.gpus == [0, 1]
    assert "CUDA_VISIBLE_DEVICES=''" in runner_line(home.log(cpu))
    assert "CUDA_VISIBLE_DEVICES='0,1'" in runner_line(home.log(both))


def test_tuiflow_gpus_sees_the_daemons_runs_on_simulated_gpus_without_a_state_folder(home):
    """Simulated GPUs keep their registry of run processes in the home, so `tuiflow gpus` (another
    process) shows the memory and pid of a run the daemon started, as nvidia-smi would."""
    del home.env["TUIFLOW_FAKE_GPUS_STATE"]
    home.start_daemon()
    [run_id] = _submit(home, "--set", "seconds=30", "--set", "steps=30", "--gpus", "1")
    home.wait_metric(run_id, "value", 1)
    pid = home.run(run_id).pid
    report = json.loads(home.cli("gpus", "--json").stdout)
    gpu0, gpu1 = report["gpus"]
    assert gpu1["runs"] == [run_id] and [p[0] for p in gpu1["processes"]] == [pid]  # (pid, memory_mb)
    assert gpu1["memory_used_mb"] > 0 and gpu0["processes"] == [] and gpu0["memory_used_mb"] == 0
    home.cli("cancel", str(run_id))
