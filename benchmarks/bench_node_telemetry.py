"""Per-node telemetry on a local Ray instance (issue 15): what `NodeTelemetry` costs the daemon's tick.

Starts Ray (`ray.init(num_cpus=2, num_gpus=2)`), a `NodeTelemetry` with an actor on this one node
(`skip_local=False`) sampling 8 simulated GPUs every `--interval` seconds, and measures: the time from
`start()` to the first records back, the wall time of `drain()` calls (what a daemon tick waits; the
target is well under the 0.05 s it may wait for a slow node), the records each drain brings, the CPU
the actor's process uses (percent of one core) and `stop()`'s time. Prints one JSON line.

    python benchmarks/bench_node_telemetry.py [--drains 40] [--interval 1] [--gpus 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from _common import emit, log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drains", type=int, default=40, help="drain() calls, one per --tick seconds")
    parser.add_argument("--tick", type=float, default=0.5, help="seconds between drains (the daemon's tick)")
    parser.add_argument("--interval", type=float, default=1.0, help="the actors' sampling interval")
    parser.add_argument("--gpus", type=int, default=8, help="simulated GPUs on the node")
    args = parser.parse_args()

    import psutil
    import ray

    from tuiflow.monitor.ray_nodes import NodeTelemetry

    began = time.perf_counter()
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False)
    init_s = time.perf_counter() - began
    telemetry = NodeTelemetry(interval=args.interval, env={"TUIFLOW_FAKE_GPUS": str(args.gpus)}, skip_local=False)
    try:
        began = time.perf_counter()
        telemetry.start()
        start_s = time.perf_counter() - began
        first = None
        while first is None and time.perf_counter() - began < 120:
            if telemetry.drain():
                first = time.perf_counter() - began
            time.sleep(0.05)
        [handle] = telemetry.actors.values()
        actor = psutil.Process(ray.get(handle.where.remote())["pid"])
        cpu0, wall0 = sum(actor.cpu_times()[:2]), time.perf_counter()
        drains, counts = [], []
        for _ in range(args.drains):
            time.sleep(args.tick)
            t = time.perf_counter()
            records = telemetry.drain()
            drains.append(time.perf_counter() - t)
            counts.append(len(records))
        actor_cpu = 100 * (sum(actor.cpu_times()[:2]) - cpu0) / (time.perf_counter() - wall0)
    finally:
        began = time.perf_counter()
        telemetry.stop()
        stop_s = time.perf_counter() - began
        ray.shutdown()
    drains.sort()
    result = {
        "gpus": args.gpus, "interval_s": args.interval, "tick_s": args.tick, "drains": args.drains,
        "ray_init_s": round(init_s, 2),
        "start_s": round(start_s, 4),
        "first_records_s": None if first is None else round(first, 2),
        "drain_p50_ms": round(1000 * statistics.median(drains), 2),
        "drain_p90_ms": round(1000 * drains[int(0.9 * (len(drains) - 1))], 2),
        "drain_max_ms": round(1000 * drains[-1], 2),
        "records_per_drain_mean": round(statistics.mean(counts), 1),
        "records_total": sum(counts),
        "actor_cpu_percent": round(actor_cpu, 2),
        "stop_s": round(stop_s, 3),
    }
    log(json.dumps(result))
    emit("node_telemetry", result)


if __name__ == "__main__":
    main()
