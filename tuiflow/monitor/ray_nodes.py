"""Telemetry of every node of a Ray cluster: a small sampler actor pinned to each node, drained by the daemon.

The daemon (with `--executor ray`) makes one `NodeTelemetry`, starts it once Ray is initialised, and
on each tick hands `drain()`'s records to its sample sink, so every node's host (CPU, RAM, disk, net)
and GPUs land in the head's store, tagged with the node:

    telemetry = NodeTelemetry(interval=1.0)
    telemetry.start()              # one `NodeSampler` actor per alive node but the daemon's own
    records = telemetry.drain()    # what the actors sampled since the last drain (never blocks long)
    telemetry.stop()               # kills the actors

The daemon's own node gets no actor by default (`skip_local=True`): the daemon's `Sampler` already
samples that machine, with its runs' process trees, as node None ("this machine" in the views); an
actor there would record the same host and GPUs a second time under the node's name. With
`skip_local=False` every alive node gets an actor (a head that samples nothing itself, or a test on
a one-node cluster).

Each actor runs the same `Sampler` the daemon runs on its own machine (host and GPUs, no runs), on its
node's real NVML, or on simulated GPUs where `TUIFLOW_FAKE_GPUS` is set in the actor's environment
(the node's own, or `env=` passed here, which goes to Ray's runtime_env). It keeps what it sampled
in a bounded buffer until the head takes it.

Node labels: a node is named by its hostname (what `tuiflow top` and `gpus` show, and what a run's
`host` says). When two nodes share a hostname (containers, or several raylets on one machine), the
later one is "hostname@address", or "hostname#<first 8 hex digits of its Ray node id>" when the
address is shared too. A label, once given to a node id, stays with it while this object lives. Each
"host" record also carries `node_id` (the Ray node id, what a run's `node` says), `address` and
`hostname`, so a label can be traced back to its Ray node.

Ray is imported here only, inside the functions that need it (the extra `tuiflow[ray]`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from tuiflow.monitor.sampler import DEFAULT_INTERVAL, Sampler, SampleRecord, check_interval

log = logging.getLogger(__name__)

# A head that stops draining (a daemon stuck for a while) must not make an actor grow without bound:
# at 1 s and a dozen records a tick, this is about half an hour of telemetry.
MAX_BUFFERED = 20_000
# How long `drain` waits for the actors' answers: a daemon tick must not stall on a slow node.
DRAIN_WAIT_S = 0.05
# How often `drain` asks Ray for the list of nodes (new nodes get an actor, dead ones lose theirs).
RESCAN_S = 10.0
# A node whose sampler keeps dying (it cannot start there) is tried again later and later, up to this.
MAX_BACKOFF_S = 300.0


class NodeSampler:
    """The per-node sampler, run as a Ray actor: samples its node every `interval` seconds in a thread
    and keeps the records, tagged with `node`, until `take()` is called."""

    def __init__(self, node: str, interval: float = DEFAULT_INTERVAL, node_id: str | None = None,
                 address: str | None = None) -> None:
        self.node = node
        self._identity = {"node_id": node_id, "address": address, "hostname": socket.gethostname()}
        self._records: deque[SampleRecord] = deque(maxlen=MAX_BUFFERED)
        self._lock = threading.Lock()
        self._sampler = Sampler(sink=self._keep, interval=interval)
        self._sampler.start()

    def _keep(self, records: list[SampleRecord]) -> None:
        tagged = []
        for record in records:
            values = {**record.values, **self._identity} if record.device == "host" else record.values
            tagged.append(dataclasses.replace(record, values=values, node=self.node))
        with self._lock:
            self._records.extend(tagged)

    def take(self) -> list[SampleRecord]:
        """Every record sampled since the last call, oldest first."""
        with self._lock:
            records = list(self._records)
            self._records.clear()
        return records

    def where(self) -> dict[str, Any]:
        """The node's label, hostname, Ray node id and address, the actor's pid, and how many ticks it sampled."""
        return {"node": self.node, **self._identity, "pid": os.getpid(), "ticks": self._sampler.ticks}

    def stop(self) -> None:
        """Stop sampling (the actor stays until killed)."""
        self._sampler.stop()


_remote_class: Any = None


def _actor_class() -> Any:
    global _remote_class
    if _remote_class is None:
        import ray

        # No CPU asked (it would take a slot from the runs) and no GPU; a dead actor is not restarted
        # by Ray: the next rescan starts a fresh one if its node is still alive.
        _remote_class = ray.remote(num_cpus=0, num_gpus=0, max_restarts=0)(NodeSampler)
    return _remote_class


def node_labels(nodes: list[Mapping[str, Any]], known: Mapping[str, str] | None = None) -> dict[str, str]:
    """A readable label for each node of `ray.nodes()` ({node id: label}): its hostname, made unique
    with its address, then with its node id's first 8 hex digits; labels in `known` are kept."""
    labels = dict(known or {})
    taken = set(labels.values())
    for node in sorted(nodes, key=lambda n: str(n.get("NodeID"))):
        node_id = str(node.get("NodeID"))
        if node_id in labels:
            continue
        hostname = str(node.get("NodeManagerHostname") or node.get("NodeManagerAddress") or node_id[:8])
        for label in (hostname, f"{hostname}@{node.get('NodeManagerAddress')}", f"{hostname}#{node_id[:8]}"):
            if label not in taken:
                break
        labels[node_id] = label
        taken.add(label)
    return labels


@dataclasses.dataclass
class _Actor:
    handle: Any
    label: str
    pending: Any = None  # the ObjectRef of a `take()` not answered yet


