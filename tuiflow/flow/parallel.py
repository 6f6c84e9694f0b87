"""In-batch parallelism: run a batch method once per item, on threads, processes or asyncio.

Pools are created once per process (per kind and size) and reused by every batch. The thread
target measures the first item of each call and runs the rest inline when the work is too small
to pay for a hand-off to another thread, so it is never much slower than a plain loop.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import inspect
import itertools
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tuiflow.flow.random_expr import PerItem

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

TARGETS = ("for", "threads", "async", "mpc")
# Below this much work left in a call (seconds), handing items to other threads costs more
# than it saves: thread wake-ups are tens of microseconds each.
_INLINE_BELOW_S = 200e-6
# An item done faster than this did (next to) nothing: a skipped one, not a measure of the rest.
_SKIPPED_BELOW_S = 5e-6
_PROBE_ITEMS = 8  # items timed one by one at most, looking for two that did real work
_INLINE_CALLS_AFTER_NO_GAIN = 8


@dataclass
class ParallelSpec:
    """How an in-batch-parallel method is run."""

    init: str | Callable[..., Sequence[Any]]
    post: str | Callable[..., Any] | None
    target: str
    n_workers: int | None
    item_seconds: float | None = field(default=None, compare=False)  # last first-item time
    # Threads only pay off when items release the GIL; after a call where they did not, items
    # run inline for a while before threads are tried again.
    inline_calls_left: int = field(default=0, compare=False)


def inbatch_parallel(init: str | Callable[..., Sequence[Any]], post: str | Callable[..., Any] | None = None,
                     target: str = "threads", n_workers: int | None = None) -> Callable:
    """Run the decorated batch method once per item, in parallel.

    ``init`` gives the items: ``"indices"`` (the batch's item ids), ``"positions"`` (0..n-1),
    the name of a batch method, or a callable ``init(batch, *args, **kwargs)``. Each item is
    passed as the method's first argument after ``self``; a per-item argument (``P(...)`` in a
    pipeline) gives each item its own value. ``post`` (a callable or a method name) gets the list
    of results as ``post(batch, results, *args, **kwargs)``; without it the batch is returned and
    an exception of any item is raised. ``target`` is ``"for"``, ``"threads"``, ``"async"``
    (the method is ``async def``) or ``"mpc"`` (processes: the method runs on a copy of the batch,
    so results come back only through ``post``).
    """
    if target not in TARGETS:
        raise ValueError(f"inbatch_parallel: target must be one of {', '.join(TARGETS)}, not {target!r}")
    if n_workers is not None and n_workers < 1:
        raise ValueError(f"inbatch_parallel: n_workers must be >= 1, not {n_workers}")

    def decorate(method: Callable[..., Any]) -> Callable[..., Any]:
        is_coroutine = inspect.iscoroutinefunction(method)
        if target == "async" and not is_coroutine:
            raise TypeError(f"inbatch_parallel(target='async'): {method.__qualname__} must be `async def`")
        if target != "async" and is_coroutine:
            raise TypeError(f"inbatch_parallel: {method.__qualname__} is `async def`; use target='async'")
        spec = ParallelSpec(init, post, target, n_workers)

        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            return _run(spec, method, self, args, kwargs)

        wrapper.__tuiflow_parallel__ = spec  # type: ignore[attr-defined]
        wrapper.__tuiflow_parallel_target__ = method  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _run(spec: ParallelSpec, method: Callable[..., Any], batch: Any, args: tuple, kwargs: dict) -> Any:
    plain_args = tuple(a.values if isinstance(a, PerItem) else a for a in args)
    plain_kwargs = {k: v.values if isinstance(v, PerItem) else v for k, v in kwargs.items()}
    items = _items(spec.init, batch, plain_args, plain_kwargs)
    n = len(items)
    call = _item_caller(method, batch, items, args, kwargs, n)
    if spec.target == "for":
        results = _run_for(call, n)
    elif spec.target == "threads":
        results = _run_threads(call, n, spec)
    elif spec.target == "async":
        results = _run_async(call, n)
    else:
        results = _run_processes(method, batch, items, args, kwargs, n, spec)
    if spec.post is None:
        for result in results:
            if isinstance(result, _Failure):
                raise result.error
        return batch
    post = getattr(batch, spec.post) if isinstance(spec.post, str) else functools.partial(spec.post, batch)
    return post(results, *plain_args, **plain_kwargs)


def _items(init: str | Callable[..., Sequence[Any]], batch: Any, args: tuple, kwargs: dict) -> Sequence[Any]:
    if init == "indices":
        if len(batch):
            batch.get_pos(batch.indices[0])  # builds the id -> position map before any item is timed
        return batch.indices
    if init == "positions":
        return range(len(batch))
    if isinstance(init, str):
        return getattr(batch, init)(*args, **kwargs)
    return init(batch, *args, **kwargs)


def _item_caller(method: Callable[..., Any], batch: Any, items: Sequence[Any], args: tuple, kwargs: dict,
                 n: int) -> Callable[[int], Any]:
    per_item_args = [i for i, a in enumerate(args) if isinstance(a, PerItem)]
    per_item_kwargs = [k for k, v in kwargs.items() if isinstance(v, PerItem)]
    for value in [args[i] for i in per_item_args] + [kwargs[k] for k in per_item_kwargs]:
        if len(value) != n:
            raise ValueError(f"{method.__qualname__}: a per-item argument has {len(value)} value"
                             f"{'s' if len(value) != 1 else ''} for {n} item{'s' if n != 1 else ''}")
    if not per_item_args and not per_item_kwargs:
        return lambda i: method(batch, items[i], *args, **kwargs)

    def call(i: int) -> Any:
        item_args = list(args)
        for j in per_item_args:
            item_args[j] = args[j].values[i]
        item_kwargs = dict(kwargs)
        for k in per_item_kwargs:
            item_kwargs[k] = kwargs[k].values[i]
        return method(batch, items[i], *item_args, **item_kwargs)

    return call


class _Failure:
    """An item's exception, kept in the results list so ``post`` can see which items failed."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"_Failure({self.error!r})"


