"""What the app's tests share as fixtures: a home of fixed runs and telemetry at a frozen clock
(`fixed_home.build`), for the tests that look at a screen without a daemon."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixed_home import build, freeze


@pytest.fixture
def fixed_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixed home, its clock frozen at `FIXED_NOW`."""
    clock = freeze(monkeypatch, tmp_path)
    home = tmp_path / "home"
    build(home, clock).close()
    return home
