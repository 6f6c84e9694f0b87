"""The run loop: batches through compiled steps, with profiling, prefetch and progress.

With ``prefetch=N`` one background thread runs the steps up to N batches ahead of the consumer.
A single producer keeps batches, and the updates they make to pipeline variables, in the order
of the index; the overlap with the consumer is where the time is won.
"""

from __future__ import annotations

import itertools
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
    """Each batch of ``plan`` after every step has run on it."""
    if any(step.rebatch is not None for step in steps):
        return _produce_staged(dataset, plan, steps, ctx, profiler, stop)
    if profiler is not None:
        return _produce_profiled(dataset, plan, steps, ctx, profiler, stop)
    return _produce(dataset, plan, steps, ctx, stop)


_CHUNK = 32  # batches made at a time


def _new_batches(dataset: Dataset, plan: BatchPlan) -> Iterator[tuple[int, int, Batch]]:
    """``(number, epoch, batch)`` for every batch of ``plan``, not loaded yet.

    They are made a chunk at a time, in a tight loop: between the steps of a model the caches are
    cold, and the same bookkeeping done batch by batch there costs several times more.
    """
    numbered = enumerate(plan.batches())
    create = dataset._batch_at
    while True:
        chunk = [(number, epoch, create(positions, run))
                 for number, (epoch, positions, run) in itertools.islice(numbered, _CHUNK)]
        if not chunk:
            return
        chunk.reverse()
        while chunk:
            yield chunk.pop()  # the chunk lets go of each batch as it is handed on: no batch outlives its turn


def _produce(dataset: Dataset, plan: BatchPlan, steps: list[CompiledStep], ctx: Context,
             stop: threading.Event | None) -> Iterator[Batch]:
    for number, epoch, batch in _new_batches(dataset, plan):
        if stop is not None and stop.is_set():
            return
        batch._random_seed = (ctx.entropy, number)
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
    # Three ways to time a batch, cheapest last (see profiler.py for when each is used): the CPU and
    # wall clocks around every step; the wall clock after every step (a step's time includes
    # evaluating its arguments); the wall clock around the whole batch.
    stamps = profiler.stamps
    stamp, clock = stamps.append, _perf_counter  # locals: each global lookup costs in this loop
    fold_at = FOLD_EVERY * profiler.width
    until_cpu = until_stamp = 0
    for number, epoch, batch in _new_batches(dataset, plan):
        if stop is not None and stop.is_set():
            return
        batch._random_seed = (ctx.entropy, number)
        ctx.iteration, ctx.epoch = number, epoch
        step = None
        if until_cpu and until_stamp:
            until_cpu -= 1
            until_stamp -= 1
            started = clock()
            try:
                for step in steps:
                    ctx.batch = batch
                    batch = step.run(batch, ctx)
            except Exception as exc:
                profiler.add_whole(clock() - started, steps.index(step) + 1)  # type: ignore[arg-type]
                raise _action_error(exc, step, ctx, number) from exc
            # Plain attribute updates, no lock: readers tolerate a batch of lag.
            profiler.whole_wall += clock() - started
            profiler.whole_batches += 1
        elif until_cpu:
            until_cpu -= 1
            until_stamp = profiler.stamp_gap
            try:
                stamp(clock())
                for step in steps:
                    ctx.batch = batch
                    batch = step.run(batch, ctx)
                    stamp(clock())
            except Exception as exc:
                stamp(clock())  # the failing call ran too, until it raised
                profiler.fold(partial=True)
                raise _action_error(exc, step, ctx, number) from exc
            if len(stamps) >= fold_at:
                profiler.fold()
        else:
            walls: list[float] = []
            cpus: list[float] = []
            try:
                for step in steps:
                    ctx.batch = batch
                    wall, cpu = clock(), _process_time()
                    try:
                        batch = step.run(batch, ctx)
                    finally:
                        cpus.append(_process_time() - cpu)
                        walls.append(clock() - wall)
            except Exception as exc:
                profiler.add_batch(walls, cpus)
                raise _action_error(exc, step, ctx, number) from exc
            profiler.add_batch(walls, cpus)
            until_cpu = profiler.batches_until_cpu(number)
            until_stamp = profiler.stamp_gap
        yield batch
    profiler.fold()


# --- pipelines cut in stages by rebatch ---------------------------------------------------------------
def _produce_staged(dataset: Dataset, plan: BatchPlan, steps: list[CompiledStep], ctx: Context,
                    profiler: Profiler | None, stop: threading.Event | None) -> Iterator[Batch]:
    """The batches of a pipeline with ``rebatch`` steps: each stage between two of them runs on the
    batches the one before hands on (every step timed with both clocks when profiled)."""
    stream: Iterator[tuple[int, int, Batch]] = _new_batches(dataset, plan)
    start = 0
    for stage in range(len(steps) + 1):
        cut = next((i for i in range(start, len(steps)) if steps[i].rebatch is not None), len(steps))
        total = plan.total if stage == 0 else None
        stream = _stage(stream, steps[start:cut], start, stage, total, ctx, profiler, stop)
        if cut == len(steps):
            break
        stream = _rebatched(stream, steps[cut], cut, ctx, profiler)
        start = cut + 1
    return (batch for _, _, batch in stream)


def _stage(items: Iterator[tuple[int, int, Batch]], steps: list[CompiledStep], offset: int, stage: int,
           total: int | None, ctx: Context, profiler: Profiler | None,
           stop: threading.Event | None) -> Iterator[tuple[int, int, Batch]]:
    clock = _perf_counter
    for number, epoch, batch in items:
        if stop is not None and stop.is_set():
            return
        batch._random_seed = (ctx.entropy, number if stage == 0 else (stage << 40) + number)
        ctx.iteration, ctx.epoch, ctx.total_iterations = number, epoch, total
        walls: list[float] = []
        cpus: list[float] = []
        step = None
        try:
            for step in steps:
                ctx.batch = batch
                if profiler is None:
                    batch = step.run(batch, ctx)
                    continue
                wall, cpu = clock(), _process_time()
                try:
                    batch = step.run(batch, ctx)
                finally:
                    cpus.append(_process_time() - cpu)
                    walls.append(clock() - wall)
        except Exception as exc:
            if profiler is not None:
                profiler.add_batch(walls, cpus, offset)
            raise _action_error(exc, step, ctx, number) from exc
        if profiler is not None:
            profiler.add_batch(walls, cpus, offset)
        yield number, epoch, batch


def _rebatched(items: Iterator[tuple[int, int, Batch]], step: CompiledStep, offset: int, ctx: Context,
               profiler: Profiler | None) -> Iterator[tuple[int, int, Batch]]:
    size, components = step.rebatch.batch_size, step.rebatch.components  # type: ignore[union-attr]
    pending: list[Batch] = []
    count = made = epoch = 0

    def merge(batch_size: int | None) -> tuple[Batch | None, Batch | None]:
        wall, cpu = _perf_counter(), _process_time()
        try:
            return type(pending[0]).merge(pending, batch_size, components)
        except Exception as exc:
            raise _action_error(exc, step, ctx, made) from exc
        finally:
            if profiler is not None:
                profiler.add_batch([_perf_counter() - wall], [_process_time() - cpu], offset)

    for _, epoch, batch in items:
        pending.append(batch)
        count += len(batch)
        while count >= size:
            merged, rest = merge(size)
            yield made, epoch, merged  # type: ignore[misc]
            made += 1
            pending = [rest] if rest is not None else []
            count -= size
    if count:
        merged, _ = merge(None)
        yield made, epoch, merged  # type: ignore[misc]


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
