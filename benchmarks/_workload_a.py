"""Workload A: 100,000 items of 32 float32 with int labels, `load` and five trivial numpy actions.

The same data and the same five operations back the tuiflow pipeline, the hand-written loop here
and the BatchFlow pipeline in `_batchflow_workload.py`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ITEMS = 100_000
FEATURES = 32
BATCH_SIZE = 64
SEED = 42


def make_data(items: int = ITEMS, features: int = FEATURES) -> tuple[np.ndarray, np.ndarray]:
    """Images (items x features, float32) and integer labels, the same on every side."""
    rng = np.random.default_rng(0)
    images = rng.standard_normal((items, features), dtype=np.float32)
    labels = rng.integers(0, 10, items)
    return images, labels


def n_batches(items: int = ITEMS, batch_size: int = BATCH_SIZE) -> int:
    """Batches in one epoch without drop_last."""
    return -(-items // batch_size)


def hand_loop(images: np.ndarray, labels: np.ndarray, batch_size: int = BATCH_SIZE,
              shuffle: int | None = SEED) -> int:
    """The workload written by hand: fancy-index the same positions tuiflow uses, then the five ops."""
    items = len(images)
    order = np.random.default_rng(shuffle).permutation(items) if shuffle is not None else np.arange(items)
    done = 0
    for start in range(0, items, batch_size):
        positions = order[start:start + batch_size]
        x = images[positions]
        _ = labels[positions]
        x = x * 2
        x = x + 1
        x = np.abs(x)
        x = x - 0.5
        x = x / 3
        done += 1
    return done


def tuiflow_workload(images: np.ndarray, labels: np.ndarray) -> tuple[Any, Any]:
    """The tuiflow dataset and the pipeline template (not yet bound to the dataset)."""
    from tuiflow import Batch, Dataset, DatasetIndex, Pipeline, action

    class WorkloadBatch(Batch):
        """Images and labels with five trivial numpy actions on the images."""

        components = ("images", "labels")

        @action
        def times2(self) -> WorkloadBatch:
            self.images = self.images * 2
            return self

        @action
        def plus1(self) -> WorkloadBatch:
            self.images = self.images + 1
            return self

        @action
        def absval(self) -> WorkloadBatch:
            self.images = np.abs(self.images)
            return self

        @action
        def minus_half(self) -> WorkloadBatch:
            self.images = self.images - 0.5
            return self

        @action
        def div3(self) -> WorkloadBatch:
            self.images = self.images / 3
            return self

    ds = Dataset(DatasetIndex(len(images)), batch_class=WorkloadBatch, preloaded=(images, labels))
    template = Pipeline().load().times2().plus1().absval().minus_half().div3()
    return ds, template


def run_tuiflow(ds: Any, template: Any, shuffle: int | bool = SEED, profile: bool = False,
                n_epochs: int = 1, batch_size: int = BATCH_SIZE) -> Any:
    """One synchronous run (prefetch=0, as BatchFlow's default) of the workload; returns the pipeline."""
    ppl = ds >> template
    ppl.run(batch_size=batch_size, n_epochs=n_epochs, shuffle=shuffle, drop_last=False, prefetch=0,
            profile=profile, bar=False)
    return ppl


def check_tuiflow_result(ds: Any, template: Any, images: np.ndarray) -> None:
    """Fail loudly if the tuiflow pipeline does not compute what the hand loop does."""
    batch = next(iter((ds >> template).gen_batch(8, n_epochs=1, shuffle=SEED, prefetch=0)))
    positions = np.random.default_rng(SEED).permutation(len(images))[:8]
    expected = np.abs(images[positions] * 2 + 1) - 0.5
    expected = expected / 3
    if not np.allclose(batch.images, expected):
        raise AssertionError("tuiflow's workload A result differs from the hand loop's")