class NodeTelemetry:
    """The head's side: one `NodeSampler` actor pinned to each alive node of the cluster Ray is
    connected to, started by `start()`, drained by `drain()`, killed by `stop()`.

    `env` goes to the actors' runtime_env (e.g. {"TUIFLOW_FAKE_GPUS": "2"} for simulated GPUs);
    `skip_local` (the default) leaves out the node this process runs on, whose own `Sampler` already
    records its machine (as node None).
    """

    def __init__(self, interval: float = DEFAULT_INTERVAL, *, env: Mapping[str, str] | None = None,
                 skip_local: bool = True, rescan_s: float = RESCAN_S, wait_s: float = DRAIN_WAIT_S) -> None:
        self.interval = check_interval(interval)
        self.env = dict(env or {})
        self.skip_local = skip_local
        self.rescan_s = rescan_s
        self.wait_s = wait_s
        self.labels: dict[str, str] = {}  # Ray node id -> label, every node seen
        self._actors: dict[str, _Actor] = {}  # Ray node id -> its actor
        self._scanned = -float("inf")
        self._started = False
        self._failures: dict[str, int] = {}  # Ray node id -> samplers lost there in a row
        self._retry_at: dict[str, float] = {}  # Ray node id -> no new sampler there before this time

    @property
    def nodes(self) -> dict[str, str]:
        """{Ray node id: label} of the nodes that have an actor now."""
        return {node_id: actor.label for node_id, actor in self._actors.items()}

    @property
    def actors(self) -> dict[str, Any]:
        """{Ray node id: actor handle} of the `NodeSampler` actors now (`where()` says where each runs)."""
        return {node_id: actor.handle for node_id, actor in self._actors.items()}

    def start(self) -> None:
        """Start an actor on every alive node (but this one, with `skip_local`); Ray must be initialised
        by the caller."""
        self._started = True
        self._rescan()

    def _rescan(self) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self._scanned = time.monotonic()
        alive = [node for node in ray.nodes() if node.get("Alive")]
        self.labels = node_labels(alive, self.labels)
        alive_ids = {str(node["NodeID"]) for node in alive}
        for node_id in [n for n in self._actors if n not in alive_ids]:  # its node is gone
            self._forget(node_id)
        local = ray.get_runtime_context().get_node_id() if self.skip_local else None
        options: dict[str, Any] = {}
        if self.env:
            options["runtime_env"] = {"env_vars": self.env}
        now = time.monotonic()
        for node in alive:
            node_id = str(node["NodeID"])
            if node_id in self._actors or node_id == local or self._retry_at.get(node_id, 0.0) > now:
                continue
            label = self.labels[node_id]
            try:
                handle = _actor_class().options(
                    scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=node_id, soft=False),
                    **options,
                ).remote(label, self.interval, node_id, node.get("NodeManagerAddress"))
            except Exception as exc:  # a node dying as we start: the next rescan tries again
                log.warning("telemetry: cannot start a sampler on node %s: %s", label, exc)
                continue
            self._actors[node_id] = _Actor(handle, label)

    def _forget(self, node_id: str) -> None:
        import ray

        actor = self._actors.pop(node_id, None)
        if actor is None:
            return
        try:
            ray.kill(actor.handle, no_restart=True)
        except Exception:  # already gone with its node
            pass

    def drain(self) -> list[SampleRecord]:
        """What the actors sampled since the last drain, oldest first per node.

        Waits at most `wait_s` for their answers; an actor that has not answered keeps its request and
        is asked again on the next drain (nothing is lost, nothing asked twice). An actor that died
        (its node with it) is dropped; a later rescan starts a new one where its node still lives.
        """
        import ray

        if not self._started:
            return []
        if time.monotonic() - self._scanned >= self.rescan_s:
            try:
                self._rescan()
            except Exception as exc:  # the GCS busy or unreachable for a moment: keep what we have
                log.warning("telemetry: cannot list the cluster's nodes: %s", exc)
        for actor in self._actors.values():
            if actor.pending is None:
                actor.pending = actor.handle.take.remote()
        waiting = {actor.pending: node_id for node_id, actor in self._actors.items()}
        if not waiting:
            return []
        ready, _ = ray.wait(list(waiting), num_returns=len(waiting), timeout=self.wait_s)
        records: list[SampleRecord] = []
        for ref in ready:
            node_id = waiting[ref]
            actor = self._actors[node_id]
            actor.pending = None
            try:
                records += ray.get(ref)
                self._failures.pop(node_id, None)
            except Exception as exc:  # the actor (or its node) died: drop it, start another later
                self._lost(node_id, actor.label, exc)
        return records

    def _lost(self, node_id: str, label: str, exc: Exception) -> None:
        """A sampler died: forget it; its node gets a new one at a rescan, after a delay that doubles
        with each loss in a row (a node where it cannot start is not retried every few seconds)."""
        self._forget(node_id)
        failures = self._failures[node_id] = self._failures.get(node_id, 0) + 1
        delay = min(MAX_BACKOFF_S, self.rescan_s / 2 * 2 ** (failures - 1))
        self._retry_at[node_id] = time.monotonic() + delay
        self._scanned = min(self._scanned, time.monotonic() - self.rescan_s + delay)
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        log.warning("telemetry: the sampler on node %s is gone (%s); another in %.0f s", label, reason, delay)

    def stop(self) -> None:
        """Kill every actor; `drain` returns nothing after this."""
        for node_id in list(self._actors):
            self._forget(node_id)
        self._started = False
