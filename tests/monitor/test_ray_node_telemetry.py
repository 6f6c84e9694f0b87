"""Per-node telemetry on a real local Ray cluster (`ray.cluster_utils.Cluster`: a head with two logical
GPUs, and worker nodes added and removed as raylets on this machine): a sampler actor pinned to each
node returns host and simulated-GPU records tagged with the node, they land in a real store and
`tuiflow gpus --json` lists them by node; a node that joins later gets an actor, one that dies does
not break `drain`, nor does a killed actor, which is replaced; `stop` leaves no actor."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from tuiflow.monitor.ray_nodes import NodeTelemetry, node_labels
from tuiflow.monitor.sampler import SampleRecord, sqlite_sink
from tuiflow.store import Store

pytestmark = pytest.mark.ray

# Only the actors see these simulated GPUs (through Ray's runtime_env): the test process has none.
ACTOR_GPUS = json.dumps([{"name": "Fake Ray GPU", "memory_mb": 16384}, {"name": "Fake Ray GPU", "memory_mb": 16384}])


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A head node (2 CPUs, 2 logical GPUs) this process is connected to; tests add worker nodes."""
    import ray
    from ray.cluster_utils import Cluster

    assert not ray.is_initialized(), "another test left Ray initialised: these tests need a cluster of their own"
    head = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "num_gpus": 2, "include_dashboard": False})
    try:
        ray.init(address=head.address, log_to_driver=False)
        yield head
    finally:
        ray.shutdown()
        head.shutdown()


@pytest.fixture
def ray_instance(cluster: Any) -> Any:
    import ray

    return ray


def drain_until(telemetry: NodeTelemetry, devices: set[str], timeout: float = 90.0) -> list[SampleRecord]:
    """Drain every 0.2 s until records of all `devices` came back (an actor's first start takes seconds)."""
    records: list[SampleRecord] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records += telemetry.drain()
        if devices <= {r.device for r in records}:
            return records
        time.sleep(0.2)
    raise AssertionError(f"no records of {devices - {r.device for r in records}} within {timeout} s")


def gone(pid: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.1)
    return False


