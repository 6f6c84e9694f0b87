"""`import tuiflow` wall time and what it drags in (issue 2).

Best of several fresh `python -c "import tuiflow"` processes, next to a bare `python -c "pass"`
(interpreter start-up) and, if benchmarks/.venv-batchflow exists, `import batchflow`. Also lists
which heavy modules `import tuiflow` loads: torch, tensorflow, textual, ray and rich must be absent.
Target: <= 0.3 s wall, and none of the heavy modules. Prints one JSON line.

    python benchmarks/bench_import.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, batchflow_python, emit, log, summary

TARGET_S = 0.3
HEAVY = ("torch", "tensorflow", "textual", "ray", "rich", "pandas", "scipy", "PIL", "psutil", "typer",
         "sqlite_utils", "pynvml", "matplotlib", "numba", "asyncio", "multiprocessing", "concurrent.futures")
MUST_BE_ABSENT = ("torch", "tensorflow", "textual", "ray", "rich")

PROBE = """
import sys, json
import tuiflow
heavy = {heavy!r}
print(json.dumps({{"loaded": sorted(m for m in heavy if m in sys.modules), "n_modules": len(sys.modules),
                  "tuiflow_file": tuiflow.__file__}}))
"""


def env_with_repo() -> dict[str, str]:
    """The environment with the working tree first on PYTHONPATH, so its tuiflow is the one timed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def wall_times(python: str | Path, code: str, repeats: int, env: dict[str, str] | None = None) -> list[float]:
    """Wall seconds of `python -c code` in fresh processes (one untimed warm-up for the disk cache)."""
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        proc = subprocess.run([str(python), "-c", code], env=env, capture_output=True, text=True, timeout=120)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{python} -c {code!r} failed: {proc.stderr.strip().splitlines()[-1:]}")
        if i:
            times.append(elapsed)
    return times


def slowest_imports(env: dict[str, str], top: int = 8) -> list[dict[str, Any]]:
    """The modules with the largest cumulative import time under `-X importtime` (diagnostics)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import tuiflow"], env=env,
                          capture_output=True, text=True, timeout=120)
    rows = []
    for line in proc.stderr.splitlines():
        # "import time:  self [us] | cumulative | imported package", one line per module
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|", 2)
        rows.append({"module": name.strip(), "self_us": int(self_us), "cumulative_us": int(cumulative_us)})
    rows.sort(key=lambda r: -r["cumulative_us"])
    return [r for r in rows if r["module"] not in ("tuiflow", "tuiflow.flow")][:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    env = env_with_repo()

    bare = wall_times(sys.executable, "pass", args.repeats)
    try:
        tui = wall_times(sys.executable, "import tuiflow", args.repeats, env)
        probe = json.loads(subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY)], env=env,
                                          capture_output=True, text=True, check=True).stdout)
        error = None
    except (RuntimeError, subprocess.CalledProcessError, json.JSONDecodeError) as exc:
        tui, probe, error = [], {"loaded": None}, str(exc)
    log(f"python -c pass: {[round(t, 4) for t in bare]}\nimport tuiflow: {[round(t, 4) for t in tui]}")

    batchflow: dict[str, Any]
    python, why_not = batchflow_python(install=False)
    if python is None:
        batchflow = {"note": why_not}
    else:
        bf = wall_times(python, "import batchflow", max(3, args.repeats // 2))
        bf_bare = wall_times(python, "pass", max(3, args.repeats // 2))
        batchflow = {"import_s_best": round(min(bf), 4), "import_s_median": round(sorted(bf)[len(bf) // 2], 4),
                     "python_pass_s_best": round(min(bf_bare), 4)}
        log(f"import batchflow: {[round(t, 4) for t in bf]}")

    best = min(tui) if tui else None
    absent = probe["loaded"] is not None and not set(MUST_BE_ABSENT) & set(probe["loaded"])
    meets = {"wall": best is not None and best <= TARGET_S, "heavy_modules_absent": absent}
    emit("import", {
        "import_tuiflow_s": summary(tui, 4, lower_is_better=True) if tui else None,
        "python_pass_s": summary(bare, 4, lower_is_better=True),
        "import_tuiflow_minus_startup_s": round(best - min(bare), 4) if best is not None else None,
        "heavy_modules_loaded": probe["loaded"],
        "modules_total": probe.get("n_modules"),
        "slowest_imports": slowest_imports(env) if error is None else None,
        "batchflow": batchflow,
        "error": error,
        "target": {"wall_s_max": TARGET_S, "must_be_absent": list(MUST_BE_ABSENT)},
        "meets": meets,
        "meets_target": all(meets.values()),
    })


if __name__ == "__main__":
    main()
