"""Telemetry of a cluster's nodes in one real store: the lab API returns each reading with its node, and
`tuiflow top` and `tuiflow gpus` (text and --json) group the GPUs and hosts by node; one node alone looks
as one machine always did."""

from __future__ import annotations

import dataclasses
import json
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from telemetry_helpers import run_top, top_env

from tuiflow import lab
from tuiflow.monitor import fake_gpus
from tuiflow.monitor.sampler import Sampler, sqlite_sink
from tuiflow.store import Store

# Two machines as their samplers see them: simulated GPUs of different kinds, so a mix-up shows.
NODES = {
    "alpha": json.dumps([{"name": "Fake A10", "memory_mb": 24576}, {"name": "Fake A10", "memory_mb": 24576}]),
    "beta": json.dumps([{"name": "Fake H100", "memory_mb": 81920, "used_mb": 40960}]),
}


def sample_nodes(store: Store, monkeypatch: pytest.MonkeyPatch, nodes: dict[str, str], ticks: int = 3) -> float:
    """Each node's real sampler (host and its simulated GPUs) for `ticks` ticks ending now, tagged with
    the node and written by the sqlite sink; the last tick's time."""
    now = time.time()
    conn = sqlite3.connect(store.path)
    sink = sqlite_sink(conn)
    for node, gpus in nodes.items():
        monkeypatch.setenv(fake_gpus.FAKE_GPUS_ENV, gpus)
        sampler = Sampler(interval=0.25)
        for tick in range(ticks):
            time.sleep(0.06)  # per-core CPU needs a little time between two samples
            records = sampler.tick(now - (ticks - 1 - tick))
            sink([dataclasses.replace(record, node=node) for record in records])
    monkeypatch.delenv(fake_gpus.FAKE_GPUS_ENV)
    conn.close()
    return now


