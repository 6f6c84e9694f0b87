"""Batch classes shared by the engine tests. A module of its own, so that worker processes of
the ``mpc`` target can import them by name."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import numpy as np

from tuiflow import Batch, action, inbatch_parallel


class ArrayBatch(Batch):
    """Numbers in, numbers out."""

    components = ("x", "y")

    @action
    def scale(self, factor=2.0):
        self.x = self.x * factor
        return self

    @action
    def shift(self, by):
        self.x = self.x + by
        return self

    @action
    def fail_on(self, value):
        if np.any(self.x == value):
            raise ValueError(f"found {value}")
        return self

    @action
    def total(self):
        return float(np.sum(self.x))

    @action
    def remember(self, **kwargs):
        """Keep the evaluated arguments on the batch, for tests to look at."""
        self.seen = kwargs
        return self

    @action
    def sleep(self, seconds):
        time.sleep(seconds)
        return self

    @action
    def returns_number(self):
        return 3

    @action
    def replace(self):
        new = ArrayBatch(self.index, self.dataset)
        new.x, new.y = self.x + 1000, self.y
        return new

    def not_an_action(self):
        return self

    # --- in-batch parallel -----------------------------------------------------------------------
    @action
    @inbatch_parallel(init="indices", target="for")
    def negate_for(self, ix):
        i = self.get_pos(ix)
        self.x[i] = -self.x[i]

    @action
    @inbatch_parallel(init="indices", target="threads")
    def negate_threads(self, ix):
        i = self.get_pos(ix)
        self.x[i] = -self.x[i]

    @action
    @inbatch_parallel(init="indices", target="threads", n_workers=2)
    def add_item_threads(self, ix, value):
        i = self.get_pos(ix)
        self.x[i] = self.x[i] + value

    @action
    @inbatch_parallel(init="indices", target="threads", n_workers=2)
    def slow_threads(self, ix, seconds):
        time.sleep(seconds)
        self.thread_names.add(threading.current_thread().name)

    @action
    @inbatch_parallel(init="positions", target="for", post="_gather")
    def square_positions(self, i, power=2):
        return self.x[i] ** power

    def _gather(self, results, power=2):
        self.squares = np.array(results)
        return self

    @action
    @inbatch_parallel(init="indices", target="async")
    async def negate_async(self, ix, delay=0.0):
        await asyncio.sleep(delay)
        i = self.get_pos(ix)
        self.x[i] = -self.x[i]

    @action
    @inbatch_parallel(init="indices", target="mpc", post="_collect_mpc", n_workers=2)
    def square_mpc(self, ix, offset=0):
        i = self.get_pos(ix)
        return float(self.x[i]) ** 2 + offset, os.getpid()

    def _collect_mpc(self, results, offset=0):
        self.squares = np.array([r[0] for r in results])
        self.worker_pids = {r[1] for r in results}
        return self

    @action
    @inbatch_parallel(init="indices", target="threads")
    def fail_item_threads(self, ix, bad):
        if ix == bad:
            raise KeyError(f"item {ix}")

    @action
    @inbatch_parallel(init="indices", target="for", post=lambda batch, results, **kwargs: batch.keep(results))
    def collect_errors(self, ix, bad):
        if ix == bad:
            raise KeyError(f"item {ix}")
        return ix

    def keep(self, results):
        self.results = results
        return self


def make_dataset(n=100, batch_class=ArrayBatch):
    from tuiflow import Dataset

    x = np.arange(n, dtype=np.float64)
    y = np.arange(n) % 3
    return Dataset(n, batch_class=batch_class, preloaded=(x, y))
