"""Workload A in BatchFlow, run by bench_pipeline.py inside benchmarks/.venv-batchflow.

Prints one JSON line: BatchFlow's batches/s over repeated one-epoch runs. Imports nothing of tuiflow.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from batchflow import Batch, Dataset, DatasetIndex, Pipeline, action


class WorkloadBatch(Batch):
    """Images and labels with the same five trivial numpy actions as the tuiflow side."""

    components = ("images", "labels")

    @action
    def times2(self):
        self.images = self.images * 2
        return self

    @action
    def plus1(self):
        self.images = self.images + 1
        return self

    @action
    def absval(self):
        self.images = np.abs(self.images)
        return self

    @action
    def minus_half(self):
        self.images = self.images - 0.5
        return self

    @action
    def div3(self):
        self.images = self.images / 3
        return self


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--unshuffled-repeats", type=int, default=0)
    args = parser.parse_args()

    import batchflow

    rng = np.random.default_rng(0)
    images = rng.standard_normal((args.items, args.features), dtype=np.float32)
    labels = rng.integers(0, 10, args.items)
    ds = Dataset(DatasetIndex(args.items), batch_class=WorkloadBatch, preloaded=(images, labels))
    template = Pipeline().load(src=(images, labels)).times2().plus1().absval().minus_half().div3()
    n_batches = -(-args.items // args.batch_size)

    def one_epoch(shuffle):
        ppl = ds >> template
        start = time.perf_counter()
        ppl.run(args.batch_size, n_epochs=1, shuffle=shuffle, drop_last=False)
        return n_batches / (time.perf_counter() - start)

    one_epoch(args.seed)  # warm-up: imports, lazy modules, first-call caches
    shuffled = [one_epoch(args.seed) for _ in range(args.repeats)]
    unshuffled = [one_epoch(False) for _ in range(args.unshuffled_repeats)]
    print(f"batchflow shuffled batches/s: {[round(x) for x in shuffled]}", file=sys.stderr)
    print(json.dumps({"version": batchflow.__version__, "numpy": np.__version__, "batches": n_batches,
                      "shuffled": shuffled, "unshuffled": unshuffled}))


if __name__ == "__main__":
    main()
