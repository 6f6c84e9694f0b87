"""Telemetry for clients: the newest reading of every device, windows of history, and one-field series.

The daemon's sampler writes one set of `samples` rows per tick (see `tuiflow.monitor.sampler`):
"host" and "cpu" (kind "host"), "gpu0", "gpu1", ... (kind "gpu") and "run:<id>" (kind "run"), all
stamped with the tick's time. `latest` reads the last few seconds of rows (the `samples_time` index)
and keeps the newest per device; `history` and `series` read one device's window through the
`samples_kind_device_time` index and can shrink it to a number of points for a sparkline.

On a Ray cluster every node's sampler (`tuiflow.monitor.ray_nodes`) writes the same devices tagged
with its node's label; None is the daemon's own machine. A snapshot keeps each node's host and GPUs
apart (`Snapshot.nodes`, `host_of`, `gpus_of`, `GpuInfo.node`), and `history`/`series` read one node's
device (`node=`, default the daemon's machine). With one machine everything reads as it always did.
"""

from __future__ import annotations

import dataclasses
import math
import os
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from tuiflow.monitor.gpus import GpuInfo, GpuProcess, gpus_simulated
from tuiflow.monitor.host import HostSample, HostSampler
from tuiflow.monitor.retention import merge_values
from tuiflow.store import NotFoundError, Run, Sample, Store

# A device seen this long before the newest sample still counts as present: one slow or failed tick
# must not make a GPU vanish from the view.
LATEST_HORIZON_S = 5.0
# The newest sample older than this means nobody is sampling (the daemon's interval is 0.25-a few s).
STALE_AFTER_S = 5.0
DEFAULT_WINDOW_S = 600.0
# `tuiflow gpus` lists a cluster node's GPUs while its newest sample is at most this old.
NODE_GONE_AFTER_S = 30.0
# The words for the daemon's own machine (node None) where nodes are named.
LOCAL_NODE = "this machine"

Node: TypeAlias = "str | None"

_HOST_FIELDS = [f.name for f in dataclasses.fields(HostSample)]


def cpu_slots() -> int:
    """How many runs without a GPU the daemon runs at once: $TUIFLOW_CPU_SLOTS, else the core count
    (counted by the daemon's own function, so a view says what the daemon does)."""
    from tuiflow.scheduler.daemon import cpu_slots as daemon_cpu_slots

    try:
        return daemon_cpu_slots()
    except ValueError:  # a malformed TUIFLOW_CPU_SLOTS: the daemon says so where it starts
        return os.cpu_count() or 1
_GPU_FIELDS = {f.name for f in dataclasses.fields(GpuInfo)}