def tuiflow(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`tuiflow ARGS --home HOME` in a subprocess at 80x24, without simulated GPUs unless `env` says so."""
    code = "import sys; from tuiflow.cli.app import main; sys.argv[0] = 'tuiflow'; main()"
    result = subprocess.run([sys.executable, "-c", code, *args, "--home", str(home)], capture_output=True,
                            text=True, env=top_env(**env), timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def cluster_home(store: Store, monkeypatch: pytest.MonkeyPatch) -> Path:
    sample_nodes(store, monkeypatch, NODES)
    return store.home


def test_the_lab_returns_each_reading_with_its_node(cluster_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake_gpus, "default_state_dir", None)  # Lab.gpus points it at the home: undone after
    home_lab = lab.open(cluster_home)
    snapshot = home_lab.telemetry()
    assert snapshot.nodes == ("alpha", "beta") and snapshot.multi_node
    assert [(g.node, g.index, g.name) for g in snapshot.gpus] == [
        ("alpha", 0, "Fake A10"), ("alpha", 1, "Fake A10"), ("beta", 0, "Fake H100")]
    assert [g.memory_total_mb for g in snapshot.gpus_of("beta")] == [81920.0]
    assert snapshot.host_of("alpha") is not None and snapshot.host_of("beta") is not None
    assert snapshot.host_of("alpha").per_core and snapshot.host_of(None) is None
    # A node's host record says which Ray node it is, where the sampler knows (here: nobody told it).
    assert snapshot.devices["host@beta"].node == "beta"

    data = json.loads(json.dumps(snapshot.to_dict()))
    assert [(g["node"], g["device"]) for g in data["gpus"]] == [("alpha", "gpu0"), ("alpha", "gpu1"), ("beta", "gpu0")]
    assert [(n["node"], n["gpus"]) for n in data["nodes"]] == [("alpha", [0, 1]), ("beta", [0])]
    assert data["nodes"][1]["host"]["memory_total_mb"] > 0

    # One node's device over time: beta's gpu0 only, never alpha's.
    _, used = home_lab.telemetry_series("gpu0", "memory_used_mb", window_s=60, node="beta")
    assert len(used) == 3 and set(used) == {40960.0}
    _, used = home_lab.telemetry_series("gpu0", "memory_used_mb", window_s=60, node="alpha")
    assert len(used) == 3 and set(used) == {0.0}
    assert home_lab.telemetry_series("gpu0", "utilization", window_s=60) == ([], [])  # nothing of this machine
    assert len([v for v in home_lab.gpu_history(0, node="beta", window_s=60, points=10) if v is not None]) == 3

    report = home_lab.gpus()
    assert [(n["node"], n["status"]) for n in report["nodes"]] == [
        (None, report["status"]), ("alpha", "2 GPUs"), ("beta", "1 GPU")]
    assert [(g["node"], g["index"], g["runs"]) for g in report["gpus"]] == [
        ("alpha", 0, []), ("alpha", 1, []), ("beta", 0, [])]


def test_top_groups_gpus_and_hosts_under_a_title_per_node(cluster_home: Path) -> None:
    result = run_top(cluster_home, "--once")
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode().rstrip("\n").split("\n")
    assert len(lines) <= 24 and max(map(len, lines)) <= 80, "\n".join(lines)
    titles = [i for i, line in enumerate(lines) if line.startswith("—— ")]
    assert [lines[i].split()[1] for i in titles] == ["alpha", "beta"]
    assert "2 GPUs" in lines[titles[0]] and "1 GPU " in lines[titles[1]]
    alpha, beta = lines[titles[0] + 1:titles[1]], lines[titles[1] + 1:]
    assert alpha[0].startswith("CPU ") and alpha[1].startswith("MEM ")
    assert [line.split()[0] for line in alpha if line.startswith("GPU")] == ["GPU0", "GPU1"]
    assert all("0.0/24.0G" in line for line in alpha if line.startswith("GPU"))  # the A10s: 24 GiB, unused
    assert beta[0].startswith("CPU ") and beta[1].startswith("MEM ")
    [h100] = [line for line in beta if line.startswith("GPU")]
    assert h100.startswith("GPU0") and "40.0/80.0G" in h100
    assert any(line.startswith("RUNS ") for line in lines)

    data = json.loads(run_top(cluster_home, "--json").stdout)
    assert [(g["node"], g["device"], g["name"]) for g in data["gpus"]] == [
        ("alpha", "gpu0", "Fake A10"), ("alpha", "gpu1", "Fake A10"), ("beta", "gpu0", "Fake H100")]
    assert [n["node"] for n in data["nodes"]] == ["alpha", "beta"]


def test_gpus_lists_each_nodes_gpus_under_its_title(cluster_home: Path) -> None:
    lines = tuiflow(cluster_home, "gpus").stdout.rstrip("\n").split("\n")
    assert lines[0].startswith("this machine: CPU-only")
    assert lines[1].startswith("alpha: 2 GPUs  CPU ") and " RAM " in lines[1]
    assert lines[2].startswith("  gpu0  Fake A10  0/24,576 MiB") and lines[3].startswith("  gpu1  Fake A10")
    assert lines[4].startswith("beta: 1 GPU  CPU ")
    assert lines[5].startswith("  gpu0  Fake H100  40,960/81,920 MiB")
    assert len(lines) == 6

    data = json.loads(tuiflow(cluster_home, "gpus", "--json").stdout)
    assert [(g["node"], g["index"], g["name"]) for g in data["gpus"]] == [
        ("alpha", 0, "Fake A10"), ("alpha", 1, "Fake A10"), ("beta", 0, "Fake H100")]
    assert [n["node"] for n in data["nodes"]] == [None, "alpha", "beta"]


def test_one_node_alone_looks_as_one_machine(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    sample_nodes(store, monkeypatch, {"alpha": NODES["alpha"]})
    snapshot = lab.open(store.home).telemetry()
    assert snapshot.nodes == ("alpha",) and not snapshot.multi_node
    assert snapshot.host is snapshot.host_of("alpha")

    result = run_top(store.home, "--once")
    lines = result.stdout.decode().rstrip("\n").split("\n")
    assert not any(line.startswith("—— ") for line in lines)
    [cpu] = [line for line in lines if line.startswith("CPU ")]
    assert any(line.startswith("MEM ") for line in lines) and any(line.startswith("DISK ") for line in lines)
    gpu_lines = [line for line in lines if line.startswith("GPU")]
    assert len(gpu_lines) == 2 and all("0.0/24.0G" in line for line in gpu_lines)
    # Its sparklines are its own history (the node's, not the absent this-machine's): drawn, not blank.
    assert any(ch in "▁▂▃▄▅▆▇█" for ch in cpu[10:]) and all(any(ch in "▁▂▃▄▅▆▇█" for ch in g[10:]) for g in gpu_lines)


def test_this_machine_alone_is_printed_as_before(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(fake_gpus.FAKE_GPUS_ENV, "1")
    conn = sqlite3.connect(store.path)
    sqlite_sink(conn)(Sampler(interval=0.25).tick())  # the daemon's own sampler: node None
    conn.close()
    lines = tuiflow(store.home, "gpus", TUIFLOW_FAKE_GPUS="1").stdout.rstrip("\n").split("\n")
    assert lines[0] == "1 GPU (simulated, TUIFLOW_FAKE_GPUS)"
    assert len(lines) == 2 and lines[1].startswith("  gpu0  Fake GPU  0/24,576 MiB  util ") and \
        lines[1].endswith("%  runs -")
    data = json.loads(tuiflow(store.home, "gpus", "--json", TUIFLOW_FAKE_GPUS="1").stdout)
    assert [(g["node"], g["index"]) for g in data["gpus"]] == [(None, 0)]
    assert [n["node"] for n in data["nodes"]] == [None]
    snapshot = lab.open(store.home).telemetry()
    assert snapshot.nodes == (None,) and not snapshot.multi_node and [g.node for g in snapshot.gpus] == [None]


def test_gpus_names_the_runs_a_cluster_placed_on_each_nodes_gpus(store: Store,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from claiming import claim_next

    from tuiflow.monitor.ray_nodes import NodeSampler
    from tuiflow.store import RunSpec

    # beta's sampler as its actor runs it (here without Ray): its host records carry its Ray node id.
    beta_id, head_id = "b" * 56, "a" * 56
    monkeypatch.setenv(fake_gpus.FAKE_GPUS_ENV, NODES["beta"])
    sampler = NodeSampler("beta", 0.25, node_id=beta_id, address="10.0.0.2")
    try:
        deadline = time.monotonic() + 30
        records: list = []
        while {"host", "gpu0"} - {r.device for r in records} and time.monotonic() < deadline:
            time.sleep(0.1)
            records += sampler.take()
    finally:
        sampler.stop()
    monkeypatch.delenv(fake_gpus.FAKE_GPUS_ENV)
    assert {"host", "gpu0"} <= {r.device for r in records} and {r.node for r in records} == {"beta"}
    assert next(r for r in records if r.device == "host").values["node_id"] == beta_id
    conn = sqlite3.connect(store.path)
    sqlite_sink(conn)(records)
    conn.close()

    store.create_experiment("cluster", "sleep", runs=[RunSpec({"i": 1}), RunSpec({"i": 2}), RunSpec({"i": 3})])
    on_beta, on_head, elsewhere = (claim_next(store) for _ in range(3))
    store.start_node_run(on_beta.id, attempt=on_beta.attempt, pid=4001, pid_start_time=None, gpus=[0],
                         host="beta", node=beta_id)
    store.start_node_run(on_head.id, attempt=on_head.attempt, pid=4002, pid_start_time=None, gpus=[1],
                         host=socket.gethostname(), node=head_id)  # placed by Ray on this machine
    store.start_node_run(elsewhere.id, attempt=elsewhere.attempt, pid=4003, pid_start_time=None, gpus=[0],
                         host="gamma", node="c" * 56)  # a node nobody samples: on none of these GPUs

    report = json.loads(tuiflow(store.home, "gpus", "--json", TUIFLOW_FAKE_GPUS="2").stdout)
    assert [(g["node"], g["index"], g["runs"]) for g in report["gpus"]] == [
        (None, 0, []), (None, 1, [on_head.id]), ("beta", 0, [on_beta.id])]
    lines = tuiflow(store.home, "gpus", TUIFLOW_FAKE_GPUS="2").stdout.rstrip("\n").split("\n")
    assert lines[0] == "this machine: 2 GPUs (simulated, TUIFLOW_FAKE_GPUS)"
    assert lines[2].endswith(f"runs {on_head.id}") and lines[3].startswith("beta: 1 GPU")
    assert lines[4].endswith(f"runs {on_beta.id}")
