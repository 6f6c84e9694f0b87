"""Suite-wide safety net: no daemon or runner started by a test outlives the test session."""

from __future__ import annotations

import os
import signal

import psutil
import pytest


@pytest.fixture(scope="session", autouse=True)
def _no_tuiflow_process_outlives_the_session(tmp_path_factory):
    base = str(tmp_path_factory.getbasetemp())
    yield
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if base in cmdline and ("tuiflow.scheduler" in cmdline or "tuiflow.runner" in cmdline):
            try:
                os.killpg(process.info["pid"], signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
