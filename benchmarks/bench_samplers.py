"""Samplers (issue 14): points per second of sample(n), and what a sampler costs a pipeline per batch.

Three samplers draw 1,000,000 points each: a 2-D normal, BatchFlow's tour scheme (a mixture of four
truncated, shifted and rounded samplers, from its examples/05_sampler.ipynb) and a histogram of
100 x 100 bins. Then the same pipeline of 64-item batches runs with a fixed argument and with
NumpySampler("n", dim=2) in its place: the difference per batch is what drawing one point per item
costs. No target: figures for the README. Prints one JSON line.

    python benchmarks/bench_samplers.py [--points 1000000] [--batches 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
from _common import emit, log, summary, tuiflow_available


def tour_scheme(ns: Any) -> Any:
    """BatchFlow's example of a complex sampling scheme, as its notebook writes it."""
    ns1 = ns("n", dim=2).truncate(2.0, 0.8, lambda m: np.sum(np.abs(m), axis=1)) + 4
    ns2 = 2 * ns("u", dim=2).truncate(1, expr=lambda m: np.sum(m, axis=1)) - (1, 1)
    ns3 = ns("n", dim=2).truncate(1.5, expr=lambda m: np.sum(np.square(m), axis=1)) + (4, 0)
    ns4 = ((ns("n", dim=2).truncate(2.5, expr=lambda m: np.sum(np.square(m), axis=1)) * 4)
           .apply(lambda m: m.astype(int)) / 4 + (0, 3))
    return 0.4 & ns1 | 0.2 & ns2 | 0.39 & ns3 | 0.01 & ns4


def points_per_s(sampler: Any, points: int, repeats: int) -> dict[str, Any]:
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        sampler.sample(points)
        rates.append(points / (time.perf_counter() - start))
    return summary(rates, digits=0)


def pipeline_us_per_batch(batches: int, repeats: int) -> dict[str, Any]:
    from tuiflow import Batch, Dataset, NumpySampler, action

    class Points(Batch):
        components = ("x",)

        @action
        def keep(self, value):
            self.kept = value
            return self

    size = 64
    dataset = Dataset(batches * size, batch_class=Points, preloaded=(np.zeros((batches * size, 2)),))
    fixed = dataset.p.load().keep(np.zeros((size, 2)))
    sampled = dataset.p.load().keep(NumpySampler("n", dim=2))
    times: dict[str, list[float]] = {"fixed": [], "sampler": []}
    for _ in range(repeats):
        for name, ppl in (("fixed", fixed), ("sampler", sampled)):
            start = time.perf_counter()
            ppl.run(size, seed=0)
            times[name].append((time.perf_counter() - start) / batches * 1e6)
    extra = [s - f for s, f in zip(times["sampler"], times["fixed"])]
    return {"fixed_us": summary(times["fixed"], lower_is_better=True),
            "sampler_us": summary(times["sampler"], lower_is_better=True),
            "sampler_extra_us": summary(extra, lower_is_better=True), "batch_size": size, "batches": batches}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    error = tuiflow_available()
    if error is not None:
        emit("samplers", {"error": error})
        return
    from tuiflow import HistoSampler, NumpySampler

    data = np.random.default_rng(0).normal(size=(100_000, 2))
    samplers = {"normal_2d": NumpySampler("n", dim=2, seed=1), "tour_scheme": tour_scheme(NumpySampler),
                "histogram_100x100": HistoSampler.from_data(data, bins=100, seed=2)}
    rates = {}
    for name, sampler in samplers.items():
        log(f"{name}: sample({args.points})")
        rates[name] = points_per_s(sampler, args.points, args.repeats)
    log(f"pipeline: {args.batches} batches of 64")
    emit("samplers", {"points": args.points, "points_per_s": rates,
                      "pipeline": pipeline_us_per_batch(args.batches, args.repeats), "error": None})


if __name__ == "__main__":
    main()
