"""A runner in remote mode (`python -m tuiflow.runner RUN --remote`, as the Ray executor starts it on
a node) reaches the store only through its channel: here the other end is served, without Ray, by the
store writer the Ray executor uses (tuiflow.scheduler.ray_actors.StoreWriter) on a real home."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from tuiflow import lab
from tuiflow.runner.remote import REMOTE_FD_ENV, receive_message, send_message
from tuiflow.scheduler.executor import python_command
from tuiflow.scheduler.ray_actors import StoreWriter
from tuiflow.store import Store, process_start_time

ROOT = Path(__file__).resolve().parents[2]


class Relay:
    """The node's side of a runner's channel: every call goes to the writer, answered when asked."""

    def __init__(self, home: Path, run_id: int, tmp_path: Path) -> None:
        self.writer = StoreWriter(str(home))
        ours, theirs = socket.socketpair()
        self.nowhere = tmp_path / "no-home-here"  # the runner's $TUIFLOW_HOME: it must never open a store
        env = {**os.environ, REMOTE_FD_ENV: str(theirs.fileno()), "TUIFLOW_HOME": str(self.nowhere),
               "TUIFLOW_REPORT_INTERVAL": "0.1", "TUIFLOW_DEVICE": "cpu"}
        self.process = subprocess.Popen(python_command("tuiflow.runner", str(run_id), "--remote"), env=env,
                                        cwd=ROOT, pass_fds=(theirs.fileno(),), start_new_session=True,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        theirs.close()
        self.channel = ours
        self.calls: list[str] = []
        [(ok, started)] = self.writer.apply([("start_node_run", (run_id,), {
            "attempt": 1, "pid": self.process.pid, "pid_start_time": process_start_time(self.process.pid),
            "gpus": [1], "host": socket.gethostname(), "node": "node-x"})])
        assert ok and started.node == "node-x"
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                number, op, args, kwargs = receive_message(self.channel)
            except (EOFError, OSError):
                return
            self.calls.append(op)
            [answer] = self.writer.apply([(op, tuple(args), dict(kwargs))])
            if number:
                send_message(self.channel, (number, *answer))


def queued_run(home: Path, *sets: str) -> Any:
    with Store.open(home) as store:
        [run] = lab.submit(store, lab.recipe_catalog().get("sleep"), sets=list(sets)).runs
        assert store.claim_run(run.id) is not None
        return run


def test_a_remote_runner_records_everything_through_its_channel(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run = queued_run(home, "seconds=0.6", "steps=3")
    relay = Relay(home, run.id, tmp_path)
    output, _ = relay.process.communicate(timeout=60)
    assert relay.process.returncode == 0, output.decode(errors="replace")
    assert b"CUDA_VISIBLE_DEVICES" in output and b"run 1 done" in output
    with Store.open(home) as store:
        ended = store.get_run(run.id)
        assert ended.status == "done" and ended.metrics == {"steps": 3, "seconds": 0.6}
        assert ended.node == "node-x" and ended.gpus == [1] and ended.pid == relay.process.pid
        assert ended.progress_done == 3 and ended.heartbeat_at >= ended.started_at
        assert store.metric_series(run.id, "value").values == [0.0, 1.0, 4.0]
        assert store.gpu_holds() == []  # a node's GPU ids are not this machine's: no hold
    assert {"get_run", "get_experiment", "write_metrics", "set_progress", "finish_run"} <= set(relay.calls)
    assert not relay.nowhere.exists()  # it never opened (nor created) a store of its own


def test_a_remote_runner_whose_executor_is_gone_stops_with_everything_it_started(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run = queued_run(home, "seconds=120", "steps=120", "children=2")
    relay = Relay(home, run.id, tmp_path)
    runner = psutil.Process(relay.process.pid)
    deadline = time.monotonic() + 30
    while len(runner.children()) < 2:
        assert time.monotonic() < deadline, "the recipe's children did not start"
        time.sleep(0.05)
    family = [runner, *runner.children()]
    relay.channel.shutdown(socket.SHUT_RDWR)  # its Ray worker died, say
    relay.channel.close()
    gone, alive = psutil.wait_procs(family, timeout=15)
    assert alive == [], [p.pid for p in alive]
    assert next(p for p in gone if p.pid == runner.pid).returncode == -9  # it killed its own group
    with Store.open(home) as store:  # nothing could record its end: the executor's daemon settles it
        assert store.get_run(run.id).status == "running"
