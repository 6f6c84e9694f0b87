"""The dashboard under Pilot says what a queued run waits for (its row, and the selected run's pane) and
whose a GPU is: with a real daemon on two simulated 80 GB GPUs, GPU1 60,000 MiB of it held by another
user's process, the GPU line says "busy: other users (58.6G)" rather than "free", the queued runs say
they wait for GPU0's run and GPU1's other users, and the Launch picker says "#N running" and "busy"."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets.data_table import RowDoesNotExist
from tui_helpers import PIPELINE_RECIPE, REPO, Lab, wait_for

from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.screens.launch import LaunchScreen
from tuiflow.tui.widgets.gpu_panel import GpuPanel
from tuiflow.tui.widgets.gpu_picker import GpuPicker
from tuiflow.tui.widgets.run_panel import ProfileView
from tuiflow.tui.widgets.runs_table import RunsTable

OTHER_USER_ON_GPU1 = json.dumps([{"name": "Fake A100", "memory_mb": 81920},
                                 {"name": "Fake A100", "memory_mb": 81920, "used_mb": 60000}])


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    """A home with a daemon on two simulated GPUs, another user's job on GPU1."""
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    (recipes / "tiny_pipeline.py").write_text(PIPELINE_RECIPE)
    (tmp_path / "home").mkdir()
    lab = Lab(tmp_path / "home", cpu_slots=2,
              env={"TUIFLOW_RECIPES": str(recipes), "TUIFLOW_FAKE_GPUS": OTHER_USER_ON_GPU1})
    for name in ("TUIFLOW_HOME", "TUIFLOW_FAKE_GPUS", "TUIFLOW_FAKE_GPUS_STATE", "TUIFLOW_CPU_SLOTS",
                 "TUIFLOW_REPORT_INTERVAL", "TUIFLOW_RECIPES"):
        monkeypatch.setenv(name, lab.env[name])
    monkeypatch.chdir(REPO)
    lab.start_daemon()
    try:
        yield lab
    finally:
        lab.cleanup()


def _gpu_lines(dash: DashboardScreen) -> list[str]:
    panel = dash.query_one(GpuPanel)
    return [line.plain for line in panel.lines(panel.size.width)] if panel.telemetry else []


def _row(table: RunsTable, run_id: int) -> list[str]:
    """The row's cells as drawn (none while the table has not placed the row yet)."""
    try:
        return [cell.plain for cell in table.get_row(str(run_id))]
    except RowDoesNotExist:
        return []


@pytest.mark.parametrize(("size", "busy"), [((80, 24), "busy: other users"),
                                            ((120, 40), "busy: other users (58.6G)")],
                         ids=["80x24", "120x40"])
def test_queued_runs_say_what_they_wait_for_and_gpu1_is_busy(home: Lab, size: tuple[int, int], busy: str) -> None:
    first, second = home.submit(sets=["seconds=600", "steps=600"], reps=2, gpus=1)
    home.wait_status(first.id, "running")
    waits = f"waits for 1 GPU (GPU0: #{first.id}, GPU1: other users 58.6G)"

    async def scenario() -> None:
        app = TuiflowApp(Options(home=home.home, refresh_s=0.2, hostname="test-box"))
        async with app.run_test(size=size) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen)
            lines = await wait_for(pilot, lambda: len(_gpu_lines(dash)) == 2 and _gpu_lines(dash),
                                   what="two GPU lines")
            await wait_for(pilot, lambda: _gpu_lines(dash)[1].endswith(busy), timeout=15,
                           what=f"GPU1 saying {busy!r}: {lines}")
            assert "58.6/80.0G" in _gpu_lines(dash)[1] and "free" not in _gpu_lines(dash)[1]
            assert f"#{first.id}" in _gpu_lines(dash)[0]
            table = dash.query_one(RunsTable)
            row = await wait_for(pilot, lambda: (r := [c.strip() for c in _row(table, second.id)])
                                 and "GPUs held" in r and r, timeout=15, what="the queued row saying what it waits for")
            assert "queued" in row
            assert table.lines[second.id].waiting == waits
            table.select(second.id)
            profile = dash.query_one(ProfileView)
            await wait_for(pilot, lambda: profile.detail is None and profile.note == f"queued: {waits}",
                           what="the queued run's pane saying what it waits for")
            await pilot.press("l")
            launch = await wait_for(pilot, lambda: isinstance(app.screen, LaunchScreen) and app.screen,
                                    what="the launch screen")
            picker = launch.query_one(GpuPicker)
            prompts = await wait_for(pilot, lambda: picker.option_count == 2 and [
                str(picker.get_option_at_index(i).prompt) for i in range(2)], what="the GPU picker's GPUs")
            assert prompts[0].endswith(f"#{first.id} running") and "busy" not in prompts[0]
            # The GPU line's words, the amount where it fits (the mem figure beside them says it too).
            assert prompts[1].endswith(("busy: other users (58.6G)", "busy: other users")), prompts[1]
            assert not dash.poll_errors

    asyncio.run(scenario())


def test_a_paused_queue_and_a_stopped_daemon_are_what_queued_runs_wait_for(home: Lab) -> None:
    # Only GPU1 allowed, and other users hold it: nothing runs, so nothing writes to the store but the
    # daemon's sampler, which stops with it.
    (run,) = home.submit(sets=["seconds=600", "steps=600"], gpus=1, gpus_allowed=[1])
    other_users = "waits: GPU1 held by another user's process (58.6G)"

    async def scenario() -> None:
        app = TuiflowApp(Options(home=home.home, refresh_s=0.2, hostname="test-box"))
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen)
            table = dash.query_one(RunsTable)
            profile = dash.query_one(ProfileView)

            async def says(short: str, whole: str) -> None:
                await wait_for(pilot, lambda: short in [c.strip() for c in _row(table, run.id)], timeout=15,
                               what=f"the queued row saying {short!r}")
                table.select(run.id)
                await wait_for(pilot, lambda: profile.note == f"queued: {whole}", timeout=15,
                               what=f"its pane saying {whole!r}")

            await says("GPU1 busy", other_users)
            await pilot.press("p")  # pause the queue
            await says("paused", "paused queue")
            await pilot.press("p")
            await says("GPU1 busy", other_users)
            home.stop_daemon()  # it writes nothing as it goes: the app sees it gone all the same
            await says("no daemon", "no daemon")
            assert home.run(run.id).status == "queued"
            assert not dash.poll_errors

    asyncio.run(scenario())