@dataclass(frozen=True)
class RunTelemetry:
    """A run's process tree at one sample: sums over the worker and all its descendants."""

    run_id: int | str
    time: float
    pid: int | None = None
    processes: int | None = None
    cpu_percent: float | None = None  # 100 = one core busy
    rss_mb: float | None = None
    threads: int | None = None
    gpu_memory_mb: float | None = None  # None where the GPU layer gives no per-process memory

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Snapshot:
    """The newest reading of every device the daemon samples, as of `now`.

    `time` is the newest sample's time (None: the store holds no samples at all); `age_s` tells a
    client whether anyone is still sampling. `devices` keeps each device's raw newest sample for
    fields this record does not name, keyed by `device_key(node, device)`. `simulated` says the GPUs
    are TUIFLOW_FAKE_GPUS's; `cpu_slots` is how many runs without a GPU run at once (what a machine
    without GPUs offers).

    On a cluster `gpus` holds every node's GPUs (the daemon's machine first, then by node label; each
    `GpuInfo.node` says where), `hosts` every node's host, and `host` is the daemon's machine's (or,
    when only cluster nodes are sampled, the first node's). `nodes` lists the nodes in that order.
    """

    now: float
    time: float | None
    host: HostSample | None = None  # per_core filled from the "cpu" record
    gpus: tuple[GpuInfo, ...] = ()
    runs: dict[int | str, RunTelemetry] = dataclasses.field(default_factory=dict)
    devices: dict[str, Sample] = dataclasses.field(default_factory=dict)
    simulated: bool = dataclasses.field(default_factory=gpus_simulated)
    cpu_slots: int = dataclasses.field(default_factory=cpu_slots)
    hosts: dict[Node, HostSample] = dataclasses.field(default_factory=dict)

    @property
    def nodes(self) -> tuple[Node, ...]:
        """The nodes with a reading, the daemon's machine (None) first, then by label."""
        names: Iterable[Node] = [*self.hosts, *(gpu.node for gpu in self.gpus)]
        if self.host is not None and not self.hosts:
            names = [None, *names]
        return tuple(sorted(set(names), key=node_order))

    @property
    def multi_node(self) -> bool:
        """True when readings of more than one machine are here (views group them by node)."""
        return len(self.nodes) > 1

    def host_of(self, node: Node) -> HostSample | None:
        """The host reading of one node."""
        if node in self.hosts:
            return self.hosts[node]
        return self.host if node is None and not self.hosts else None

    def gpus_of(self, node: Node) -> tuple[GpuInfo, ...]:
        """The GPUs of one node, by index."""
        return tuple(gpu for gpu in self.gpus if gpu.node == node)

    @property
    def empty(self) -> bool:
        """True when there is no sample at all."""
        return self.time is None

    @property
    def age_s(self) -> float | None:
        """Seconds since the newest sample (None when there is none)."""
        return None if self.time is None else max(0.0, self.now - self.time)

    def is_stale(self, max_age_s: float = STALE_AFTER_S) -> bool:
        """Whether the newest sample is older than `max_age_s` (or missing): nothing is sampling."""
        age = self.age_s
        return age is None or age > max_age_s

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict: time, age_s, stale, host, gpus and runs."""
        age = self.age_s
        return {
            "time": self.time,
            "now": self.now,
            "age_s": None if age is None else round(age, 3),
            "stale": self.is_stale(),
            "simulated": self.simulated,
            "cpu_slots": self.cpu_slots,
            "host": None if self.host is None else dataclasses.asdict(self.host),
            "gpus": [{**gpu.to_dict(), "device": gpu.device, "node": gpu.node} for gpu in self.gpus],
            "runs": [run.to_dict() for run in self.runs.values()],
            "nodes": [{"node": node, "host": _asdict(self.host_of(node)),
                       "gpus": [gpu.index for gpu in self.gpus_of(node)]} for node in self.nodes],
        }


@dataclass(frozen=True)
class RunningRun:
    """A running run as a monitor shows it: what the store knows and its newest process-tree reading."""

    id: int
    experiment_id: int
    experiment: str | None
    recipe: str
    gpus: list[int]
    pid: int | None
    started_at: float | None
    progress_done: int | None
    progress_total: int | None
    eta_s: float | None
    telemetry: RunTelemetry | None

    @property
    def progress(self) -> float | None:
        """Fraction done, 0-1, when the run reports a total."""
        if not self.progress_total or self.progress_done is None:
            return None
        return min(1.0, max(0.0, self.progress_done / self.progress_total))


# --- reading -------------------------------------------------------------------------------------------
def newest_sample_time(store: Store) -> float | None:
    """The time of the newest sample in the store, or None when there is none."""
    return store.newest_sample_time()


def latest(store: Store, *, now: float | None = None, horizon_s: float = LATEST_HORIZON_S) -> Snapshot:
    """The newest sample of each device (host, per-core CPU, each GPU, each sampled run).

    Devices last seen more than `horizon_s` before the newest sample are gone (a finished run, a GPU
    that fell off the bus) and left out.
    """
    now = time.time() if now is None else now
    newest = newest_sample_time(store)
    if newest is None:
        return Snapshot(now=now, time=None)
    devices: dict[str, Sample] = {}
    for sample in store.samples(since=newest - horizon_s):  # time order: later rows overwrite
        devices[device_key(sample.node, sample.device)] = sample
    nodes = sorted({sample.node for sample in devices.values()}, key=node_order)
    hosts = {}
    for node in nodes:
        host_record, cpu_record = devices.get(device_key(node, "host")), devices.get(device_key(node, "cpu"))
        if host_record or cpu_record:
            hosts[node] = _host(host_record, cpu_record)
    host = hosts.get(None, next(iter(hosts.values()), None))
    gpus = sorted((_gpu(s) for s in devices.values() if s.kind == "gpu"),
                  key=lambda g: (node_order(g.node), g.index))
    runs = {}
    for sample in devices.values():
        if sample.kind == "run":
            reading = _run(sample)
            runs[reading.run_id] = reading
    return Snapshot(now=now, time=newest, host=host, gpus=tuple(gpus), runs=runs, devices=devices,
                    hosts=hosts)


def device_key(node: Node, device: str) -> str:
    """How `Snapshot.devices` names a node's device: "gpu0" on the daemon's machine, "gpu0@node-b"
    on a cluster node."""
    return device if node is None else f"{device}@{node}"


def node_order(node: Node) -> tuple[bool, str]:
    """Sort key of nodes: the daemon's machine (None) first, then by label."""
    return node is not None, node or ""


