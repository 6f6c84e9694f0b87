"""Process-tree sampling of real subprocess trees: sums over the tree, dead processes, reused pids."""

from __future__ import annotations

import os
import sys
import time

import psutil
import pytest

from tuiflow.monitor.procs import MIB, ProcessTreeSampler, procfs_available, tree_pids

READERS = ["procfs", "psutil"] if procfs_available() else ["psutil"]


@pytest.fixture(params=READERS)
def make_sampler(request):
    """Every test runs with each reader: /proc parsed directly, and psutil."""

    def make() -> ProcessTreeSampler:
        sampler = ProcessTreeSampler(procfs=request.param == "procfs")
        assert sampler.reader == request.param
        return sampler

    return make


def _rss_mb(pids):
    return sum(psutil.Process(pid).memory_info().rss for pid in pids) / MIB


def test_a_tree_is_the_root_and_every_descendant(spawn_tree, make_sampler):
    tree = spawn_tree(children=3, grandchildren=2)
    sampler = make_sampler()
    sample = sampler.sample({"run": tree.root})["run"]
    assert set(sample.pids) == tree.pids
    assert len(tree.pids) == 1 + 4 + 2
    assert sample.root_pid == tree.root
    assert abs(sample.rss_mb - _rss_mb(tree.pids)) < 5
    assert sample.threads >= len(tree.pids)
    assert sample.gpu_memory_mb is None  # no GPU information given
    assert set(tree_pids(tree.root)) == tree.pids


def _cpu_s(pids):
    return sum(sum(psutil.Process(pid).cpu_times()[:4]) for pid in pids)  # user + system, children's too


def test_cpu_is_summed_over_the_tree(spawn_tree, make_sampler):
    # The burner is a child of the root: the run's CPU is what the whole tree used between two samples.
    # The bounds come from the tree's own CPU times read around the samples, not from how much of a
    # core the burner gets, so a busy machine changes the numbers, not the verdict.
    tree = spawn_tree(children=1, grandchildren=0, burners=1)
    sampler = make_sampler()
    tick = 2 * len(tree.pids) / os.sysconf("SC_CLK_TCK")  # CPU times are counted in clock ticks
    cpu_0, t_0 = _cpu_s(tree.pids), time.monotonic()
    sampler.sample({"run": tree.root})  # cpu_percent measures from the previous sample
    cpu_1, t_1 = _cpu_s(tree.burners), time.monotonic()
    deadline = time.monotonic() + 60
    while _cpu_s(tree.burners) - cpu_1 < 0.3:  # until the burner has done work enough to measure
        assert time.monotonic() < deadline, "the burner got no CPU in 60 s"
        time.sleep(0.02)
    cpu_2, t_2 = _cpu_s(tree.burners), time.monotonic()
    sample = sampler.sample({"run": tree.root})["run"]
    cpu_3, t_3 = _cpu_s(tree.pids), time.monotonic()
    # The samples lie between t_0 and t_3, and both times between t_1 and t_2 lie between the samples.
    assert sample.cpu_percent >= 100 * (cpu_2 - cpu_1 - tick) / (t_3 - t_0)
    assert sample.cpu_percent <= 100 * (cpu_3 - cpu_0 + tick) / (t_2 - t_1)
    values = sample.values()
    assert values["processes"] == len(tree.pids) and values["pid"] == tree.root


def test_several_runs_are_sampled_apart(spawn_tree, make_sampler):
    first, second = spawn_tree(children=1, grandchildren=0), spawn_tree(children=2, grandchildren=1)
    samples = make_sampler().sample({1: first.root, 2: second.root})
    assert set(samples[1].pids) == first.pids and set(samples[2].pids) == second.pids


def test_gpu_memory_is_summed_over_the_tree_pids_only(spawn_tree, make_sampler):
    tree = spawn_tree(children=1, grandchildren=1)
    gpu_memory = {tree.root: 1000.0, tree.grandchildren[0]: 250.0, 1: 99999.0}
    sample = make_sampler().sample({"run": tree.root}, gpu_memory)["run"]
    assert sample.gpu_memory_mb == 1250.0
    assert make_sampler().sample({"run": tree.root}, {})["run"].gpu_memory_mb == 0.0


