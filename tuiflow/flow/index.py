"""Indices: the ids of a dataset's items, and how they are split and cut into batches."""

from __future__ import annotations

import glob
import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from tuiflow.flow.errors import DatasetIndexError
from tuiflow.flow.sampler import BatchPlan, Shuffle


class DatasetIndex:
    """The ids of a dataset's items: ``DatasetIndex(1000)`` or ``DatasetIndex(array_of_ids)``.

    Every index knows the position of each of its items in the index it was split from at the root,
    so batches can take their items from arrays aligned with the root (a dataset's ``preloaded``).
    """

    _arange_ids = False  # whether the ids are exactly 0..n-1
    _root_slice: slice | None = None  # the root positions as a slice, when they are consecutive

    def __init__(self, index: int | Sequence[Any] | np.ndarray | DatasetIndex) -> None:
        if isinstance(index, DatasetIndex):
            self._ids, self._root_positions = index._ids, index._root_positions
            self._arange_ids = index._arange_ids
            self._copy_extra(index)
            return
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            if index < 0:
                raise DatasetIndexError(f"an index cannot have {index} items")
            ids = np.arange(int(index))
            self._arange_ids = True
        else:
            ids = np.asarray(index)
            if ids.ndim != 1:
                raise DatasetIndexError(f"index ids must be one-dimensional, got shape {ids.shape}")
        self._ids = ids
        self._root_positions: np.ndarray | None = None  # None: identical to 0..n-1
        self.train: DatasetIndex | None = None
        self.test: DatasetIndex | None = None
        self.validation: DatasetIndex | None = None
        self._positions_by_id: dict[Any, int] | None = None

    def _copy_extra(self, other: DatasetIndex) -> None:
        self.train = self.test = self.validation = None
        self._positions_by_id = None

    # --- what an index is --------------------------------------------------------------------------
    @property
    def indices(self) -> np.ndarray:
        """The ids of the items, in order."""
        return self._ids

    @property
    def root_positions(self) -> np.ndarray:
        """Positions of the items in the root index (what a dataset's preloaded arrays align to)."""
        if self._root_positions is None:
            return np.arange(len(self._ids))
        return self._root_positions

    @property
    def root_slice(self) -> slice | None:
        """The root positions as a slice when a plan made them consecutive (batches in order)."""
        return self._root_slice

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def size(self) -> int:
        """Number of items."""
        return len(self._ids)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._ids)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} items)"

    def get_pos(self, item_id: Any) -> int:
        """Position of an item id in this index."""
        if self._positions_by_id is None:
            self._positions_by_id = {key: pos for pos, key in enumerate(self._ids.tolist())}
        try:
            return self._positions_by_id[item_id.item() if isinstance(item_id, np.generic) else item_id]
        except KeyError:
            raise KeyError(f"{item_id!r} is not in this index") from None

    # --- subsets -------------------------------------------------------------------------------
    def subset(self, positions: np.ndarray, run: slice | None = None) -> DatasetIndex:
        """A new index of the items at ``positions`` of this one (same class, same root); ``run``
        is the same positions as a slice, when the caller knows they are consecutive."""
        # Runs once per batch: one dict for the new object's state, and no copy of ids 0..n-1 of a
        # root, which equal their positions.
        root = self._root_positions
        state = self._subset_state()
        state.update(
            _ids=positions if self._arange_ids and root is None else self._ids[positions],
            _root_positions=positions if root is None else root[positions],
            _root_slice=run if root is None else None,
            train=None, test=None, validation=None, _positions_by_id=None,
        )
        new = object.__new__(type(self))
        new.__dict__ = state
        return new

    def _subset_state(self) -> dict[str, Any]:
        """Attributes that subsets share with their parent (a FilesIndex's paths, say)."""
        return {}

    def as_root(self) -> DatasetIndex:
        """This index as a root: the same ids, with positions counted in this index itself."""
        if self._root_positions is None:
            return self
        root = self.subset(np.arange(len(self)))
        root._ids, root._root_positions = self._ids, None
        return root

    def split(self, shares: float | Sequence[float] = 0.8, shuffle: Shuffle = False) -> None:
        """Split into ``train``, ``test`` and (with three shares) ``validation`` subsets.

        ``0.8`` gives 80% train and 20% test; ``(0.7, 0.2)`` gives 70/20 and 10% validation;
        ``(0.6, 0.2, 0.2)`` is explicit.
        """
        train, test, validation = _split_sizes(len(self), shares)
        order = np.arange(len(self))
        if shuffle is not False and shuffle is not None:
            rng = np.random.default_rng(None if shuffle is True else shuffle)
            order = rng.permutation(len(self))
        self.train = self.subset(order[:train])
        self.test = self.subset(order[train:train + test])
        self.validation = self.subset(order[train + test:]) if validation else None

    # --- batches -------------------------------------------------------------------------------
    def plan(self, batch_size: int, shuffle: Shuffle = False, n_epochs: int | None = None,
             n_iters: int | None = None, drop_last: bool = False, *,
             default_epochs: int | None = 1) -> BatchPlan:
        """Check a batching request against this index."""
        return BatchPlan.make(len(self), batch_size, shuffle, n_epochs, n_iters, drop_last,
                              default_epochs=default_epochs)

    def gen_batch(self, batch_size: int, shuffle: Shuffle = False, n_epochs: int | None = None,
                  n_iters: int | None = None, drop_last: bool = False) -> Iterator[DatasetIndex]:
        """Yield the index of each batch; one epoch when neither n_epochs nor n_iters is given.

        The arguments are checked at the call, not at the first batch.
        """
        plan = self.plan(batch_size, shuffle, n_epochs, n_iters, drop_last)
        return (self.subset(positions, run) for _, positions, run in plan.batches())

    def next_batch(self, batch_size: int, shuffle: Shuffle = False, n_epochs: int | None = None,
                   n_iters: int | None = None, drop_last: bool = False) -> DatasetIndex:
        """The next batch of a stream that continues from call to call (endless when neither
        n_epochs nor n_iters is given); StopIteration when the stream ends. ``reset_iter()``
        starts a new stream."""
        key = (batch_size, _shuffle_key(shuffle), n_epochs, n_iters, drop_last)
        stream = getattr(self, "_stream", None)
        if stream is None or stream[0] != key:
            plan = self.plan(batch_size, shuffle, n_epochs, n_iters, drop_last, default_epochs=None)
            stream = self._stream = (key, plan.batches())
        _, positions, run = next(stream[1])
        return self.subset(positions, run)

    def reset_iter(self) -> None:
        """Forget the stream of :meth:`next_batch`."""
        self._stream = None


