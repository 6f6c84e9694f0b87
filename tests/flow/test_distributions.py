"""Samplers and their algebra, drawn from directly: the statistics of what they draw, with fixed seeds."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from tuiflow.flow import (
    C,
    ConstantSampler,
    FlowError,
    HistoSampler,
    NamedExpression,
    NumpySampler,
    Sampler,
    SamplerError,
    ScipySampler,
)

N = 50_000  # points per statistics check: a standard error of 0.0045 sigma on a mean


def close(value, expected, tol):
    assert abs(value - expected) < tol, f"{value} is not within {tol} of {expected}"


# --- the distributions --------------------------------------------------------------------------
def test_normal_and_uniform_have_the_mean_and_variance_asked():
    normal = NumpySampler("n", loc=3.0, scale=2.0, dim=2, seed=0).sample(N)
    assert normal.shape == (N, 2)
    for column in normal.T:
        close(column.mean(), 3.0, 0.04)
        close(column.var(), 4.0, 0.12)
    # dim copies are independent, even with one seed (each copy is not seeded alike)
    close(np.corrcoef(normal.T)[0, 1], 0.0, 0.02)
    uniform = NumpySampler("uniform", low=-1.0, high=3.0, seed=1).sample(N)
    assert uniform.shape == (N, 1) and uniform.min() >= -1 and uniform.max() < 3
    close(uniform.mean(), 1.0, 0.03)
    close(uniform.var(), 16 / 12, 0.03)


def test_aliases_name_the_same_distributions_and_vector_distributions_give_their_width():
    np.testing.assert_array_equal(NumpySampler("n", seed=5).sample(10), NumpySampler("normal", seed=5).sample(10))
    mvn = NumpySampler("mvn", mean=[1.0, -1.0], cov=[[2.0, 1.0], [1.0, 2.0]], seed=2)
    assert mvn.dim == 2
    points = mvn.sample(N)
    np.testing.assert_allclose(points.mean(axis=0), [1.0, -1.0], atol=0.05)
    np.testing.assert_allclose(np.cov(points.T), [[2.0, 1.0], [1.0, 2.0]], atol=0.08)
    assert NumpySampler("mvn", mean=[0, 0, 0], cov=np.eye(3), dim=2).sample(4).shape == (4, 6)
    choice = NumpySampler("c", a=[2, 5], p=[0.25, 0.75], seed=3).sample(N)
    close((choice == 5).mean(), 0.75, 0.01)


def test_scipy_sampler_draws_scipy_stats_distributions():
    gamma = ScipySampler("g", a=2.0, scale=3.0, seed=4).sample(N)
    close(gamma.mean(), 6.0, 0.12)
    close(gamma.var(), 18.0, 0.9)
    mvn = ScipySampler("mvn", mean=[0.0, 0.0], cov=[[2.0, 1.0], [1.0, 2.0]], seed=5)
    assert mvn.dim == 2 and mvn.sample(1).shape == (1, 2) and mvn.sample(0).shape == (0, 2)
    np.testing.assert_allclose(np.cov(mvn.sample(N).T), [[2.0, 1.0], [1.0, 2.0]], atol=0.08)
    np.testing.assert_array_equal(ScipySampler("norm", seed=6).sample(5), ScipySampler("n", seed=6).sample(5))
    with pytest.raises(SamplerError, match="no distribution 'gama'; did you mean 'gamma'"):
        ScipySampler("gama", a=2)
    with pytest.raises(SamplerError, match=r"scipy\.stats\.norm refused"):
        ScipySampler("norm", scale=-1.0)
    with pytest.raises(SamplerError, match="NumpySampler\\('c'"):
        ScipySampler("c")


def test_a_missing_scipy_is_one_error_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.stats", None)  # what `import scipy.stats` meets without scipy
    with pytest.raises(SamplerError, match=r"pip install 'tuiflow\[stats\]'"):
        ScipySampler("norm")
    NumpySampler("n").sample(1)  # the rest of the samplers need no scipy


def test_importing_tuiflow_and_its_samplers_imports_no_scipy():
    code = ("import sys, tuiflow; tuiflow.NumpySampler('n').sample(2); tuiflow.HistoSampler; tuiflow.Sampler;"
            "assert 'scipy' not in sys.modules, 'scipy imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_histo_sampler_gives_each_bin_its_share_of_the_mass():
    counts = np.array([[1.0, 3.0], [0.0, 6.0]])
    edges = [np.array([0.0, 1.0, 3.0]), np.array([0.0, 10.0, 20.0])]
    sampler = HistoSampler((counts, edges), seed=7)
    points = sampler.sample(N)
    assert points.shape == (N, 2)
    share = np.histogramdd(points, bins=edges)[0] / N
    np.testing.assert_allclose(share, counts / counts.sum(), atol=0.01)
    assert share[1, 0] == 0  # an empty bin gets nothing
    # uniform inside a bin: the bin [1, 3) x [10, 20) has its middle at (2, 15)
    inside = points[(points[:, 0] >= 1) & (points[:, 1] >= 10)]
    np.testing.assert_allclose(inside.mean(axis=0), [2.0, 15.0], atol=0.05)


def test_histo_sampler_from_data_and_from_updates():
    data = np.random.default_rng(8).normal(size=N)
    for sampler in (HistoSampler(np.histogram(data, bins=30), seed=9), HistoSampler.from_data(data, bins=30, seed=9)):
        drawn = sampler.sample(N)
        assert drawn.shape == (N, 1)
        close(drawn.mean(), 0.0, 0.04)
        close(drawn.var(), 1.0 + (sampler.edges[0][1] - sampler.edges[0][0]) ** 2 / 12, 0.05)
    empty = HistoSampler(edges=[np.linspace(-4, 4, 9)] * 2, seed=10)
    with pytest.raises(SamplerError, match="every bin is empty"):
        empty.sample(3)
    empty.update(np.random.default_rng(11).normal(size=(N, 2)))
    np.testing.assert_allclose(empty.sample(N).mean(axis=0), [0.0, 0.0], atol=0.04)
    with pytest.raises(SamplerError, match=r"shape \(n, 2\)"):
        empty.update(np.zeros((3, 3)))
    with pytest.raises(SamplerError, match="points must be numbers"):
        HistoSampler.from_data(["a", "b"])
    with pytest.raises(SamplerError, match="do not fit"):
        HistoSampler((np.ones(3), np.array([0.0, 1.0, 2.0])))
    with pytest.raises(SamplerError, match="increasing"):
        HistoSampler(edges=[[0.0, 2.0, 1.0]])
    with pytest.raises(SamplerError, match="0 or more"):
        HistoSampler((np.array([1.0, -1.0]), np.array([0.0, 1.0, 2.0])))


def test_constant_sampler_repeats_its_point():
    np.testing.assert_array_equal(ConstantSampler([1.5, 2]).sample(3), [[1.5, 2.0]] * 3)
    assert ConstantSampler(7).dim == 1 and ConstantSampler(7).sample(0).shape == (0, 1)


# --- seeds --------------------------------------------------------------------------------------
def test_a_seed_repeats_the_draws_and_another_seed_does_not():
    first = NumpySampler("n", seed=12).sample(100)
    np.testing.assert_array_equal(first, NumpySampler("n", seed=12).sample(100))
    assert not np.array_equal(first, NumpySampler("n", seed=13).sample(100))
    sampler = NumpySampler("n", seed=12)
    sampler.sample(100)
    assert not np.array_equal(first, sampler.sample(100))  # its generator goes on from call to call
    assert not np.array_equal(NumpySampler("n").sample(100), NumpySampler("n").sample(100))
    generator = np.random.default_rng(12)
    np.testing.assert_array_equal(NumpySampler("n", seed=generator).sample(100),
                                  np.random.default_rng(12).normal(size=(100, 1)))


def test_rng_draws_the_unseeded_parts_and_seeded_parts_keep_their_seed():
    scheme = 0.5 & NumpySampler("n") | 0.5 & (NumpySampler("u") + 5)
    a = scheme.sample(1000, rng=np.random.default_rng(14))
    np.testing.assert_array_equal(a, scheme.sample(1000, rng=np.random.default_rng(14)))
    assert not np.array_equal(a, scheme.sample(1000, rng=np.random.default_rng(15)))
    pair = NumpySampler("n", seed=16) & NumpySampler("n")
    b, c = pair.sample(10, rng=np.random.default_rng(1)), NumpySampler("n", seed=16).sample(10)
    np.testing.assert_array_equal(b[:, 0], c[:, 0])
    with pytest.raises(SamplerError, match="numpy Generator"):
        scheme.sample(3, rng=17)


# --- the algebra --------------------------------------------------------------------------------
def test_a_weighted_mixture_draws_each_part_in_its_share():
    scheme = 0.3 & NumpySampler("n") | 0.7 & (NumpySampler("n") + 10)
    assert scheme.dim == 1
    points = scheme.sample(N, rng=np.random.default_rng(18))
    close((points > 5).mean(), 0.7, 0.01)
    close((points[: N // 10] > 5).mean(), 0.7, 0.03)  # mixed through, not one part after the other
    close(points[points < 5].var(), 1.0, 0.05)
    three = 0.2 & ConstantSampler(0) | 0.3 & ConstantSampler(1) | 0.5 & ConstantSampler(2)
    values = three.sample(N, rng=np.random.default_rng(19)).ravel()
    np.testing.assert_allclose(np.bincount(values) / N, [0.2, 0.3, 0.5], atol=0.01)
    # As in BatchFlow: a part weighs 1 unless weighted, a mixture weighs the sum of its parts, and
    # `w & s` multiplies the weight of s by w. So (0 | 1) weighs 2, halved here to 1, the weight of 2.
    nested = 0.5 & (ConstantSampler(0) | ConstantSampler(1)) | ConstantSampler(2)
    values = nested.sample(N, rng=np.random.default_rng(20)).ravel()
    np.testing.assert_allclose(np.bincount(values) / N, [0.25, 0.25, 0.5], atol=0.01)
    assert (2 & ConstantSampler(0)).weight == 2 and (ConstantSampler(0) & 0.5).weight == 0.5
    assert (0.5 & (3 & ConstantSampler(0))).weight == 1.5


def test_bad_mixtures_fail_when_built():
    a, b = NumpySampler("n"), NumpySampler("u")
    with pytest.raises(SamplerError, match="weights sum to 0"):
        0 & a | 0 & b
    with pytest.raises(SamplerError, match="0 or more"):
        -0.5 & a
    with pytest.raises(SamplerError, match="0 or more"):
        float("nan") & a
    with pytest.raises(SamplerError, match="one dimension, not 1 and 2"):
        a | NumpySampler("n", dim=2)
    with pytest.raises(SamplerError, match="'\\|' mixes samplers"):
        a | 3
    with pytest.raises(SamplerError, match="'\\|' mixes samplers"):
        0.3 | a
    with pytest.raises(SamplerError, match="'&' takes a weight"):
        a & "x"


def test_and_stacks_independent_coordinates():
    pair = NumpySampler("n", seed=21) & NumpySampler("u", seed=22) & ConstantSampler([5, 6])
    assert pair.dim == 4
    points = pair.sample(N)
    assert points.shape == (N, 4)
    close(points[:, 0].var(), 1.0, 0.03)
    close(points[:, 1].mean(), 0.5, 0.01)
    np.testing.assert_array_equal(points[:, 2:], [[5, 6]] * N)
    close(np.corrcoef(points[:, 0], points[:, 1])[0, 1], 0.0, 0.02)
    same = NumpySampler("n") & NumpySampler("n")
    close(np.corrcoef(same.sample(N, rng=np.random.default_rng(23)).T)[0, 1], 0.0, 0.02)


def test_arithmetic_shifts_and_scales():
    scaled = 2 * NumpySampler("n", seed=24) + 3
    points = scaled.sample(N)
    close(points.mean(), 3.0, 0.04)
    close(points.var(), 4.0, 0.12)
    shifted = NumpySampler("n", dim=2, seed=25) - (1, -10)
    assert shifted.dim == 2
    np.testing.assert_allclose(shifted.sample(N).mean(axis=0), [-1.0, 10.0], atol=0.03)
    reflected = np.array([1.0, 2.0]) - NumpySampler("u", seed=26)  # numpy hands the operator to the sampler
    assert isinstance(reflected, Sampler) and reflected.dim == 2
    np.testing.assert_allclose(reflected.sample(N).mean(axis=0), [0.5, 1.5], atol=0.01)
    difference = NumpySampler("u") - NumpySampler("u")  # triangular on (-1, 1)
    points = difference.sample(N, rng=np.random.default_rng(27))
    close(points.mean(), 0.0, 0.01)
    close(points.var(), 1 / 6, 0.005)
    squared = (NumpySampler("n", seed=28) ** 2).sample(N)
    close(squared.mean(), 1.0, 0.03)
    close((-NumpySampler("u", seed=29)).sample(N).mean(), -0.5, 0.01)
    close((NumpySampler("u", seed=30) / 4).sample(N).max(), 0.25, 0.001)
    close(abs(NumpySampler("n", seed=31)).sample(N).mean(), math.sqrt(2 / math.pi), 0.01)


def test_arithmetic_with_a_named_expression_is_an_expression():
    expression = NumpySampler("n") * C("sigma")
    assert isinstance(expression, NamedExpression) and not isinstance(expression, Sampler)


def test_bad_arithmetic_fails_when_built():
    with pytest.raises(SamplerError, match="2 and 3 coordinates do not combine"):
        NumpySampler("n", dim=2) + (1, 2, 3)
    with pytest.raises(SamplerError, match="numbers, arrays of numbers or samplers"):
        NumpySampler("n") + "a"
    with pytest.raises(SamplerError, match="one per coordinate"):
        NumpySampler("n") * np.ones((2, 2))
    with pytest.raises(SamplerError, match="do not combine"):
        NumpySampler("n", dim=2) + NumpySampler("n", dim=3)


def test_truncate_keeps_points_within_bounds_with_the_right_distribution():
    truncated = NumpySampler("n", seed=32).truncate(1.0, -1.0)  # BatchFlow's order: high, low
    points = truncated.sample(N)
    assert points.shape == (N, 1) and points.min() >= -1 and points.max() <= 1
    close(points.mean(), 0.0, 0.01)
    # the variance of a standard normal truncated to [-1, 1]
    phi, mass = math.exp(-0.5) / math.sqrt(2 * math.pi), math.erf(1 / math.sqrt(2))
    close(points.var(), 1 - 2 * phi / mass, 0.006)
    # a ring by an expression: r^2 of a 2-D standard normal is exponential with mean 2
    ring = NumpySampler("n", dim=2, seed=33).truncate(2.0, 1.0, expr=lambda m: np.sum(m**2, axis=1))
    r2 = np.sum(ring.sample(N) ** 2, axis=1)
    assert r2.min() >= 1 and r2.max() <= 2
    below = (math.exp(-0.5) - math.exp(-0.75)) / (math.exp(-0.5) - math.exp(-1.0))
    close((r2 < 1.5).mean(), below, 0.01)
    box = NumpySampler("n", dim=2, seed=34).truncate(high=[0.0, 1.0])
    points = box.sample(N)
    assert points[:, 0].max() <= 0 and points[:, 1].max() <= 1
    ordered = NumpySampler("u", dim=2, seed=35).truncate(expr=lambda m: m[:, 0] > m[:, 1])
    points = ordered.sample(N)
    assert (points[:, 0] > points[:, 1]).all()
    close(points[:, 0].mean(), 2 / 3, 0.01)
    rare = NumpySampler("n", seed=36).truncate(low=3.0).sample(1000)  # 1 point in 740 kept
    assert rare.min() >= 3 and rare.shape == (1000, 1)


def test_a_truncation_that_never_keeps_a_point_gives_up():
    never = NumpySampler("u", seed=37).truncate(high=5.0, low=4.0, max_iters=5)
    with pytest.raises(SamplerError, match=r"0 of 10 points kept after 5 draws.*max_iters \(5\)"):
        never.sample(10)
    with pytest.warns(RuntimeWarning, match="sample_anyways=True"):
        points = NumpySampler("n", seed=38).truncate(low=3.5, max_iters=1, sample_anyways=True).sample(5)
    assert points.min() >= 3.5
    with pytest.raises(SamplerError, match="no point is ever kept"):
        NumpySampler("n").truncate(high=0.0, low=1.0)
    with pytest.raises(SamplerError, match="give high, low or expr"):
        NumpySampler("n").truncate()
    with pytest.raises(SamplerError, match="prob"):
        NumpySampler("n").truncate(1.0, prob=0)
    with pytest.raises(SamplerError, match="a bound of 3 values for points of 2"):
        NumpySampler("n", dim=2).truncate(high=[1, 2, 3])
    with pytest.raises(SamplerError, match="one value"):
        NumpySampler("n", dim=2).truncate(expr=lambda m: True).sample(4)


def test_apply_transforms_the_points():
    summed = NumpySampler("u", dim=2, seed=39).apply(lambda m: m.sum(axis=1))
    points = summed.sample(N)
    assert points.shape == (N, 1)
    close(points.mean(), 1.0, 0.01)
    close(points.var(), 1 / 6, 0.005)

    def box_muller(u):
        radius = np.sqrt(-2 * np.log(u[:, :1]))
        return radius * np.concatenate([np.cos(2 * np.pi * u[:, 1:]), np.sin(2 * np.pi * u[:, 1:])], axis=1)

    normal = NumpySampler("u", dim=2, seed=40).apply(box_muller).sample(N)
    np.testing.assert_allclose(np.cov(normal.T), np.eye(2), atol=0.03)
    with pytest.raises(SamplerError, match=r"shape \(3,\) for 4 points"):
        NumpySampler("u").apply(lambda m: m[:3, 0]).sample(4)
    with pytest.raises(SamplerError, match="not callable"):
        NumpySampler("u").apply(3)


# --- bad input ----------------------------------------------------------------------------------
def test_bad_input_is_a_sampler_error_that_says_what():
    assert issubclass(SamplerError, FlowError) and issubclass(SamplerError, ValueError)
    with pytest.raises(SamplerError, match="no distribution 'normla'; did you mean 'normal'"):
        NumpySampler("normla")
    with pytest.raises(SamplerError, match="no distribution 'shuffle'"):
        NumpySampler("shuffle")
    with pytest.raises(SamplerError, match=r"Generator\.normal\(\) refused these parameters"):
        NumpySampler("normal", lco=1.0)
    with pytest.raises(SamplerError, match="refused"):
        NumpySampler("normal", scale=-1.0)
    with pytest.raises(SamplerError, match="parameter 'scale' is a named expression"):
        NumpySampler("normal", scale=C("sigma"))
    with pytest.raises(SamplerError, match="size must be 0 or more, not -1"):
        NumpySampler("n").sample(-1)
    with pytest.raises(SamplerError, match="size is a number of points"):
        NumpySampler("n").sample(2.5)
    with pytest.raises(SamplerError, match="dim is a number"):
        NumpySampler("n", dim=0)
    with pytest.raises(SamplerError, match="seed must be"):
        NumpySampler("n", seed=-3)
    with pytest.raises(TypeError, match="base class"):
        Sampler()
    sampler = NumpySampler("n")
    with pytest.raises(AttributeError, match="'smaple'"):
        sampler.smaple(3)
    with pytest.raises(TypeError, match="not callable"):
        sampler(3)
    with pytest.raises(TypeError):
        list(sampler)


def test_every_sampler_draws_zero_points_as_an_empty_array_of_its_width():
    samplers = [NumpySampler("n", dim=3), 0.5 & NumpySampler("n") | NumpySampler("u"),
                NumpySampler("n").truncate(1.0), NumpySampler("n") & NumpySampler("u"),
                HistoSampler.from_data(np.arange(10.0)), NumpySampler("n") + (1, 2)]
    assert [s.sample(0).shape for s in samplers] == [(0, 3), (0, 1), (0, 1), (0, 2), (0, 1), (0, 2)]
