"""Helpers shared by the engine benchmarks: machine info, timing, the JSON line, the BatchFlow venv."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
BATCHFLOW_VENV = BENCH_DIR / ".venv-batchflow"
# batchflow's `load` from memory goes through a module that imports pandas lazily, and pandas is not
# among its install requirements, so a venv with only batchflow and numpy fails on the first batch.
BATCHFLOW_PACKAGES = ("batchflow", "numpy", "pandas")

# Running a script as `python benchmarks/bench_x.py` puts benchmarks/ on sys.path, not the repository
# root; the root goes first so that the working tree's tuiflow is measured even when not installed.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def log(*parts: object) -> None:
    """Print a diagnostic line to stderr; stdout carries only the one JSON line."""
    print(*parts, file=sys.stderr, flush=True)


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or the platform's guess elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on, including the load average (the machine is shared)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    try:
        import numpy

        numpy_version = numpy.__version__
    except ImportError:
        numpy_version = None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "numpy": numpy_version,
        "loadavg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


_SPIN = "import time\nt = time.perf_counter()\ns = 0\nfor i in range({n}):\n    s += i\nprint(time.perf_counter() - t)"


def parallel_capacity(loops: int = 3_000_000) -> dict[str, Any]:
    """How many cores' worth of CPU the machine gives at once: the same pure-Python spin in one
    process alone, then in one process per usable CPU at the same time.

    A shared VM can list 2 CPUs and deliver barely more than one; then no thread or prefetch
    speed-up can reach 2x, whatever the engine does.
    """
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    code = _SPIN.format(n=loops)

    def spin(count: int) -> list[float]:
        procs = [subprocess.Popen([sys.executable, "-S", "-c", code], stdout=subprocess.PIPE, text=True)
                 for _ in range(count)]
        return [float(p.communicate()[0]) for p in procs]

    alone = min(spin(1)[0] for _ in range(2))
    together = [max(spin(n)) for _ in range(2)]
    capacity = n * alone / min(together)
    return {"cpus": n, "alone_s": round(alone, 3), "together_s": [round(t, 3) for t in together],
            "effective_cores": round(capacity, 2)}


def emit(bench: str, result: dict[str, Any]) -> None:
    """Print the benchmark's single JSON line to stdout."""
    line = {"bench": bench, **result, "machine": machine_info()}
    sys.stdout.write(json.dumps(line, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def summary(samples: list[float], digits: int = 1, lower_is_better: bool = False) -> dict[str, Any]:
    """Best, median and worst of repeated measurements: rates by default, times if lower_is_better."""
    best, worst = (min, max) if lower_is_better else (max, min)
    return {
        "best": round(best(samples), digits),
        "median": round(statistics.median(samples), digits),
        "worst": round(worst(samples), digits),
        "repeats": len(samples),
    }


def ratio(a: float | None, b: float | None, digits: int = 2) -> float | None:
    """a / b, or None when either side is missing."""
    if a is None or b is None or b == 0:
        return None
    return round(a / b, digits)


def tuiflow_available() -> str | None:
    """None when the engine's public API imports, else why it does not."""
    try:
        import tuiflow

        for name in ("Pipeline", "Dataset", "DatasetIndex", "Batch", "action", "inbatch_parallel"):
            getattr(tuiflow, name)
    except Exception as exc:  # any failure means: nothing to measure yet, say why
        return f"{type(exc).__name__}: {exc}"
    return None


def batchflow_python(install: bool = True) -> tuple[Path | None, str | None]:
    """The BatchFlow venv's interpreter, created on first use; (None, why) when it cannot be had."""
    python = BATCHFLOW_VENV / "bin" / "python"
    if not python.exists():
        if not install:
            return None, "benchmarks/.venv-batchflow does not exist (bench_pipeline.py creates it)"
        log(f"creating {BATCHFLOW_VENV} and installing {' '.join(BATCHFLOW_PACKAGES)} (once) ...")
        try:
            subprocess.run([sys.executable, "-m", "venv", str(BATCHFLOW_VENV)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
            subprocess.run([str(python), "-m", "pip", "install", "-q", *BATCHFLOW_PACKAGES], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
        except (subprocess.SubprocessError, OSError) as exc:
            stderr = getattr(exc, "stderr", b"") or b""
            tail = stderr.decode(errors="replace").strip().splitlines()[-1:] if stderr else []
            return None, f"batchflow venv install failed: {exc} {' '.join(tail)}".strip()
    probe = subprocess.run([str(python), "-c", "import batchflow; print(batchflow.__version__)"],
                           capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        tail = probe.stderr.strip().splitlines()[-1:] or ["?"]
        return None, f"import batchflow failed in benchmarks/.venv-batchflow: {tail[0]}"
    return python, None


def run_json(cmd: list[str], timeout: float = 300, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a child that prints one JSON line last on stdout; its stderr passes through to ours."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None, text=True, timeout=timeout,
                          env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... exited {proc.returncode}")
    return json.loads(lines[-1])
