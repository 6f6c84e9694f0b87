"""A machine without GPUs: the dashboard says "CPU only" and shows the CPU slots the daemon runs runs
in (TUIFLOW_CPU_SLOTS, else the core count), and how many are busy. TUIFLOW_FAKE_GPUS=0 asks the GPU
layer for no GPUs; this test machine has no NVIDIA driver, so without it the answer is the same, for
real."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tui_helpers import Lab, daemon_home, wait_for

from tuiflow import lab
from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.widgets.gpu_panel import GpuPanel
from tuiflow.tui.widgets.runs_table import RunsTable


@pytest.fixture
def cpu_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    """A home whose daemon sees no GPU and runs three runs at a time on the CPU."""
    for home in daemon_home(tmp_path, monkeypatch, start=False):
        home.env.update({"TUIFLOW_FAKE_GPUS": "0", "TUIFLOW_CPU_SLOTS": "3"})
        monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "0")
        monkeypatch.setenv("TUIFLOW_CPU_SLOTS", "3")
        home.start_daemon()
        yield home


def test_the_snapshot_says_the_gpus_are_simulated_and_how_many_cpu_slots_there_are(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "2")
    monkeypatch.setenv("TUIFLOW_CPU_SLOTS", "5")
    snapshot = lab.Snapshot(now=0.0, time=None)
    assert snapshot.simulated is True and snapshot.cpu_slots == 5
    assert snapshot.to_dict()["cpu_slots"] == 5
    monkeypatch.delenv("TUIFLOW_FAKE_GPUS")
    monkeypatch.delenv("TUIFLOW_CPU_SLOTS")
    snapshot = lab.Snapshot(now=0.0, time=None)
    assert snapshot.simulated is False and snapshot.cpu_slots == (os.cpu_count() or 1)


def test_without_gpus_the_dashboard_says_cpu_only_and_shows_the_slots(cpu_home: Lab) -> None:
    [run] = cpu_home.submit("sleep", sets=["seconds=60", "steps=60"])

    async def scenario() -> None:
        app = TuiflowApp(Options(home=cpu_home.home, refresh_s=0.2, hostname="test-box"))
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen)
            table = dash.query_one(RunsTable)
            await wait_for(pilot, lambda: run.id in table.lines and table.lines[run.id].status == "running",
                           timeout=30, what="the run running on the CPU")
            panel = dash.query_one(GpuPanel)
            line = await wait_for(pilot, lambda: "1 of 3 busy" in (text := str(panel.render())) and text,
                                  what="the CPU slots, one busy")
            assert line.startswith(" CPU only (simulated)")
            assert dash.telemetry is not None and dash.telemetry.gpus == () and dash.telemetry.cpu_slots == 3
            assert "simulated GPUs" not in str(dash.query_one("#status").render())
            assert not dash.poll_errors

    asyncio.run(scenario())
