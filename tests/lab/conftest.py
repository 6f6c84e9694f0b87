"""A home of the test's own on 2 simulated GPUs, run from its own folder; its daemon stopped after."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuiflow import lab


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", "2")
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS_STATE", str(tmp_path / "fake-gpus"))
    monkeypatch.setenv("TUIFLOW_CPU_SLOTS", "2")
    monkeypatch.setenv("TUIFLOW_REPORT_INTERVAL", "0.2")
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "home"
    yield path
    if (path / "tuiflow.db").exists():
        with lab.open(path) as opened:
            opened.stop_daemon()
