"""The scheduler daemon: submit-to-start latency, idle CPU, and draining a queue of 1,000 runs.

Run from the repository root: `python benchmarks/bench_scheduler.py [--samples 30] [--idle 20] [--runs 1000]`.
Prints one JSON line. Every phase uses a real daemon (started as clients start it) over a fresh home in
a temporary directory, and `sleep` runs with seconds=0 (the cost measured is the scheduler's and the
runner process's, not the recipe's).

- latency: one run submitted at a time through the lab API while the daemon idles with a free slot;
  `started_at - created_at` from the store (the daemon claims the run). Target: p50 <= 300 ms.
- idle CPU: the daemon's own CPU time (psutil) over `--idle` seconds with an empty queue, as a
  percentage of one core. Target: < 1 %.
- drain: `--runs` runs queued at once, then the daemon started; wall time until all have ended,
  throughput, and whether every run is done exactly once (none lost, none run twice).

`--executor ray [--address HOST:PORT]`: latency and a drain of `--runs` (default 200) runs through the
local executor and through a Ray cluster side by side (no idle phase). Without `--address` it starts a
head of its own (`ray start --head --num-cpus N` with this machine's N cores, in a temporary folder)
and kills it at the end. A Ray run's `started_at` is when its runner started on its node (Ray placed
its actor), a local run's when the daemon claimed it, a moment before it spawns the runner.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import emit, log

from tuiflow import lab
from tuiflow.store import Store

LATENCY_TARGET_S = 0.300
IDLE_TARGET_PCT = 1.0


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _wait_final(store: Store, run_ids: list[int], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    pending = set(run_ids)
    while pending:
        if time.monotonic() > deadline:
            raise SystemExit(f"bench_scheduler: {len(pending)} runs did not end within {timeout:g} s")
        ended = {run_id for run_id, status in store.statuses(pending).items()
                 if status not in ("queued", "running")}
        pending -= ended
        if pending:
            time.sleep(0.02)
    return time.monotonic()


def _kill_leftovers(home: Path) -> None:
    """Kill any runner the home still has (none is expected) so the benchmark leaves nothing behind."""
    import psutil

    for process in psutil.process_iter(["pid"]):
        try:
            if process.pid != os.getpid() and process.environ().get("TUIFLOW_HOME") == str(home):
                os.killpg(os.getpgid(process.pid), signal.SIGKILL)
        except (psutil.Error, OSError):
            continue


class Bench:
    """A fresh home with a daemon started the way clients start it."""

    def __init__(self, home: Path) -> None:
        os.environ["TUIFLOW_HOME"] = str(home)
        self.home = home
        self.store = Store.open(home)
        self.recipe = lab.recipe_catalog().get("sleep")
        self.daemon_pid: int | None = None
        self.executor_args: list[str] = []  # `python -m tuiflow.scheduler` options: the executor

    def start(self) -> int:
        info, _ = lab.start_daemon(self.store, wait_s=120, extra_args=self.executor_args)
        self.daemon_pid = info.pid
        return info.pid

    def submit(self, reps: int = 1) -> list[int]:
        submission = lab.submit(self.store, self.recipe, sets=["seconds=0", "steps=1"], reps=reps, yes=True)
        return [run.id for run in submission.runs]

    def close(self) -> None:
        lab.stop_daemon(self.store)
        _kill_leftovers(self.home)
        self.store.close()


def measure_latency(bench: Bench, samples: int) -> dict:
    bench.start()
    time.sleep(1.0)  # let the daemon settle into its loop
    latencies = []
    for _ in range(samples):
        [run_id] = bench.submit()
        _wait_final(bench.store, [run_id], 60)
        run = bench.store.get_run(run_id)
        latencies.append(run.started_at - run.created_at)
        time.sleep(0.05)  # submissions land at random points of the daemon's tick
    p50, p90 = _quantile(latencies, 0.5), _quantile(latencies, 0.9)
    log(f"latency: p50 {p50 * 1e3:.0f} ms, p90 {p90 * 1e3:.0f} ms over {samples} runs")
    return {"samples": samples, "p50_ms": round(p50 * 1e3, 1), "p90_ms": round(p90 * 1e3, 1),
            "mean_ms": round(statistics.mean(latencies) * 1e3, 1), "max_ms": round(max(latencies) * 1e3, 1),
            "target_p50_ms": LATENCY_TARGET_S * 1e3, "meets_target": p50 <= LATENCY_TARGET_S}


def measure_idle_cpu(bench: Bench, seconds: float) -> dict:
    import psutil

    daemon = psutil.Process(bench.daemon_pid)
    time.sleep(2.0)  # the runs of the latency phase are reaped, the queue is empty
    before, started = daemon.cpu_times(), time.monotonic()
    time.sleep(seconds)
    after, elapsed = daemon.cpu_times(), time.monotonic() - started
    used = (after.user - before.user) + (after.system - before.system)
    percent = 100.0 * used / elapsed
    log(f"idle: {percent:.2f} % of one core over {elapsed:.1f} s")
    return {"seconds": round(elapsed, 1), "cpu_s": round(used, 3), "cpu_pct_of_one_core": round(percent, 2),
            "target_pct": IDLE_TARGET_PCT, "meets_target": percent < IDLE_TARGET_PCT}


def measure_drain(bench: Bench, runs: int) -> dict:
    ids = bench.submit(reps=runs)
    started = time.monotonic()
    bench.start()
    ended = _wait_final(bench.store, ids, 1800)
    wall = ended - started
    final = bench.store.list_runs(experiment=bench.store.get_run(ids[0]).experiment_id)
    done = sum(r.status == "done" for r in final)
    twice = sum(r.attempt != 1 for r in final)
    log(f"drain: {runs} runs in {wall:.1f} s ({runs / wall:.1f} runs/s), {done} done, {twice} run more than once")
    return {"runs": runs, "wall_s": round(wall, 1), "runs_per_s": round(runs / wall, 2), "done": done,
            "lost_or_failed": runs - done, "run_more_than_once": twice, "cpu_slots": os.cpu_count(),
            "ok": done == runs and twice == 0}


def start_ray_head(folder: str) -> tuple[str, int]:
    """``ray start --head`` in ``folder`` on free ports: its address and process group."""
    import socket
    import subprocess

    sockets = [socket.socket() for _ in range(3)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    gcs, client, agent = (sock.getsockname()[1] for sock in sockets)
    for sock in sockets:
        sock.close()
    env = {key: value for key, value in os.environ.items() if not key.startswith("TUIFLOW_")}
    process = subprocess.Popen(
        ["ray", "start", "--head", f"--num-cpus={os.cpu_count()}", "--num-gpus=0", f"--temp-dir={folder}",
         "--disable-usage-stats", "--include-dashboard=false", f"--port={gcs}", f"--ray-client-server-port={client}",
         f"--dashboard-agent-listen-port={agent}", "--node-ip-address=127.0.0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    output, _ = process.communicate(timeout=180)
    if process.returncode != 0:
        raise SystemExit(f"bench_scheduler: ray start failed:\n{output[-2000:]}")
    return f"127.0.0.1:{gcs}", process.pid


def _stop_ray_head(group: int, folder: str) -> None:
    """Kill the head's process group, then its workers (groups of their own, named by its folder)."""
    import psutil

    os.killpg(group, signal.SIGKILL)
    for process in psutil.process_iter(["cmdline"]):
        try:
            if any(folder in part for part in process.info["cmdline"] or []):
                process.kill()
        except psutil.Error:
            continue


