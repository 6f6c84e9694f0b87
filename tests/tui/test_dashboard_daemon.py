"""The dashboard without a daemon, against a real one killed with SIGKILL while its runners go on: the
header says queued runs will not start and which key starts a daemon, the host line is sampled here,
`D` starts a daemon and the command palette's "Stop the daemon" stops it (after y). And the footer
says what `p` does now: "pause", or "resume" while the queue is paused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets._footer import FooterKey
from tui_helpers import Lab, daemon_home, wait_for

from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.confirm import ConfirmScreen
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.widgets.gpu_panel import HostLine
from tuiflow.tui.widgets.status_bar import StatusBar

NO_DAEMON = "no daemon: queued runs will not start — press D to start it"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    yield from daemon_home(tmp_path, monkeypatch)


def status_text(dash: DashboardScreen) -> str:
    return dash.query_one(StatusBar).render().plain


def host_text(dash: DashboardScreen) -> str:
    host = dash.query_one(HostLine)
    return host.lines(host.size.width)[0].plain


def palette_offers(app: TuiflowApp, title: str) -> bool:
    lists = app.screen.query(CommandList)
    return bool(lists) and any(title in str(option.prompt) for option in lists.first().options)


def footer_words(app: TuiflowApp) -> dict[str, str]:
    return {key.key_display: key.description for key in app.screen.query(FooterKey)}


def test_a_killed_daemon_is_said_and_mended_from_the_app(home: Lab) -> None:
    runs = home.submit("sleep", sets=["seconds=120", "steps=120"], reps=3, gpus=1)
    for run in runs[:2]:
        home.wait_status(run.id, "running")
    assert home.run(runs[2].id).status == "queued"  # both GPUs are taken
    killed = home.daemon_pid()
    home.kill_daemon()  # SIGKILL: its runners, in process groups of their own, go on
    assert home.run(runs[0].id).status == "running"

    async def scenario() -> None:
        app = TuiflowApp(Options(home=home.home, refresh_s=0.2, hostname="test-box"))
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.telemetry
                                  and app.screen, what="the dashboard's first poll")
            await wait_for(pilot, lambda: NO_DAEMON in status_text(dash), what="the header saying there is no daemon")
            # Nobody samples the host: the app does, and from its second reading the CPU has a percentage.
            await wait_for(pilot, lambda: host_text(dash).startswith(" CPU ") and "%" in host_text(dash),
                           what="the host sampled by the app")
            assert "RAM" in host_text(dash)

            await pilot.press("D")
            await wait_for(pilot, lambda: "daemon up" in status_text(dash), timeout=30, what="the daemon started by D")
            started = home.daemon_pid()
            assert started is not None and started != killed
            assert "no daemon" not in status_text(dash)

            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the command palette")
            await pilot.press(*"stop the daemon")
            await wait_for(pilot, lambda: palette_offers(app, "Stop the daemon"), what="the palette's entry")
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question before stopping")
            await pilot.press("y")
            await wait_for(pilot, lambda: home.daemon_pid() is None, timeout=30, what="the daemon stopped")
            await wait_for(pilot, lambda: NO_DAEMON in status_text(dash), what="the header without a daemon again")
            assert home.run(runs[0].id).status == "running"  # stopping the daemon leaves its runs alone

    asyncio.run(scenario())


def test_the_footer_says_resume_while_the_queue_is_paused(home: Lab) -> None:
    async def scenario() -> None:
        app = TuiflowApp(Options(home=home.home, refresh_s=0.2, hostname="test-box"))
        async with app.run_test(size=(80, 24)) as pilot:
            dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.telemetry
                                  and app.screen, what="the dashboard's first poll")
            await wait_for(pilot, lambda: footer_words(app).get("p") == "pause", what="p pause in the footer")
            assert "queue running" in status_text(dash)
            await pilot.press("p")
            await wait_for(pilot, lambda: footer_words(app).get("p") == "resume", what="p resume in the footer")
            assert "queue paused" in status_text(dash)
            await pilot.press("p")
            await wait_for(pilot, lambda: footer_words(app).get("p") == "pause", what="p pause again")
            assert "queue running" in status_text(dash)
            # The class's bindings are left as they were: another dashboard starts with "pause".
            assert [b.description for b in DashboardScreen.BINDINGS if getattr(b, "id", None) == "pause"] == ["pause"]

    asyncio.run(scenario())


@pytest.fixture
def quiet_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    """A home with a store and no daemon."""
    yield from daemon_home(tmp_path, monkeypatch, start=False)


def test_the_palette_starts_the_daemon_from_any_screen(quiet_home: Lab) -> None:
    quiet_home.submit("sleep", sets=["seconds=30"])
    assert quiet_home.daemon_pid() is None

    async def scenario() -> None:
        app = TuiflowApp(Options(home=quiet_home.home, refresh_s=0.2, hostname="test-box"))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.telemetry,
                           what="the dashboard's first poll")
            await pilot.press("h")
            await wait_for(pilot, lambda: not isinstance(app.screen, DashboardScreen), what="History")
            history = app.screen
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the command palette")
            await pilot.press(*"start the daemon")
            await wait_for(pilot, lambda: palette_offers(app, "Start the daemon"), what="the palette's entry")
            await pilot.press("enter")
            await wait_for(pilot, lambda: quiet_home.daemon_pid() is not None, timeout=30, what="the daemon started")
            assert app.screen is history  # it stays where it was

    asyncio.run(scenario())
