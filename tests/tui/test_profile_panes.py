"""Issue 20, point 12, in the views: a real run of two pipelines whose `build` action does its set-up on
its first call, then its profile as the dashboard's pane, Run detail's Profile tab, Compare and
`tuiflow show` draw it. The first call is shown apart from the steady calls, "slowest" goes by the
steady time, nothing is marked before a first batch, and the two pipelines' `load #1` are `1/load`
and `2/load` everywhere (the rule of `tuiflow.lab.profiles`)."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from tui_helpers import wait_for

from tuiflow.flow.profiler import Profiler
from tuiflow.lab import Lab
from tuiflow.lab.gauges import Glyphs
from tuiflow.lab.profiles import slowest
from tuiflow.store import RunSpec, Store
from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.render import profile_lines
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.screens.run_detail import RunDetailScreen
from tuiflow.tui.views import ProfileLine
from tuiflow.tui.widgets.run_panel import ProfileView
from tuiflow.tui.widgets.run_panes import ProfilePane

ROOT = Path(__file__).resolve().parents[2]
SET_UP = 0.3

RECIPE = f'''
import time

import numpy as np

from tuiflow import Batch, Dataset, Pipeline, action, recipe


class Items(Batch):
    components = ("x",)

    @action
    def build(self, built):
        if not built:  # the first call builds a model: much more work than the calls after it
            time.sleep({SET_UP})
            built.append(True)
        return self

    @action
    def train_step(self):
        time.sleep(0.002)
        return self


@recipe(name="twopipes", params={{"epochs": 3}})
def twopipes(run):
    data = Dataset(200, batch_class=Items, preloaded=(np.arange(200.0),))
    data.split(0.8)
    built = []
    train = data.train >> Pipeline().load().build(built).train_step()
    evaluate = data.test >> Pipeline().load().build(built)
    for epoch in range(run.config["epochs"]):
        train.run(8)
        evaluate.run(8)
        run.progress(epoch + 1, run.config["epochs"])
    return {{"epochs": run.config["epochs"]}}
'''


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A home with one finished run of `twopipes`, run for real (`tuiflow run --foreground`)."""
    base = tmp_path_factory.mktemp("profile-panes")
    recipes = base / "recipes"
    recipes.mkdir()
    (recipes / "twopipes.py").write_text(RECIPE)
    home = base / "home"
    env = {**os.environ, "TUIFLOW_HOME": str(home), "TUIFLOW_FAKE_GPUS": "2",
           "TUIFLOW_FAKE_GPUS_STATE": str(base / "fake-gpus"), "TUIFLOW_REPORT_INTERVAL": "0.1"}
    done = subprocess.run([sys.executable, "-m", "tuiflow", "run", "twopipes", "--recipes", str(recipes),
                           "--foreground", "--home", str(home)], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with Store.open(home) as store:
        [run] = store.list_runs()
        assert run.status == "done"
    return home, run.id


def drawn(widget: Any) -> str:
    console = Console(width=max(20, widget.size.width), record=True, file=io.StringIO(), color_system=None)
    console.print(widget.render())
    return console.export_text()


def line_of(text: str, name: str) -> str:
    return next(line for line in text.splitlines() if line.split()[:1] == [name])


def millis(cell: str) -> float:
    for unit, scale in (("ms", 1.0), ("µs", 1e-3), ("us", 1e-3), ("s", 1e3)):
        if cell.endswith(unit):
            return float(cell[: -len(unit)]) * scale
    raise AssertionError(f"not a time: {cell!r}")


def check_profile_text(text: str) -> None:
    """What every profile table of the run says: both pipelines' actions by their names, `build`'s
    first call (its set-up) apart from its steady calls, and the slowest marked by steady time."""
    assert "#1" not in text, text  # `load #1` of two pipelines: named 1/load and 2/load instead
    for name in ("1/load", "2/load", "1/build", "2/build", "1/train_step"):
        assert line_of(text, name), name
    build = line_of(text, "1/build").split()
    assert millis(build[1]) >= SET_UP * 1000, build  # first: the set-up
    assert millis(build[2]) < SET_UP * 100, build  # then: the steady calls' mean
    marked = [line for line in text.splitlines() if "◀" in line]
    assert len(marked) == 1 and marked[0].split()[0] == "1/train_step", text


def test_lab_names_and_ranks_the_actions(ran: tuple[Path, int]) -> None:
    home, run_id = ran
    lab = Lab(home)
    rows = lab.profile(run_id)
    names = [row["name"] for row in rows]
    assert set(names) == {"1/load", "2/load", "1/build", "2/build", "1/train_step"}
    build = next(row for row in rows if row["name"] == "1/build")
    assert build["first_s"] >= SET_UP and build["steady_calls"] == build["calls"] - 1
    assert build["steady_s"] < SET_UP / 10 and build["mean_s"] < SET_UP / 100
    assert rows[slowest(rows)]["name"] == "1/train_step"  # by steady time, not the build's total
    # Compare names them the same way.
    compared = {row.name for row in lab.compare([run_id]).profile}
    assert compared == set(names)


def test_show_and_compare_name_the_actions_as_the_app_does(ran: tuple[Path, int]) -> None:
    home, run_id = ran
    out = subprocess.run([sys.executable, "-m", "tuiflow", "show", str(run_id), "--home", str(home)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "100"})
    assert out.returncode == 0, out.stderr
    for name in ("1/load", "2/load", "1/build", "1/train_step"):
        assert f" {name} " in out.stdout, out.stdout
    assert "first" in out.stdout
    compared = subprocess.run([sys.executable, "-m", "tuiflow", "compare", str(run_id), "--home", str(home)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60,
                              env={**os.environ, "COLUMNS": "100"})
    assert compared.returncode == 0, compared.stderr
    assert " 1/load " in compared.stdout and " 2/load " in compared.stdout and "load #1" not in compared.stdout


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_and_run_detail_show_set_up_apart(ran: tuple[Path, int], size: tuple[int, int]) -> None:
    home, run_id = ran

    async def scenario() -> None:
        app = TuiflowApp(Options(home=home, refresh_s=3600, hostname="box", clock=time.time))
        async with app.run_test(size=size) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.detail
                                  and app.screen.detail.run_id == run_id and app.screen, what="the run's detail")
            await pilot.pause()
            check_profile_text(drawn(dash.query_one(ProfileView)))
            app.action_open_run(run_id)
            screen = await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.reads
                                    and app.screen, what="run detail")
            await pilot.press("3")
            await pilot.pause()
            pane = await wait_for(pilot, lambda: screen.query_one(ProfilePane).rows and screen.query_one(ProfilePane),
                                  what="the profile tab")
            text = drawn(pane)
            check_profile_text(text)
            assert "first calls: set-up" in text

    asyncio.run(scenario())


