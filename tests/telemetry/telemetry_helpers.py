"""Helpers for the telemetry tests: feed the real sampler into a store, run `tuiflow top` in a subprocess.

A module of its own, not conftest.py: `from conftest import ...` would find another directory's conftest
when the whole suite runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tuiflow.monitor import Sampler, fake_gpus
from tuiflow.store import Sample, Store

# Imports the command module itself, so the test does not depend on where the CLI registers it.
TOP = "import sys, tuiflow.cli.top; from tuiflow.cli.app import main; sys.argv[0] = 'tuiflow'; main()"


def store_sink(store: Store) -> Callable[[list], None]:
    """The daemon's sink: a tick's records into the store's samples table."""

    def sink(records: list) -> None:
        store.add_samples([Sample(r.time, r.device, r.kind, r.values) for r in records])

    return sink


def sample_for_a_while(store: Store, ticks: int = 4, runs: Callable[[], dict] | None = None) -> Sampler:
    """Run the real sampler thread at its fastest interval until it has written `ticks` ticks."""
    sampler = Sampler(runs=runs, sink=store_sink(store), interval=0.25)
    sampler.start()
    deadline = time.monotonic() + 10
    try:
        while sampler.ticks < ticks and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sampler.stop()
    assert sampler.ticks >= ticks
    return sampler


def top_env(**extra: str) -> dict[str, str]:
    """The environment of a `tuiflow top` subprocess: an 80x24 terminal, a UTF-8 locale unless overridden."""
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_CTYPE", "LANG", "PYTHONIOENCODING")}
    env.update(COLUMNS="80", LINES="24", LANG="C.UTF-8")
    env.pop(fake_gpus.FAKE_GPUS_ENV, None)
    env.update(extra)
    return env


def run_top(home: Path, *args: str, env: dict[str, str] | None = None,
            timeout: float = 30) -> subprocess.CompletedProcess:
    """`tuiflow top --home HOME ARGS` in a subprocess; output as bytes, so its encoding can be checked."""
    return subprocess.run([sys.executable, "-c", TOP, "top", "--home", str(home), *args], capture_output=True,
                          env=env or top_env(), timeout=timeout, check=False)
