"""Helpers for the store tests: paths, and real worker processes running store_procs.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROCS = Path(__file__).with_name("store_procs.py")
FIXTURES = Path(__file__).with_name("fixtures")


def spawn(command: str, *args: object) -> subprocess.Popen[str]:
    """Start `store_procs.py COMMAND ARGS...` in a new Python process."""
    paths = [str(REPO), str(REPO / "tests"), os.environ.get("PYTHONPATH", "")]  # tuiflow, the tests' helpers
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.Popen(
        [sys.executable, str(PROCS), command, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def result(proc: subprocess.Popen[str], timeout: float = 60) -> dict:
    """Wait for a worker and return the JSON object it printed last; fail with its stderr."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"worker failed ({proc.returncode}):\n{err}"
    return json.loads(out.strip().splitlines()[-1])

