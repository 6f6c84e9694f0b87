"""What a queued run waits for, and whose a GPU is, against real store states (a real SQLite home,
GPU holds taken by claims as the daemon takes them): the daemon's own rule, in the words the views show."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tuiflow.lab.scheduler import allocator_options, gpu_use, waiting
from tuiflow.monitor import fake_gpus
from tuiflow.monitor.gpus import GpuInfo
from tuiflow.scheduler.daemon import Daemon
from tuiflow.scheduler.reserve import gpu_chooser
from tuiflow.scheduler.waiting import ALLOCATOR_SETTING, waiting_for
from tuiflow.store import RunSpec, Store, process_start_time

TOTAL = 81920.0  # an 80 GB card


def _gpus(*foreign_mb: float) -> list[GpuInfo]:
    """GPUs whose used memory is other users' (no process listed, as NVML shows another container's)."""
    return [GpuInfo(index=i, name="Fake A100", memory_total_mb=TOTAL, memory_used_mb=used, processes=[])
            for i, used in enumerate(foreign_mb)]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(fake_gpus, "default_state_dir", fake_gpus.default_state_dir)  # a Daemon sets it
    with Store.open(tmp_path / "home") as opened:
        yield opened


def _queue(store: Store, count: int, *, gpus: int = 1, allowed: list[int] | None = None,
           priority: int = 0) -> list[int]:
    experiment = store.create_experiment(None, "sleep", runs=[
        RunSpec({"rep": i}, rep=i, gpus_requested=gpus, gpus_allowed=allowed, priority=priority)
        for i in range(count)])
    return [run.id for run in store.list_runs(experiment=experiment.id)]


def _claim(store: Store, run_id: int, gpus: list[GpuInfo]) -> list[int]:
    """Claim a run with its GPUs as the daemon does: the run holds them from then on."""
    claimed = store.claim_run(run_id, host="here", choose_gpus=gpu_chooser(store.get_run(run_id), gpus))
    assert claimed is not None
    return list(claimed.gpus or [])


def _why(store: Store, gpus: list[GpuInfo], *, daemon: str | None = "local", paused: bool = False,
         cpu_slots: int = 2, cpu_running: int = 0) -> dict[int, str]:
    waits = waiting_for(store.queued_runs(executor="daemon"), gpus=gpus, holds=store.gpu_holds(), daemon=daemon,
                        paused=paused, cpu_slots=cpu_slots, cpu_running=cpu_running,
                        allocator_options=allocator_options(store))
    return {run_id: waiting.text for run_id, waiting in waits.items()}


def test_a_run_behind_runs_holding_every_gpu_names_them(store):
    gpus = _gpus(0, 0)
    first, second, third = _queue(store, 3)
    assert _claim(store, first, gpus) == [0] and _claim(store, second, gpus) == [1]
    assert _why(store, gpus) == {third: f"waits for 1 GPU (GPU0: #{first}, GPU1: #{second})"}


def test_a_gpu_other_users_hold_is_said_and_the_daemon_agrees(store):
    gpus = _gpus(0, 60000)
    (on_gpu1,) = _queue(store, 1, allowed=[1])
    anywhere, behind = _queue(store, 2)
    why = _why(store, gpus)
    assert why[on_gpu1] == "waits: GPU1 held by another user's process (58.6G)"
    assert why[anywhere] == "starts now on GPU0"
    assert why[behind] == f"waits for 1 GPU (GPU0: #{anywhere} next, GPU1: other users 58.6G)"
    # What the words say is what the daemon does: it places no run on GPU1.
    assert gpu_chooser(store.get_run(on_gpu1), gpus)(store.gpu_holds()) is None
    assert gpu_chooser(store.get_run(anywhere), gpus)(store.gpu_holds()) == [0]
    uses = gpu_use(store, gpus)
    assert [(use.busy, use.words) for use in uses.values()] == [(False, "free"), (True, "busy: other users (58.6G)")]


def test_our_own_runs_are_running_not_busy(store):
    gpus = _gpus(0, 0)
    (run_id,) = _queue(store, 1)
    _claim(store, run_id, gpus)
    uses = gpu_use(store, gpus)
    assert uses[0].words == f"#{run_id} running" and not uses[0].busy
    assert uses[1].words == "free"


def test_the_daemons_threshold_decides_busy_for_the_views_too(store):
    gpus = _gpus(0, 60000)
    Daemon(store, foreign_memory_mb=65536)  # a daemon that tolerates 64 GiB of other users' memory
    assert store.get_setting(ALLOCATOR_SETTING) == {"foreign_memory_mb": 65536}
    assert gpu_use(store, gpus)[1].busy is False
    (run_id,) = _queue(store, 1, allowed=[1])
    assert _why(store, gpus) == {run_id: "starts now on GPU1"}
    Daemon(store)  # the next daemon, with the default rule: GPU1 is busy again
    assert gpu_use(store, gpus)[1].words == "busy: other users (58.6G)"


def test_a_higher_priority_run_goes_first(store):
    gpus = _gpus(0, 0)
    holder, = _queue(store, 1)
    _claim(store, holder, gpus)
    low, = _queue(store, 1)
    high, = _queue(store, 1, priority=5)
    why = _why(store, gpus)
    assert why[high] == "starts now on GPU1"
    assert why[low] == f"waits for 1 GPU (GPU0: #{holder}, GPU1: #{high} next)"


def test_gpus_allowed_and_asking_for_more_than_exist(store):
    gpus = _gpus(0, 0)
    holder, = _queue(store, 1, allowed=[1])
    _claim(store, holder, gpus)
    only_gpu1, = _queue(store, 1, allowed=[1])
    too_many, = _queue(store, 1, gpus=3)
    why = _why(store, gpus)
    assert why[only_gpu1] == f"waits for 1 GPU of GPU1 (GPU1: #{holder})"
    assert why[too_many] == "never fits: asks for 3 GPUs, this machine has 2"


def test_paused_queue_no_daemon_and_cpu_slots(store):
    gpus = _gpus(0, 0)
    on_gpu, = _queue(store, 1)
    cpu_a, cpu_b = _queue(store, 2, gpus=0)
    assert set(_why(store, gpus, paused=True).values()) == {"paused queue"}
    assert set(_why(store, gpus, daemon=None).values()) == {"no daemon"}
    assert _why(store, gpus, daemon="ray")[on_gpu] == "waits for room on the Ray cluster"
    why = _why(store, gpus, cpu_slots=2, cpu_running=1)
    assert why[cpu_a] == "starts now: a CPU slot is free"
    assert why[cpu_b] == "waits for a CPU slot (all 2 taken)"


def test_a_foreground_commands_later_runs_wait_for_its_turn(store):
    me, began = os.getpid(), process_start_time(os.getpid())
    experiment = store.create_experiment(None, "sleep", runs=[
        RunSpec({"rep": i}, rep=i, executor="foreground", owner_pid=me, owner_start_time=began) for i in range(3)])
    first, second, third = (run.id for run in store.list_runs(experiment=experiment.id))
    assert store.claim_run(first, owner_pid=me) is not None  # the command runs its first run
    why = {run_id: w.text for run_id, w in waiting(store).items()}
    turn = f"waits for its command (pid {me}) to run the runs before it, one at a time"
    assert why == {second: turn, third: turn}


def test_gpus_that_cannot_be_read_are_said_and_the_runs_still_are(store, monkeypatch):
    """A GPU layer that fails (NVML broken; here a TUIFLOW_FAKE_GPUS that is not JSON) is a reason a run
    that asks for GPUs gives, in one line; the other runs' reasons are as before, nothing raises."""
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "[memory_mb:81920]")
    me, began = os.getpid(), process_start_time(os.getpid())
    experiment = store.create_experiment(None, "sleep", runs=[
        RunSpec({"rep": 0}, gpus_requested=1, executor="foreground", owner_pid=me, owner_start_time=began),
        RunSpec({"rep": 1}, gpus_requested=0, executor="foreground", owner_pid=os.getppid(),
                owner_start_time=process_start_time(os.getppid()))])
    on_gpu, on_cpu = (run.id for run in store.list_runs(experiment=experiment.id))
    why = waiting(store)
    assert why[on_gpu].kind == "gpus_unreadable" and why[on_gpu].short == "GPUs unread"
    assert why[on_gpu].text.startswith("waits: the GPUs cannot be read here (TUIFLOW_FAKE_GPUS=")
    assert "\n" not in why[on_gpu].text
    assert why[on_cpu].text == "starts now: its foreground command runs it"


def test_the_processes_a_holding_run_started_are_ours(tmp_path):
    """`held_pids`: a run's runner and everything below it (here a shell that started a sleeper) count
    as ours, in one walk of the process table; a hold whose process is gone adds no process but its own."""
    import subprocess
    import sys
    import time

    from tuiflow.scheduler.reserve import held_pids
    from tuiflow.store import GpuHold

    ready = tmp_path / "ready"
    code = ("import subprocess, sys, pathlib; p = subprocess.Popen([sys.executable, '-c', 'import time; "
            f"time.sleep(60)']); pathlib.Path({str(ready)!r}).write_text(str(p.pid)); p.wait()")
    runner = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() or not ready.read_text():
            assert time.monotonic() < deadline, "the runner's child never started"
            time.sleep(0.05)
        child = int(ready.read_text())
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        holds = [GpuHold(1, 0, 1, None, None, runner.pid, None, 0.0), GpuHold(2, 1, 1, None, None, gone.pid, None, 0.0),
                 GpuHold(3, 1, 1, None, None, None, None, 0.0)]
        assert held_pids(holds) == {runner.pid, child, gone.pid}
        assert held_pids([]) == set()
    finally:
        runner.kill()
        runner.wait()
