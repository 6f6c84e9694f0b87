"""Workload A throughput: tuiflow vs a hand-written numpy loop vs BatchFlow (issue 2).

100,000 items x 32 float32 (+ int labels), batch 64, `load` + five trivial numpy actions, one
epoch, shuffled with a fixed seed (and unshuffled). Prints one JSON line; diagnostics go to stderr.
Targets: tuiflow/batchflow >= 15, handloop/tuiflow <= 3 (on the best of the repeats).

    python benchmarks/bench_pipeline.py [--repeats 7] [--no-batchflow]
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import _workload_a as wa
from _common import BENCH_DIR, batchflow_python, emit, log, ratio, run_json, summary, tuiflow_available

TARGET_VS_BATCHFLOW = 15.0
TARGET_HANDLOOP_OVER_TUIFLOW = 3.0


def measure_local(repeats: int, shuffle: int | None) -> dict[str, Any]:
    """Interleave tuiflow and hand-loop epochs so both see the same background noise."""
    images, labels = wa.make_data()
    batches = wa.n_batches()
    why_not = tuiflow_available()
    ds = template = None
    if why_not is None:
        ds, template = wa.tuiflow_workload(images, labels)
        wa.check_tuiflow_result(ds, template, images)
        wa.run_tuiflow(ds, template, shuffle=shuffle if shuffle is not None else False)  # warm-up
    wa.hand_loop(images, labels, shuffle=shuffle)  # warm-up
    tui, hand = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        wa.hand_loop(images, labels, shuffle=shuffle)
        hand.append(batches / (time.perf_counter() - start))
        if why_not is None:
            start = time.perf_counter()
            wa.run_tuiflow(ds, template, shuffle=shuffle if shuffle is not None else False)
            tui.append(batches / (time.perf_counter() - start))
    log(f"shuffle={shuffle}: handloop {[round(x) for x in hand]}, tuiflow {[round(x) for x in tui]}")
    return {
        "tuiflow_batches_per_s": summary(tui) if tui else None,
        "handloop_batches_per_s": summary(hand),
        "tuiflow_error": why_not,
    }


def measure_batchflow(repeats: int, unshuffled_repeats: int) -> dict[str, Any]:
    """BatchFlow's throughput, in a subprocess of its own venv (created on first use)."""
    python, why_not = batchflow_python(install=True)
    if python is None:
        log(f"skipping BatchFlow: {why_not}")
        return {"note": why_not}
    try:
        out = run_json([str(python), str(BENCH_DIR / "_batchflow_workload.py"), "--seed", str(wa.SEED),
                        "--repeats", str(repeats), "--unshuffled-repeats", str(unshuffled_repeats)])
    except Exception as exc:
        log(f"BatchFlow run failed: {exc}")
        return {"note": f"BatchFlow run failed: {exc}"}
    return {
        "version": out["version"],
        "shuffled_batches_per_s": summary(out["shuffled"]),
        "unshuffled_batches_per_s": summary(out["unshuffled"]) if out["unshuffled"] else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="epochs timed per variant (best is used)")
    parser.add_argument("--batchflow-repeats", type=int, default=3)
    parser.add_argument("--no-batchflow", action="store_true", help="skip the BatchFlow comparison")
    args = parser.parse_args()

    shuffled = measure_local(args.repeats, wa.SEED)
    unshuffled = measure_local(max(3, args.repeats // 2), None)
    batchflow = ({"note": "skipped (--no-batchflow)"} if args.no_batchflow
                 else measure_batchflow(args.batchflow_repeats, max(1, args.batchflow_repeats // 2)))

    def best(entry: dict[str, Any] | None) -> float | None:
        return entry["best"] if entry else None

    tui_best = best(shuffled["tuiflow_batches_per_s"])
    hand_best = best(shuffled["handloop_batches_per_s"])
    bf_best = best(batchflow.get("shuffled_batches_per_s"))
    vs_batchflow = ratio(tui_best, bf_best)
    hand_over_tui = ratio(hand_best, tui_best)
    meets = {
        "tuiflow_over_batchflow": None if vs_batchflow is None else vs_batchflow >= TARGET_VS_BATCHFLOW,
        "handloop_over_tuiflow": None if hand_over_tui is None else hand_over_tui <= TARGET_HANDLOOP_OVER_TUIFLOW,
    }
    checked = [v for v in meets.values() if v is not None]
    result = {
        "workload": {"items": wa.ITEMS, "features": wa.FEATURES, "batch_size": wa.BATCH_SIZE,
                     "batches_per_epoch": wa.n_batches(), "actions": ["load", "times2", "plus1", "absval",
                                                                     "minus_half", "div3"],
                     "shuffle_seed": wa.SEED, "prefetch": 0, "profile": False},
        "shuffled": shuffled,
        "unshuffled": unshuffled,
        "batchflow": batchflow,
        "tuiflow_us_per_batch": None if tui_best is None else round(1e6 / tui_best, 1),
        "handloop_us_per_batch": round(1e6 / hand_best, 1),
        "ratios_best": {
            "tuiflow_over_batchflow": vs_batchflow,
            "handloop_over_tuiflow": hand_over_tui,
            "unshuffled_handloop_over_tuiflow": ratio(best(unshuffled["handloop_batches_per_s"]),
                                                      best(unshuffled["tuiflow_batches_per_s"])),
            "unshuffled_tuiflow_over_batchflow": ratio(best(unshuffled["tuiflow_batches_per_s"]),
                                                       best(batchflow.get("unshuffled_batches_per_s"))),
        },
        "target": {"tuiflow_over_batchflow_min": TARGET_VS_BATCHFLOW,
                   "handloop_over_tuiflow_max": TARGET_HANDLOOP_OVER_TUIFLOW},
        "meets": meets,
        "meets_target": bool(checked) and all(checked) and len(checked) == len(meets),
    }
    emit("pipeline", result)


if __name__ == "__main__":
    sys.exit(main())
