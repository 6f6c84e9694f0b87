"""Metric write throughput of the store, alone and with 8 runs at once, against MLflow's SQLite backend.

Beside them, bare SQLite: executemany into a copy of the metrics table, the most that one row per
value can reach in one file on this machine, whichever number of writers share it.

Run from the repository root: `python benchmarks/bench_store.py [--quick]`. Prints one JSON line.
MLflow is installed into benchmarks/.venv-mlflow on first use (skipped, with a note, if that fails).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import queue
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tuiflow.store import RunSpec, Store  # noqa: E402

KEYS = [f"metric_{i}" for i in range(10)]  # a training loop logging 10 values per step
CHUNK_STEPS = 100  # steps per log_many call, as a loop that logs every step would batch them
MLFLOW_VENV = REPO / "benchmarks" / ".venv-mlflow"


def make_runs(home: Path, n: int) -> list[int]:
    """Create an experiment with `n` runs and return their ids."""
    with Store.open(home) as store:
        experiment = store.create_experiment("bench", "bench", runs=[RunSpec({"n": i}) for i in range(n)])
        return [run.id for run in store.list_runs(experiment.id)]


def write_values(home: Path, run_id: int, values: int) -> tuple[int, int, float]:
    """Log `values` metric values for one run with log_many; return (written, locked errors, seconds)."""
    locked = 0
    with Store.open(home) as store:
        start = time.perf_counter()
        writer = store.metric_writer(run_id)
        steps = values // len(KEYS)
        for base in range(0, steps, CHUNK_STEPS):
            rows = [(key, step, step * 0.001) for step in range(base, min(base + CHUNK_STEPS, steps)) for key in KEYS]
            try:
                writer.log_many(rows)
            except sqlite3.OperationalError as exc:
                locked += "locked" in str(exc)
        while True:
            try:
                writer.close()
                break
            except sqlite3.OperationalError as exc:
                locked += "locked" in str(exc)
        return writer.written, locked, time.perf_counter() - start


def sqlite_ceiling(tmp: Path, values: int) -> float:
    """Values/s of bare executemany into a copy of the store's metrics table and index, with the
    store's pragmas and the same 5,000-row transactions, rows built before the clock starts: what
    SQLite itself allows one process, the ceiling for one row per value, however many writers."""
    conn = sqlite3.connect(tmp / "ceiling.db", isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "temp_store = MEMORY", "cache_size = -32000"):
        conn.execute(f"PRAGMA {pragma}")
    with Store.open(tmp / "ddl") as store:  # the metrics table exactly as the store makes it
        ddl = [sql for (sql,) in store.db.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'metrics' AND sql IS NOT NULL ORDER BY type DESC")]
    for sql in ddl:
        conn.execute(sql.replace("REFERENCES runs(id)", ""))
    now = time.time()
    rows = [(1, KEYS[i % len(KEYS)], i // len(KEYS), i * 0.001, now) for i in range(values)]
    start = time.perf_counter()
    for first in range(0, values, 5000):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO metrics (run_id, key, step, value, time) VALUES (?, ?, ?, ?, ?)",
                         rows[first : first + 5000])
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return values / seconds


def write_with_log(home: Path, run_id: int, values: int) -> float:
    """Seconds to log `values` values through the one-step-at-a-time `log(step, **values)` API."""
    with Store.open(home) as store:
        named = dict.fromkeys(KEYS, 0.5)
        start = time.perf_counter()
        with store.metric_writer(run_id) as writer:
            for step in range(values // len(KEYS)):
                writer.log(step, **named)
        return time.perf_counter() - start


def _writer_proc(home: str, run_id: int, values: int, barrier: mp.Barrier, out: mp.Queue) -> None:
    barrier.wait()
    start = time.time()
    written, locked, seconds = write_values(Path(home), run_id, values)
    out.put({"run_id": run_id, "written": written, "locked": locked, "seconds": seconds, "start": start,
             "end": time.time()})  # fmt: skip


def _reader_proc(home: str, run_ids: list[int], interval_s: float, stop: mp.Event, out: mp.Queue) -> None:
    polls = locked = rows = 0
    last_step = dict.fromkeys(run_ids, -1)
    with Store.open(home) as store:
        while not stop.is_set():
            try:
                store.list_runs(status=("queued", "running"))
                for run_id in run_ids:  # what a live plot does: fetch only the new points
                    series = store.metric_series(run_id, KEYS[0], after_step=last_step[run_id])
                    if series.steps:
                        last_step[run_id] = series.steps[-1]
                        rows += len(series)
                polls += 1
            except sqlite3.OperationalError as exc:
                locked += "locked" in str(exc)
            stop.wait(interval_s)
    out.put({"polls": polls, "locked": locked, "rows_seen": rows})


def concurrent(home: Path, writers: int, values: int, poll_s: float) -> dict:
    """`writers` processes log `values` each at once while one reader polls; aggregate numbers."""
    run_ids = make_runs(home, writers)
    ctx = mp.get_context("spawn")
    barrier, out, reader_out, stop = ctx.Barrier(writers), ctx.Queue(), ctx.Queue(), ctx.Event()
    reader = ctx.Process(target=_reader_proc, args=(str(home), run_ids, poll_s, stop, reader_out))
    reader.start()
    procs = [ctx.Process(target=_writer_proc, args=(str(home), r, values, barrier, out)) for r in run_ids]
    for proc in procs:
        proc.start()
    results = []
    while len(results) < len(procs):
        try:
            results.append(out.get(timeout=1))
        except queue.Empty:
            if any(p.exitcode not in (None, 0) for p in procs):
                stop.set()
                raise SystemExit("a writer process failed; see its traceback above") from None
    for proc in procs:
        proc.join()
    stop.set()
    polled = reader_out.get()
    reader.join()
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    total = sum(r["written"] for r in results)
    with Store.open(home) as store:
        stored = store.db.execute("SELECT count(*) FROM metrics").fetchone()[0]
    return {
        "processes": writers,
        "values_per_process": values,
        "aggregate_values_per_s": round(total / wall),
        "min_process_values_per_s": round(min(r["written"] / r["seconds"] for r in results)),
        "max_process_values_per_s": round(max(r["written"] / r["seconds"] for r in results)),
        "all_values_stored": stored == total == writers * values,
        "reader_polls": polled["polls"],
        "reader_poll_interval_s": poll_s,
        "locked_errors": sum(r["locked"] for r in results) + polled["locked"],
    }


MLFLOW_SCRIPT = r"""
import json, sys, time
import mlflow
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
uri, values, keys, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
client = MlflowClient(tracking_uri=uri)
run = client.create_run(client.create_experiment("bench"))  # schema migrations happen here, untimed
run_id = run.info.run_id
steps = values // keys
start = time.perf_counter()
for base in range(0, steps, chunk):
    now = int(time.time() * 1000)
    batch = [Metric(f"metric_{k}", step * 0.001, now, step) for step in range(base, min(base + chunk, steps))
             for k in range(keys)]
    client.log_batch(run_id, metrics=batch)
