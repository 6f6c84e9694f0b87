"""CPU cost of live telemetry: the Sampler at 1 Hz with 8 fake GPUs and 10 runs of 5 processes each.

Run from the repository root: `python benchmarks/bench_monitor.py [--ticks 25] [--interval 1]`.
Measures the CPU time the sampling process uses (time.process_time, all threads) over the ticks,
divided by the wall time, in percent of one core; the target is under 1 %. The records are encoded
to JSON rows as the store would take them, but not written. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

from _common import log, machine_info

from tuiflow.monitor.fake_gpus import assign_fake_process, clear_fake_processes
from tuiflow.monitor.sampler import Sampler, SampleRecord

TARGET_PERCENT = 1.0


def spawn_runs(runs: int, per_run: int) -> list[subprocess.Popen]:
    """`runs` process trees of `per_run` processes: a shell and its sleeping children, like a worker and its loaders."""
    script = " ".join(["sleep 600 &"] * (per_run - 1)) + " wait"
    return [subprocess.Popen(["sh", "-c", script], start_new_session=True) for _ in range(runs)]


def wait_for_trees(roots: list[subprocess.Popen], per_run: int, timeout: float = 10.0) -> None:
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(len(psutil.Process(p.pid).children(recursive=True)) == per_run - 1 for p in roots):
            return
        time.sleep(0.05)
    raise RuntimeError("the benchmark's process trees did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=25)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--per-run", type=int, default=5)
    args = parser.parse_args()

    state = tempfile.mkdtemp(prefix="tuiflow-bench-monitor-")
    os.environ["TUIFLOW_FAKE_GPUS"] = str(args.gpus)
    os.environ["TUIFLOW_FAKE_GPUS_STATE"] = state
    roots = spawn_runs(args.runs, args.per_run)
    try:
        wait_for_trees(roots, args.per_run)
        for number, root in enumerate(roots):
            assign_fake_process(root.pid, [number % max(1, args.gpus)], memory_mb=4096)
        watched = {number: root.pid for number, root in enumerate(roots)}

        done = threading.Event()
        ticks: list[tuple[int, int]] = []  # (records, bytes of JSON) per tick

        def sink(records: list[SampleRecord]) -> None:
            rows = [record.row() for record in records]  # the encoding the store's insert needs
            ticks.append((len(rows), sum(len(row[3]) for row in rows)))
            if len(ticks) >= args.ticks:
                done.set()

        sampler = Sampler(runs=lambda: watched, sink=sink, interval=args.interval)
        sampler.tick()  # warm caches (psutil objects, parsed variables) as a running daemon has them
        log(f"sampling {args.ticks} ticks at {args.interval} s: {args.gpus} fake GPUs, "
            f"{args.runs} runs x {args.per_run} processes")
        wall0, cpu0 = time.perf_counter(), time.process_time()
        thread = threading.Thread(target=sampler.run, args=(done,), daemon=True)
        thread.start()
        done.wait(args.ticks * args.interval * 3 + 30)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        thread.join(5)

        tick_seconds = []
        for _ in range(20):  # the cost of one tick alone, for the record
            start = time.perf_counter()
            sampler.tick()
            tick_seconds.append(time.perf_counter() - start)
    finally:
        for root in roots:
            try:
                os.killpg(root.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            root.wait()
        clear_fake_processes(state)

    percent = 100 * cpu / wall
    records, size = ticks[-1] if ticks else (0, 0)
    print(json.dumps({
        "benchmark": "monitor_sampler_cpu",
        "sampler_cpu_percent_of_one_core": round(percent, 3),
        "target_percent": TARGET_PERCENT,
        "meets_target": percent < TARGET_PERCENT,
        "ticks": len(ticks),
        "interval_s": args.interval,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 4),
        "cpu_ms_per_tick": round(1000 * cpu / max(1, len(ticks)), 3),
        "median_tick_ms": round(1000 * sorted(tick_seconds)[len(tick_seconds) // 2], 3),
        "fake_gpus": args.gpus,
        "watched_processes": args.runs * args.per_run,
        "records_per_tick": records,
        "json_bytes_per_tick": size,
        "machine": machine_info(),
    }))


if __name__ == "__main__":
    sys.exit(main())
