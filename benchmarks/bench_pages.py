"""Listing and cancelling a big experiment: `queue`, `results` and `cancel` over 100,000 queued runs.

Builds a store with one experiment of N queued `sleep` runs (straight through the store, as
`tuiflow run --yes` would queue them), then times each command as a real CLI subprocess (wall time
and peak RSS), beside `tuiflow --version` (the interpreter and the CLI's imports, which every command
pays). In-process, it times a keyset page deep in the listing against the first page.

Run from the repository root: `python benchmarks/bench_pages.py [--runs N] [--repeats R]`. Prints one
JSON line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO_ROOT, emit, log

from tuiflow.store import RunSpec, Store

TARGET_S = 1.0  # each command's answer, startup included
COMMANDS = (("queue",), ("results",), ("results", "--sort", "-seconds"), ("results", "--json"), ("cancel", "big"))
SLEEP_DEFAULTS = {"fail": "no", "fail_at": -1, "exit_code": 1, "children": 0, "print_bytes": False}


def build(home: Path, runs: int) -> float:
    """A store with one experiment, "big", of `runs` queued runs; returns seconds taken."""
    start = time.perf_counter()
    specs = [
        RunSpec(config={"seconds": i % 97, "steps": 1 + i % 13, **SLEEP_DEFAULTS}, seed=i, gpus_requested=0)
        for i in range(runs)
    ]
    with Store.open(home) as store:
        store.create_experiment("big", "sleep", config={}, grid={"seconds": list(range(97))}, runs=specs)
    return time.perf_counter() - start


# A small process starts the command and reports its wall time and peak RSS: a child forked from this
# one (which holds the store it built) would count this process's memory in its own peak.
_MEASURE = """import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\n@measured {time.perf_counter() - start} {usage.ru_maxrss}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def cli(*args: str) -> dict[str, Any]:
    """Run `tuiflow ARGS` as a user would; its wall time, peak RSS and output size."""
    proc = subprocess.run([sys.executable, "-S", "-c", _MEASURE, "-m", "tuiflow", *args], capture_output=True,
                          cwd=REPO_ROOT, env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"})  # fmt: skip
    stdout, stderr = proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
    stderr, _, measured = stderr.rpartition("\n@measured ")
    if proc.returncode != 0 or not measured:
        raise RuntimeError(f"tuiflow {' '.join(args)} exited {proc.returncode}: {stderr.strip()[-300:]}")
    wall, rss_kb = measured.split()
    lines = stdout.rstrip().splitlines()
    return {"wall_s": float(wall), "rss_mb": int(rss_kb) / 1024, "stdout_bytes": len(proc.stdout),
            "last_line": (lines[-1].strip() if lines else "")[:120], "stderr": stderr.strip()[:160]}


def timed(repeats: int, *args: str, fresh: Path | None = None, home: Path | None = None) -> dict[str, Any]:
    """The median of `repeats` runs of a command; with `fresh`, each on a new copy of that store."""
    samples = []
    for _ in range(repeats):
        if fresh is not None and home is not None:
            shutil.rmtree(home, ignore_errors=True)
            shutil.copytree(fresh, home)
        samples.append(cli(*args))
    best = samples[-1]
    return {
        "wall_s": round(statistics.median(s["wall_s"] for s in samples), 3),
        "wall_s_best": round(min(s["wall_s"] for s in samples), 3),
        "rss_mb": round(max(s["rss_mb"] for s in samples), 1),
        "stdout_bytes": best["stdout_bytes"],
        "last_line": best["last_line"],
        **({"stderr": best["stderr"]} if best["stderr"] else {}),
    }


def keyset(home: Path, runs: int) -> dict[str, Any]:
    """Page 1 and page 1,000 (of 50 runs) in-process, by id and by a parameter, highest first."""
    out: dict[str, Any] = {}
    deep = min(1000, runs // 50)
    with Store.open(home, create=False) as store:
        for sort in (None, "-config.seconds"):
            where = [("experiment_id", "=", store.find_experiment("big").id)]
            # The cursor that starts page `deep`: where page `deep - 1` ends (found once, by OFFSET).
            cursor = store.results_page(where, sort=sort, limit=1, offset=(deep - 1) * 50 - 1).next
            first, later = [], []
            for _ in range(5):
                start = time.perf_counter()
                store.results_page(where, sort=sort)
                first.append(time.perf_counter() - start)
                start = time.perf_counter()
                page = store.results_page(where, sort=sort, after=cursor)
                later.append(time.perf_counter() - start)
            assert len(page.rows) == 50
            out[sort or "id"] = {"page": deep, "page_1_ms": round(min(first) * 1000, 1),
                                 "page_n_ms": round(min(later) * 1000, 1)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tuiflow-bench-pages-") as tmp:
        fresh, home, empty = Path(tmp) / "fresh", Path(tmp) / "home", Path(tmp) / "empty"
        log(f"building a store of {args.runs:,} queued runs ...")
        built = build(fresh, args.runs)
        build(empty, 0)  # the same commands over no runs: what every command pays whatever the store holds
        commands: dict[str, Any] = {"startup (tuiflow --version)": timed(args.repeats, "--version")}
        for command in COMMANDS:
            fresh_copy = {"fresh": fresh, "home": home} if command[0] == "cancel" else {}
            if not fresh_copy:
                shutil.rmtree(home, ignore_errors=True)
                shutil.copytree(fresh, home)
            figures = timed(args.repeats, *command, "--home", str(home), **fresh_copy)
            figures["wall_s_no_runs"] = timed(args.repeats, *command, "--home", str(empty))["wall_s"]
            commands[" ".join(command)] = figures
        shutil.rmtree(home)
        shutil.copytree(fresh, home)
        pages = keyset(home, args.runs)
    for name, figures in commands.items():
        bare = f"(no runs {figures['wall_s_no_runs']:.3f} s)" if "wall_s_no_runs" in figures else ""
        log(f"{name:28} {figures['wall_s']:6.3f} s {bare:20} {figures['rss_mb']:6.1f} MB  {figures['last_line']}")
    meets = {f"{name} < {TARGET_S:g} s": figures["wall_s"] < TARGET_S
             for name, figures in commands.items() if not name.startswith("startup")}
    meets["cancel prints a count"] = commands["cancel big"]["stdout_bytes"] < 200
    for sort, figures in pages.items():
        # 1 ms of slack: by id both pages take well under a millisecond, where timer noise rules
        deep, first = figures["page_n_ms"], figures["page_1_ms"]
        meets[f"page {figures['page']} <= 1.5x page 1 by {sort}"] = deep <= 1.5 * first + 1
    emit("pages", {"runs": args.runs, "build_s": round(built, 2), "commands": commands, "keyset": pages,
                   "targets": {"command_s": TARGET_S, "cancel_stdout_bytes": 200, "deep_page_vs_first": 1.5},
                   "meets": meets, "meets_target": all(meets.values())})


if __name__ == "__main__":
    main()
