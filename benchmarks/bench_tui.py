"""The app's first paint and the CPU of an idle dashboard: 8 simulated GPUs, 50 runs in the table.

Run from the repository root: `python benchmarks/bench_tui.py [--seconds 30] [--refresh 1]`.
A real daemon samples 8 simulated GPUs and runs 8 long `sleep` runs on them, 42 more wait in the
queue. The app runs headless through `App.run_test` at 80x24 in this process:

- first paint: from the start of a fresh Python process (interpreter start-up and every import
  included, as when a user types `tuiflow`) to the dashboard drawn with its first telemetry and runs
  (target: under 1 s);
- idle CPU: this process's CPU time (all threads: the polls and the drawing) over `--seconds` of an
  idle dashboard at `--refresh` s, in percent of one core (target: under 5 %).

The daemon's own CPU is not counted (it samples whether a view is open or not). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import log, machine_info

FIRST_PAINT_TARGET_S = 1.0
IDLE_CPU_TARGET_PERCENT = 5.0


def prepare(home: Path, gpus: int, runs: int) -> object:
    """A home whose daemon runs `gpus` long runs on as many simulated GPUs; the rest of `runs` queued."""
    from tuiflow import lab

    os.environ.update({"TUIFLOW_HOME": str(home), "TUIFLOW_FAKE_GPUS": str(gpus),
                       "TUIFLOW_FAKE_GPUS_STATE": str(home / "fake-gpus"), "TUIFLOW_CPU_SLOTS": "2"})
    home_lab = lab.open(home, create=True)
    plan = home_lab.plan("sleep", overrides={"seconds": 900.0, "steps": 900}, reps=runs, name="bench")
    home_lab.launch(plan, num_gpus=1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = home_lab.daemon_status()
        if status.running >= min(gpus, runs) and home_lab.snapshot().gpus and home_lab.snapshot().host:
            return home_lab
        time.sleep(0.5)
    raise RuntimeError(f"the daemon did not start {gpus} runs within 60 s")


async def measure(home: Path, seconds: float, refresh: float, started: float) -> dict[str, float]:
    """In the child: open the app, wait for its first painted dashboard, then sit idle."""
    from tuiflow.tui import Options, TuiflowApp
    from tuiflow.tui.screens.dashboard import DashboardScreen

    imported = time.perf_counter()
    app = TuiflowApp(Options(home=home, refresh_s=refresh))
    async with app.run_test(size=(80, 24)) as pilot:
        mounted = time.perf_counter()
        while True:
            screen = app.screen
            if isinstance(screen, DashboardScreen) and screen.telemetry is not None and screen.runs_view:
                break
            await pilot.pause(0.01)
        painted = time.perf_counter()
        rows = len(screen.runs_view.rows)
        await pilot.pause(2 * refresh)  # the selected run's detail and the first repaints settle
        wall0, cpu0 = time.perf_counter(), time.process_time()
        await pilot.pause(seconds)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        errors = list(screen.poll_errors)
    return {"import_s": imported - started, "first_frame_s": mounted - started, "first_paint_s": painted - started,
            "idle_cpu_percent": 100.0 * cpu / wall, "idle_seconds": wall, "rows": rows, "poll_errors": len(errors)}


def child(home: Path, seconds: float, refresh: float) -> None:
    """The measured process: its clock starts when the process did (time.perf_counter's zero is not that)."""
    import psutil

    started = time.perf_counter() - (time.time() - psutil.Process().create_time())
    print(json.dumps(asyncio.run(measure(home, seconds, refresh, started))))


def main() -> None:
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--refresh", type=float, default=1.0)
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--child", metavar="HOME", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child), args.seconds, args.refresh)
        return

    home = Path(tempfile.mkdtemp(prefix="tuiflow-bench-tui-"))
    log(f"preparing {home}: a daemon, {args.gpus} simulated GPUs, {args.runs} runs")
    home_lab = prepare(home, args.gpus, args.runs)
    try:
        log(f"measuring: first paint, then {args.seconds:g} s of an idle dashboard at {args.refresh:g} s")
        out = subprocess.run([sys.executable, __file__, "--child", str(home), "--seconds", str(args.seconds),
                              "--refresh", str(args.refresh)], capture_output=True, text=True, check=True,
                             timeout=args.seconds + 120)
        result = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        home_lab.cancel(experiment="bench")
        home_lab.stop_daemon()
    line = {
        "bench": "tui", **{k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()},
        "gpus": args.gpus, "runs": args.runs, "refresh_s": args.refresh,
        "first_paint_target_s": FIRST_PAINT_TARGET_S, "idle_cpu_target_percent": IDLE_CPU_TARGET_PERCENT,
        "ok": result["first_paint_s"] < FIRST_PAINT_TARGET_S and result["idle_cpu_percent"] < IDLE_CPU_TARGET_PERCENT,
        "since_start_s": round(time.perf_counter() - started, 2), "machine": machine_info(),
    }
    print(json.dumps(line))
    sys.exit(0 if line["ok"] else 1)


if __name__ == "__main__":
    main()
