"""The store as a runner on a cluster node sees it: a socket to the executor that started it.

A runner the Ray executor starts never opens the SQLite file (it may be on another machine): each
store call it makes goes as a message over a socket pair to the Ray actor that started it, which
batches them on to the one writer of the head's store (tuiflow.scheduler.ray_actors). Calls whose
answer the runner needs (its run, the final status, metric batches: a flushed value is then on the
head) wait for it; the rest (profile, progress, heartbeats) are sent and not waited for.

Messages are length-prefixed pickles: both ends are tuiflow processes of one user on one node, the
socket pair is theirs alone.
"""

from __future__ import annotations

import itertools
import os
import pickle
import signal
import socket
import struct
import sys
import threading
from collections.abc import Sequence
from typing import Any

from tuiflow.store import MetricWriter, NotFoundError, StoreError

REMOTE_FD_ENV = "TUIFLOW_REMOTE_FD"
"""The environment variable naming the runner's end of the socket pair."""

_HEADER = struct.Struct(">I")

ANSWERED = frozenset({"get_run", "get_experiment", "finish_run", "write_metrics"})
"""The store calls a runner waits on; every other one is sent on and not answered."""

SENT = frozenset({"write_profile", "set_action", "set_progress", "heartbeat"})

_ERRORS: dict[str, type[StoreError]] = {"StoreError": StoreError, "NotFoundError": NotFoundError}


def send_message(sock: socket.socket, message: Any) -> None:
    """Write one message (the caller serialises writers)."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(data)) + data)


def receive_message(sock: socket.socket) -> Any:
    """Read one message; EOFError when the other end has closed."""
    (size,) = _HEADER.unpack(_read_exactly(sock, _HEADER.size))
    return pickle.loads(_read_exactly(sock, size))


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other end of the channel closed it")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def remote_error(name: str, text: str) -> StoreError:
    """The StoreError (or subclass) an answer carried, rebuilt on this side."""
    kind = _ERRORS.get(name)
    return kind(text) if kind is not None else StoreError(f"{name}: {text}")


class _Answer:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.value: Any = None
        self.error: StoreError | None = None


class ChannelStore:
    """The store calls a runner makes, over the socket to its executor. Thread-safe.

    When the executor is gone (its Ray worker died, its node went down), nothing this runner does can
    be recorded any more, and nobody could cancel it: it kills its own process group at once.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._send_lock = threading.Lock()
        self._answers: dict[int, _Answer] = {}
        self._ids = itertools.count(1)
        self._closing = False
        self._writers: list[MetricWriter] = []
        self._reader = threading.Thread(target=self._read_answers, name="tuiflow-channel", daemon=True)
        self._reader.start()

    @classmethod
    def from_environment(cls) -> ChannelStore:
        """The channel whose descriptor $TUIFLOW_REMOTE_FD names."""
        value = os.environ.get(REMOTE_FD_ENV, "")
        if not value.isdigit():
            raise StoreError(f"${REMOTE_FD_ENV} must name the runner's channel to its executor, not {value!r}")
        return cls(socket.socket(fileno=int(value)))

    # --- the calls a runner makes ------------------------------------------------------------------
    def get_run(self, run_id: int) -> Any:
        """The run as the head's store has it."""
        return self._call("get_run", run_id)

    def get_experiment(self, experiment_id: int) -> Any:
        """The experiment as the head's store has it."""
        return self._call("get_experiment", experiment_id)

    def start_run(self, run_id: int, **kwargs: Any) -> Any:
        """Refused: a run on a cluster node is recorded by the executor that started it."""
        raise StoreError(f"run {run_id} was not recorded by its executor before its runner started")

    def finish_run(self, run_id: int, status: str = "done", **kwargs: Any) -> Any:
        """End the run in the head's store; returns it as recorded there."""
        return self._call("finish_run", run_id, status, **kwargs)

    def write_metrics(self, rows: Sequence[tuple[int, str, int, float | None, float]]) -> int:
        """Write a batch of metric rows; returns once they are in the head's store."""
        return self._call("write_metrics", list(rows))

    def write_profile(self, run_id: int, pipeline: int | str, rows: list[dict[str, Any]]) -> None:
        """Replace a pipeline's profile (sent, not waited for)."""
        self._send("write_profile", run_id, pipeline, rows)

    def set_action(self, run_id: int, action: str | None) -> None:
        """The action the run is in now (sent, not waited for)."""
        self._send("set_action", run_id, action)

    def set_progress(self, run_id: int, done: int, total: int | None = None, eta_s: float | None = None) -> None:
        """How far the run has got; also a heartbeat (sent, not waited for)."""
        self._send("set_progress", run_id, done, total, eta_s)

    def heartbeat(self, run_id: int) -> None:
        """The run is alive (sent, not waited for)."""
        self._send("heartbeat", run_id)

    def metric_writer(self, run_id: int, *, batch_size: int = 5000, interval_s: float = 1.0) -> MetricWriter:
        """A buffered writer of the run's metrics whose batches go over the channel."""
        writer = MetricWriter(self, run_id, batch_size=batch_size, interval_s=interval_s)  # type: ignore[arg-type]
        self._writers.append(writer)
        return writer

    def close(self) -> None:
        """Flush the metric writers and close the channel."""
        try:
            for writer in self._writers:
                writer.close()
        finally:
            self._closing = True
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()

    # --- the channel ---------------------------------------------------------------------------------
    def _call(self, op: str, *args: Any, **kwargs: Any) -> Any:
        answer = _Answer()
        number = next(self._ids)
        self._answers[number] = answer
        try:
            self._write((number, op, args, kwargs))
            answer.event.wait()
        finally:
            self._answers.pop(number, None)
        if answer.error is not None:
            raise answer.error
        return answer.value

    def _send(self, op: str, *args: Any) -> None:
        self._write((0, op, args, {}))

    def _write(self, message: Any) -> None:
        try:
            with self._send_lock:
                send_message(self._sock, message)
        except OSError as exc:
            raise StoreError(f"the channel to this run's executor is closed: {exc}") from None

    def _read_answers(self) -> None:
        try:
            while True:
                number, ok, value = receive_message(self._sock)
                answer = self._answers.get(number)
                if answer is None:
                    continue
                if ok:
                    answer.value = value
                else:
                    answer.error = remote_error(*value)
                answer.event.set()
        except (EOFError, OSError, pickle.UnpicklingError):
            if self._closing:
                return
        self._executor_gone()

    def _executor_gone(self) -> None:
        print("tuiflow runner: the executor that started this run is gone: stopping", file=sys.stderr, flush=True)
        if os.getpgrp() == os.getpid():
            os.killpg(os.getpid(), signal.SIGKILL)  # with whatever the recipe started
        os.kill(os.getpid(), signal.SIGKILL)
