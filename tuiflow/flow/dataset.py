"""Dataset: an index, the batch class that holds its items, and (optionally) the items in memory."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tuiflow.flow.batch import Batch
from tuiflow.flow.errors import FlowError
from tuiflow.flow.index import DatasetIndex
from tuiflow.flow.sampler import Shuffle

if TYPE_CHECKING:
    from tuiflow.flow.pipeline import Pipeline


class Dataset:
    """Items addressed by an index, batched into ``batch_class`` objects.

    ``preloaded`` holds the items in memory, aligned with the index: an array, a tuple of arrays
    (one per component) or a dict of arrays; ``load()`` takes a batch's items from it. Subsets made
    by :meth:`split` share the batch class and the preloaded data.
    """

    def __init__(self, index: DatasetIndex | int | Sequence[Any] | np.ndarray, batch_class: type[Batch] = Batch,
                 preloaded: Any = None) -> None:
        if not isinstance(batch_class, type) or not issubclass(batch_class, Batch):
            raise FlowError(f"Dataset: batch_class must be a subclass of Batch, not {batch_class!r}")
        self.index = index if isinstance(index, DatasetIndex) else DatasetIndex(index)
        self.batch_class = batch_class
        self.preloaded = preloaded
        if preloaded is not None:
            _check_preloaded(preloaded, len(self.index))
            # Preloaded data is aligned with this dataset's own index, which becomes the root that
            # batches take positions from, even when it was split from another index.
            self.index = self.index.as_root()
        self.train: Dataset | None = None
        self.test: Dataset | None = None
        self.validation: Dataset | None = None

    @classmethod
    def _subset(cls, parent: Dataset, index: DatasetIndex) -> Dataset:
        new = object.__new__(cls)
        new.index, new.batch_class, new.preloaded = index, parent.batch_class, parent.preloaded
        new.train = new.test = new.validation = None
        return new

    def __len__(self) -> int:
        return len(self.index)

    @property
    def size(self) -> int:
        """Number of items."""
        return len(self.index)

    @property
    def indices(self) -> np.ndarray:
        """Ids of the items."""
        return self.index.indices

    def __repr__(self) -> str:
        return f"Dataset({len(self)} items, batch_class={self.batch_class.__name__})"

    def split(self, shares: float | Sequence[float] = 0.8, shuffle: Shuffle = False) -> None:
        """Split into ``train``, ``test`` and maybe ``validation`` datasets (see DatasetIndex.split)."""
        self.index.split(shares, shuffle)
        subset = type(self)._subset
        self.train = subset(self, self.index.train)  # type: ignore[arg-type]
        self.test = subset(self, self.index.test)  # type: ignore[arg-type]
        self.validation = subset(self, self.index.validation) if self.index.validation else None

    def create_subset(self, index: DatasetIndex) -> Dataset:
        """A dataset over ``index`` (a subset of this dataset's index), sharing data and batch class."""
        return type(self)._subset(self, index)

    def create_batch(self, positions: np.ndarray, run: slice | None = None) -> Batch:
        """A batch of the items at ``positions`` of this dataset's index (not loaded yet); ``run``:
        the same positions as a slice, when they are consecutive."""
        return self.batch_class(self.index.subset(positions, run), dataset=self, preloaded=self.preloaded)

    # --- batches without a pipeline -----------------------------------------------------------
    def gen_batch(self, batch_size: int, shuffle: Shuffle = False, n_epochs: int | None = None,
                  n_iters: int | None = None, drop_last: bool = False) -> Iterator[Batch]:
        """Yield empty batches (call ``.load()`` on them, or use a pipeline); one epoch by default.

        The arguments are checked at the call, not at the first batch.
        """
        plan = self.index.plan(batch_size, shuffle, n_epochs, n_iters, drop_last)
        return (self.create_batch(positions, run) for _, positions, run in plan.batches())

    def next_batch(self, batch_size: int, shuffle: Shuffle = False, n_epochs: int | None = None,
                   n_iters: int | None = None, drop_last: bool = False) -> Batch:
        """The next batch of a stream that continues from call to call (see DatasetIndex.next_batch)."""
        index = self.index.next_batch(batch_size, shuffle, n_epochs, n_iters, drop_last)
        return self.batch_class(index, dataset=self, preloaded=self.preloaded)

    # --- pipelines -------------------------------------------------------------------------------
    @property
    def p(self) -> Pipeline:
        """An empty pipeline bound to this dataset."""
        from tuiflow.flow.pipeline import Pipeline

        return Pipeline(dataset=self)

    def pipeline(self, config: Mapping[str, Any] | None = None) -> Pipeline:
        """An empty pipeline bound to this dataset, with ``config``."""
        from tuiflow.flow.pipeline import Pipeline

        return Pipeline(dataset=self, config=config)

    def __rshift__(self, pipeline: Pipeline) -> Pipeline:
        return pipeline << self


def _check_preloaded(preloaded: Any, size: int) -> None:
    parts = preloaded.items() if isinstance(preloaded, Mapping) else (
        enumerate(preloaded) if isinstance(preloaded, tuple) else [(0, preloaded)])
    for name, values in parts:
        length = len(values) if hasattr(values, "__len__") else None
        if length is not None and length != size:
            raise FlowError(f"Dataset: preloaded component {name!r} has {length} items, the index has {size}")
