"""End to end: a real daemon samples two fake GPUs into the store, and clients read it back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from telemetry_helpers import run_top

from tuiflow.lab import telemetry
from tuiflow.store import Store


@pytest.fixture
def daemon_home(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A home served by `python -m tuiflow.scheduler` sampling every 0.25 s; stopped with SIGTERM afterwards."""
    home = tmp_path / "home"
    env = {**os.environ, "TUIFLOW_FAKE_GPUS": "2", "TUIFLOW_FAKE_GPUS_STATE": str(tmp_path / "fake-gpu-state")}
    with open(tmp_path / "daemon.out", "wb") as log:
        daemon = subprocess.Popen([sys.executable, "-m", "tuiflow.scheduler", "--home", str(home),
                                   "--sample-interval", "0.25"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)

    def stop() -> None:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(15)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()

    request.addfinalizer(stop)
    return home


def test_a_running_daemon_records_host_cpu_and_both_gpus(daemon_home: Path, tmp_path: Path) -> None:
    wanted = {"host", "cpu", "gpu0", "gpu1"}
    deadline = time.monotonic() + 1.5
    snapshot = None
    while time.monotonic() < deadline + 10:  # ~1.5 s is enough; a loaded machine gets more
        time.sleep(0.25)
        if not (daemon_home / "tuiflow.db").exists():
            continue
        with Store.open(daemon_home) as store:
            snapshot = telemetry.latest(store)
            if time.monotonic() >= deadline and wanted <= set(snapshot.devices):
                gpu_points = telemetry.series(store, "gpu0", "utilization", window_s=60)
                break
    assert snapshot is not None and wanted <= set(snapshot.devices), (tmp_path / "daemon.out").read_text()
    assert snapshot.age_s is not None and not snapshot.is_stale()
    assert [g.index for g in snapshot.gpus] == [0, 1]
    assert snapshot.host is not None and snapshot.host.memory_total_mb > 0
    assert len(gpu_points[0]) >= 2  # several ticks at 0.25 s

    result = run_top(daemon_home, "--json")
    data = json.loads(result.stdout)
    pid = data["daemon_pid"]
    assert isinstance(pid, int) and data["stale"] is False and len(data["gpus"]) == 2

    frame = run_top(daemon_home, "--once")
    assert frame.returncode == 0
    head = frame.stdout.decode().splitlines()[0]
    assert head.startswith(f"tuiflow top  daemon pid {pid}  newest sample "), head
    assert "RUNS none running" in frame.stdout.decode()
