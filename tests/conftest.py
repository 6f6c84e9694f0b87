"""Suite-wide safety nets: no daemon or runner started by a test outlives the test session, and no
module-level state one test sets is seen by the next."""

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


@pytest.fixture(autouse=True)
def _fake_gpu_state_dir_is_reset():
    """`tuiflow.monitor.keep_gpu_state_in(home)` (called by `Lab.gpus()`, the daemon and the runner)
    sets `fake_gpus.default_state_dir` for the whole process: put back what it was before the test."""
    from tuiflow.monitor import fake_gpus

    before = fake_gpus.default_state_dir
    yield
    fake_gpus.default_state_dir = before
