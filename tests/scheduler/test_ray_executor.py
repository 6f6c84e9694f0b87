"""The daemon with ``--executor ray`` on a real local Ray instance (two CPUs, two logical GPUs):
placement, write-back into the store, cancel, failures, a daemon killed and restarted, a Ray worker
killed. One Ray instance and one home serve the whole module (Ray takes seconds to start)."""

from __future__ import annotations

import json
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from daemon_helpers import Lab, alive, overlaps, runner_line, wait_gone
from ray_cluster import RayCluster, start_ray_head, wait_for

from tuiflow import lab
from tuiflow.errors import LabError

pytestmark = pytest.mark.ray

FINAL = ("done", "failed", "cancelled", "lost")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    cluster = start_ray_head(num_cpus=2, num_gpus=2)
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def ray_home(ray_cluster: RayCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    home = Lab(tmp_path_factory.mktemp("ray") / "home")
    home.ray_address = ray_cluster.address  # type: ignore[attr-defined]
    # The first daemon as a user starts it; later ones (after a test killed one) as the helper does.
    started = home.cli("daemon", "start", "--executor", "ray", "--address", ray_cluster.address, "--num-cpus", "0.5")
    assert "daemon started" in started.stdout
    status = json.loads(home.cli("daemon", "status", "--json").stdout)
    assert status["running_daemon"] and status["executor"] == "ray"
    yield home
    home.cleanup()


@pytest.fixture
def home(ray_home: Lab) -> Lab:
    """The module's home with its Ray daemon serving (started again when a test killed it)."""
    if ray_home.daemon_pid() is None:
        start_ray_daemon(ray_home)
    return ray_home


def start_ray_daemon(home: Lab) -> Any:
    # Half a CPU per run: the two logical GPUs, not the two CPUs, are what limits the runs at once.
    return home.start_daemon(0.05, "--executor", "ray", "--address", home.ray_address, "--num-cpus", "0.5")


def runner_of(home: Lab, run_id: int) -> psutil.Process:
    run = home.wait_until(lambda: (r := home.run(run_id)).pid and r.node and r, 60, f"run {run_id} placed by Ray")
    return psutil.Process(run.pid)


def logged(home: Lab, run_id: int, text: str) -> str:
    """The run's log once it holds ``text`` (its last lines reach the head a moment after its end)."""
    return home.wait_until(lambda: (log := home.log(run_id).decode("utf-8", "replace")) and text in log and log,
                           10, f"{text!r} in the log of run {run_id}")


def test_ray_places_runs_on_distinct_gpus_and_their_records_land_in_the_store(home: Lab) -> None:
    runs = home.submit("sleep", sets=["seconds=1.5", "steps=3"], reps=4, gpus=1)
    [images] = home.submit("images-augment", sets=["images=16", "size=64", "out=32", "batch_size=8", "epochs=1",
                                                   "prefetch=0"])
    ended = home.wait_all_final([r.id for r in runs] + [images.id], timeout=120)
    assert [r.status for r in ended] == ["done"] * 5, [(r.id, r.status, r.error) for r in ended]

    sleepers = ended[:4]
    for run in sleepers:
        assert run.host == socket.gethostname() and run.node and run.executor == "daemon"
        assert len(run.gpus) == 1 and run.gpus[0] in (0, 1)
        line = runner_line(logged(home, run.id, f"run {run.id} done").encode())
        assert f"CUDA_VISIBLE_DEVICES='{run.gpus[0]}'" in line  # Ray's id, as the run saw it
        assert run.metrics == {"steps": 3, "seconds": 1.5}
        assert home.store.metric_series(run.id, "value").values == [0.0, 1.0, 4.0]
        assert home.store.get_run(run.id).progress_done == 3
    # Never more than the two GPUs at once, and never one GPU twice at once.
    for run in sleepers:
        alongside = [o for o in sleepers if o.id != run.id and overlaps(o, run)]
        assert len(alongside) <= 1, [(o.id, o.started_at, o.ended_at) for o in sleepers]
        assert all(o.gpus != run.gpus for o in alongside)
    assert home.store.gpu_holds() == []  # Ray's resources are the allocator: no local holds

    rows = {row.action: row for row in home.store.profile(images.id)}
    assert rows["load #1"].calls == 2 and all(row.total_s >= 0 for row in rows.values())
    done = ended[4]
    assert done.gpus == [] and done.node and done.metrics["images"] == 16
    # The CLI reads them as it reads local runs.
    shown = json.loads(home.cli("show", str(sleepers[0].id), "--json").stdout)
    assert shown["node"] == sleepers[0].node and shown["status"] == "done"
    assert "slept 1.5 s in 3 steps" in home.cli("logs", str(sleepers[0].id)).stdout


def test_ray_cancel_stops_the_runner_and_everything_it_started(home: Lab) -> None:
    [run] = home.submit("sleep", sets=["seconds=120", "steps=120", "children=2"], gpus=1)
    runner = runner_of(home, run.id)
    kids = wait_for(lambda: len(runner.children()) == 2 and runner.children(), 30, "the recipe's two children")
    pids = [runner.pid, *(kid.pid for kid in kids)]
    home.cli("cancel", str(run.id))
    ended = home.wait_status(run.id, FINAL, 30)
    assert ended.status == "cancelled"
    assert wait_gone(pids, 15) == []
    assert not any(alive(pid) for pid in pids)


def test_ray_run_that_raises_fails_with_its_traceback(home: Lab) -> None:
    [run] = home.submit("sleep", sets=["seconds=0.2", "steps=2", "fail=raise", "fail_at=1"])
    ended = home.wait_status(run.id, FINAL, 60)
    assert ended.status == "failed" and ended.error == "RuntimeError: the sleep recipe was told to fail"
    assert "Traceback (most recent call last)" in ended.traceback and "raise RuntimeError" in ended.traceback
    assert "RuntimeError: the sleep recipe was told to fail" in logged(home, run.id, "Traceback")
    assert home.store.metric_series(run.id, "value").values == [0.0]  # logged before it raised


def run_actor_workers() -> list[psutil.Process]:
    """The Ray worker processes that hold a run's actor (Ray titles them ``ray::RunActor``)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if (process.info["cmdline"] or [""])[0].startswith("ray::RunActor"):
                found.append(process)
        except psutil.Error:
            continue
    return found


def test_ray_daemon_killed_and_restarted_adopts_the_runs_ray_still_runs(home: Lab) -> None:
    runs = home.submit("sleep", sets=["seconds=16", "steps=8"], reps=2, gpus=1)
    runners = [runner_of(home, run.id) for run in runs]
    [short] = home.submit("sleep", sets=["seconds=1", "steps=2"])
    runner_of(home, short.id)
    daemon = psutil.Process(home.daemon_pid())
    daemon.kill()  # SIGKILL: no goodbye
    daemon.wait(10)
    assert all(runner.is_running() for runner in runners)
    # A run that ends while no daemon runs is recorded, and gives its resources back to Ray.
    assert home.wait_status(short.id, FINAL, 30).status == "done"
    home.wait_until(lambda: len(run_actor_workers()) == 2, 30, "the short run's actor to end itself")
    start_ray_daemon(home)
    ended = home.wait_all_final([r.id for r in runs], timeout=60)
    assert [r.status for r in ended] == ["done", "done"], [(r.status, r.error) for r in ended]
    assert [r.attempt for r in ended] == [1, 1]  # adopted, not started again
    for run in ended:
        assert f"adopted run {run.id} (node {run.node}" in home.daemon_log()
        assert len(home.store.metric_series(run.id, "value")) == 8  # nothing lost while no daemon ran


def test_ray_worker_killed_makes_its_run_lost_then_retried(home: Lab) -> None:
    [run] = home.submit("sleep", sets=["seconds=120", "steps=120"], gpus=1, retries=1)
    runner = runner_of(home, run.id)
    worker = runner.parent()  # the Ray worker process of the run's actor
    assert worker is not None and "ray" in " ".join(worker.cmdline()).lower()
    os.kill(worker.pid, signal.SIGKILL)
    assert wait_gone([runner.pid], 15) == []  # the runner stops with its worker
    home.wait_until(lambda: home.store.attempts(run.id), 30, f"run {run.id}'s first attempt to end")
    [first] = home.store.attempts(run.id)
    assert first.status == "lost" and "Ray worker died" in first.error and first.node
    retried = home.wait_until(lambda: (r := home.run(run.id)).attempt == 2 and r.pid and r, 60, "the retry placed")
    assert retried.status == "running" and retried.pid != runner.pid
    home.cli("cancel", str(run.id))
    assert home.wait_status(run.id, FINAL, 30).status == "cancelled"


def test_ray_daemon_that_cannot_reach_its_cluster_says_so(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "home")
    try:
        result = lab.cli("daemon", "start", "--executor", "ray", "--address", "127.0.0.1:9", check=False,
                         timeout=120)
        assert result.returncode != 0
        assert "cannot join the Ray cluster at 127.0.0.1:9" in result.stderr
        assert "Traceback" not in result.stderr and lab.daemon_pid() is None
    finally:
        lab.cleanup()


def test_ray_gpu_requests_are_checked_against_the_cluster(home: Lab) -> None:
    # At launch (the lab API): the cluster's two GPUs, not this machine's, and no particular GPU.
    opened = lab.open(home.home)
    plan = opened.plan("sleep", overrides={"seconds": 0})
    with pytest.raises(LabError, match="each run asks for 3 GPUs but the Ray cluster has 2"):
        opened.launch(plan, num_gpus=3)
    with pytest.raises(LabError, match="Ray cluster, which picks each run's GPUs"):
        opened.launch(plan, gpus=[0], num_gpus=1)
    too_many = home.cli("run", "sleep", "--set", "seconds=0", "--num-gpus", "3", check=False)
    assert too_many.returncode != 0 and "the Ray cluster has 2" in too_many.stderr
    particular = home.cli("run", "sleep", "--set", "seconds=0", "--gpus", "0", check=False)
    assert particular.returncode != 0 and "Ray cluster, which picks each run's GPUs" in particular.stderr
    assert "Traceback" not in too_many.stderr + particular.stderr
    # Runs queued past those checks (through the store) fail at once, saying why.
    [pinned] = home.submit("sleep", sets=["seconds=0"], gpus=1, gpus_allowed=[0])
    [shared] = home.submit("sleep", sets=["seconds=0"], gpus=2, per_gpu=2)
    assert "Ray picks them" in home.wait_status(pinned.id, FINAL, 30).error
    assert "Ray shares a fraction of one GPU only" in home.wait_status(shared.id, FINAL, 30).error
    # Shared GPUs: 1/K of one each, so four runs at --per-gpu 2 fit on the two GPUs together.
    runs = home.submit("sleep", sets=["seconds=2", "steps=2"], reps=4, gpus=1, per_gpu=2)
    ended = home.wait_all_final([r.id for r in runs], timeout=90)
    assert [r.status for r in ended] == ["done"] * 4
    assert sum(1 for r in ended if any(overlaps(r, o) for o in ended if o.id != r.id)) >= 2
