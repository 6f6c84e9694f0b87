"""MetricWriter: a run's metric values, buffered in memory and written to the store in batches."""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from .errors import StoreError

if TYPE_CHECKING:
    from .results import MetricRow, ResultsStore

_live: weakref.WeakSet[MetricWriter] = weakref.WeakSet()


@atexit.register
def _close_live_writers() -> None:
    # A run that returns without closing its writer still gets its last values stored.
    for writer in list(_live):
        try:
            writer.close()
        except Exception:
            pass  # the interpreter is exiting; the run's status tells whether it ended well


class MetricWriter:
    """Buffers metric values of one run and writes them in batches, never one commit per value.

    A batch is written when `batch_size` values are waiting (by the thread that logs), every
    `interval_s` seconds while values are waiting (by a background thread, so a reader sees them
    soon), and on `close`, `flush` and interpreter exit. Safe to use from many threads.
    """

    def __init__(self, store: ResultsStore, run_id: int, *, batch_size: int = 5000, interval_s: float = 1.0) -> None:
        if batch_size < 1 or interval_s <= 0:
            raise ValueError("batch_size must be >= 1 and interval_s > 0")
        self.run_id = run_id
        """The run the values belong to."""
        self.written = 0
        """How many values this writer has stored so far."""
        self._store = store
        self._batch_size = batch_size
        self._interval_s = interval_s
        self._buffer: list[MetricRow] = []
        self._lock = threading.Lock()  # guards _buffer and _closed
        self._flush_lock = threading.Lock()  # batches go out one at a time, in logging order
        self._closed = False
        self._failing = False  # the last flush failed: the next log retries in its own thread
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._flush_periodically, name=f"tuiflow-metrics-{run_id}", daemon=True)
        self._thread.start()
        _live.add(self)

    @property
    def pending(self) -> int:
        """Values logged but not yet written."""
        return len(self._buffer)

    def log(self, step: int, values: Mapping[str, float | None] | None = None, /, **named: float | None) -> None:
        """Log values at a step: `log(10, loss=0.3, acc=0.9)`, or a mapping for keys like 'val/loss'."""
        now = time.time()
        run_id = self.run_id
        items = list(values.items()) if values else []
        items.extend(named.items())
        rows = [(run_id, key, step, None if value is None else float(value), now) for key, value in items]
        self._add(rows)

    def log_many(self, rows: Iterable[tuple[str, int, float | None]], at: float | None = None) -> None:
        """Log many (key, step, value) triples stamped with one time (now by default); the fast path.

        Values must already be Python or numpy floats or ints: no conversion is done here.
        """
        now = time.time() if at is None else at
        run_id = self.run_id
        self._add([(run_id, key, step, value, now) for key, step, value in rows])

    def _add(self, rows: list[MetricRow]) -> None:
        with self._lock:
            if self._closed:
                raise StoreError(f"metric writer of run {self.run_id} is closed")
            self._buffer.extend(rows)
            full = len(self._buffer) >= self._batch_size
            retry = self._failing
        if full or retry:
            # After a failed background flush, the logging thread retries at once: a passing hiccup
            # costs nothing, and a lasting failure reaches the caller now, not after hours of values
            # piled up in memory only to be lost at close.
            self._flush_or_raise()

    def _flush_or_raise(self) -> None:
        try:
            self.flush()
        except Exception as exc:
            waiting = self.pending
            raise StoreError(f"could not write the metrics of run {self.run_id} ({waiting} value"
                             f"{'' if waiting == 1 else 's'} waiting): {exc}") from exc

    def flush(self) -> int:
        """Write every value logged so far; return how many were written."""
        with self._flush_lock:
            with self._lock:
                rows, self._buffer = self._buffer, []
            done = 0
            try:
                # Chunks keep each write transaction short, so other runs' writers get their turn.
                for start in range(0, len(rows), self._batch_size):
                    done += self._store.write_metrics(rows[start : start + self._batch_size])
            except BaseException:
                with self._lock:
                    self._buffer[:0] = rows[done:]  # keep them for the next try
                    self._failing = True
                raise
            finally:
                self.written += done
            self._failing = False
            return done

    def _flush_periodically(self) -> None:
        while not self._stop.wait(self._interval_s):
            if self._buffer:
                try:
                    self.flush()
                except Exception:
                    pass  # the values stay buffered and the error noted: the next log or close retries and raises

    def close(self) -> None:
        """Write what is buffered and stop; logging after this raises StoreError. Idempotent.

        Values that cannot be written raise StoreError here, once: they are then dropped, so a
        later close (the store's, at exit) does not fail again on the same values.
        """
        with self._lock:
            self._closed = True
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        try:
            self._flush_or_raise()
        except StoreError:
            with self._lock:
                self._buffer, self._failing = [], False
            raise
        finally:
            _live.discard(self)

    def __enter__(self) -> MetricWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MetricWriter(run_id={self.run_id}, written={self.written}, pending={self.pending})"