def node_title(node: Node) -> str:
    """A node as views name it: its label, or "this machine" for the daemon's own."""
    return LOCAL_NODE if node is None else node


def history(
    store: Store,
    device: str,
    kind: str,
    since: float | None = None,
    window_s: float = DEFAULT_WINDOW_S,
    max_points: int | None = None,
    *,
    until: float | None = None,
    node: Node = None,
) -> list[tuple[float, dict[str, Any]]]:
    """The samples of one device of one node (None: the daemon's machine) in time order: the last
    `window_s` seconds before `until` (default now), or from `since` on when given.

    With `max_points`, a longer window is cut into that many equal spans of time and each span's
    samples are merged into one point (mean time, values averaged key by key, as retention merges);
    spans without samples give no point, so gaps stay gaps.
    """
    end = time.time() if until is None else until
    start = end - window_s if since is None else since
    # A run's id names it wherever it ran: its samples are read from every node.
    rows = store.samples(kind=kind, device=device, since=start, until=until, node=... if kind == "run" else node)
    points = [(s.time, s.values) for s in rows]
    if max_points is None or len(points) <= max_points:
        return points
    return [(t, merge_values(values)) for t, values in _downsample(points, start, end, max_points)]


def series(
    store: Store,
    device: str,
    key: str,
    window_s: float = DEFAULT_WINDOW_S,
    *,
    kind: str | None = None,
    since: float | None = None,
    until: float | None = None,
    max_points: int | None = None,
    node: Node = None,
) -> tuple[list[float], list[float | None]]:
    """One numeric field of one device of one node (None: the daemon's machine) over a window:
    (times, values), e.g. ("gpu0", "utilization"), ("host", "cpu_percent"), ("cpu", "cores.3"). A
    dotted key walks into dicts and lists; a missing or non-numeric value is None. `kind` is inferred
    from the device name where it is one of ours.
    """
    end = time.time() if until is None else until
    start = end - window_s if since is None else since
    kind = kind or device_kind(device)
    rows = store.samples(kind=kind, device=device, since=start, until=until, node=... if kind == "run" else node)
    points = [(s.time, _field(s.values, key)) for s in rows]
    if max_points is not None and len(points) > max_points:
        points = [(t, merge_values(values)) for t, values in _downsample(points, start, end, max_points)]
    return [t for t, _ in points], [v for _, v in points]


def device_kind(device: str) -> str:
    """The kind of a device's samples: "host" for host and cpu, "gpu" for gpuN, "run" for run:ID."""
    if device in ("host", "cpu"):
        return "host"
    if device.startswith("gpu") and device[3:].isdigit():
        return "gpu"
    if device.startswith("run:"):
        return "run"
    raise ValueError(f"unknown telemetry device {device!r}: pass its kind")