def compare_with_ray(args: argparse.Namespace) -> None:
    """Latency and drain, local executor then Ray, side by side."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="tuiflow-bench-scheduler-") as scratch:
        group, folder = None, ""
        address = args.address
        if address is None:
            folder = tempfile.mkdtemp(prefix="tfbray", dir="/tmp")
            address, group = start_ray_head(folder)
            log(f"ray head at {address}")
        try:
            for name, extra in (("local", []), ("ray", ["--executor", "ray", "--address", address])):
                for phase in ("latency", "drain"):
                    bench = Bench(Path(scratch) / f"{name}-{phase}")
                    bench.executor_args = extra
                    try:
                        if phase == "latency":
                            results.setdefault(name, {})["latency"] = measure_latency(bench, args.samples)
                        else:
                            results[name]["drain"] = measure_drain(bench, args.runs)
                    finally:
                        bench.close()
        finally:
            if group is not None:
                _stop_ray_head(group, folder)
                shutil.rmtree(folder, ignore_errors=True)
    emit("scheduler_ray", {"address_given": args.address is not None, **results})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=30, help="latency samples")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle CPU measurement")
    parser.add_argument("--runs", type=int, default=None, help="runs in the drained queue (1000; 200 with Ray)")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="ray: the local executor and a Ray cluster side by side")
    parser.add_argument("--address", default=None, help="with --executor ray: a running cluster's HOST:PORT")
    args = parser.parse_args()
    os.environ.pop("TUIFLOW_FAKE_GPUS", None)  # CPU-only runs: the CPU slots are the limit
    os.environ.pop("TUIFLOW_CPU_SLOTS", None)
    if args.executor == "ray":
        args.runs = args.runs or 200
        compare_with_ray(args)
        return
    args.runs = args.runs or 1000
    with tempfile.TemporaryDirectory(prefix="tuiflow-bench-scheduler-") as scratch:
        first = Bench(Path(scratch) / "latency")
        try:
            latency = measure_latency(first, args.samples)
            idle = measure_idle_cpu(first, args.idle)
        finally:
            first.close()
        second = Bench(Path(scratch) / "drain")
        try:
            drain = measure_drain(second, args.runs)
        finally:
            second.close()
    emit("scheduler", {"latency": latency, "idle_cpu": idle, "drain": drain})


if __name__ == "__main__":
    sys.exit(main())
