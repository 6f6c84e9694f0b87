"""`e` on the dashboard and in Compare: the runs shown, in a file of the current folder, read back."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import pytest
from tui_helpers import wait_for

from tuiflow import lab
from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.compare import CompareScreen
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.screens.export import ExportScreen


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TUIFLOW_HOME", "TUIFLOW_FAKE_GPUS", "TUIFLOW_RECIPES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # where exports go
    path = tmp_path / "home"
    with lab.open(path, create=True) as opened:
        opened.launch(opened.plan("sleep", {"seconds": 0.0}, grid={"steps": [1, 2, 3]}), start_daemon=False)
    return path


class Toasts(list):
    def __call__(self, message: str, *args: object, **kwargs: object) -> None:
        self.append(str(message))


def test_export_from_the_dashboard_and_from_compare(home: Path, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = TuiflowApp(Options(home=home, refresh_s=3600, hostname="test-box"))
        toasts = Toasts()
        app.notify = toasts  # type: ignore[method-assign]
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.runs_view
                                  and app.screen.runs_view.rows and app.screen, what="the dashboard's runs")
            shown = [row.id for row in dash.runs_view.rows]
            await pilot.press("e")
            await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="the format modal")
            await pilot.press("j")
            said = await wait_for(pilot, lambda: [t for t in toasts if t.startswith("exported")], what="a toast")
            path = Path(said[0].rpartition(" to ")[2])
            assert path.parent == tmp_path and path.name.startswith("tuiflow-export-") and path.suffix == ".json"
            assert [row["id"] for row in json.loads(path.read_text())["runs"]] == shown == [1, 2, 3]
            path.unlink()

            app.action_compare([3, 1])
            await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), what="Compare")
            toasts.clear()
            await pilot.press("e")
            await wait_for(pilot, lambda: isinstance(app.screen, ExportScreen), what="the format modal")
            await pilot.press("c")
            said = await wait_for(pilot, lambda: [t for t in toasts if t.startswith("exported")], what="a toast")
            with open(said[0].rpartition(" to ")[2], newline="") as stream:
                rows = list(csv.DictReader(stream))
            assert [int(row["id"]) for row in rows] == [3, 1]
            assert [row["config.steps"] for row in rows] == ["3", "1"]

    asyncio.run(scenario())


def test_lab_exports_runs_by_id_in_their_order_and_names_a_missing_one(home: Path, tmp_path: Path) -> None:
    with lab.open(home) as opened:
        done = opened.export_selection("csv", tmp_path / "two.csv", run_ids=[2, 1, 2])
        assert done.runs == 2
        with open(tmp_path / "two.csv", newline="") as stream:
            assert [row["id"] for row in csv.DictReader(stream)] == ["2", "1"]
        with pytest.raises(lab.NotFoundError, match="no run 9"):
            opened.export_selection("csv", tmp_path / "none.csv", run_ids=[1, 9])
        assert not (tmp_path / "none.csv").exists()
