"""In-batch parallelism: every target, per-item arguments, post, errors, and pool reuse."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from flowbatches import ArrayBatch, make_dataset

from tuiflow import ActionError, Batch, P, R, inbatch_parallel
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


def test_tiny_items_run_inline_on_the_calling_thread():
    class Tiny(Batch):
        components = ("x",)

        @inbatch_parallel(init="indices", target="threads")
        def touch(self, ix):
            self.names.add(threading.current_thread().name)

    batch = Tiny(make_dataset(64).index)
    batch.names = set()
    for _ in range(5):
        batch.touch()
    assert batch.names == {threading.current_thread().name}


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
