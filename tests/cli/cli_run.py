"""`tuiflow ARGS` as a user types it, in a real subprocess, on a home of the test's own (no simulated GPUs,
no extra recipe folders), from the folder that holds the home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def tuiflow(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TUIFLOW_HOME=str(home))
    for name in ("TUIFLOW_FAKE_GPUS", "TUIFLOW_RECIPES"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "tuiflow", *args], capture_output=True, text=True, env=env,
                          cwd=home.parent, timeout=120)
