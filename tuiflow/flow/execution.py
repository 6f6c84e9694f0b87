"""The run loop: batches through compiled steps, with profiling, prefetch and progress.

With ``prefetch=N`` one background thread runs the steps up to N batches ahead of the consumer.
A single producer keeps batches, and the updates they make to pipeline variables, in the order
of the index; the overlap with the consumer is where the time is won.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tuiflow.flow import observe
from tuiflow.flow.batch import Batch
from tuiflow.flow.context import Context
from tuiflow.flow.errors import ActionError
from tuiflow.flow.profiler import FOLD_EVERY, Profiler
from tuiflow.flow.sampler import BatchPlan
from tuiflow.flow.steps import CompiledStep

if TYPE_CHECKING:
    from tuiflow.flow.dataset import Dataset

_perf_counter = time.perf_counter
_process_time = time.process_time


def produce(dataset: Dataset, plan: BatchPlan, steps: list[CompiledStep], ctx: Context,
            profiler: Profiler | None, stop: threading.Event | None = None) -> Iterator[Batch]:
    """Yield each batch of ``plan`` after every step has run on it."""
    if profiler is not None:
        yield from _produce_profiled(dataset, plan, steps, ctx, profiler, stop)
        return
    for number, (epoch, positions) in enumerate(plan.positions()):
        if stop is not None and stop.is_set():
            return
        batch = dataset.create_batch(positions)
        ctx.iteration, ctx.epoch = number, epoch
        step = None
        try:
            for step in steps:
                ctx.batch = batch
                batch = step.run(batch, ctx)
        except Exception as exc:
            raise _action_error(exc, step, ctx, number) from exc
        yield batch


def _produce_profiled(dataset: Dataset, plan: BatchPlan, steps: list[CompiledStep], ctx: Context,
                      profiler: Profiler, stop: threading.Event | None) -> Iterator[Batch]:
    # The common batch costs one clock read and one append per step (a step's time includes
    # evaluating its arguments); the profiler folds the stamps into totals now and then. Some
    # batches also read the CPU clock around each step (see profiler.py).
    stamps = profiler.stamps
    stamp = stamps.append
    fold_at = FOLD_EVERY * profiler.width
    wants_cpu = profiler.wants_cpu
    for number, (epoch, positions) in enumerate(plan.positions()):
        if stop is not None and stop.is_set():
            return
        batch = dataset.create_batch(positions)
        ctx.iteration, ctx.epoch = number, epoch
        step = None
        if wants_cpu(number):
            walls: list[float] = []
            cpus: list[float] = []
            try:
                for step in steps:
                    ctx.batch = batch
                    wall, cpu = _perf_counter(), _process_time()
                    batch = step.run(batch, ctx)
                    cpus.append(_process_time() - cpu)
                    walls.append(_perf_counter() - wall)
            except Exception as exc:
                profiler.add_batch(walls, cpus)
                raise _action_error(exc, step, ctx, number) from exc
            profiler.add_batch(walls, cpus)
        else:
            try:
                stamp(_perf_counter())
                for step in steps:
                    ctx.batch = batch
                    batch = step.run(batch, ctx)
                    stamp(_perf_counter())
            except Exception as exc:
                profiler.fold(partial=True)
                raise _action_error(exc, step, ctx, number) from exc
            if len(stamps) >= fold_at:
                profiler.fold()
        yield batch
    profiler.fold()


def _action_error(exc: Exception, step: CompiledStep | None, ctx: Context, number: int) -> ActionError:
    label = step.label if step is not None else "?"
    return ActionError(
        f"action {label!r} failed on batch {number} (epoch {ctx.epoch}): {type(exc).__name__}: {exc}",
        label, number,
    )


_DONE = object()


class _Raised:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(make: Any, depth: int) -> Iterator[Batch]:
    """Run the iterator ``make(stop_event)`` in a background thread, ``depth`` items ahead."""
    stop = threading.Event()
    buffer: queue.Queue = queue.Queue(maxsize=depth)

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for batch in make(stop):
                if not put(batch):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Raised(exc))
            return
        put(_DONE)

    thread = threading.Thread(target=work, name="tuiflow-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


def consume(pipeline: Any, batches: Iterator[Batch], total: int | None, bar: bool) -> Iterator[Batch]:
    """Hand batches to the caller, counting them for the progress bar and the observers."""
    progress = None
    if bar:
        from tuiflow.flow.progress import ProgressBar

        progress = ProgressBar(total)
    watching = bool(observe.observers())
    if watching:
        observe.notify("pipeline_started", pipeline, total)
    done, error = 0, None
    try:
        for batch in batches:
            done += 1
            if progress is not None:
                progress.advance()
            if watching:
                observe.notify("batch_done", pipeline, done, total)
            yield batch
    except GeneratorExit:  # the consumer stopped early: not a failure
        raise
    except BaseException as exc:
        error = exc
        raise
    finally:
        if progress is not None:
            progress.close()
        if watching:
            observe.notify("pipeline_finished", pipeline, error)