def test_nothing_is_marked_slowest_before_a_steady_call(tmp_path: Path) -> None:
    """At a run's start the runner writes its profiler's rows before any batch (0 calls), then after
    the first batch alone (first calls only): the pane marks no action slowest at either moment."""
    with Store.open(tmp_path / "home") as store:
        store.create_experiment("e", "digits-mlp", runs=[RunSpec(config={})])
        profiler = Profiler(["load #1", "init_model #1", "train_model #1"])
        lab = Lab(tmp_path / "home")
        for moment in ("before a batch", "after the first batch"):
            if moment == "after the first batch":
                profiler.add_batch([0.001, 7.9, 0.2], [0.001, 7.0, 0.2])
            store.write_profile(1, 1, profiler.info())
            rows = tuple(ProfileLine.from_dict(row) for row in lab.profile(1))
            for width in (39, 60, 80):
                text = "\n".join(line.plain for line in profile_lines(rows, width, Glyphs.pick(False)))
                assert "◀" not in text and "slowest" not in text, (moment, text)
        # A second batch: now the steady calls say which is slowest, and it is not init_model.
        profiler.add_batch([0.001, 0.002, 0.2], [0.001, 0.002, 0.2])
        store.write_profile(1, 1, profiler.info())
        rows = tuple(ProfileLine.from_dict(row) for row in lab.profile(1))
        text = [line.plain for line in profile_lines(rows, 80, Glyphs.pick(False))]
        [marked] = [line for line in text if "◀" in line]
        assert marked.split()[0] == "train_model" and "7.9s" in line_of("\n".join(text), "init_model")
