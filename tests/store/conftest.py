"""Fixtures for the store tests: a fresh home per test, never the user's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tuiflow.store import Store


@pytest.fixture(autouse=True)
def _no_user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A test that forgets to pass a home must never touch the real user's store.
    monkeypatch.setenv("TUIFLOW_HOME", str(tmp_path / "env-home"))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A tuiflow home that does not exist yet."""
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> Iterator[Store]:
    """An open store in a fresh home."""
    with Store.open(home) as opened:
        yield opened
