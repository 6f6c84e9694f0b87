"""The run detail's log search keeps what is typed (issue 20, point 1's audit): `/` from any tab opens
the search field with the focus in it, and the polls of a running run, which add log lines and redraw
the panes, leave the field and its focus alone until enter or escape; what is typed is drawn (the
field's focus border once took its one row)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input
from tui_helpers import Lab, daemon_home, wait_for

from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.screens.run_detail import RunDetailScreen
from tuiflow.tui.widgets.log_search import LogSearch


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    yield from daemon_home(tmp_path, monkeypatch)


def test_the_log_search_keeps_its_keys_while_the_run_is_polled(live: Lab) -> None:
    (run,) = live.submit("tiny-pipeline", sets=["epochs=400"])
    live.wait_status(run.id, "running")
    live.wait_until(lambda: b"epoch 1" in live.log(run.id), 30, "the run's first line")

    async def scenario() -> None:
        app = TuiflowApp(Options(home=live.home, refresh_s=0.2, hostname="test-box"))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen), what="the dashboard")
            app.action_open_run(run.id)
            screen = await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen) and app.screen.reads
                                    and app.screen, what="the run's detail")
            assert screen.active_tab == "overview"
            await pilot.press("slash")  # from the overview: the log's tab, and the field to type in
            field = screen.query_one(LogSearch).query_one("#log-find", Input)
            await wait_for(pilot, lambda: screen.focused is field, what="the search field focused")
            reads = screen.reads
            await wait_for(pilot, lambda: screen.reads >= reads + 2, what="two polls of the running run")
            await pilot.press(*"epoch 2")
            await wait_for(pilot, lambda: screen.reads >= reads + 4, what="two polls more")
            assert field.value == "epoch 2" and screen.focused is field and app.screen is screen
            assert field.content_region.height == 1  # what is typed is seen: no focus border eats its row
            await pilot.press("enter")
            search = screen.query_one(LogSearch)
            await wait_for(pilot, lambda: search.matches, what="the matches")
            assert "epoch 2" in search.area.selected_text.lower()

    asyncio.run(scenario())
