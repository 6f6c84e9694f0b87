"""README's `tuiflow.lab` example runs as written, in a fresh home, and prints what it promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def lab_example() -> str:
    [block] = [b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S) if b.startswith("# lab example")]
    return block


def test_the_lab_example_launches_a_grid_waits_and_reads_the_best_curve(tmp_path):
    home = tmp_path / "home"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TUIFLOW_HOME": str(home), "TUIFLOW_FAKE_GPUS": "2",
           "TUIFLOW_CPU_SLOTS": "2", "PYTHONUNBUFFERED": "1"}
    try:
        result = subprocess.run([sys.executable, "-c", lab_example()], cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=600)
    finally:
        subprocess.run([sys.executable, "-m", "tuiflow", "daemon", "stop", "--home", str(home)], env=env,
                       capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "2 runs planned"
    best = re.fullmatch(r"best: (\d+) lr (0\.001|0\.01) accuracy (0\.\d+)", lines[1])
    assert best is not None, lines
    assert float(best[3]) > 0.8
    assert [re.fullmatch(r"  epoch (\d): 0\.\d{3}", line)[1] for line in lines[2:5]] == ["1", "2", "3"]
    assert lines[5].startswith("slowest action: ") and lines[5] != "slowest action: "