def _shuffle_key(shuffle: Shuffle) -> Any:
    return shuffle if isinstance(shuffle, (bool, int, np.integer)) else id(shuffle)


def _split_sizes(n: int, shares: float | Sequence[float]) -> tuple[int, int, int]:
    values = [float(shares)] if isinstance(shares, (int, float, np.floating)) else [float(s) for s in shares]
    if not 1 <= len(values) <= 3 or any(not 0 <= s <= 1 for s in values) or sum(values) > 1 + 1e-9:
        raise DatasetIndexError(f"split shares must be 1 to 3 numbers in [0, 1] that sum to at most 1, "
                          f"not {shares!r}")
    if len(values) < 3:
        values.append(max(0.0, 1 - sum(values)))
    while len(values) < 3:
        values.append(0.0)
    if sum(values) <= 0:
        raise DatasetIndexError(f"split shares must not all be zero, not {shares!r}")
    values = [share / sum(values) for share in values]  # three shares below 1 are proportions
    # Largest-remainder rounding, then every non-zero share gets at least one item where n allows.
    exact = [share * n for share in values]
    sizes = [math.floor(x + 1e-9) for x in exact]
    for i in sorted(range(3), key=lambda i: sizes[i] - exact[i])[: n - sum(sizes)]:
        sizes[i] += 1
    for i in range(3):
        if values[i] > 1e-9 and sizes[i] == 0 and max(sizes) > 1:
            sizes[sizes.index(max(sizes))] -= 1
            sizes[i] = 1
    return sizes[0], sizes[1], sizes[2]


class FilesIndex(DatasetIndex):
    """An index of files (or folders) matched by one or more glob patterns; ids are base names.

    ``no_ext=True`` drops extensions from the ids, ``dirs=True`` matches folders instead of
    files, ``sort=True`` orders ids by name. Two paths with one id is an error naming both.
    """

    def __init__(self, index: Any = None, *, path: str | Sequence[str] | None = None, dirs: bool = False,
                 no_ext: bool = False, sort: bool = False) -> None:
        if index is not None:
            super().__init__(index)
            if isinstance(index, FilesIndex):
                self._paths = index._paths
            return
        if path is None:
            raise DatasetIndexError("FilesIndex needs path= (a glob pattern or a list of them)")
        patterns = [path] if isinstance(path, (str, os.PathLike)) else list(path)
        paths: dict[str, str] = {}
        for pattern in patterns:
            for found in glob.glob(os.path.expanduser(str(pattern)), recursive=True):
                if os.path.isdir(found) != dirs:
                    continue
                name = os.path.basename(os.path.normpath(found))
                key = os.path.splitext(name)[0] if no_ext and not dirs else name
                if key in paths and os.path.abspath(paths[key]) != os.path.abspath(found):
                    raise DatasetIndexError(f"FilesIndex: {paths[key]!r} and {found!r} both have the id {key!r}; "
                                      "rename one, or index them separately")
                paths[key] = found
        keys = sorted(paths) if sort else list(paths)
        super().__init__(np.array(keys, dtype=object))
        self._paths = paths
        self.dirs = dirs

    def _subset_state(self) -> dict[str, Any]:
        return {"_paths": self._paths, "dirs": getattr(self, "dirs", False)}

    def get_fullpath(self, key: Any) -> str:
        """The path of the file (or folder) with id ``key``."""
        try:
            return self._paths[key]
        except KeyError:
            raise KeyError(f"FilesIndex has no item {key!r}") from None