def test_each_node_is_sampled_tagged_stored_and_listed_by_node(ray_instance: Any, tmp_path) -> None:
    ray = ray_instance
    # The one node is this process's: sampled only when asked (a daemon samples its own machine itself).
    telemetry = NodeTelemetry(interval=0.25, env={"TUIFLOW_FAKE_GPUS": ACTOR_GPUS}, skip_local=False)
    assert telemetry.drain() == []  # not started: nothing, and no Ray call
    telemetry.start()
    try:
        [(node_id, label)] = telemetry.nodes.items()
        [node] = [n for n in ray.nodes() if n["Alive"]]
        assert node_id == node["NodeID"] == ray.get_runtime_context().get_node_id()
        assert label == node["NodeManagerHostname"]  # a readable label: the hostname

        records = drain_until(telemetry, {"host", "cpu", "gpu0", "gpu1"})
        assert {r.node for r in records} == {label}
        gpus = [r for r in records if r.kind == "gpu"]
        assert {r.values["name"] for r in gpus} == {"Fake Ray GPU"} and {r.values["index"] for r in gpus} == {0, 1}
        host = next(r for r in records if r.device == "host")
        assert host.values["node_id"] == node_id and host.values["hostname"] == socket.gethostname()
        assert host.values["memory_total_mb"] > 0
        where = ray.get(telemetry.actors[node_id].where.remote(), timeout=30)
        assert where["node"] == label and where["pid"] != os.getpid()  # sampled in the actor, not here

        # Written by the sqlite sink into a real store, `tuiflow gpus --json` lists them under the node.
        store = Store.open(tmp_path / "home")
        conn = sqlite3.connect(store.path)
        sqlite_sink(conn)([*records, *telemetry.drain()])
        conn.close()
        store.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TUIFLOW_FAKE_GPUS")}
        code = "import sys; from tuiflow.cli.app import main; sys.argv[0] = 'tuiflow'; main()"
        result = subprocess.run([sys.executable, "-c", code, "gpus", "--json", "--home", str(tmp_path / "home")],
                                capture_output=True, text=True, env=env, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert [(g["node"], g["index"], g["name"]) for g in report["gpus"]] == [
            (label, 0, "Fake Ray GPU"), (label, 1, "Fake Ray GPU")]
        [ours] = [n for n in report["nodes"] if n["node"] == label]
        assert ours["node_id"] == node_id and ours["status"] == "2 GPUs"
        pid = where["pid"]
    finally:
        telemetry.stop()
    assert telemetry.nodes == {} and telemetry.drain() == []
    assert gone(pid), f"the sampler actor (pid {pid}) outlived stop()"


def test_a_dead_sampler_does_not_break_drain_and_is_replaced(ray_instance: Any) -> None:
    ray = ray_instance
    telemetry = NodeTelemetry(interval=0.25, rescan_s=0.5, env={"TUIFLOW_FAKE_GPUS": "1"}, skip_local=False)
    telemetry.start()
    try:
        drain_until(telemetry, {"host", "gpu0"})
        [(node_id, handle)] = telemetry.actors.items()
        first = ray.get(handle.where.remote(), timeout=30)["pid"]
        os.kill(first, signal.SIGKILL)  # as if its node went down under it
        assert gone(first)
        # Drains go on without an error while the actor is dead; a fresh one is started on the live node.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            telemetry.drain()
            actor = telemetry.actors.get(node_id)
            if actor is not None and actor is not handle:
                break
            time.sleep(0.2)
        assert telemetry.actors.get(node_id) not in (None, handle)
        records = drain_until(telemetry, {"host", "gpu0"})
        second = ray.get(telemetry.actors[node_id].where.remote(), timeout=30)["pid"]
        assert second != first and {r.node for r in records} == {telemetry.nodes[node_id]}
    finally:
        telemetry.stop()
    assert gone(second)


def test_the_daemons_own_node_gets_no_actor_by_default(ray_instance: Any) -> None:
    telemetry = NodeTelemetry(interval=0.25, rescan_s=0.0)
    telemetry.start()
    try:
        assert telemetry.nodes == {} and telemetry.drain() == [] and telemetry.drain() == []
        node_id = ray_instance.get_runtime_context().get_node_id()
        assert telemetry.labels == {node_id: socket.gethostname()}  # known, and left to the daemon's sampler
    finally:
        telemetry.stop()


def test_a_node_that_joins_gets_a_sampler_and_one_that_dies_does_not_break_drain(cluster: Any) -> None:
    import ray

    telemetry = NodeTelemetry(interval=0.25, rescan_s=0.2, env={"TUIFLOW_FAKE_GPUS": "1"})  # the head: skipped
    telemetry.start()
    try:
        assert telemetry.nodes == {}
        worker = cluster.add_node(num_cpus=1, num_gpus=1)
        cluster.wait_for_nodes()
        records = drain_until(telemetry, {"host", "gpu0"})  # started on a later drain, on the new node
        [(node_id, label)] = telemetry.nodes.items()
        assert node_id == worker.node_id != ray.get_runtime_context().get_node_id()
        assert {r.node for r in records} == {label} and label.startswith(socket.gethostname())
        pid = ray.get(telemetry.actors[node_id].where.remote(), timeout=30)["pid"]

        cluster.remove_node(worker)  # the node dies under its actor
        deadline = time.monotonic() + 60
        while telemetry.nodes and time.monotonic() < deadline:
            telemetry.drain()  # never raises: the dead node's actor is dropped
            time.sleep(0.2)
        assert telemetry.nodes == {} and telemetry.drain() == []
        assert gone(pid)
    finally:
        telemetry.stop()


def test_labels_are_hostnames_made_unique_and_kept() -> None:
    nodes = [{"NodeID": "aa" * 28, "NodeManagerHostname": "gpu-box", "NodeManagerAddress": "10.0.0.1"},
             {"NodeID": "bb" * 28, "NodeManagerHostname": "gpu-box", "NodeManagerAddress": "10.0.0.2"},
             {"NodeID": "cc" * 28, "NodeManagerHostname": "gpu-box", "NodeManagerAddress": "10.0.0.2"},
             {"NodeID": "dd" * 28, "NodeManagerHostname": "head", "NodeManagerAddress": "10.0.0.9"}]
    labels = node_labels(nodes)
    assert labels == {"aa" * 28: "gpu-box", "bb" * 28: "gpu-box@10.0.0.2", "cc" * 28: "gpu-box#cccccccc",
                      "dd" * 28: "head"}
    # A node seen before keeps its label whatever joins later.
    later = node_labels([{"NodeID": "00" * 28, "NodeManagerHostname": "head", "NodeManagerAddress": "10.0.0.3"},
                         *nodes], known=labels)
    assert {k: later[k] for k in labels} == labels and later["00" * 28] == "head@10.0.0.3"


def test_a_node_whose_sampler_keeps_dying_is_retried_later_and_later(caplog: pytest.LogCaptureFixture) -> None:
    from tuiflow.monitor import ray_nodes

    telemetry = NodeTelemetry(interval=1.0, rescan_s=10.0)
    for delay in (5, 10, 20, 40, 80, 160, 300, 300, 300):  # half the rescan interval, doubling, at most 5 min
        # A sampler that is not an actor at all: killing it fails the way killing one gone with its node does.
        telemetry._actors["n1"] = ray_nodes._Actor(handle=object(), label="gpu-box")
        before = time.monotonic()
        telemetry._lost("n1", "gpu-box", RuntimeError("The actor died unexpectedly\nmore lines"))
        after = time.monotonic()
        assert before + delay <= telemetry._retry_at["n1"] <= after + delay
        assert telemetry.nodes == {}
    warning = caplog.records[-1].getMessage()
    assert warning == "telemetry: the sampler on node gpu-box is gone (The actor died unexpectedly); another in 300 s"