def _run_for(call: Callable[[int], Any], n: int) -> list[Any]:
    return [_guarded(call, i) for i in range(n)]


def _run_threads(call: Callable[[int], Any], n: int, spec: ParallelSpec) -> list[Any]:
    if n == 0:
        return []
    results: list[Any] = [None] * n
    # Items run here, timed, until two show what an item costs; the faster of the two counts (the
    # first may pay for warming caches the others share). An item that took next to nothing (one an
    # augmentation skipped, p < 1) says nothing of the others and is not counted. When fewer than two
    # of the first few did real work, an item costs the mean of those run here: one lone slow item is
    # either the rare one an augmentation kept (the mean is what the others cost on average) or the
    # first call's warm-up (a process's first item is several times its steady cost), never the cost
    # of each item.
    started = time.perf_counter()
    timed: list[float] = []
    done = 0
    while done < n and len(timed) < 2 and done < _PROBE_ITEMS:
        before = time.perf_counter()
        results[done] = _guarded(call, done)
        took = time.perf_counter() - before
        done += 1
        if took >= _SKIPPED_BELOW_S:
            timed.append(took)
    item = min(timed) if len(timed) >= 2 else (time.perf_counter() - started) / done
    spec.item_seconds = item
    left = n - done
    pool, size = thread_pool(spec.n_workers)
    if left == 0 or size == 1 or item * left < _INLINE_BELOW_S or spec.inline_calls_left > 0:
        spec.inline_calls_left = max(0, spec.inline_calls_left - 1)
        for i in range(done, n):
            results[i] = _guarded(call, i)
        return results
    # Every participant (the caller included) takes the next item from one counter, so the work
    # balances itself and the caller never waits for a pool thread that has not started.
    counter = itertools.count(done)
    handed_off = time.perf_counter()

    def participate() -> None:
        for i in counter:
            if i >= n:
                return
            results[i] = _guarded(call, i)

    futures: list[Future] = [pool.submit(participate) for _ in range(min(size, left) - 1)]
    participate()
    for future in futures:
        if not future.cancel():
            future.result()
    if time.perf_counter() - handed_off > 0.9 * item * left:
        spec.inline_calls_left = _INLINE_CALLS_AFTER_NO_GAIN  # threads did not pay: items hold the GIL
    return results


def _guarded(call: Callable[[int], Any], i: int) -> Any:
    try:
        return call(i)
    except Exception as exc:
        return _Failure(exc)


_loops = threading.local()


