"""Fixtures for the runner tests: no test ever touches the user's own home."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _no_user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each test passes its home explicitly; one that forgets must land in its tmp_path.
    monkeypatch.setenv("TUIFLOW_HOME", str(tmp_path / "env-home"))
