"""`tuiflow top` in a real terminal (a pty): `q` quits it, as in top and htop, and the terminal is given
back as it was (issue 10, point 13)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tuiflow.monitor import Sampler
from tuiflow.store import Sample, Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sampled_home(tmp_path: Path) -> Path:
    """A home with a few ticks of real host telemetry, so `top` shows its live view."""
    home = tmp_path / "home"
    with Store.open(home, create=True) as store:
        sampler = Sampler(sink=lambda records: store.add_samples(
            [Sample(r.time, r.device, r.kind, r.values) for r in records]), interval=0.25)
        sampler.start()
        deadline = time.monotonic() + 10
        try:
            while sampler.ticks < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            sampler.stop()
        assert sampler.ticks >= 2
    return home


def read_until(controller: int, screen: bytes, done, seconds: float) -> bytes:
    deadline = time.monotonic() + seconds
    while not done(screen) and time.monotonic() < deadline:
        if select.select([controller], [], [], 0.1)[0]:
            try:
                screen += os.read(controller, 65536)
            except OSError:  # the other side closed: the process is gone
                break
    return screen


@pytest.mark.parametrize("key", [b"q", b"Q"])
def test_q_quits_the_live_view_and_gives_the_terminal_back(sampled_home: Path, key: bytes) -> None:
    controller, terminal = pty.openpty()
    before = termios.tcgetattr(terminal)
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_CTYPE", "TUIFLOW_FAKE_GPUS")}
    env.update(COLUMNS="80", LINES="24", LANG="C.UTF-8", TERM="xterm-256color")
    process = subprocess.Popen([sys.executable, "-m", "tuiflow", "top", "--home", str(sampled_home), "--interval",
                                "60"], stdin=terminal, stdout=terminal, stderr=terminal, env=env, cwd=ROOT,
                               close_fds=True)
    try:
        # The first frame is drawn, then top waits a minute for the next: only the key can end it soon.
        screen = read_until(controller, b"", lambda s: b"RUNS" in s, 30)
        assert b"RUNS" in screen, screen.decode(errors="replace")
        time.sleep(0.3)  # past drawing, into the wait
        typed, drawn = time.monotonic(), len(screen)
        os.write(controller, b"x" + key)  # another key first: only q quits
        screen = read_until(controller, screen, lambda s: process.poll() is not None, 10)
        assert process.wait(5) == 0
        assert time.monotonic() - typed < 5
        after = termios.tcgetattr(terminal)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
        os.close(terminal)
    assert after[3] & (termios.ECHO | termios.ICANON) == before[3] & (termios.ECHO | termios.ICANON)
    assert b"Traceback" not in screen
    assert b"\x1b[?1049l" in screen  # the alternate screen is left
    assert b"x" not in screen[drawn:]  # keys were read, not echoed


def test_one_core_is_one_core_not_one_cores() -> None:
    import io

    from rich.console import Console

    from tuiflow.cli import top
    from tuiflow.lab.telemetry import Snapshot
    from tuiflow.monitor.host import HostSample

    now = 1_700_000_000.0
    host = HostSample(time=now, cpu_percent=40.0, per_core=[40.0], memory_total_mb=1000.0, memory_used_mb=500.0,
                      memory_available_mb=500.0, swap_total_mb=0.0, swap_used_mb=0.0, disk_read_bps=0.0,
                      disk_write_bps=0.0, net_recv_bps=0.0, net_sent_bps=0.0, load_1=1.0, load_5=1.0, load_15=1.0)
    frame = top.Frame(now, "/home", 4242, Snapshot(now=now, time=now, host=host), [], top._spark_width(80))
    console = Console(file=io.StringIO(), width=80, height=24, color_system=None, highlight=False)
    console.print(top.render(frame, 80, 24, top.Glyphs.pick(False)))
    lines = console.file.getvalue().split("\n")
    assert any(line.startswith(" 1 core ") for line in lines), lines
    assert "cores" not in console.file.getvalue()
