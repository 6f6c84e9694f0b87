"""The demo pipeline behind ``tuiflow demo``: synthetic images through a few actions, profiled."""

from __future__ import annotations

import numpy as np

from tuiflow.flow import B, Batch, C, Dataset, P, Pipeline, R, V, action, inbatch_parallel


class DemoBatch(Batch):
    """Small grey images and their labels."""

    components = ("images", "labels")

    @action
    def normalize(self, scale: float = 255.0) -> DemoBatch:
        """Scale pixel values to [0, 1]."""
        self.images = self.images.astype(np.float32) / scale
        return self

    @action
    @inbatch_parallel(init="indices", target="threads")
    def shift_one(self, ix: int, offset: int) -> None:
        """Roll one image by ``offset`` pixels."""
        i = self.get_pos(ix)
        self.images[i] = np.roll(self.images[i], int(offset), axis=(0, 1))

    @action
    def add_noise(self, std: float = 0.05) -> DemoBatch:
        """Add gaussian noise."""
        self.images = self.images + np.random.default_rng().normal(0, std, self.images.shape).astype(np.float32)
        return self

    @action
    def class_means(self) -> np.ndarray:
        """Mean brightness of the batch's images per label (a value to keep with ``save_to``)."""
        return np.array([self.images[self.labels == k].mean() if np.any(self.labels == k) else np.nan
                         for k in range(10)])


def run_demo(items: int = 20_000, batch_size: int = 64, epochs: int = 2, bar: bool = True) -> Pipeline:
    """Build the demo dataset and pipeline, run it, print the profile table; returns the pipeline."""
    from rich.console import Console

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(items, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, size=items)
    dataset = Dataset(items, batch_class=DemoBatch, preloaded=(images, labels))
    dataset.split(0.8, shuffle=0)
    pipeline = (
        Pipeline()
        .init_variable("seen", 0)
        .init_variable("means", list)
        .load()
        .normalize(scale=C("scale", default=255.0))
        .shift_one(offset=P(R("integers", -3, 4)))
        .add_noise(std=C("noise"))
        .class_means(save_to=V("means", mode="a"))
        .update(V("seen"), V("seen") + B("size"))
    ) << {"noise": 0.05}
    (dataset.train >> pipeline).run(batch_size, shuffle=True, n_epochs=epochs, prefetch=2, profile=True, bar=bar)
    console = Console()
    batches = len(pipeline.v("means"))
    console.print(f"[bold]tuiflow demo[/]: {pipeline.v('seen'):,} items in {batches:,} "
                  f"batch{'es' if batches != 1 else ''} over {epochs} epoch{'s' if epochs != 1 else ''}")
    pipeline.show_profile_info(console)
    return pipeline