seconds = time.perf_counter() - start
print(json.dumps({"values": steps * keys, "seconds": seconds, "version": mlflow.__version__}))
"""


def mlflow_python() -> tuple[Path | None, str]:
    """The venv's python with mlflow importable, installing it on first use; or None and why not."""
    python = MLFLOW_VENV / "bin" / "python"
    check = [str(python), "-c", "import mlflow"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python, ""
    try:
        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True, capture_output=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "mlflow"], check=True, capture_output=True,
                       timeout=900)  # fmt: skip
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"could not install mlflow into {MLFLOW_VENV}: {type(exc).__name__}"
    return python, ""


def mlflow_bench(tmp: Path, values: int) -> dict:
    """MLflow's log_batch (1000 metrics per call, its limit) into its SQLite tracking backend."""
    python, why = mlflow_python()
    if python is None:
        return {"skipped": why}
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MLFLOW_ENABLE_ASYNC_LOGGING": "false"}
    done = subprocess.run(
        [str(python), "-c", MLFLOW_SCRIPT, uri, str(values), str(len(KEYS)), str(1000 // len(KEYS))],
        capture_output=True, text=True, env=env, cwd=tmp, timeout=600,
    )  # fmt: skip
    if done.returncode != 0:
        return {"skipped": "mlflow run failed: " + (done.stderr.strip().splitlines() or ["?"])[-1]}
    got = json.loads(done.stdout.strip().splitlines()[-1])
    return {"mlflow_version": got["version"], "values": got["values"],
            "values_per_s": round(got["values"] / got["seconds"])}  # fmt: skip


def main() -> None:
    """Run every measurement and print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the values, for a smoke test")
    parser.add_argument("--no-mlflow", action="store_true", help="skip the MLflow comparison")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    with tempfile.TemporaryDirectory(prefix="tuiflow-bench-") as tmp_name:
        tmp = Path(tmp_name)
        (run_id,) = make_runs(tmp / "single", 1)
        single_values = 2_000_000 // scale
        written, locked, seconds = write_values(tmp / "single", run_id, single_values)
        (log_run,) = make_runs(tmp / "log", 1)
        log_values = 500_000 // scale
        log_seconds = write_with_log(tmp / "log", log_run, log_values)
        report: dict = {
            "sqlite": sqlite3.sqlite_version,
            "cpus": os.cpu_count(),
            "single_writer_values_per_s": round(written / seconds),
            "single_writer_values": written,
            "single_writer_log_api_values_per_s": round(log_values / log_seconds),
            "single_writer_locked_errors": locked,
            "concurrent": concurrent(tmp / "many", 8, 500_000 // scale, 0.1),
            "sqlite_ceiling_values_per_s": round(sqlite_ceiling(tmp, single_values)),
        }
        report["single_writer_share_of_ceiling"] = round(
            report["single_writer_values_per_s"] / report["sqlite_ceiling_values_per_s"], 3)
        if args.no_mlflow:
            report["mlflow"] = {"skipped": "--no-mlflow"}
        else:
            report["mlflow"] = mlflow_bench(tmp, 200_000 // scale)
        if "values_per_s" in report["mlflow"]:
            report["tuiflow_to_mlflow_ratio"] = round(
                report["single_writer_values_per_s"] / report["mlflow"]["values_per_s"], 1
            )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
