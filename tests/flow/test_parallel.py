"""In-batch parallelism: every target, per-item arguments, post, errors, and pool reuse."""

from __future__ import annotations

import itertools
import os
import threading

import numpy as np
import pytest
from flowbatches import ArrayBatch, make_dataset

from tuiflow import ActionArgumentError, ActionError, B, Batch, Dataset, P, R, V, apply_parallel, inbatch_parallel
from tuiflow.flow import parallel


@pytest.mark.parametrize("action", ["negate_for", "negate_threads", "negate_async"])
def test_each_local_target_processes_every_item(action):
    ds = make_dataset(50)
    batches = list(getattr(ds.p.load(), action)().gen_batch(16))
    assert np.concatenate([b.x for b in batches]).tolist() == [-float(i) for i in range(50)]


def test_async_items_run_concurrently():
    ds = make_dataset(20)
    # 20 items sleeping 50 ms each would take a second in sequence.
    import time

    started = time.perf_counter()
    list(ds.p.load().negate_async(delay=0.05).gen_batch(20))
    assert time.perf_counter() - started < 0.9


def test_per_item_values_reach_their_items():
    ds = make_dataset(30)
    ppl = ds.p.load().add_item_threads(value=P(R("integers", 100, 200, seed=5)))
    batches = list(ppl.gen_batch(30))
    added = batches[0].x - np.arange(30)
    expected = np.random.default_rng(5).integers(100, 200, size=30)
    assert added.tolist() == expected.tolist()


def test_post_gets_the_results_in_item_order():
    (batch,) = list(make_dataset(6).p.load().square_positions(power=3).gen_batch(6))
    assert batch.squares.tolist() == [float(i ** 3) for i in range(6)]


def test_an_item_error_is_raised_with_its_own_type_inside_the_action_error():
    with pytest.raises(ActionError, match=r"fail_item_threads #1.*KeyError") as info:
        make_dataset(40).p.load().fail_item_threads(bad=33).run(40)
    assert isinstance(info.value.__cause__, KeyError)


def test_post_sees_failed_items():
    (batch,) = list(make_dataset(4).p.load().collect_errors(bad=2).gen_batch(4))
    assert batch.results[:2] == [0, 1] and batch.results[3] == 3
    assert isinstance(batch.results[2].error, KeyError)


def test_threads_are_used_for_work_that_releases_the_gil_and_pools_are_reused():
    ds = make_dataset(64)
    ppl = ds.p.load().call(lambda b: setattr(b, "thread_names", set())).slow_threads(seconds=0.002)
    created_before = parallel.pool_creations["threads"]
    names: set[str] = set()
    for batch in ppl.gen_batch(16):
        names |= batch.thread_names
    assert threading.current_thread().name in names
    assert any(name.startswith("tuiflow-inbatch") for name in names)
    assert parallel.pool_creations["threads"] - created_before <= 1  # one pool for all batches
    ppl.run(16)
    assert parallel.pool_creations["threads"] - created_before <= 1
    assert parallel.thread_pool(2)[0] is parallel.thread_pool(2)[0]


