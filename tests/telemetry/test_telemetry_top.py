"""`tuiflow top` as a user runs it: a subprocess, an 80x24 terminal, UTF-8 or plain ASCII."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from claiming import claim_next
from telemetry_helpers import TOP, run_top, sample_for_a_while, top_env

from tuiflow.monitor.fake_gpus import assign_fake_process
from tuiflow.store import RunSpec, Store

BLOCKS = set("▁▂▃▄▅▆▇█")


@pytest.fixture
def busy_home(store: Store, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home with fresh telemetry from the real sampler (2 fake GPUs) and one running run on GPU 1."""
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "2")
    store.create_experiment("resnet-sweep-with-a-rather-long-name", "train_resnet",
                            runs=[RunSpec({"lr": 0.1}), RunSpec({"lr": 0.2})])
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        claimed = claim_next(store)
        assert claimed is not None
        store.start_run(claimed.id, pid=worker.pid, gpus=[1])
        store.set_progress(claimed.id, 37, 100, eta_s=125.0)
        assert assign_fake_process(worker.pid, [1], memory_mb=4096)
        sample_for_a_while(store, ticks=3, runs=lambda: {claimed.id: worker.pid})
    finally:
        worker.kill()
        worker.wait()
    return store.home


def lines_of(output: bytes, encoding: str = "utf-8") -> list[str]:
    return output.decode(encoding).rstrip("\n").split("\n")


def test_once_fits_80_columns_and_shows_every_part(busy_home: Path) -> None:
    result = run_top(busy_home, "--once")
    assert result.returncode == 0, result.stderr.decode()
    lines = lines_of(result.stdout)
    assert len(lines) <= 24
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    text = "\n".join(lines)
    assert lines[0].startswith("no daemon: no telemetry being recorded — start it with `tuiflow daemon start`")
    assert "last sample" in lines[1]
    for part in ("CPU", "cores", "MEM", "SWAP", "DISK", "NET", "GPU0", "GPU1", "24.0G", "RUNS 1 running",
                 "train_resnet", "37%", "2m05s", "4.0G"):
        assert part in text, part
    assert any(line.startswith("GPU1") and "4.0/24.0G" in line for line in lines)
    assert BLOCKS & set(text)  # sparklines and bars in Unicode blocks
    assert not result.stderr


def test_once_falls_back_to_ascii_when_the_terminal_is_not_utf8(busy_home: Path) -> None:
    result = run_top(busy_home, "--once", env=top_env(LANG="C", LC_ALL="C", PYTHONIOENCODING="ascii"))
    assert result.returncode == 0, result.stderr.decode()
    lines = lines_of(result.stdout, "ascii")  # raises if a single byte is not ASCII
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(lines)
    assert "no daemon: no telemetry being recorded - start it" in text
    assert "GPU0" in text and "GPU1" in text and "#" in text and "RUNS 1 running" in text


def test_ascii_follows_the_locale_even_when_python_writes_utf8(busy_home: Path) -> None:
    # Under LANG=C Python switches to UTF-8 mode, but the terminal on the other end cannot show it.
    result = run_top(busy_home, "--once", env=top_env(LANG="C", LC_ALL="C"))
    assert result.returncode == 0
    lines_of(result.stdout, "ascii")


def test_json_prints_the_newest_snapshot(busy_home: Path) -> None:
    result = run_top(busy_home, "--json")
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    assert {"home", "daemon_pid", "time", "now", "age_s", "stale", "host", "gpus", "runs"} <= set(data)
    assert data["home"] == str(busy_home) and data["daemon_pid"] is None
    assert data["age_s"] >= 0 and data["time"] <= data["now"]
    assert {"cpu_percent", "per_core", "memory_used_mb", "memory_total_mb", "swap_used_mb", "disk_read_bps",
            "net_recv_bps", "load_1"} <= set(data["host"])
    assert [g["device"] for g in data["gpus"]] == ["gpu0", "gpu1"]
    assert {"utilization", "memory_used_mb", "memory_total_mb", "temperature", "power_w", "name",
            "processes"} <= set(data["gpus"][0])
    assert data["gpus"][1]["memory_used_mb"] == 4096
    [run] = data["runs"]
    assert {"run_id", "pid", "cpu_percent", "rss_mb", "gpu_memory_mb", "processes", "threads"} <= set(run)
    assert run["gpu_memory_mb"] == 4096


def test_no_samples_is_one_line_and_not_an_error(tmp_path: Path) -> None:
    home = tmp_path / "empty"
    Store.open(home).close()  # a store nothing has sampled into (a home with no store at all is an error)
    for args in (["--once"], []):  # without a daemon the live view has nothing to wait for
        result = run_top(home, *args)
        assert result.returncode == 0, result.stderr.decode()
        assert lines_of(result.stdout) == [f"no telemetry samples in {home} yet: start the daemon with "
                                           "`tuiflow daemon start`"]
    result = run_top(home, "--json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["time"] is None and data["gpus"] == [] and data["host"] is None and data["stale"] is True


def test_a_bad_interval_is_a_one_line_user_error(tmp_path: Path) -> None:
    result = run_top(tmp_path / "h", "--interval", "0")
    assert result.returncode == 2
    assert result.stderr.decode().strip().splitlines() == ["tuiflow: error: --interval must be at least 0.1 s, "
                                                           "not 0.0"]


def test_live_view_in_a_terminal_refreshes_and_exits_cleanly_on_ctrl_c(busy_home: Path) -> None:
    controller, terminal = pty.openpty()
    env = top_env(TERM="xterm-256color")
    process = subprocess.Popen([sys.executable, "-c", TOP, "top", "--home", str(busy_home), "--interval", "0.2"],
                               stdin=terminal, stdout=terminal, stderr=terminal, env=env, close_fds=True)
    os.close(terminal)
    screen = b""
    try:
        deadline = time.monotonic() + 15
        while screen.count(b"GPU1") < 2 and time.monotonic() < deadline:  # at least two frames drawn
            if select.select([controller], [], [], 0.2)[0]:
                screen += os.read(controller, 65536)
        assert screen.count(b"GPU1") >= 2, screen.decode(errors="replace")
        process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:
            if select.select([controller], [], [], 0.1)[0]:
                try:
                    screen += os.read(controller, 65536)
                except OSError:
                    break
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    assert b"Traceback" not in screen and b"KeyboardInterrupt" not in screen
    assert b"\x1b[?1049h" in screen and b"\x1b[?1049l" in screen  # the alternate screen, given back on exit