def running_runs(store: Store, snapshot: Snapshot | None = None) -> list[RunningRun]:
    """The running runs in id order, each with its newest process-tree reading from `snapshot`."""
    runs = store.list_runs(status="running")
    names: dict[int, str | None] = {}
    for run in runs:
        if run.experiment_id not in names:
            names[run.experiment_id] = _experiment_name(store, run)
    readings = snapshot.runs if snapshot is not None else {}
    return [
        RunningRun(id=run.id, experiment_id=run.experiment_id, experiment=names[run.experiment_id],
                   recipe=run.recipe, gpus=list(run.gpus or []), pid=run.pid, started_at=run.started_at,
                   progress_done=run.progress_done, progress_total=run.progress_total, eta_s=run.eta_s,
                   telemetry=readings.get(run.id))
        for run in runs
    ]


# --- helpers --------------------------------------------------------------------------------------------
def _experiment_name(store: Store, run: Run) -> str | None:
    try:
        return store.get_experiment(run.experiment_id).name
    except NotFoundError:
        return None


def _host(host: Sample | None, cpu: Sample | None) -> HostSample:
    values = dict(host.values) if host is not None else {}
    values = {name: values.get(name) for name in _HOST_FIELDS}
    values["time"] = (host or cpu).time  # type: ignore[union-attr]
    if cpu is not None:
        values["per_core"] = cpu.values.get("cores")
        if values["cpu_percent"] is None:
            values["cpu_percent"] = cpu.values.get("total")
    return HostSample(**values)


def _gpu(sample: Sample) -> GpuInfo:
    values = {k: v for k, v in sample.values.items() if k in _GPU_FIELDS}
    if "index" not in values:
        values["index"] = int(sample.device[3:]) if sample.device[3:].isdigit() else -1
    processes = values.get("processes")
    if processes is not None:
        values["processes"] = [GpuProcess(int(p[0]), p[1]) for p in processes if isinstance(p, Sequence)]
    values["node"] = sample.node
    return GpuInfo(**values)


def _asdict(host: HostSample | None) -> dict[str, Any] | None:
    return None if host is None else dataclasses.asdict(host)


def _run(sample: Sample) -> RunTelemetry:
    name = sample.device.removeprefix("run:")
    run_id: int | str = int(name) if name.isdigit() else name
    v = sample.values
    return RunTelemetry(run_id=run_id, time=sample.time, pid=v.get("pid"), processes=v.get("processes"),
                        cpu_percent=v.get("cpu_percent"), rss_mb=v.get("rss_mb"), threads=v.get("threads"),
                        gpu_memory_mb=v.get("gpu_memory_mb"))


def _field(values: Any, key: str) -> float | None:
    for part in key.split("."):
        if isinstance(values, dict):
            values = values.get(part)
        elif isinstance(values, list) and part.isdigit() and int(part) < len(values):
            values = values[int(part)]
        else:
            return None
    if isinstance(values, bool) or not isinstance(values, int | float) or not math.isfinite(values):
        return None
    return float(values)


def _downsample(points: list[tuple[float, Any]], start: float, end: float, count: int) -> list[tuple[float, list]]:
    """Group time-ordered points into `count` equal spans of [start, end]: (mean time, values) per span."""
    if count < 1:
        raise ValueError(f"max_points must be at least 1, not {count}")
    span = (end - start) / count if end > start else 0.0
    buckets: dict[int, list[tuple[float, Any]]] = {}
    for t, values in points:
        index = 0 if span <= 0 else min(count - 1, max(0, int((t - start) / span)))
        buckets.setdefault(index, []).append((t, values))
    return [(math.fsum(t for t, _ in group) / len(group), [v for _, v in group])
            for _, group in sorted(buckets.items())]