class _Clock:
    """perf_counter for tuiflow.flow.parallel: time moves only when an item says it took some."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


@pytest.mark.parametrize("first_item_us", [0.5, 8.0], ids=["steady", "first-item-warms-up"])
def test_tiny_items_run_inline_on_the_calling_thread(monkeypatch, first_item_us):
    # Items of 0.5 us: 64 of them are far less work than handing them to threads costs. The clock
    # is the test's, so a busy machine cannot make an item look slow; "first-item-warms-up" is a
    # process's first call, whose first item pays for the interpreter's warm-up (8 us, measured).
    clock = _Clock()
    monkeypatch.setattr(parallel, "time", clock)
    costs = iter([first_item_us * 1e-6])

    class Tiny(Batch):
        components = ("x",)

        @inbatch_parallel(init="indices", target="threads")
        def touch(self, ix):
            clock.now += next(costs, 0.5e-6)
            self.names.add(threading.current_thread().name)

    batch = Tiny(make_dataset(64).index)
    batch.names = set()
    for _ in range(5):
        batch.touch()
    assert batch.names == {threading.current_thread().name}


def test_items_that_cost_enough_go_to_the_pool_threads(monkeypatch):
    # The same 64 items at 50 us each (by the test's clock) are worth a hand-off: the rule that keeps
    # tiny items inline does not keep every item inline.
    clock = _Clock()
    monkeypatch.setattr(parallel, "time", clock)
    ran_in: set[str] = set()
    pool_ran = threading.Event()
    calls = itertools.count(1)

    class Costly(Batch):
        components = ("x",)

        @inbatch_parallel(init="indices", target="threads", n_workers=2)
        def work(self, ix):
            clock.now += 50e-6
            ran_in.add(threading.current_thread().name)
            if threading.current_thread() is not threading.main_thread():
                pool_ran.set()
            elif next(calls) > 2 and not pool_ran.wait(10):  # past the two timed items: leave some to the pool
                raise RuntimeError("no pool thread took an item")

    Costly(make_dataset(64).index).work()
    assert any(name.startswith("tuiflow-inbatch") for name in ran_in)


def test_processes_target_runs_in_reused_worker_processes():
    ds = make_dataset(12)
    pids = set()
    for batch in ds.p.load().square_mpc(offset=P([0.5] * 6)).gen_batch(6):
        expected = batch.x ** 2 + 0.5
        assert batch.squares.tolist() == expected.tolist()
        pids |= batch.worker_pids
    assert os.getpid() not in pids
    assert 1 <= len(pids) <= 2
    assert parallel.pool_creations["processes"] == 1


def test_parallel_method_can_be_called_directly():
    ds = make_dataset(5)
    batch = ds.create_batch(np.arange(5)).load()
    batch.negate_threads()
    assert batch.x.tolist() == [0.0, -1.0, -2.0, -3.0, -4.0]


def test_bad_declarations_fail_at_once():
    with pytest.raises(ValueError, match="target must be one of"):
        inbatch_parallel(init="indices", target="gpu")
    with pytest.raises(ValueError, match="n_workers"):
        inbatch_parallel(init="indices", n_workers=0)
    with pytest.raises(TypeError, match="async def"):
        @inbatch_parallel(init="indices", target="async")
        def not_async(self, ix):
            pass
    with pytest.raises(TypeError, match="target='async'"):
        @inbatch_parallel(init="indices", target="threads")
        async def is_async(self, ix):
            pass


def test_init_as_callable_and_per_item_length_check():
    class Pairs(ArrayBatch):
        @inbatch_parallel(init=lambda batch: list(zip(batch.x, batch.y)), target="for", post="_keep")
        def pair_sum(self, pair):
            return pair[0] + pair[1]

        def _keep(self, results):
            self.sums = results
            return self

        @inbatch_parallel(init="indices", target="for")
        def with_value(self, ix, value):
            pass

    batch = Pairs(make_dataset(4).index, preloaded=make_dataset(4).preloaded).load()
    batch.pair_sum()
    assert batch.sums == [0.0, 2.0, 4.0, 3.0]
    from tuiflow.flow.random_expr import PerItem

    with pytest.raises(ValueError, match="3 values for 4 items"):
        batch.with_value(PerItem([1, 2, 3]))


# --- apply_parallel: a function of one item ------------------------------------------------------------
class ItemBatch(Batch):
    """Images and masks, and item functions in BatchFlow's style."""

    components = ("images", "masks")

    @apply_parallel
    def times(self, item, factor, **kwargs):
        if isinstance(item, tuple):
            return item[0] * factor + item[1] * factor
        return item * factor

    @apply_parallel
    def split_pair(self, item):
        return item[1], item[0]

    @apply_parallel(requires_rng=True)
    def jitter(self, item, rng=None):
        return item + rng.uniform()

    @apply_parallel
    def ragged(self, item):
        return np.zeros(int(item[0]))


def item_pipeline(n: int = 6):
    init = np.arange(n).reshape(-1, 1)
    return Dataset(n, ItemBatch).p.update(B.images, init).update(B.masks, init * 10)


def test_apply_parallel_to_one_component_a_list_or_a_tuple():
    batch = item_pipeline().times(src="images", factor=3).next_batch(6)
    assert batch.images[:, 0].tolist() == [0, 3, 6, 9, 12, 15]
    batch = item_pipeline().times(src=["images", "masks"], dst=["a", "b"], factor=2).next_batch(6)
    assert batch.a[:, 0].tolist() == [0, 2, 4, 6, 8, 10] and batch.b[:, 0].tolist() == [0, 20, 40, 60, 80, 100]
    batch = item_pipeline().times(src=("images", "masks"), dst="both", factor=1).next_batch(6)
    assert batch.both[:, 0].tolist() == [0, 11, 22, 33, 44, 55]
    batch = item_pipeline().split_pair(src=("images", "masks")).next_batch(6)  # results back to src
    assert batch.images[:, 0].tolist() == [0, 10, 20, 30, 40, 50] and batch.masks[:, 0].tolist() == list(range(6))


def test_apply_parallel_gives_each_item_its_per_item_value():
    batch = item_pipeline().times(src="images", dst="out", factor=P(V("factors"))).init_variable(
        "factors", [1, 2, 3, 4, 5, 6]).next_batch(6)
    assert batch.out[:, 0].tolist() == [0, 2, 6, 12, 20, 30]


def test_apply_parallel_rng_is_the_same_for_each_component_and_follows_the_seed():
    batch = item_pipeline().jitter(src=["images", "images"], dst=["a", "b"]).next_batch(6)
    assert (batch.a == batch.b).all() and (batch.a != batch.images).any()
    assert np.allclose(batch.a, batch.images, atol=1)
    first = item_pipeline().jitter(src="images", dst="out").next_batch(6, shuffle=42).out
    again = item_pipeline().jitter(src="images", dst="out").next_batch(6, shuffle=42).out
    assert (first == again).all()


def test_apply_parallel_keeps_items_of_different_shapes_as_objects():
    batch = item_pipeline(3).ragged(src="images", dst="out").next_batch(3)
    assert batch.out.dtype == object and [len(x) for x in batch.out] == [0, 1, 2]


def test_apply_parallel_arguments_are_checked_before_the_first_batch():
    with pytest.raises(ActionArgumentError, match="unexpected keyword argument 'colour'"):
        item_pipeline().split_pair(src="images", colour=1).next_batch(6)
    with pytest.raises(ActionError, match="give src="):
        item_pipeline().times(factor=2).next_batch(6)
    with pytest.raises(ActionError, match="as many components"):
        item_pipeline().times(src=["images", "masks"], dst=["a"], factor=2).next_batch(6)
    with pytest.raises(ActionError, match="does not hold one entry per item"):
        Dataset(6, ItemBatch).p.times(src="images", factor=2).next_batch(6)
