"""Fixtures for the results tests: one populated home shared by a module's read-only tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from results_data import Populated, populate


@pytest.fixture(autouse=True)
def _no_user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A command that forgets --home must never touch the real user's store.
    monkeypatch.setenv("TUIFLOW_HOME", str(tmp_path / "env-home"))


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Populated:
    """A home with experiments 'alpha' and 'beta'; tests must not change it."""
    return populate(tmp_path_factory.mktemp("results") / "home")
