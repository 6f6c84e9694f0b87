"""What per-action profiling costs: throughput with profile=True vs False, and peak memory (issue 2).

Workload A (see bench_pipeline.py). Throughput: epochs with and without profiling, interleaved,
best of the repeats. Memory: peak RSS (`ru_maxrss`) of a fresh process that runs 10 profiled epochs
vs one that runs 1, so a profiler that keeps every call's timing shows up as growth.
Targets: profiling costs <= 5% of throughput; 10-epoch peak RSS within 10% of the 1-epoch one.

    python benchmarks/bench_profile.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from typing import Any

import _workload_a as wa
from _common import emit, log, ratio, run_json, summary, tuiflow_available

TARGET_OVERHEAD = 0.05
TARGET_RSS_GROWTH = 0.10
RSS_EPOCHS = (1, 10)


def rss_child(epochs: int) -> None:
    """In a fresh process: build workload A, run `epochs` profiled epochs, print peak RSS as JSON."""
    images, labels = wa.make_data()
    ds, template = wa.tuiflow_workload(images, labels)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    ppl = wa.run_tuiflow(ds, template, profile=True, n_epochs=epochs)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = ppl.profile_info
    calls = {row["action"]: row["calls"] for row in rows}
    print(json.dumps({"epochs": epochs, "maxrss_kb_before_run": before, "maxrss_kb": after,
                      "run_s": round(seconds, 3), "profile_rows": len(rows), "calls": calls}))


def measure_overhead(repeats: int) -> dict[str, Any]:
    """Interleaved epochs with and without profiling; overhead from the best and the median."""
    images, labels = wa.make_data()
    ds, template = wa.tuiflow_workload(images, labels)
    batches = wa.n_batches()
    wa.run_tuiflow(ds, template, profile=False)
    ppl = wa.run_tuiflow(ds, template, profile=True)
    rows = ppl.profile_info
    log("profile_info of one epoch:", json.dumps(rows, default=str))
    off, on = [], []
    for i in range(repeats):
        # Alternate which one goes first, so a slow patch of the shared machine hits both alike.
        for profile in ((False, True) if i % 2 == 0 else (True, False)):
            start = time.perf_counter()
            wa.run_tuiflow(ds, template, profile=profile)
            (on if profile else off).append(batches / (time.perf_counter() - start))
    log(f"profile=False {[round(x) for x in off]}\nprofile=True  {[round(x) for x in on]}")
    s_off, s_on = summary(off), summary(on)
    overhead_best = round(1 - s_on["best"] / s_off["best"], 4)
    overhead_median = round(1 - s_on["median"] / s_off["median"], 4)
    return {
        "profile_false_batches_per_s": s_off,
        "profile_true_batches_per_s": s_on,
        "overhead_best": overhead_best,
        "overhead_median": overhead_median,
        "profiled_us_added_per_batch": round(1e6 / s_on["best"] - 1e6 / s_off["best"], 2),
        "profile_info_rows": len(rows),
        "profile_info_keys": sorted(rows[0]) if rows else [],
    }


def measure_rss() -> dict[str, Any]:
    """Peak RSS of fresh processes running 1 and 10 profiled epochs."""
    out = {}
    for epochs in RSS_EPOCHS:
        out[epochs] = run_json([sys.executable, __file__, "--rss-child", str(epochs)])
        log(f"rss child {epochs} epoch(s): {out[epochs]}")
    one, ten = out[RSS_EPOCHS[0]], out[RSS_EPOCHS[1]]
    return {
        "maxrss_kb_1_epoch": one["maxrss_kb"],
        "maxrss_kb_10_epochs": ten["maxrss_kb"],
        "maxrss_kb_before_run": one["maxrss_kb_before_run"],
        "growth": round(ten["maxrss_kb"] / one["maxrss_kb"] - 1, 4),
        "growth_kb": ten["maxrss_kb"] - one["maxrss_kb"],
        "calls_10_epochs": ten["calls"],
        "run_s": {"1": one["run_s"], "10": ten["run_s"]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--rss-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child is not None:
        rss_child(args.rss_child)
        return
    why_not = tuiflow_available()
    if why_not is not None:
        emit("profile", {"error": f"tuiflow engine not importable: {why_not}", "meets_target": False})
        return
    overhead = measure_overhead(args.repeats)
    rss = measure_rss()
    meets = {"overhead": overhead["overhead_best"] <= TARGET_OVERHEAD,
             "rss": rss["growth"] <= TARGET_RSS_GROWTH}
    emit("profile", {
        "workload": "A (see bench_pipeline), one epoch, shuffled, prefetch=0",
        "throughput": overhead,
        "rss": rss,
        "ratio_on_over_off_best": ratio(overhead["profile_true_batches_per_s"]["best"],
                                        overhead["profile_false_batches_per_s"]["best"], 4),
        "target": {"overhead_max": TARGET_OVERHEAD, "rss_growth_max": TARGET_RSS_GROWTH},
        "meets": meets,
        "meets_target": all(meets.values()),
    })


if __name__ == "__main__":
    main()
