"""The GPU allocator: --gpus parsing, placement rules, and properties over random allocate/release sequences."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tuiflow.monitor.gpus import GpuInfo, GpuProcess
from tuiflow.scheduler.allocator import Allocator, UnsatisfiableRequest


def gpu(index: int, total: float = 24576, used: float = 0, processes=()) -> GpuInfo:
    return GpuInfo(index, f"GPU-{index}", "Fake GPU", total, used, 0.0, 30.0, 50.0, 300.0,
                   None if processes is None else [GpuProcess(*p) for p in processes])


# ---- placement -----------------------------------------------------------------------------------


def test_one_run_per_gpu_by_default():
    allocator = Allocator()
    gpus = [gpu(0), gpu(1)]
    assert allocator.allocate("a", 1, None, gpus) == [0]
    assert allocator.allocate("b", 1, None, gpus) == [1]
    assert allocator.allocate("c", 1, None, gpus) is None
    assert allocator.reservations() == {"a": [0], "b": [1]}
    assert allocator.release("a") == [0]
    assert allocator.allocate("c", 1, None, gpus) == [0]


def test_per_gpu_packs_runs_and_spreads_them_first():
    allocator = Allocator(per_gpu=2)
    gpus = [gpu(0), gpu(1)]
    got = [allocator.allocate(run, 1, None, gpus) for run in "abcde"]
    assert got == [[0], [1], [0], [1], None]
    assert allocator.load() == {0: 2, 1: 2}


def test_least_loaded_then_most_free_memory():
    allocator = Allocator(foreign_memory_mb=10_000)
    gpus = [gpu(0, used=5000), gpu(1, used=100), gpu(2, used=3000)]
    assert allocator.allocate("a", 2, None, gpus) == [1, 2]
    assert allocator.allocate("b", 1, None, gpus) == [0]


def test_a_gpu_full_of_someone_elses_memory_is_busy():
    allocator = Allocator(foreign_memory_mb=1024)
    gpus = [gpu(0, used=20000), gpu(1, used=500, processes=[(999, 500)])]
    assert allocator.allocate("a", 1, None, gpus) == [1]  # 500 MiB of others' is tolerated
    assert allocator.allocate("b", 1, [0], gpus) is None


def test_memory_of_our_own_processes_is_not_foreign():
    allocator = Allocator(per_gpu=2)
    gpus = [gpu(0, used=20000, processes=[(100, 12000), (101, 8000)])]
    assert allocator.allocate("b", 1, None, gpus, our_pids={100, 101}) == [0]
    allocator.release("b")
    assert allocator.allocate("b", 1, None, gpus, our_pids={100}) is None  # 8000 MiB is someone else's


def test_foreign_memory_as_a_fraction():
    allocator = Allocator(foreign_memory_mb=1e9, foreign_memory_fraction=0.5)
    gpus = [gpu(0, total=1000, used=600), gpu(1, total=1000, used=400)]
    assert allocator.allocate("a", 2, None, gpus) is None
    assert allocator.allocate("a", 1, None, gpus) == [1]


def test_min_free_memory_stops_packing_onto_a_full_gpu():
    allocator = Allocator(per_gpu=4, min_free_memory_mb=8000)
    gpus = [gpu(0, total=24000, used=20000, processes=[(100, 20000)])]
    assert allocator.allocate("a", 1, None, gpus, our_pids={100}) is None
    assert allocator.allocate("a", 1, None, [gpu(0, total=24000, used=10000, processes=[(100, 10000)])],
                              our_pids={100}) == [0]


def test_unknown_readings_never_block():
    allocator = Allocator(per_gpu=2)
    unknown_memory = GpuInfo(0)  # every reading failed
    assert allocator.allocate("a", 1, None, [unknown_memory]) == [0]
    # Process list unreadable on a GPU we hold: its memory is taken to be ours.
    assert allocator.allocate("b", 1, None, [gpu(0, used=20000, processes=None)]) == [0]
    # ...but on a GPU we do not hold, used memory is someone else's.
    assert allocator.allocate("c", 1, None, [gpu(0, used=0), gpu(1, used=20000, processes=None)]) is None


def test_allowed_restricts_the_choice():
    allocator = Allocator()
    gpus = [gpu(i) for i in range(4)]
    assert allocator.allocate("a", 2, [1, 3], gpus) == [1, 3]
    assert allocator.allocate("b", 1, [1, 3], gpus) is None  # GPUs 0 and 2 are free, but not allowed
    assert allocator.allocate("b", 1, {0, 3}, gpus) == [0]


def test_a_cpu_only_run_always_gets_its_empty_set():
    allocator = Allocator()
    assert allocator.allocate("cpu", 0, [], []) == []
    assert allocator.allocate("cpu2", 0, None, [gpu(0, used=99999)]) == []
    assert allocator.reservations() == {"cpu": [], "cpu2": []}
    assert allocator.load() == {}


def test_more_gpus_than_exist_is_an_error_not_a_wait():
    allocator = Allocator()
    with pytest.raises(UnsatisfiableRequest, match="run 7 asks for 3 GPUs but there are only 2 on this machine"):
        allocator.allocate(7, 3, None, [gpu(0), gpu(1)])
    with pytest.raises(UnsatisfiableRequest, match="only 1 among the allowed GPUs 1"):
        allocator.allocate(7, 2, [1], [gpu(0), gpu(1)])
    with pytest.raises(UnsatisfiableRequest, match="only 0 among the allowed no GPUs"):
        allocator.allocate(7, 1, [], [gpu(0)])
    assert allocator.reservations() == {}


def test_reserve_adopts_runs_after_a_restart():
    allocator = Allocator()
    allocator.reserve(41, [1, 0, 1])
    assert allocator.reservations() == {41: [0, 1]}
    assert allocator.allocate(42, 1, None, [gpu(0), gpu(1), gpu(2)]) == [2]
    allocator.reserve(43, [2])  # reality wins, even past per_gpu...
    assert allocator.load() == {0: 1, 1: 1, 2: 2}
    assert allocator.allocate(44, 1, None, [gpu(0), gpu(1), gpu(2)]) is None  # ...and new runs wait
    with pytest.raises(ValueError, match="run 41 already holds GPUs 0, 1"):
        allocator.reserve(41, [2])


def test_release_is_idempotent_and_a_run_cannot_allocate_twice():
    allocator = Allocator()
    assert allocator.allocate("a", 1, None, [gpu(0), gpu(1)]) == [0]
    with pytest.raises(ValueError, match="run a already holds GPUs 0"):
        allocator.allocate("a", 1, None, [gpu(0), gpu(1)])
    assert allocator.release("a") == [0]
    assert allocator.release("a") == []
    assert allocator.release("never") == []


@pytest.mark.parametrize("kwargs", [{"per_gpu": 0}, {"foreign_memory_mb": -1}, {"min_free_memory_mb": -1},
                                    {"foreign_memory_fraction": 1.5}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        Allocator(**kwargs)


def test_a_negative_count_is_refused():
    with pytest.raises(ValueError, match="cannot ask for -1 GPUs"):
        Allocator().allocate("a", -1, None, [gpu(0)])


# ---- properties ----------------------------------------------------------------------------------

gpu_lists = st.integers(0, 6).flatmap(lambda n: st.tuples(*[
    st.tuples(st.sampled_from([0, 500, 2000, 20000]), st.booleans()) for _ in range(n)]).map(
    lambda specs: [gpu(i, used=used, processes=[] if known else None) for i, (used, known) in enumerate(specs)]))


class AllocatorMachine(RuleBasedStateMachine):
    """Random allocate/release sequences against one allocator and one fixed set of GPUs."""

    @initialize(gpus=gpu_lists, per_gpu=st.integers(1, 3))
    def setup(self, gpus, per_gpu):
        self.gpus = gpus
        self.allocator = Allocator(per_gpu=per_gpu, foreign_memory_mb=1024)
        self.next_run = 0
        self.expected: dict[int, list[int]] = {}

    def busy(self, index: int) -> bool:
        return self.allocator.is_busy(self.gpus[index], our_pids=())

    @rule(count=st.integers(0, 4), allowed=st.none() | st.frozensets(st.integers(0, 6)))
    def allocate(self, count, allowed):
        run = self.next_run
        self.next_run += 1
        existing = {g.index for g in self.gpus if allowed is None or g.index in allowed}
        load_before = self.allocator.load()
        eligible = [i for i in existing
                    if load_before.get(i, 0) < self.allocator.per_gpu and not self.busy(i)]
        try:
            got = self.allocator.allocate(run, count, allowed, self.gpus)
        except UnsatisfiableRequest:
            assert count > len(existing)
            return
        assert count <= len(existing)
        if got is None:
            assert len(eligible) < count  # it waits only when it must
            assert run not in self.allocator.reservations()
            return
        assert len(got) == count == len(set(got))
        assert set(got) <= set(eligible)  # allowed, existing, not full, not busy
        self.expected[run] = sorted(got)

    @rule(data=st.data())
    def release(self, data):
        if not self.expected:
            return
        run = data.draw(st.sampled_from(sorted(self.expected)))
        assert self.allocator.release(run) == self.expected.pop(run)

    @invariant()
    def never_more_than_per_gpu(self):
        if hasattr(self, "allocator"):
            assert all(n <= self.allocator.per_gpu for n in self.allocator.load().values())
            assert self.allocator.reservations() == self.expected


TestAllocatorProperties = AllocatorMachine.TestCase
TestAllocatorProperties.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)


@settings(max_examples=200, deadline=None)
@given(gpus=gpu_lists, count=st.integers(1, 6))
def test_a_fresh_allocator_takes_the_least_used_free_gpus(gpus, count):
    allocator = Allocator()
    free = [g for g in gpus if not allocator.is_busy(g, ())]
    try:
        got = allocator.allocate("x", count, None, gpus)
    except UnsatisfiableRequest:
        assert count > len(gpus)
        return
    if len(free) < count:
        assert got is None
    else:
        by_free_memory = sorted(free, key=lambda g: (-(g.memory_total_mb - g.memory_used_mb), g.index))
        assert got == sorted(g.index for g in by_free_memory[:count])


def test_a_run_packs_only_with_runs_that_accept_company():
    from tuiflow.monitor.gpus import GpuInfo

    gpus = [GpuInfo(0, "u0", "fake", 24000.0, 0.0, 0, 30, 50.0, 300.0, [])]
    allocator = Allocator(per_gpu=1)
    assert allocator.allocate("a", 1, None, gpus, per_gpu=2) == [0]
    assert allocator.allocate("b", 1, None, gpus, per_gpu=2) == [0]  # both accept two per GPU
    assert allocator.allocate("c", 1, None, gpus, per_gpu=3) is None  # a and b said two at most
    allocator.release("a")
    assert allocator.allocate("d", 1, None, gpus) is None  # d wants a GPU of its own; b holds it
    allocator.release("b")
    assert allocator.allocate("d", 1, None, gpus) == [0]
    assert allocator.allocate("e", 1, None, gpus, per_gpu=4) is None  # d wants no company
