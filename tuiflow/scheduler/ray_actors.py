"""The two Ray actors of the Ray executor: `RunActor`, one per run, placed by Ray on a node with the
run's GPUs, which starts the runner there and relays what it records; and `StoreWriter`, one per home,
pinned to the daemon's node, the only process that writes those records into the head's store.

Plain classes: the executor makes them Ray actors (`ray.remote`) when it uses them, so importing this
module imports no Ray. A runner on a node never opens the SQLite file; it talks to its RunActor over
a socket pair (tuiflow.runner.remote), and the RunActor sends its records on in batches.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tuiflow.monitor.gpus import cuda_usable
from tuiflow.runner.remote import ANSWERED, REMOTE_FD_ENV, SENT, receive_message, send_message
from tuiflow.store import StoreError

FLUSH_S = 0.2
"""How often a RunActor sends what its runner recorded (and its log lines) to the writer."""

LOG_CHUNK = 1 << 16

LINGER_S = 2.0
"""How long a RunActor stays after its runner ended and its outcome is recorded, before it ends
itself (giving its GPUs and CPUs back to Ray) whether or not a daemon came for the exit code."""

Op = tuple[str, tuple, dict]


class StoreWriter:
    """The head's store for the runs on Ray nodes: applies their batches of store calls, in order, and
    appends their log lines to the log files in the home, where `tuiflow logs` reads them."""

    CALLS = frozenset(ANSWERED | SENT | {"start_node_run", "settle_exit"})

    def __init__(self, home: str) -> None:
        from tuiflow.store import Store

        self.home = Path(home)
        self.store = Store.open(home, create=False)

    def ping(self) -> int:
        """Ready: the writer's pid."""
        return os.getpid()

    def apply(self, ops: list[Op]) -> list[tuple[bool, Any]]:
        """Apply each call in order; per call (True, its value) or (False, (error class, message))."""
        results: list[tuple[bool, Any]] = []
        for op, args, kwargs in ops:
            try:
                results.append((True, self._apply(op, args, kwargs)))
            except Exception as exc:  # one bad call must not lose the batch's others
                results.append((False, (type(exc).__name__, str(exc))))
        return results

    def _apply(self, op: str, args: tuple, kwargs: dict) -> Any:
        from tuiflow.scheduler.executor import log_path

        if op == "log":
            run_id, data = args
            with open(log_path(self.home, run_id), "ab") as log:
                log.write(data)
            return None
        if op not in self.CALLS:
            raise StoreError(f"{op!r} is not a store call a run on a Ray node may make")
        if op == "start_node_run":
            kwargs = {**kwargs, "log_path": str(log_path(self.home, args[0]))}
        if op == "settle_exit":  # the runner exited: a run it left unfinished ends failed, with its code
            from tuiflow.scheduler.executor import record_exit

            return record_exit(self.store, *args)
        return getattr(self.store, op)(*args, **kwargs)


