"""The dashboard on a cluster, under Pilot at 80x24: the GPU panel groups the GPUs under a title line per
node (label, GPU count, CPU, RAM), fed live by two nodes' real samplers into a real store; one machine's
panel has no title line, as before."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tui_helpers import wait_for

from tuiflow.monitor import fake_gpus
from tuiflow.monitor.fake_gpus import read_fake_gpus
from tuiflow.monitor.sampler import Sampler, sqlite_sink
from tuiflow.store import Store
from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.data import LabData
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.widgets.gpu_panel import GpuPanel
from tuiflow.tui.widgets.runs_table import RunsTable

NODES = {
    "alpha": json.dumps([{"name": "A10", "memory_mb": 24576}, {"name": "A10", "memory_mb": 24576}]),
    "beta": json.dumps([{"name": "H100", "memory_mb": 81920, "used_mb": 40960}]),
}


@pytest.fixture
def sampled_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A home whose store gets a tick of each node in `request.param` (None: this machine) every 0.25 s
    from real samplers on simulated GPUs, for as long as the test runs."""
    for name in ("TUIFLOW_HOME", fake_gpus.FAKE_GPUS_ENV, fake_gpus.STATE_ENV, "TUIFLOW_RECIPES"):
        monkeypatch.delenv(name, raising=False)
    nodes: dict[str | None, str] = request.param
    Store.open(tmp_path / "home").close()
    stop = threading.Event()

    def feed() -> None:
        conn = sqlite3.connect(tmp_path / "home" / "tuiflow.db")
        sink = sqlite_sink(conn)
        samplers = {node: Sampler(interval=0.25, gpus=lambda text=text: read_fake_gpus(text))
                    for node, text in nodes.items()}
        while not stop.wait(0.25):
            for node, sampler in samplers.items():
                sink([dataclasses.replace(record, node=node) for record in sampler.tick()])
        conn.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        yield tmp_path / "home"
    finally:
        stop.set()
        feeder.join(10)


def plain(panel: GpuPanel) -> list[str]:
    return [line.plain for line in panel.lines(panel.size.width)]


@pytest.mark.parametrize("sampled_home", [NODES], indirect=True)
def test_the_gpu_panel_groups_gpus_under_a_title_per_node_at_80x24(sampled_home: Path) -> None:
    async def scenario() -> None:
        app = TuiflowApp(Options(home=sampled_home, refresh_s=0.2, hostname="test-box"))
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen)
            panel = dash.query_one(GpuPanel)
            await wait_for(pilot, lambda: panel.telemetry is not None and len(panel.telemetry.nodes) == 2
                           and panel.size.height == 5, what="two nodes in a panel of 5 lines")
            lines = await wait_for(pilot, lambda: (text := plain(panel))[0].find("CPU") > 0 and text,
                                   what="alpha's CPU in its title")
            assert len(lines) == 5 and all(len(line) <= 80 for line in lines)
            assert lines[0].startswith("—— alpha  2 GPUs  CPU ") and " RAM " in lines[0]
            assert lines[1].startswith("GPU0 ") and lines[2].startswith("GPU1 ")
            assert "A10" in lines[1] and "A10" in lines[2] and "/24.0G" in lines[1]
            assert lines[3].startswith("—— beta  1 GPU  CPU ")
            assert lines[4].startswith("GPU0 ") and "H100" in lines[4] and "40.0/80.0G" in lines[4]
            assert [(card.node, card.index) for card in panel.telemetry.gpus] == [
                ("alpha", 0), ("alpha", 1), ("beta", 0)]
            # Each GPU's minute of utilisation is its own node's: beta's gpu0 history is read apart.
            await wait_for(pilot, lambda: all(len([v for v in card.history if v is not None]) >= 2
                                              for card in panel.telemetry.gpus), what="each GPU's history")
            # The runs (an empty store: the table's place says so) keep their share of the 24 lines.
            assert dash.query_one(RunsTable).parent.size.height >= 6
            assert not dash.poll_errors

    asyncio.run(scenario())
    # Launch's GPU picker offers this machine's GPUs only: on a cluster node Ray picks them.
    assert LabData(sampled_home).gpu_choices() == []


@pytest.mark.parametrize("sampled_home", [{None: NODES["alpha"]}], indirect=True)
def test_one_machine_has_no_node_titles(sampled_home: Path) -> None:
    async def scenario() -> None:
        app = TuiflowApp(Options(home=sampled_home, refresh_s=0.2, hostname="test-box"))
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen)
            panel = dash.query_one(GpuPanel)
            await wait_for(pilot, lambda: panel.telemetry is not None and len(panel.telemetry.gpus) == 2
                           and panel.size.height == 2, what="two GPU lines")
            lines = plain(panel)
            assert panel.telemetry.nodes == () and len(lines) == 2
            assert lines[0].startswith("GPU0 ") and lines[1].startswith("GPU1 ")

    asyncio.run(scenario())
    assert [choice.index for choice in LabData(sampled_home).gpu_choices()] == [0, 1]
