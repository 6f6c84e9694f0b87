"""Fixtures for the telemetry tests: a clean GPU environment and a real store (helpers: telemetry_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tuiflow.monitor import fake_gpus, nvml
from tuiflow.store import Store


@pytest.fixture(autouse=True)
def _clean_gpu_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # The machine running the tests may have either variable set; each test states what it wants.
    monkeypatch.delenv(fake_gpus.FAKE_GPUS_ENV, raising=False)
    monkeypatch.setenv(fake_gpus.STATE_ENV, str(tmp_path / "fake-gpu-state"))
    fake_gpus.clear_fake_processes()
    nvml._reset_for_tests()
    yield
    nvml._reset_for_tests()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real store in a fresh home."""
    opened = Store.open(tmp_path / "home")
    yield opened
    opened.close()