class RunActor:
    """One run on a Ray node: starts its runner in a process group of its own (with the
    CUDA_VISIBLE_DEVICES Ray set for this actor), records where it runs, relays its store calls and
    log lines to the writer, reports its exit code, and signals its whole group to cancel it."""

    def __init__(self, run_id: int, attempt: int, writer: str, namespace: str, home: str,
                 workdir: str | None, device: str | None) -> None:
        import ray

        from tuiflow.scheduler.executor import python_command
        from tuiflow.store import process_start_time

        self.run_id = run_id
        self._writer_name, self._namespace = writer, namespace
        self._writer = ray.get_actor(writer, namespace=namespace)
        self._ops: list[Op] = []
        self._logs = bytearray()
        self._buffer_lock = threading.Lock()
        self._send_lock = threading.Lock()  # batches go out one at a time, in order
        self._ended = threading.Event()
        self._code: int | None = None
        self._stop = threading.Event()
        gpus = [int(float(gpu)) for gpu in ray.get_gpu_ids()]
        node = ray.get_runtime_context().get_node_id()
        host = socket.gethostname()
        cwd = workdir if workdir and os.path.isdir(workdir) else tempfile.gettempdir()
        ours, theirs = socket.socketpair()
        env = dict(os.environ)  # Ray has set CUDA_VISIBLE_DEVICES to this actor's GPUs
        env.update({"TUIFLOW_DEVICE": device or _device(gpus), "TUIFLOW_HOME": home,
                    REMOTE_FD_ENV: str(theirs.fileno())})
        env.setdefault("PYTHONUNBUFFERED", "1")
        self.process = subprocess.Popen(
            python_command("tuiflow.runner", str(run_id), "--remote"), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True,
            pass_fds=(theirs.fileno(),))
        theirs.close()
        self._channel = ours
        start_time = process_start_time(self.process.pid)
        self.where = {"pid": self.process.pid, "start_time": start_time, "host": host, "node": node, "gpus": gpus,
                      "worker_pid": os.getpid()}
        note = f"tuiflow: run {run_id} on {host} (Ray node {node[:12]}), GPUs {gpus or 'none'}"
        if workdir and cwd != workdir:
            note += f"; {workdir} (where it was submitted) is not on this node: running in {cwd}"
        self._logs += (note + "\n").encode()
        # Recorded before the runner is answered: it then finds its run started, and asks nothing more.
        ok, recorded = self._flush(("start_node_run", (run_id,), {
            "attempt": attempt, "pid": self.process.pid, "pid_start_time": start_time, "gpus": gpus, "host": host,
            "node": node}))
        if not ok or recorded is None:
            self._kill(signal.SIGKILL)  # the run has gone on without us (requeued, say): nothing to run
        work = ((self._serve, "tuiflow-serve"), (self._pump, "tuiflow-log"), (self._flush_often, "tuiflow-flush"),
                (self._watch, "tuiflow-watch"))
        self._threads = [threading.Thread(target=target, name=name, daemon=True) for target, name in work]
        for thread in self._threads:
            thread.start()

    # --- what the executor calls ---------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Where the runner runs: pid, start time, host, Ray node id, GPU ids, this worker's pid."""
        return self.where

    def wait(self) -> int:
        """Block until the runner has exited and its outcome is recorded; its exit code (negative:
        killed by that signal)."""
        self._ended.wait()
        assert self._code is not None
        return self._code

    def _watch(self) -> None:
        """When the runner exits: kill what is left of its group, send the last of its records, record
        its outcome if it left none, and end this actor a moment later: a finished run must not hold
        the cluster's resources until a daemon comes (none may be running)."""
        code = self.process.wait()
        self._kill(signal.SIGKILL)  # a child it left must not hold on to the GPUs
        for thread in self._threads[:2]:
            thread.join(5)
        self._stop.set()
        for _ in range(5):  # a writer restarting (its worker died) gets a few tries
            ok, _ = self._flush(("settle_exit", (self.run_id, code), {}))
            if ok and not self._ops and not self._logs:
                break
            time.sleep(1)
        self._code = code
        self._ended.set()
        time.sleep(LINGER_S)  # the daemon's wait() has its answer by then
        self._leave()

    def _leave(self) -> None:
        import ray

        try:
            ray.kill(ray.get_runtime_context().current_actor, no_restart=True)
        except Exception:
            os._exit(0)

    def cancel(self, force: bool) -> None:
        """SIGTERM (``force``: SIGKILL) to the runner's process group."""
        self._kill(signal.SIGKILL if force else signal.SIGTERM)

    # --- relaying ------------------------------------------------------------------------------------
    def _kill(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _serve(self) -> None:
        """Answer the runner's store calls: the ones it waits on go out at once, after every call and
        log line before them; the others wait for the next batch."""
        while True:
            try:
                number, op, args, kwargs = receive_message(self._channel)
            except (EOFError, OSError):
                return
            call = (op, tuple(args), dict(kwargs))
            if op not in ANSWERED | SENT:
                answer: Any = (False, ("StoreError", f"{op!r} is not a store call a runner may make"))
            elif number == 0:
                with self._buffer_lock:
                    self._ops.append(call)
                continue
            else:
                answer = self._flush(call)
            try:
                send_message(self._channel, (number, *answer))
            except OSError:
                return

    def _pump(self) -> None:
        """The runner's output, into the buffer of log lines."""
        stream = self.process.stdout
        assert stream is not None
        while True:
            chunk = stream.read1(LOG_CHUNK)
            if not chunk:
                return
            with self._buffer_lock:
                self._logs += chunk

    def _flush_often(self) -> None:
        while not self._stop.wait(FLUSH_S):
            self._flush()

    def _flush(self, call: Op | None = None) -> Any:
        """Send the waiting calls and log lines (and ``call`` last) to the writer in one batch; the
        answer to ``call``, as (ok, value). Calls the writer could not be reached for stay waiting."""
        import ray

        with self._send_lock:
            with self._buffer_lock:
                ops, self._ops = self._ops, []
                if self._logs:
                    ops.insert(0, ("log", (self.run_id, bytes(self._logs)), {}))
                    self._logs = bytearray()
            if call is not None:
                ops.append(call)
            if not ops:
                return None
            try:
                results = ray.get(self._writer.apply.remote(ops))
            except Exception as exc:  # the writer's worker died: it is restarted; find it again
                print(f"tuiflow: cannot reach the store's writer: {exc}", file=sys.stderr, flush=True)
                with self._buffer_lock:
                    self._ops[:0] = ops[:-1] if call is not None else ops
                try:
                    self._writer = ray.get_actor(self._writer_name, namespace=self._namespace)
                except Exception:
                    pass
                return (False, ("StoreError", f"the head's store cannot be reached: {exc}")) if call else None
            for (op, _, _), (ok, value) in zip(ops, results):
                if not ok and (call is None or op != call[0]):
                    print(f"tuiflow: {op} of run {self.run_id} failed: {value[0]}: {value[1]}", file=sys.stderr,
                          flush=True)
            return results[-1] if call is not None else None


def _device(gpus: list[int]) -> str:
    """What the run computes on: its first GPU when this node has real ones (an NVIDIA driver);
    the CPU when Ray's GPUs here are only logical (a test cluster) or simulated."""
    if gpus and cuda_usable():
        return "cuda:0"
    return "cpu"
