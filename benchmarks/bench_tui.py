"""The app's first paint and the CPU of an idle dashboard: 8 simulated GPUs, 50 runs in the table.

Run from the repository root: `python benchmarks/bench_tui.py [--seconds 30] [--refresh 1] [--repeat 3]`.
A real daemon samples 8 simulated GPUs and runs 8 long `sleep` runs on them, 42 more wait in the
queue. The app runs headless through `App.run_test` at 80x24 in a fresh Python process, `--repeat`
times (the best counts: the machine is shared, and others' work only ever adds):

- first frame: from the start of that process (interpreter start-up and every import included, as
  when a user types `tuiflow`) to the dashboard's first frame: its layout, status line and footer,
  the data still being read;
- first paint: to the dashboard drawn with its first telemetry, runs and selected run (target: under 1 s);
- idle CPU: the process's CPU time (all threads: the polls and the drawing) over `--seconds` of an
  idle dashboard at `--refresh` s, in percent of one core (target: under 5 %).

With tmux installed it also times the real command, `python -m tuiflow` in a tmux pane of 80x24, to
the same two moments as read from the pane (`terminal_*`: the command line's own imports included),
and then, `--floor-rounds` times each, taking turns, that command and the floor app
(`benchmarks/_floor_app.py`: a header, a line, a 20-row table and a footer) to their first paints:
`ratio_to_floor` is the ratio of the medians (target: at most 1.3).
The daemon's own CPU is not counted (it samples whether a view is open or not). The package's bytecode
is written first, as installing it does: where PYTHONDONTWRITEBYTECODE is set (this project's shared
machines set it), every start would otherwise compile each of tuiflow's modules from source, about
0.1 s of CPU that no installed copy spends. Prints one JSON line.

`--history` measures History instead, on 100,000 runs and 5,000,000 metric points (benchmarks/bench_history.py).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import BENCH_DIR, REPO_ROOT, log, machine_info

FIRST_PAINT_TARGET_S = 1.0
IDLE_CPU_TARGET_PERCENT = 5.0
_SESSIONS = itertools.count()
RATIO_TARGET = 1.3  # the first painted dashboard in tmux, to the floor app's first paint
SETTLE_S = 8.0


def write_bytecode() -> None:
    """Compile tuiflow's modules to `__pycache__` (git ignores it), as `pip install` does."""
    import compileall

    compileall.compile_dir(REPO_ROOT / "tuiflow", quiet=1)


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
            time.sleep(SETTLE_S)  # the runners' own start-up (Python, numpy, the recipe) is over
            return home_lab
        time.sleep(0.5)
    raise RuntimeError(f"the daemon did not start {gpus} runs within 60 s")


async def measure(home: Path, seconds: float, refresh: float, started: float) -> dict[str, float]:
    """In the child: open the app, wait for its first frame and its first painted dashboard, then sit idle."""
    from tuiflow.tui import Options, TuiflowApp
    from tuiflow.tui.screens.dashboard import DashboardScreen
    from tuiflow.tui.widgets.status_bar import StatusBar

    imported = time.perf_counter()
    app = TuiflowApp(Options(home=home, refresh_s=refresh))
    async with app.run_test(size=(80, 24)) as pilot:
        while not (isinstance(app.screen, DashboardScreen) and app.screen.query(StatusBar)
                   and app.screen.query_one(StatusBar).size.width):
            await pilot.pause(0.005)
        framed = time.perf_counter()
        while True:
            screen = app.screen
            if (isinstance(screen, DashboardScreen) and screen.telemetry is not None and screen.runs_view
                    and screen.detail is not None):
                break
            await pilot.pause(0.005)
        painted = time.perf_counter()
        rows = len(screen.runs_view.rows)
        await pilot.pause(2 * refresh)  # the first repaints settle
        wall0, cpu0 = time.perf_counter(), time.process_time()
        await pilot.pause(seconds)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        errors = list(screen.poll_errors)
    return {"import_s": imported - started, "first_frame_s": framed - started, "first_paint_s": painted - started,
            "idle_cpu_percent": 100.0 * cpu / wall, "idle_seconds": wall, "rows": rows, "poll_errors": len(errors)}


def child(home: Path, seconds: float, refresh: float, spawned: float) -> None:
    """The measured process: its clock starts when the parent spawned it (`spawned`, wall-clock time).

    Not the process's own start time as psutil reports it: that is computed from the boot time in whole
    seconds, so it can be up to a second early."""
    started = time.perf_counter() - (time.time() - spawned)
    print(json.dumps(asyncio.run(measure(home, seconds, refresh, started))))


def in_terminal(timeout_s: float = 20.0, command: str | None = None) -> dict[str, float | None]:
    """A command in a tmux pane of 80x24 (default `python -m tuiflow`): seconds to its first frame (the
    footer drawn) and to its screen with data (for tuiflow: GPU0 and a running run; for the floor app:
    its header, text, table and footer), read from the pane every 25 ms (each read is a tmux client
    process: every 10 ms they took a fifth of a core from the app being measured; a figure is at most
    25 ms late)."""
    session = f"bench-tui-{os.getpid()}-{next(_SESSIONS)}"  # a fresh server each time: none is reused
    floor = command is not None
    started = time.perf_counter()
    # A tmux server of its own: a server already running (a test's, a user's) would give the pane its own
    # environment, not this one's TUIFLOW_HOME.
    tmux = ["tmux", "-L", session]
    subprocess.run([*tmux, "new-session", "-d", "-s", session, "-x", "80", "-y", "24", "-c", str(REPO_ROOT),
                    command or f"{sys.executable} -m tuiflow"], check=True)
    frame = paint = None
    try:
        while time.perf_counter() - started < timeout_s:
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", session], capture_output=True,
                                    text=True).stdout
            now = time.perf_counter() - started
            if frame is None and "quit" in screen:
                frame = now
            if floor and "GPU0 floor" in screen and "95%" in screen and "quit" in screen:
                paint = now
                break
            if not floor and "GPU0" in screen and " running " in screen and "sleep" in screen:
                paint = now
                break
            time.sleep(0.025)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    return {"terminal_first_frame_s": frame, "terminal_first_paint_s": paint}