def _run_async(call: Callable[[int], Any], n: int) -> list[Any]:
    import asyncio  # here, not at the top: asyncio alone is a fifth of the engine's import time

    loop = getattr(_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = _loops.loop = asyncio.new_event_loop()
    if asyncio._get_running_loop() is not None:
        raise RuntimeError("an async in-batch-parallel action cannot run inside a running event loop")

    async def gather() -> list[Any]:
        outcomes = await asyncio.gather(*(call(i) for i in range(n)), return_exceptions=True)
        return [_Failure(o) if isinstance(o, Exception) else o for o in outcomes]

    return loop.run_until_complete(gather())


def _run_processes(method: Callable[..., Any], batch: Any, items: Sequence[Any], args: tuple, kwargs: dict,
                   n: int, spec: ParallelSpec) -> list[Any]:
    pool, size = process_pool(spec.n_workers)
    chunks = [range(start, min(n, start + -(-n // size))) for start in range(0, n, -(-n // size) or 1)]
    futures = []
    for chunk in chunks:
        chunk_args = tuple(PerItem([a.values[i] for i in chunk]) if isinstance(a, PerItem) else a for a in args)
        chunk_kwargs = {k: PerItem([v.values[i] for i in chunk]) if isinstance(v, PerItem) else v
                        for k, v in kwargs.items()}
        futures.append(pool.submit(_process_chunk, (method.__module__, method.__qualname__), batch,
                                   [items[i] for i in chunk], chunk_args, chunk_kwargs))
    results: list[Any] = []
    for future in futures:
        results.extend(future.result())
    return results


def _process_chunk(ref: tuple[str, str], batch: Any, items: list[Any], args: tuple, kwargs: dict) -> list[Any]:
    # The method travels by name: the decorated wrapper, not the inner function, is what its
    # module holds under that name.
    module_name, qualname = ref
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    method = getattr(target, "__tuiflow_parallel_target__", target)
    call = _item_caller(method, batch, items, args, kwargs, len(items))
    return [_guarded(call, i) for i in range(len(items))]


# --- pools, created once per process --------------------------------------------------------------
_pools: dict[tuple[str, int], Executor] = {}
_pools_lock = threading.Lock()
pool_creations = {"threads": 0, "processes": 0}


def _default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def thread_pool(n_workers: int | None = None) -> tuple[ThreadPoolExecutor, int]:
    """The shared thread pool of ``n_workers`` threads (default: usable CPUs)."""
    size = n_workers or _default_workers()
    key = ("threads", size)
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = ThreadPoolExecutor(size, thread_name_prefix="tuiflow-inbatch")
                pool_creations["threads"] += 1
    return pool, size  # type: ignore[return-value]


def process_pool(n_workers: int | None = None) -> tuple[ProcessPoolExecutor, int]:
    """The shared process pool of ``n_workers`` processes (start method: ``TUIFLOW_MP_START``,
    default ``spawn``, which is safe in a process that also runs threads)."""
    size = n_workers or _default_workers()
    key = ("processes", size)
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                context = multiprocessing.get_context(os.environ.get("TUIFLOW_MP_START", "spawn"))
                pool = _pools[key] = ProcessPoolExecutor(size, mp_context=context)
                pool_creations["processes"] += 1
    return pool, size  # type: ignore[return-value]


@atexit.register
def shutdown_pools() -> None:
    """Stop every pool (at exit, or in tests)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


# --- apply_parallel: a function of one item, applied to components --------------------------------
def apply_parallel(method: Callable[..., Any] | None = None, *, requires_rng: bool = False,
                   n_workers: int | None = None) -> Any:
    """Make a batch action of a method that takes ONE item and returns the new item, as BatchFlow's
    ``@apply_parallel``: ``method(self, item, *args, **kwargs)``.

    In a pipeline the action takes ``src=`` (a component, a list of components each done on its
    own, or a tuple of components whose items come together as a tuple) and ``dst=`` (where the
    results go; default: ``src``; a tuple ``src`` with one ``dst`` name keeps the results whole).
    Items run on the shared thread pool when that pays (see :func:`inbatch_parallel`); ``P(...)``
    and ``PP(...)`` arguments give each item its own value. ``requires_rng=True`` passes
    ``rng=``, a Generator per item drawn from the batch's own ``random``: the same for each
    component of a list ``src``, so an image and its mask get the same augmentation.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        spec = ParallelSpec("positions", None, "threads", n_workers)

        @functools.wraps(func)
        def wrapper(self: Any, *args: Any, src: Any = None, dst: Any = None, **kwargs: Any) -> Any:
            _apply(spec, func, self, src, dst, args, kwargs, requires_rng)
            return self

        wrapper.__tuiflow_parallel__ = spec  # type: ignore[attr-defined]
        wrapper.__tuiflow_parallel_target__ = _checked_signature(func, requires_rng)  # type: ignore[attr-defined]
        wrapper.__tuiflow_action__ = func.__name__  # type: ignore[attr-defined]  # an action, as @action marks
        return wrapper

    return decorate(method) if method is not None else decorate


def _checked_signature(func: Callable[..., Any], requires_rng: bool) -> Callable[..., Any]:
    """What the pipeline checks a call against: the method's own signature plus ``src``/``dst``,
    less ``rng`` (which the action passes itself)."""
    signature = inspect.signature(func)
    params = [p for name, p in signature.parameters.items() if not (requires_rng and name == "rng")]
    keyword = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None)
               for name in ("src", "dst") if name not in signature.parameters]
    varkw = [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
    params = [p for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD] + keyword + varkw

    def target(*args: Any, **kwargs: Any) -> None:  # never called: it carries the signature
        raise NotImplementedError

    target.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    target.__qualname__ = func.__qualname__
    return target


def _groups(src: Any, dst: Any, name: str) -> list[tuple[tuple[str, ...], bool, tuple[str, ...]]]:
    """``(sources, as_tuple, destinations)`` for each separate application."""
    if src is None:
        raise TypeError(f"{name}: give src= (a component, a list of them, or a tuple of them)")
    if isinstance(src, str):
        target = src if dst is None else dst
        if not isinstance(target, str):
            raise TypeError(f"{name}: src={src!r} is one component, so dst must be one name, not {dst!r}")
        return [((src,), False, (target,))]
    if isinstance(src, tuple):
        targets = src if dst is None else ((dst,) if isinstance(dst, str) else tuple(dst))
        if len(targets) not in (1, len(src)):
            raise ValueError(f"{name}: src={src!r} gives tuples of {len(src)} items; dst must be one name or "
                             f"{len(src)} names, not {dst!r}")
        return [(src, True, targets)]
    if isinstance(src, list):
        targets = src if dst is None else ([dst] if isinstance(dst, str) else list(dst))
        if len(targets) != len(src):
            raise ValueError(f"{name}: src={src!r} and dst={dst!r} must name as many components")
        return [((s,), False, (d,)) for s, d in zip(src, targets)]
    raise TypeError(f"{name}: src must be a component name, a list or a tuple of them, not {src!r}")


def _apply(spec: ParallelSpec, func: Callable[..., Any], batch: Any, src: Any, dst: Any, args: tuple,
           kwargs: dict, requires_rng: bool) -> None:
    n = len(batch)
    seeds = batch.random.integers(0, 2**63, size=n) if requires_rng else None
    per_item_args = [i for i, a in enumerate(args) if isinstance(a, PerItem)]
    per_item_kwargs = [k for k, v in kwargs.items() if isinstance(v, PerItem)]
    for sources, as_tuple, targets in _groups(src, dst, func.__qualname__):
        columns = [getattr(batch, name) for name in sources]
        for name, column in zip(sources, columns):
            if column is None or not hasattr(column, "__len__") or len(column) != n:
                raise ValueError(f"{func.__qualname__}: component {name!r} does not hold one entry per item "
                                 f"of the batch of {n}")

        def call(i: int, columns: list = columns, as_tuple: bool = as_tuple) -> Any:
            item = tuple(column[i] for column in columns) if as_tuple else columns[0][i]
            item_args = list(args)
            for j in per_item_args:
                item_args[j] = args[j].values[i]
            item_kwargs = dict(kwargs)
            for k in per_item_kwargs:
                item_kwargs[k] = kwargs[k].values[i]
            if seeds is not None:
                item_kwargs["rng"] = np.random.default_rng(int(seeds[i]))
            return func(batch, item, *item_args, **item_kwargs)

        results = _run_threads(call, n, spec)
        for result in results:
            if isinstance(result, _Failure):
                raise result.error
        if len(targets) == 1:
            setattr(batch, targets[0], _collect(results, columns[0]))
        else:
            for k, name in enumerate(targets):
                setattr(batch, name, _collect([result[k] for result in results], columns[min(k, len(columns) - 1)]))


def _collect(results: list[Any], like: Any) -> Any:
    """The new component: an array when the source was one and the results stack, else a list."""
    if not isinstance(like, np.ndarray):
        return results
    try:
        return np.stack([np.asarray(result) for result in results]) if results else like[:0]
    except ValueError:  # items of different shapes
        out = np.empty(len(results), dtype=object)
        for i, result in enumerate(results):
            out[i] = result
        return out
