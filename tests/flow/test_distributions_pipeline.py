"""Samplers inside real pipelines: one point per item of each batch, R(sampler), P(sampler), seeds."""

from __future__ import annotations

import numpy as np
import pytest

from tuiflow.flow import (
    ActionError,
    Batch,
    C,
    ConstantSampler,
    Dataset,
    NumpySampler,
    P,
    Pipeline,
    R,
    SamplerError,
    V,
    action,
    inbatch_parallel,
)

N = 10  # batches of 4 are sized 4, 4, 2


class PointsBatch(Batch):
    """Points of two coordinates, and actions that show what they were given."""

    components = ("x",)

    @action
    def add_noise(self, noise):
        self.x = self.x + noise
        return self

    @action
    def keep(self, value):
        self.kept = value
        return self

    @action
    @inbatch_parallel(init="indices", target="for")
    def per_item(self, ix, value):
        self.__dict__.setdefault("got", {})[ix] = value


def make_dataset(n: int = N) -> Dataset:
    return Dataset(n, batch_class=PointsBatch, preloaded=(np.zeros((n, 2)),))


def collect(expr, ppl: Pipeline | None = None, batch_size: int = 4, **run_kwargs) -> list:
    """The value of ``expr`` for every batch of one run."""
    base = make_dataset().p if ppl is None else ppl
    done = base.init_variable("out", list).load().update(V("out", mode="a"), expr).run(batch_size, **run_kwargs)
    return done.v("out")


def test_a_sampler_in_an_action_gives_each_item_a_point():
    noise = NumpySampler("n", dim=2) * 0.5 + (1.0, -1.0)
    ppl = make_dataset(2000).p.load().add_noise(noise=noise)
    batches = list(ppl.gen_batch(100, seed=1))
    assert [b.x.shape for b in batches] == [(100, 2)] * 20
    assert len({b.x[0, 0] for b in batches}) == 20  # drawn afresh for every batch
    points = np.concatenate([b.x for b in batches])
    np.testing.assert_allclose(points.mean(axis=0), [1.0, -1.0], atol=0.05)
    np.testing.assert_allclose(points.std(axis=0), [0.5, 0.5], atol=0.03)
    mixture = 0.25 & ConstantSampler(1.0) | 0.75 & ConstantSampler(0.0)
    kept = [b.kept for b in make_dataset(2000).p.load().keep(mixture).gen_batch(100, seed=2)]
    assert all(k.shape == (100, 1) for k in kept)
    assert abs(np.concatenate(kept).mean() - 0.25) < 0.03


def test_P_of_a_sampler_gives_item_i_row_i():
    sampler = NumpySampler("u", dim=2)
    parallel = make_dataset().p.load().per_item(P(sampler))
    whole = make_dataset().p.load().keep(P(sampler))
    for a, b in zip(parallel.gen_batch(4, seed=3), whole.gen_batch(4, seed=3)):
        rows = [a.got[ix] for ix in a.indices.tolist()]
        assert all(row.shape == (2,) for row in rows)
        np.testing.assert_array_equal(rows, b.kept)
    flat = make_dataset().p.load().per_item(P(NumpySampler("u")[:, 0]))  # one number per item
    for batch in flat.gen_batch(4, seed=3):
        assert all(np.ndim(value) == 0 for value in batch.got.values())


def test_R_of_a_sampler_draws_one_point_per_batch():
    points = collect(R(NumpySampler("u", dim=2)))
    assert [p.shape for p in points] == [(2,)] * 3 and len({p[0] for p in points}) == 3
    assert [p.shape for p in collect(R(NumpySampler("u", dim=2), size=3))] == [(3, 2)] * 3
    assert [p.shape for p in collect(P(R(NumpySampler("u", dim=2))))] == [(4, 2), (4, 2), (2, 2)]
    seeded = [p.tolist() for p in collect(R(NumpySampler("n"), seed=4))]
    assert seeded == [p.tolist() for p in collect(R(NumpySampler("n"), seed=4), seed=99)]
    with pytest.raises(SamplerError, match="no distribution parameters"):
        R(NumpySampler("n"), 1.0)


def test_the_run_seed_repeats_unseeded_samplers():
    scheme = 0.5 & NumpySampler("n") | 0.5 & (NumpySampler("u", dim=1) + 5)
    first = np.concatenate(collect(scheme, seed=5))
    np.testing.assert_array_equal(first, np.concatenate(collect(scheme, seed=5)))
    np.testing.assert_array_equal(first, np.concatenate(collect(scheme, seed=5, prefetch=2)))
    assert not np.array_equal(first, np.concatenate(collect(scheme, seed=6)))


def test_a_seeded_sampler_repeats_its_draws_run_after_run():
    sampler = NumpySampler("n", seed=7)
    expected = NumpySampler("n", seed=7).sample(N)  # the batches draw 4, 4 and 2 points in turn
    np.testing.assert_array_equal(np.concatenate(collect(sampler)), expected)
    sampler.sample(100)  # its own generator going on does not shift its draws in a run
    np.testing.assert_array_equal(np.concatenate(collect(sampler, seed=8)), expected)


def test_a_sampler_with_a_named_expression_is_an_expression_per_batch():
    ppl = make_dataset().p << {"k": 10.0}
    values = np.concatenate(collect(NumpySampler("u", seed=9) * C("k"), ppl))
    np.testing.assert_allclose(values, 10.0 * NumpySampler("u", seed=9).sample(N))


def test_a_sampler_that_fails_in_a_run_is_an_action_error():
    never = NumpySampler("u").truncate(high=5.0, low=4.0, max_iters=2)
    with pytest.raises(ActionError) as caught:
        make_dataset().p.load().keep(never).run(4)
    assert caught.value.action == "keep #1"
    assert isinstance(caught.value.__cause__, SamplerError)
    assert "0 of 4 points kept after 2 draws" in str(caught.value.__cause__)
