"""History on a big home: 100,000 ended runs and 5,000,000 metric points; its first paint and page moves.

Builds the store fast (experiments and runs through the store's API, then every run ended, its final
metrics and metric series written in bulk), then drives the app headless at 80x24 through
`App.run_test`, from the dashboard:

- experiments: from `h` to History's experiments table drawn (every experiment's runs per status),
  and to the table drawn again with each one's best final metric (every final metric read);
- first page: from `a` (all runs, newest first) to the first page of runs drawn (target: under 1 s);
- page moves: `pagedown` to the next page drawn, over the first pages and again deep in the listing,
  then sorted by a final metric and filtered (target: each under 100 ms); `pageup` back.

Each figure is the time from the key press to the frame after the table holds the new page, read in
the app's own process (the machine is shared: the median of several moves, and the worst). Run from
the repository root: `python benchmarks/bench_history.py [--runs 100000] [--points 50]`, or
`python benchmarks/bench_tui.py --history`. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import log, machine_info

FIRST_PAGE_TARGET_S = 1.0
PAGE_MOVE_TARGET_S = 0.1
RECIPES = ("digits-mlp", "digits-cnn", "sleep")
MODELS = ("VGG", "ResNet", "MLP")
LRS = (0.001, 0.003, 0.01, 0.03, 0.1)


def build(home: Path, runs: int, points: int, per_experiment: int = 500) -> dict[str, float]:
    """`runs` ended runs in experiments of `per_experiment`, each with `points` metric points (two
    metrics, points // 2 steps each); seconds taken by each part."""
    from tuiflow.store import RunSpec, Store

    started = time.perf_counter()
    store = Store.open(home, create=True)
    steps = max(1, points // 2)
    made = 0
    number = 0
    timings = {"runs_s": 0.0, "metrics_s": 0.0}
    now = time.time()
    while made < runs:
        count = min(per_experiment, runs - made)
        recipe = RECIPES[number % len(RECIPES)]
        t0 = time.perf_counter()
        specs = [RunSpec(config={"lr": LRS[i % 5], "model": MODELS[(i // 5) % 3], "epochs": 5 + i % 3,
                                 "batch_size": 32 << (i % 3)}, rep=i // 45, seed=i) for i in range(count)]
        experiment = store.create_experiment(f"sweep-{number:03d}", recipe, grid={"lr": list(LRS)}, runs=specs)
        first = store.list_runs(experiment=experiment.id, limit=1)[0].id
        ends, series = [], []
        for i in range(count):
            index = made + i
            run_id = first + i
            status = "failed" if index % 7 == 3 else "cancelled" if index % 11 == 5 else "done"
            accuracy = 0.8 + 0.15 * ((index * 7919) % 1000) / 1000
            loss = 1.0 - accuracy
            start = now - 30 * 86_400 + index * 20.0
            final = {"accuracy": accuracy, "loss": loss} if status == "done" else None
            ends.append((status, start, start + 60 + index % 900, json.dumps(final) if final else None,
                         str(home / "logs" / f"run-{run_id}.log"), run_id))
            for step in range(1, steps + 1):
                series.append((run_id, "accuracy", step, accuracy * step / steps, start + step))
                series.append((run_id, "loss", step, loss * steps / step, start + step))
        with store.transaction() as conn:
            conn.executemany("UPDATE runs SET status = ?, started_at = ?, ended_at = ?, metrics = ?, log_path = ?, "
                             "exit_code = 0, attempt = 1 WHERE id = ?", ends)
        timings["runs_s"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        store.write_metrics(series)
        timings["metrics_s"] += time.perf_counter() - t0
        made += count
        number += 1
    store.close()
    timings["total_s"] = time.perf_counter() - started
    return timings


async def measure(home: Path, moves: int) -> dict[str, Any]:
    """In this process: the app at 80x24, History's experiments, its first page, page moves."""
    from textual import events

    from tuiflow.tui import Options, TuiflowApp
    from tuiflow.tui.screens.dashboard import DashboardScreen
    from tuiflow.tui.screens.history import HistoryScreen
    from tuiflow.tui.widgets.results_table import ResultsTable

    app = TuiflowApp(Options(home=home, refresh_s=3600, hostname="bench"))
    frames: list[float] = []
    display = app._display

    def displayed(screen: Any, renderable: Any) -> None:  # each frame the app draws (headless: drawn to nothing)
        if renderable is not None:
            frames.append(time.perf_counter())
        display(screen, renderable)

    app._display = displayed  # type: ignore[method-assign]
    out: dict[str, Any] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        while not (isinstance(app.screen, DashboardScreen) and app.screen.runs_view is not None):
            await pilot.pause(0.01)
        await pilot.pause(0.5)

        async def press(key: str) -> float:
            """Send a key as the terminal does (not through Pilot, which then waits for the CPU to idle)."""
            start = time.perf_counter()
            app._driver.send_message(events.Key(key, key if len(key) == 1 else None))  # type: ignore[union-attr]
            return start

        async def until(predicate: Any, start: float) -> float:
            """Seconds from `start` to the first frame drawn after `predicate()` holds."""
            while not predicate():
                await asyncio.sleep(0.0005)
            ready = time.perf_counter()
            while (not frames or frames[-1] < ready) and time.perf_counter() - ready < 0.5:
                await asyncio.sleep(0.0005)
            return frames[-1] - start  # no frame since: the one before had it drawn already

        start = await press("h")
        out["experiments_s"] = await until(lambda: isinstance(app.screen, HistoryScreen)
                                           and app.screen.experiments is not None, start)
        out["experiments_best_s"] = await until(lambda: app.screen.experiments_best, start)  # type: ignore[attr-defined]
        screen: HistoryScreen = app.screen  # type: ignore[assignment]
        out["experiments"] = len(screen.experiments or [])
        table = screen.query_one(ResultsTable)

        def first_id() -> int | None:
            return table.page.lines[0].id if table.page is not None and table.page.lines else None

        out["first_page_s"] = await until(lambda: screen.mode == "runs" and screen.page is not None
                                          and not screen.busy, await press("a"))
        out["rows_per_page"] = len(screen.page.lines) if screen.page else 0
        out["total_runs"] = screen.page.total if screen.page else 0

        async def moves_of(label: str, count: int, key: str = "pagedown") -> None:
            times = []
            for _ in range(count):
                before = first_id()
                times.append(await until(lambda before=before: first_id() != before and not screen.busy,
                                         await press(key)))
                await asyncio.sleep(0.02)  # a user's key presses are not back to back
            out[f"{label}_median_ms"] = round(statistics.median(times) * 1000, 1)
            out[f"{label}_worst_ms"] = round(max(times) * 1000, 1)

        await moves_of("page_down", moves)
        await moves_of("page_up", moves // 2, "pageup")
        for _ in range(200):  # deep in the listing: ~4,000 runs in
            before = first_id()
            await until(lambda before=before: first_id() != before and not screen.busy, await press("pagedown"))
        await moves_of("page_down_deep", moves)
        start = time.perf_counter()
        screen.sort_by("-metrics.accuracy")
        out["sort_by_metric_s"] = await until(lambda: screen.sort == "-metrics.accuracy" and not screen.busy, start)
        await moves_of("page_down_by_metric", moves)
        await pilot.press("slash", *"status=done lr<0.01 accuracy>0.9")
        out["filter_s"] = await until(lambda: screen.filter == "status=done lr<0.01 accuracy>0.9" and not screen.busy,
                                      await press("enter"))
        out["filtered_runs"] = screen.page.total if screen.page else 0
        await moves_of("page_down_filtered", moves)
        out["errors"] = list(screen.errors)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--points", type=int, default=50, help="metric points per run (two metrics)")
    parser.add_argument("--moves", type=int, default=15, help="page moves timed per kind")
    parser.add_argument("--home", type=Path, help="reuse (or build once in) this folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tuiflow-bench-history-") as tmp:
        home = args.home or Path(tmp) / "home"
        built: dict[str, float] = {}
        if not (home / "tuiflow.db").exists():
            log(f"building {home}: {args.runs:,} runs, {args.runs * args.points:,} metric points ...")
            built = build(home, args.runs, args.points)
            log(f"built in {built['total_s']:.1f} s")
        figures = asyncio.run(measure(home, args.moves))
        with sqlite3.connect(home / "tuiflow.db") as conn:
            figures["metric_points"] = conn.execute("SELECT count(*) FROM metrics").fetchone()[0]
    ok = figures["first_page_s"] < FIRST_PAGE_TARGET_S and all(
        figures[k] < PAGE_MOVE_TARGET_S * 1000 for k in figures if k.endswith("_median_ms"))
    line = {"bench": "history", "runs": figures["total_runs"], "metric_points": figures["metric_points"],
            **{k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()},
            "build": {k: round(v, 1) for k, v in built.items()},
            "first_page_target_s": FIRST_PAGE_TARGET_S, "page_move_target_ms": PAGE_MOVE_TARGET_S * 1000,
            "ok": ok, "machine": machine_info()}
    print(json.dumps(line))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