def cluster_gpus(report: dict[str, Any], store: Store | None, now: float | None = None) -> dict[str, Any]:
    """`tuiflow gpus`'s report (this machine's GPUs read live, with the runs holding each) completed
    with the GPUs of every cluster node sampled in the last NODE_GONE_AFTER_S seconds.

    Every GPU gets its "node" (None: this machine); "nodes" lists the machines, this one first, each
    with its status line, newest sample time and host CPU and memory. A cluster node's GPU is held by
    the running runs whose `node` is that node (its label or Ray node id) and whose GPUs include it;
    this machine's GPUs also by the runs the cluster placed here (a Ray node id of no sampled node,
    and this machine's hostname), which hold no GPU of the home's own.
    """
    now = time.time() if now is None else now
    local = {"node": None, "status": report.get("status"), "time": None, "host": None}
    result = {**report, "gpus": [{**gpu, "node": None} for gpu in report.get("gpus", [])], "nodes": [local]}
    if store is None:
        return result
    snapshot = latest(store, now=now)
    local["time"], local["host"] = snapshot.time, _host_brief(snapshot.host_of(None))
    named = [node for node in snapshot.nodes if node is not None]
    running = [run for run in store.list_runs(status="running") if getattr(run, "node", None) is not None]
    if not running and not named:
        return result
    remote = set(named) | {sample.values.get("node_id") for sample in snapshot.devices.values()
                                         if sample.node is not None and sample.device == "host"}
    here = socket.gethostname()
    for gpu in result["gpus"]:
        placed = [run.id for run in running if run.node not in remote and run.host == here
                  and gpu["index"] in (run.gpus or []) and run.id not in gpu["runs"]]
        gpu["runs"] = [*gpu["runs"], *placed]
    for node in named:
        samples = [s for s in snapshot.devices.values() if s.node == node]
        newest = max(s.time for s in samples)
        if now - newest > NODE_GONE_AFTER_S:
            continue
        host = snapshot.devices.get(device_key(node, "host"))
        identity = {key: (host.values.get(key) if host else None) for key in ("node_id", "address", "hostname")}
        names = {node, identity["node_id"]} - {None}
        gpus = snapshot.gpus_of(node)
        count = f"{len(gpus)} GPU{'s' if len(gpus) != 1 else ''}" if gpus else "CPU-only"
        result["nodes"].append({"node": node, **identity, "status": count, "time": newest,
                                "host": _host_brief(snapshot.host_of(node))})
        for gpu in gpus:
            runs = [run.id for run in running if getattr(run, "node", None) in names and gpu.index in (run.gpus or [])]
            result["gpus"].append({**gpu.to_dict(), "node": node, "runs": runs})
    return result


def _host_brief(host: HostSample | None) -> dict[str, Any] | None:
    if host is None:
        return None
    return {"cpu_percent": host.cpu_percent, "cores": None if host.per_core is None else len(host.per_core),
            "memory_used_mb": host.memory_used_mb, "memory_total_mb": host.memory_total_mb, "load_1": host.load_1}


_local_host: HostSampler | None = None
_local_host_lock = threading.Lock()


def local_host_sample() -> HostSample:
    """The host read now by this process, for a view whose daemon is not sampling. CPU percentages are
    over the time since this process's previous call (None on the first: they need two readings)."""
    global _local_host
    with _local_host_lock:
        if _local_host is None:
            _local_host = HostSampler()
        return _local_host.sample()


def live_snapshot() -> Snapshot:
    """The GPUs and the host read now, for a home whose daemon is not sampling (the host's CPU from
    this process's second call on: a percentage is a difference of two readings)."""
    from tuiflow.monitor import read_gpus

    now = time.time()
    host = local_host_sample()
    try:
        report = read_gpus()
    except ValueError:  # a malformed TUIFLOW_FAKE_GPUS: the launch says so, a view shows no GPUs
        return Snapshot(now=now, time=None, host=host)
    return Snapshot(now=now, time=None, host=host, gpus=tuple(report.gpus))
