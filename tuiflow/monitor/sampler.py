"""The telemetry loop: one set of records per tick, for the host, each CPU core set, each GPU and each run.

A record is (time, device, kind, values, node), the shape of the store's `samples` table:

    device      kind    values
    "host"      "host"  HostSample.host_values(): memory, swap, disk/net bytes per second, load
    "cpu"       "host"  {"cores": [percent per core], "total": mean percent}
    "gpu0"...   "gpu"   GpuInfo.to_dict()
    "run:42"    "run"   TreeSample.values(): the run's process tree

`node` is None for the machine the daemon runs on (all this sampler ever sees); records sampled on
another node of a Ray cluster (`tuiflow.monitor.ray_nodes`) carry that node's label.

The sampler writes nothing itself: it hands each tick's records to a `sink(records)`, which the daemon
connects to the store (e.g. `conn.executemany(INSERT, [r.row() for r in records])`).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tuiflow.monitor.gpus import GpuReport, read_gpus
from tuiflow.monitor.host import HostSampler
from tuiflow.monitor.procs import ProcessTreeSampler, RootSpec, TreeSample

DEFAULT_INTERVAL = 1.0
MIN_INTERVAL = 0.25
INSERT_SQL = 'INSERT INTO samples (time, device, kind, "values") VALUES (?, ?, ?, ?)'
INSERT_NODE_SQL = 'INSERT INTO samples (time, device, kind, "values", node) VALUES (?, ?, ?, ?, ?)'

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleRecord:
    """One telemetry record, a row of the `samples` table; `node` None is the daemon's own machine."""

    time: float
    device: str
    kind: str
    values: dict[str, Any]
    node: str | None = None

    def row(self) -> tuple[float, str, str, str]:
        """(time, device, kind, values as JSON text), ready for INSERT_SQL."""
        return self.time, self.device, self.kind, json.dumps(self.values, separators=(",", ":"))

    def node_row(self) -> tuple[float, str, str, str, str | None]:
        """(time, device, kind, values as JSON text, node), ready for INSERT_NODE_SQL."""
        return (*self.row(), self.node)


class Sink(Protocol):
    """Where the records of a tick go (the daemon plugs the store in here)."""

    def __call__(self, records: list[SampleRecord]) -> None: ...


def check_interval(seconds: float) -> float:
    """The sampling interval in seconds, or a one-line ValueError if it is below MIN_INTERVAL or not a number."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        raise ValueError(f"sampling interval {seconds!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < MIN_INTERVAL:
        raise ValueError(f"sampling interval {value:g} s is too short: the minimum is {MIN_INTERVAL:g} s")
    return value


def run_device(run_id: Hashable) -> str:
    """The device name of a run in telemetry records: "run:42"."""
    return f"run:{run_id}"


class Sampler:
    """Samples host, GPUs and the watched runs every `interval` seconds and hands the records to `sink`.

    `runs` returns the runs to watch now, {run_id: root pid or (pid, create_time)}; it is called on
    every tick, so runs come and go without telling the sampler.
    """

    def __init__(self, runs: Callable[[], Mapping[Hashable, RootSpec]] | None = None, sink: Sink | None = None,
                 interval: float = DEFAULT_INTERVAL, gpus: Callable[[], GpuReport] = read_gpus,
                 host: bool = True) -> None:
        self.interval = check_interval(interval)
        self._runs = runs or dict
        self._sink = sink
        self._read_gpus = gpus
        self._host = HostSampler() if host else None
        self._trees: ProcessTreeSampler[Hashable] = ProcessTreeSampler()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._logged: set[str] = set()
        self.last_gpu_report: GpuReport | None = None
        self.last_trees: dict[Hashable, TreeSample] = {}
        self.ticks = 0

    def our_pids(self) -> set[int]:
        """Every pid of the watched runs' process trees at the last tick (the allocator's `our_pids`)."""
        return {pid for tree in self.last_trees.values() for pid in tree.pids}

    def _warn_once(self, message: str) -> None:
        # A broken source fails the same way every second: say it once, not 86,400 times a day.
        if message not in self._logged:
            self._logged.add(message)
            log.warning("telemetry: %s", message)

    def tick(self, now: float | None = None) -> list[SampleRecord]:
        """Take one sample of everything and return the records (the sink is not called)."""
        now = time.time() if now is None else now
        records: list[SampleRecord] = []
        if self._host is not None:
            try:
                host = self._host.sample(now)
                records.append(SampleRecord(now, "host", "host", host.host_values()))
                if host.per_core is not None:
                    records.append(SampleRecord(now, "cpu", "host", host.cpu_values()))
            except Exception as exc:
                self._warn_once(f"host sampling failed: {exc!r}")
        try:
            report = self._read_gpus()
        except Exception as exc:  # e.g. a TUIFLOW_FAKE_GPUS typo: the daemon reports it at start
            self._warn_once(f"GPU sampling failed: {exc}")
            report = GpuReport([], "none", f"GPU sampling failed: {exc}")
        self.last_gpu_report = report
        records += [SampleRecord(now, gpu.device, "gpu", gpu.to_dict()) for gpu in report.gpus]
        gpu_memory = report.process_memory() if report.gpus else None
        try:
            runs = dict(self._runs())
            trees = self._trees.sample(runs, gpu_memory)
            self.last_trees = trees
            records += [SampleRecord(now, run_device(run_id), "run", tree.values()) for run_id, tree in trees.items()]
        except Exception as exc:
            self._warn_once(f"run sampling failed: {exc!r}")
        self.ticks += 1
        return records

    def run(self, stop: threading.Event | None = None) -> None:
        """Tick every `interval` seconds until `stop` (or `self.stop()`) is set; the first tick is one interval in.

        Ticks stay on a fixed grid: a slow tick or a slow sink skips the ticks it overran instead of
        sampling in a burst to catch up.
        """
        stop = stop or self._stop
        deadline = time.monotonic() + self.interval
        while not stop.wait(max(0.0, deadline - time.monotonic())):
            records = self.tick()
            if self._sink is not None and records:
                try:
                    self._sink(records)
                except Exception as exc:
                    self._warn_once(f"telemetry sink failed: {exc!r}")
            deadline += self.interval
            late = time.monotonic() - deadline
            if late > 0:
                deadline += math.ceil(late / self.interval) * self.interval

    def start(self) -> threading.Thread:
        """Run the loop in a daemon thread; `stop()` ends it."""
        if self._thread is not None and self._thread.is_alive():
            return self._thread
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="tuiflow-sampler", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float | None = 5.0) -> None:
        """End the loop started by `start()` and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def sqlite_sink(conn: Any) -> Sink:
    """A sink that inserts records into the `samples` table of an open sqlite3 connection, one commit per tick.

    Records of this machine only (node None) are written as before schema 7, so the sink also fills a
    table without the `node` column; a batch with any node set writes the column.
    """

    def sink(records: list[SampleRecord]) -> None:
        with conn:
            if any(record.node is not None for record in records):
                conn.executemany(INSERT_NODE_SQL, [record.node_row() for record in records])
            else:
                conn.executemany(INSERT_SQL, [record.row() for record in records])

    return sink
