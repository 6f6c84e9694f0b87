"""Worker processes for the store tests: `python store_procs.py COMMAND ARGS...`, one JSON line out."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from pathlib import Path

from claiming import claim_next

from tuiflow.store import Store


def barrier(folder: str, parties: int) -> None:
    """Wait until `parties` processes have reached this point, so they then act at once."""
    path = Path(folder)
    (path / f"ready.{os.getpid()}").touch()
    while len(list(path.glob("ready.*"))) < parties:
        time.sleep(0.001)


def cmd_open(home: str, folder: str, parties: str) -> dict:
    barrier(folder, int(parties))
    with Store.open(home) as store:
        version = store.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        return {"version": int(version), "tables": sorted(store.db.table_names())}


def cmd_write(home: str, run_id: str, count: str, folder: str, parties: str) -> dict:
    store = Store.open(home)
    barrier(folder, int(parties))
    locked = 0
    start = time.perf_counter()
    writer = store.metric_writer(int(run_id), batch_size=2000)
    chunk = 500
    for base in range(0, int(count), chunk):
        rows = [("loss" if i % 2 else "acc", i, i * 0.5) for i in range(base, min(base + chunk, int(count)))]
        try:
            writer.log_many(rows)
        except sqlite3.OperationalError as exc:  # counted, not hidden: the test asserts there are none
            locked += "locked" in str(exc)
    writer.close()
    store.close()
    return {"written": writer.written, "locked": locked, "seconds": time.perf_counter() - start}


def cmd_read(home: str, run_ids: str, stop_file: str) -> dict:
    store = Store.open(home)
    ids = [int(i) for i in run_ids.split(",")]
    polls = errors = 0
    while not Path(stop_file).exists():
        try:
            for run_id in ids:
                store.metrics_summary(run_id)
                store.metric_series(run_id, "loss", after_step=0, limit=100)
            store.list_runs(status="running")
            polls += 1
        except sqlite3.OperationalError:
            errors += 1
    store.close()
    return {"polls": polls, "errors": errors}


def cmd_claim(home: str, folder: str, parties: str) -> dict:
    store = Store.open(home)
    barrier(folder, int(parties))
    claimed = []
    while (run := claim_next(store, host="test")) is not None:
        claimed.append(run.id)
    store.close()
    return {"claimed": claimed}


def cmd_write_until_killed(home: str, run_id: str) -> dict:
    store = Store.open(home)
    writer = store.metric_writer(int(run_id), batch_size=1000, interval_s=3600)
    step = 0
    while True:
        writer.log(step, value=float(step))
        step += 1
        if step % 1000 == 0:
            # Reported after the batch is committed: everything up to here must survive SIGKILL.
            print(json.dumps({"written": writer.written}), flush=True)


if __name__ == "__main__":
    print(json.dumps(globals()["cmd_" + sys.argv[1]](*sys.argv[2:])), flush=True)
