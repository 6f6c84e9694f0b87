"""Prefetch: batches/s of a gen_batch consumer loop with prefetch=2 vs prefetch=0 (issue 2).

Each batch costs ~5 ms inside an action and the consumer spends ~5 ms on it, both releasing the
GIL, so a prefetching pipeline can overlap them and approach 2x. Two flavours of the 5 ms: sleep
(pure waiting, like I/O or a GPU step) and in-place numpy work sized to ~5 ms (real CPU work; on a
2-core machine both sides then compete for the cores). Target: prefetch=2 >= 1.8x prefetch=0 with
sleep; the numpy flavour is reported for information. Prints one JSON line.

    python benchmarks/bench_prefetch.py [--batches 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from _common import emit, log, parallel_capacity, ratio, summary, tuiflow_available

TARGET_SPEEDUP = 1.8
WORK_S = 0.005
PREFETCH = 2


def calibrate_numpy(seconds: float) -> int:
    """Elements of an in-place float64 `sin` that take about `seconds`."""
    size = 1 << 16
    buf = np.ones(size)
    for _ in range(3):
        np.sin(buf, out=buf)
    start = time.perf_counter()
    for _ in range(20):
        np.sin(buf, out=buf)
    per_element = (time.perf_counter() - start) / 20 / size
    return max(1024, int(seconds / per_element))


def make_pipeline(items: int, numpy_size: int) -> tuple[Any, Any, Any]:
    """A dataset of `items` scalars and pipelines whose only action costs ~5 ms a batch."""
    from tuiflow import Batch, Dataset, DatasetIndex, Pipeline, action

    producer_buf = np.ones(numpy_size)  # in place: fresh 5 MB arrays would time page faults instead

    class SlowBatch(Batch):
        components = ("values",)

        @action
        def slow_sleep(self) -> SlowBatch:
            time.sleep(WORK_S)
            self.values = self.values + 1
            return self

        @action
        def slow_numpy(self) -> SlowBatch:
            np.sin(producer_buf, out=producer_buf)
            self.values = self.values + producer_buf[0]
            return self

    ds = Dataset(DatasetIndex(items), batch_class=SlowBatch, preloaded=(np.zeros(items),))
    return ds, Pipeline().load().slow_sleep(), Pipeline().load().slow_numpy()


def consume(ds: Any, template: Any, batches: int, prefetch: int, consumer: Any) -> float:
    """Batches/s of a gen_batch loop that does `consumer()` per batch."""
    start = time.perf_counter()
    done = 0
    for _batch in (ds >> template).gen_batch(1, n_epochs=1, shuffle=False, prefetch=prefetch):
        consumer()
        done += 1
    elapsed = time.perf_counter() - start
    if done != batches:
        raise AssertionError(f"expected {batches} batches, got {done}")
    return done / elapsed


def measure(ds: Any, template: Any, batches: int, repeats: int, consumer: Any, name: str) -> dict[str, Any]:
    consume(ds, template, batches, PREFETCH, consumer)  # warm-up: the prefetch thread, caches
    rates: dict[int, list[float]] = {0: [], PREFETCH: []}
    for i in range(repeats):
        for prefetch in ((0, PREFETCH) if i % 2 == 0 else (PREFETCH, 0)):
            rates[prefetch].append(consume(ds, template, batches, prefetch, consumer))
    log(f"{name}: prefetch=0 {[round(x, 1) for x in rates[0]]}, "
        f"prefetch={PREFETCH} {[round(x, 1) for x in rates[PREFETCH]]}")
    return {
        "prefetch_0_batches_per_s": summary(rates[0], 2),
        f"prefetch_{PREFETCH}_batches_per_s": summary(rates[PREFETCH], 2),
        "speedup_best": ratio(max(rates[PREFETCH]), max(rates[0]), 3),
        "speedup_median": ratio(sorted(rates[PREFETCH])[repeats // 2], sorted(rates[0])[repeats // 2], 3),
        "ideal_batches_per_s": {"serial": round(1 / (2 * WORK_S), 1), "overlapped": round(1 / WORK_S, 1)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    why_not = tuiflow_available()
    if why_not is not None:
        emit("prefetch", {"error": f"tuiflow engine not importable: {why_not}", "meets_target": False})
        return
    numpy_size = calibrate_numpy(WORK_S)
    ds, sleep_ppl, numpy_ppl = make_pipeline(args.batches, numpy_size)

    def sleep_consumer() -> None:
        time.sleep(WORK_S)

    consumer_buf = np.ones(numpy_size)

    def numpy_consumer() -> None:
        np.sin(consumer_buf, out=consumer_buf)

    sleep = measure(ds, sleep_ppl, args.batches, args.repeats, sleep_consumer, "sleep")
    capacity = parallel_capacity()
    cpu = measure(ds, numpy_ppl, args.batches, args.repeats, numpy_consumer, "numpy")
    meets = sleep["speedup_best"] is not None and sleep["speedup_best"] >= TARGET_SPEEDUP
    emit("prefetch", {
        "batches": args.batches,
        "work_per_side_s": WORK_S,
        "sleep": sleep,
        "numpy_info_only": {**cpu, "numpy_elements": numpy_size,
                            "effective_cores": capacity},
        "target": {"speedup_min": TARGET_SPEEDUP, "on": "sleep, best of repeats"},
        "meets_target": meets,
    })


if __name__ == "__main__":
    main()