def floor_side_by_side(rounds: int) -> dict[str, object]:
    """`python -m tuiflow` and the floor app (benchmarks/_floor_app.py) in the same tmux 80x24, taking
    turns, `rounds` each: the medians of their first paints and the ratio of those medians."""
    floor_command = f"{sys.executable} {BENCH_DIR / '_floor_app.py'}"
    ours: list[float] = []
    floors: list[float] = []
    for _ in range(rounds):
        for command, into in ((None, ours), (floor_command, floors)):
            paint = in_terminal(command=command)["terminal_first_paint_s"]
            if paint is not None:
                into.append(paint)
    if not ours or not floors:
        return {"floor": "a first paint was not seen within 20 s"}
    median_ours, median_floor = statistics.median(ours), statistics.median(floors)
    return {"terminal_paint_median_s": round(median_ours, 3), "floor_paint_median_s": round(median_floor, 3),
            "terminal_paint_all_s": [round(v, 3) for v in ours], "floor_paint_all_s": [round(v, 3) for v in floors],
            "ratio_to_floor": round(median_ours / median_floor, 3), "ratio_target": RATIO_TARGET}


def main() -> None:
    if "--history" in sys.argv[1:]:  # History on 100,000 runs: benchmarks/bench_history.py, with its own flags
        from bench_history import main as history

        history([arg for arg in sys.argv[1:] if arg != "--history"])
        return
    started = time.perf_counter()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--refresh", type=float, default=1.0)
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes measured; the best counts")
    parser.add_argument("--floor-rounds", type=int, default=5,
                        help="turns of tuiflow and the floor app in tmux, each (0: none)")
    parser.add_argument("--child", metavar="HOME", help=argparse.SUPPRESS)
    parser.add_argument("--spawned", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child), args.seconds, args.refresh, args.spawned or time.time())
        return

    write_bytecode()
    home = Path(tempfile.mkdtemp(prefix="tuiflow-bench-tui-"))
    log(f"preparing {home}: a daemon, {args.gpus} simulated GPUs, {args.runs} runs")
    home_lab = prepare(home, args.gpus, args.runs)
    results, terminal, loads = [], [], []
    try:
        for attempt in range(max(1, args.repeat)):
            log(f"measuring ({attempt + 1}/{args.repeat}): first paint, then {args.seconds:g} s of an idle "
                f"dashboard at {args.refresh:g} s")
            loads.append(round(os.getloadavg()[0], 2))
            command = [sys.executable, __file__, "--child", str(home), "--seconds", str(args.seconds),
                       "--refresh", str(args.refresh), "--spawned", repr(time.time())]
            out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=args.seconds + 120)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            if shutil.which("tmux"):
                terminal.append(in_terminal())
        floor = floor_side_by_side(args.floor_rounds) if shutil.which("tmux") and args.floor_rounds else {}
    finally:  # stopped from here, not left to the daemon: it is stopped next and would leave them asleep
        home_lab.cancel_and_wait(experiment="bench")  # type: ignore[attr-defined]
        home_lab.stop_daemon()  # type: ignore[attr-defined]
    best = {key: min(r[key] for r in results) for key in ("import_s", "first_frame_s", "first_paint_s",
                                                           "idle_cpu_percent")}
    line = {
        "bench": "tui", **{k: round(v, 4) for k, v in best.items()},
        "all": {key: [round(r[key], 3) for r in results] for key in best},
        "rows": results[0]["rows"], "poll_errors": max(r["poll_errors"] for r in results),
        **_best_terminal(terminal), **floor,
        "gpus": args.gpus, "runs": args.runs, "refresh_s": args.refresh, "repeats": len(results),
        "loadavg_1m_at_each": loads,
        "first_paint_target_s": FIRST_PAINT_TARGET_S, "idle_cpu_target_percent": IDLE_CPU_TARGET_PERCENT,
        "ok": (best["first_paint_s"] < FIRST_PAINT_TARGET_S and best["idle_cpu_percent"] < IDLE_CPU_TARGET_PERCENT
               and float(floor.get("ratio_to_floor", 0.0)) <= RATIO_TARGET),  # type: ignore[arg-type]
        "since_start_s": round(time.perf_counter() - started, 2), "machine": machine_info(),
    }
    print(json.dumps(line))
    sys.exit(0 if line["ok"] else 1)


def _best_terminal(measured: list[dict[str, float | None]]) -> dict[str, object]:
    if not measured:
        return {"terminal": "tmux is not installed"}
    best: dict[str, object] = {}
    for key in ("terminal_first_frame_s", "terminal_first_paint_s"):
        values = [m[key] for m in measured if m[key] is not None]
        best[key] = round(min(values), 3) if values else None
        best[key.replace("_s", "_all_s")] = [None if m[key] is None else round(m[key], 3) for m in measured]
    return best


if __name__ == "__main__":
    main()
