"""Dataset: an index, the batch class that holds its items, and (optionally) the items in memory."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tuiflow.flow.batch import Batch
from tuiflow.flow.errors import DatasetIndexError, FlowError
from tuiflow.flow.index import DatasetIndex
from tuiflow.flow.named_expr import F, NamedExpression
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
        self.n_splits: int | None = None

    @classmethod
    def _subset(cls, parent: Dataset, index: DatasetIndex, batch_class: type[Batch] | None = None) -> Dataset:
        new = object.__new__(cls)
        new.index, new.batch_class, new.preloaded = index, batch_class or parent.batch_class, parent.preloaded
        new.train = new.test = new.validation = None
        new.n_splits = None
        return new

    @classmethod
    def from_dataset(cls, dataset: Dataset, index: DatasetIndex | Any, batch_class: type[Batch] | None = None
                     ) -> Dataset:
        """A dataset of this class over ``index`` with ``dataset``'s batch class (or ``batch_class``)
        and its preloaded data; the ids of ``index`` must be ids of ``dataset`` when it has
        preloaded data (its items are taken from there)."""
        if batch_class is not None and not (isinstance(batch_class, type) and issubclass(batch_class, Batch)):
            raise FlowError(f"from_dataset: batch_class must be a subclass of Batch, not {batch_class!r}")
        if dataset.preloaded is None:
            return cls(index, batch_class or dataset.batch_class)
        return cls._subset(dataset, dataset.index.create_subset(index), batch_class)

    @staticmethod
    def build_index(index: DatasetIndex | int | Sequence[Any] | np.ndarray) -> DatasetIndex:
        """The index a dataset built from ``index`` has."""
        return index if isinstance(index, DatasetIndex) else DatasetIndex(index)

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

    def create_subset(self, index: DatasetIndex | Sequence[Any] | np.ndarray) -> Dataset:
        """A dataset over the items with the ids of ``index`` (an index, or a list or an array of
        ids), sharing data and batch class; an id this dataset lacks is an IndexError naming it."""
        return type(self)._subset(self, self.index.create_subset(index))

    def create_batch(self, index: DatasetIndex | Sequence[Any] | np.ndarray, pos: bool = False) -> Batch:
        """A batch (not loaded yet) of the items with the ids of ``index``, or at the positions
        ``index`` when ``pos=True``."""
        subset = self.index.create_batch(index, pos=pos)
        return self.batch_class(subset, dataset=self, preloaded=self.preloaded)

    def _batch_at(self, positions: np.ndarray, run: slice | None = None) -> Batch:
        # The run loop's way to make a batch: positions, and the same positions as a slice when
        # they are consecutive.
        return self.batch_class(self.index.subset(positions, run), dataset=self, preloaded=self.preloaded)

    # --- cross-validation ---------------------------------------------------------------------
    def cv_split(self, n_splits: int = 5, shuffle: Shuffle = False, method: str = "kfold") -> None:
        """K-fold cross-validation: ``cv0`` ... ``cv{n-1}``, each a dataset with ``train`` and
        ``test``; fold ``i`` tests the ``i``-th consecutive part of the (maybe shuffled) items.
        ``train.cv0`` is ``cv0.train``, ``test.cv0`` is ``cv0.test``; ``cv(i)`` is ``cv{i}``;
        :meth:`CV` picks a fold by a named expression (``ds.CV(C("fold")).train``). A new split
        removes the folds of the last one."""
        if method != "kfold":
            raise FlowError(f"cv_split: the only method is 'kfold', not {method!r}")
        if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) or not 2 <= n_splits <= len(self):
            raise DatasetIndexError(f"cv_split: n_splits must be a whole number from 2 to the dataset's "
                                    f"{len(self)} items, not {n_splits!r}")
        self._drop_folds()
        order = self.index.shuffle(shuffle)
        folds = np.array_split(order, int(n_splits))
        subset = type(self)._subset
        self.train, self.test = subset(self, self.index), subset(self, self.index)
        self.n_splits = self.train.n_splits = self.test.n_splits = int(n_splits)
        for i, test_positions in enumerate(folds):
            fold = subset(self, self.index)
            fold.train = subset(self, self.index.subset(np.concatenate(folds[:i] + folds[i + 1:])))
            fold.test = subset(self, self.index.subset(test_positions))
            setattr(self, f"cv{i}", fold)
            setattr(self.train, f"cv{i}", fold.train)
            setattr(self.test, f"cv{i}", fold.test)

    def _drop_folds(self) -> None:
        for i in range(self.n_splits or 0):
            for holder in (self, self.train, self.test):
                if holder is not None:
                    holder.__dict__.pop(f"cv{i}", None)
        self.n_splits = None

    def cv(self, fold: int) -> Dataset:
        """The dataset of fold ``fold`` of the last :meth:`cv_split` (``cv(0)`` is ``cv0``)."""
        if not self.n_splits:
            raise FlowError("cv: the dataset has no folds; call cv_split(n_splits) first")
        if isinstance(fold, bool) or not isinstance(fold, (int, np.integer)) or not 0 <= fold < self.n_splits:
            raise DatasetIndexError(f"cv: fold must be 0 to {self.n_splits - 1}, not {fold!r}")
        return getattr(self, f"cv{fold}")

    def CV(self, fold: Any) -> NamedExpression:  # BatchFlow's name
        """The fold chosen by a named expression, for a pipeline: ``ppl << ds.CV(C("fold")).train``
        runs over the train part of the fold the config names, whenever the run starts."""
        return F(self.cv)(fold)

    # --- batches without a pipeline -----------------------------------------------------------
    def gen_batch(self, batch_size: int, shuffle: Shuffle = False, n_epochs: int | None = None,
                  n_iters: int | None = None, drop_last: bool = False) -> Iterator[Batch]:
        """Yield empty batches (call ``.load()`` on them, or use a pipeline); one epoch by default.

        The arguments are checked at the call, not at the first batch.
        """
        plan = self.index.plan(batch_size, shuffle, n_epochs, n_iters, drop_last)
        return (self._batch_at(positions, run) for _, positions, run in plan.batches())

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