def test_dead_processes_are_dropped(spawn_tree, make_sampler):
    tree = spawn_tree(children=3, grandchildren=0)
    sampler = make_sampler()
    before = sampler.sample({"run": tree.root})["run"]
    victim = tree.children[0]
    assert victim in before.pids
    assert victim in {pid for pid, _ in sampler.tracked()}
    tree.kill(victim)
    after = sampler.sample({"run": tree.root})["run"]
    assert victim not in after.pids
    assert set(after.pids) == tree.pids - {victim}
    assert victim not in {pid for pid, _ in sampler.tracked()}


def test_a_run_whose_root_is_gone_is_left_out(spawn_tree, make_sampler):
    tree, other = spawn_tree(children=1, grandchildren=0), spawn_tree(children=0, grandchildren=0)
    sampler = make_sampler()
    assert set(sampler.sample({"a": tree.root, "b": other.root})) == {"a", "b"}
    tree.stop()
    assert set(sampler.sample({"a": tree.root, "b": other.root})) == {"b"}
    assert {pid for pid, _ in sampler.tracked()} == other.pids


def test_a_pid_with_another_create_time_is_not_the_run(spawn_tree, make_sampler):
    tree = spawn_tree(children=1, grandchildren=0)
    created = psutil.Process(tree.root).create_time()
    sampler = make_sampler()
    # The daemon knows when it started the run: a process with that pid and another age is someone else.
    assert sampler.sample({"run": (tree.root, created - 30.0)}) == {}
    assert set(sampler.sample({"run": (tree.root, created)})["run"].pids) == tree.pids


def test_a_root_pid_reused_after_the_first_sample_is_not_the_run(spawn_tree, make_sampler):
    tree = spawn_tree(children=1, grandchildren=0)
    sampler = make_sampler()
    assert "run" in sampler.sample({"run": tree.root})
    # Pid reuse cannot be staged on demand: pretend the first sample saw an older process with this pid.
    sampler._roots["run"] = (tree.root, psutil.Process(tree.root).create_time() - 60.0)
    assert sampler.sample({"run": tree.root}) == {}


def test_processes_are_keyed_by_pid_and_create_time(spawn_tree, make_sampler):
    tree = spawn_tree(children=1, grandchildren=0)
    sampler = make_sampler()
    sampler.sample({"run": tree.root})
    keys = sampler.tracked()
    assert {pid for pid, _ in keys} == tree.pids
    for pid, created in keys:
        assert abs(created - psutil.Process(pid).create_time()) < 0.01


def test_the_psutil_reader_reuses_its_process_objects(spawn_tree):
    tree = spawn_tree(children=1, grandchildren=0)
    sampler = ProcessTreeSampler(procfs=False)
    sampler.sample({"run": tree.root})
    cached = dict(sampler._reader._cache)
    sampler.sample({"run": tree.root})
    # The same psutil.Process objects are asked again, which is what makes cpu_percent meaningful.
    assert all(sampler._reader._cache[key] is proc for key, proc in cached.items())


def test_both_readers_agree(spawn_tree):
    if sys.platform != "linux":  # on Linux, a missing /proc must fail, not skip
        pytest.skip("the /proc reader is Linux's")
    assert procfs_available()
    tree = spawn_tree(children=2, grandchildren=2)
    time.sleep(0.3)  # let the root start its reaper thread, so the thread count holds still
    fast, portable = ProcessTreeSampler(procfs=True), ProcessTreeSampler(procfs=False)
    a, b = fast.sample({1: tree.root})[1], portable.sample({1: tree.root})[1]
    assert sorted(a.pids) == sorted(b.pids)
    assert a.threads == b.threads
    assert abs(a.rss_mb - b.rss_mb) < 2
    assert {pid for pid, _ in fast.tracked()} == {pid for pid, _ in portable.tracked()}
