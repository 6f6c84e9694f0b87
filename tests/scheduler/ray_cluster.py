"""A local Ray instance for the Ray executor's tests: ``ray start --head`` with two CPUs and two
logical GPUs (no real GPU: Ray hands out ids and sets CUDA_VISIBLE_DEVICES, runs compute on the CPU),
in a temporary folder, on free ports, in a process group of its own. It outlives any daemon a test
kills; stopping it kills that group only (never `ray stop`, which stops every Ray of the user)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil


def free_ports(count: int) -> list[int]:
    """Ports free now (held open together while chosen, so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass
class RayCluster:
    """A running head: its address (HOST:PORT), its folder and its process group."""

    address: str
    folder: str
    group: int

    def stop(self) -> None:
        """Kill the head's processes, then its workers and anything else left in its folder's name."""
        try:
            os.killpg(self.group, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for process in psutil.process_iter(["cmdline"]):
            try:
                if any(self.folder in part for part in process.info["cmdline"] or []):
                    process.kill()
            except psutil.Error:
                continue
        shutil.rmtree(self.folder, ignore_errors=True)


def ray_command() -> str:
    """The `ray` script of the Python that runs the tests (beside it), whatever PATH holds."""
    script = Path(sys.executable).with_name("ray")
    if not script.exists():
        raise RuntimeError(f"no `ray` beside {sys.executable}: install the extra tuiflow[ray] into it")
    return str(script)


def start_ray_head(num_cpus: int = 2, num_gpus: int = 2) -> RayCluster:
    """``ray start --head`` with token authentication as Ray sets it up by default."""
    folder = tempfile.mkdtemp(prefix="tfray", dir="/tmp")  # Ray's socket paths must stay short
    gcs, client, agent, agent_grpc, metrics, env_agent, manager, objects = free_ports(8)
    env = {key: value for key, value in os.environ.items() if not key.startswith("TUIFLOW_")}
    # A head needs grpcio, which the extra tuiflow[ray] installs as ray[client] (Ray 2.60's dashboard
    # agent imports grpc even with the dashboard off); with grpcio there, the head also starts Ray
    # Client's server, on 10001 unless told: a free port, or two heads on two workers would clash.
    command = [
        ray_command(), "start", "--head", f"--num-cpus={num_cpus}", f"--num-gpus={num_gpus}", f"--temp-dir={folder}",
        "--disable-usage-stats", "--include-dashboard=false", f"--port={gcs}", f"--ray-client-server-port={client}",
        f"--dashboard-agent-listen-port={agent}", f"--dashboard-agent-grpc-port={agent_grpc}",
        f"--metrics-export-port={metrics}", f"--runtime-env-agent-port={env_agent}", f"--node-manager-port={manager}",
        f"--object-manager-port={objects}", "--node-ip-address=127.0.0.1",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                               start_new_session=True, stdin=subprocess.DEVNULL)
    output, _ = process.communicate(timeout=120)
    cluster = RayCluster(f"127.0.0.1:{gcs}", folder, process.pid)
    if process.returncode != 0:
        cluster.stop()
        raise RuntimeError(f"ray start failed ({process.returncode}):\n{output[-3000:]}")
    return cluster


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll until ``predicate`` is truthy; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)
