"""The dashboard's footer is built again only when the keys it shows change: Textual rebuilds a footer
(a widget per key, each styled anew) on every bindings signal, three at start with the same keys, and
they came while the first poll was being read. Counted calls, not timings."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixed_home import FIXED_NOW, HOSTNAME
from textual.widgets._footer import FooterKey
from tui_helpers import wait_for

from tuiflow.tui import Options, TuiflowApp
from tuiflow.tui.screens.dashboard import DashboardScreen
from tuiflow.tui.widgets.footer import KeysFooter


@pytest.fixture
def composed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many keys each compose of a KeysFooter yielded, in order."""
    counts: list[int] = []
    compose = KeysFooter.compose

    def counting(self: KeysFooter) -> Iterator[Any]:
        widgets = list(compose(self))
        counts.append(len(widgets))
        yield from widgets

    monkeypatch.setattr(KeysFooter, "compose", counting)
    return counts


def footer_keys(app: TuiflowApp) -> list[str]:
    return [key.key_display for key in app.screen.query(FooterKey)]


async def drawn(pilot: Any) -> DashboardScreen:
    app = pilot.app
    dash = await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.telemetry is not None
                          and app.screen.runs_view is not None and app.screen.detail is not None and app.screen)
    await pilot.pause(0.3)  # the idle that sent Textual's third rebuild
    return dash


def test_the_dashboards_footer_is_built_once_at_start(fixed_home: Path, composed: list[int]) -> None:
    async def scenario() -> None:
        app = TuiflowApp(Options(home=fixed_home, refresh_s=3600, hostname=HOSTNAME, clock=lambda: FIXED_NOW))
        async with app.run_test(size=(80, 24)) as pilot:
            await drawn(pilot)
            shown = footer_keys(app)
            assert "c" in shown and "q" in shown
            assert len(composed) == 2 and composed[0] == 0  # empty until the bindings are ready, then once

    asyncio.run(scenario())


def test_the_footer_shows_keys_remapped_after_it_was_built(fixed_home: Path, composed: list[int]) -> None:
    # The keymap is applied once the Lab is open, after the first frame: the footer is built again.
    (fixed_home / "keymap.toml").write_text('cancel = "x"\n')

    async def scenario() -> None:
        app = TuiflowApp(Options(home=fixed_home, refresh_s=3600, hostname=HOSTNAME, clock=lambda: FIXED_NOW))
        async with app.run_test(size=(80, 24)) as pilot:
            await drawn(pilot)
            await wait_for(pilot, lambda: "x" in footer_keys(app), what="the remapped key in the footer")
            assert "c" not in footer_keys(app)

    asyncio.run(scenario())
