"""Indices: the ids of a dataset's items, and how they are split and cut into batches."""

from __future__ import annotations

import glob
import math
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from tuiflow.flow.errors import DatasetIndexError, DatasetIndexTypeError
from tuiflow.flow.sampler import BatchPlan, Shuffle, make_rng


class DatasetIndex:
    """The ids of a dataset's items: ``DatasetIndex(1000)``, ``DatasetIndex(array_of_ids)``, any
    sequence of ids (a list, a ``range``), another index, or a callable that returns one of these.

    Ids should be unique (a warning says when they are not: positions are then ambiguous); an empty
    sequence is an error, ``DatasetIndex(0)`` an empty index. Every index knows the position of
    each of its items in the index it was split from at the root, so batches can take their items
    from arrays aligned with the root (a dataset's ``preloaded``).
    """

    _arange_ids = False  # whether the ids are exactly 0..n-1
    _root_slice: slice | None = None  # the root positions as a slice, when they are consecutive
    _empty_allowed = False  # an empty sequence of ids is a mistake here; a FilesIndex may match no file

    def __init__(self, index: int | Sequence[Any] | np.ndarray | DatasetIndex | Any) -> None:
        if callable(index) and not isinstance(index, DatasetIndex):
            index = index()
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
                raise DatasetIndexTypeError(f"index ids must be one-dimensional, got shape {ids.shape}")
            if len(ids) == 0 and not self._empty_allowed:
                raise DatasetIndexError("an index cannot be built from an empty sequence of ids; "
                                        "DatasetIndex(0) is an empty index")
            _warn_if_repeated(ids)
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
    def index(self) -> np.ndarray:
        """The ids of the items, in order (BatchFlow's name for :attr:`indices`)."""
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

    def get_pos(self, item_id: Any) -> Any:
        """Position of an item id in this index; for a list, an array or an index of ids, an array of
        positions. An unknown id is a KeyError that names it."""
        if self._positions_by_id is None:
            self._positions_by_id = {key: pos for pos, key in enumerate(self._ids.tolist())}
        if isinstance(item_id, DatasetIndex):
            item_id = item_id.indices
        if isinstance(item_id, (list, tuple, np.ndarray, range)):
            keys = item_id.tolist() if isinstance(item_id, np.ndarray) else item_id
            positions = self._positions_by_id
            try:
                return np.fromiter((positions[key] for key in keys), dtype=np.intp, count=len(keys))
            except KeyError as exc:
                raise KeyError(f"{exc.args[0]!r} is not in this index") from None
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

    def create_batch(self, index: Any, pos: bool = True) -> DatasetIndex:
        """An index of the same class over some items of this one: ``index`` is their positions
        (``pos=True``) or their ids (``pos=False``); a list, an array, a range or an index."""
        if isinstance(index, DatasetIndex):
            index = index.indices
        if pos:
            positions = np.asarray(index, dtype=np.intp) if not isinstance(index, np.ndarray) else index
            if positions.ndim != 1:
                raise DatasetIndexTypeError(f"create_batch: positions must be one-dimensional, got {positions.shape}")
            if len(positions) and (positions.min() < -len(self) or positions.max() >= len(self)):
                raise DatasetIndexError(f"create_batch: a position is out of range for an index of {len(self)} items")
            return self.subset(positions)
        return self.create_subset(index)

    def create_subset(self, index: Any) -> DatasetIndex:
        """An index of the same class over the items with the given ids (a list, an array or an
        index); an id this index does not have is an IndexError that names it."""
        ids = index.indices if isinstance(index, DatasetIndex) else index
        if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
            ids = [ids]
        try:
            positions = self.get_pos(ids if isinstance(ids, (list, tuple, np.ndarray, range)) else list(ids))
        except KeyError as exc:
            raise DatasetIndexError(f"create_subset: {exc.args[0]}") from None
        return self.subset(positions)

    def calc_split(self, shares: float | Sequence[float] = 0.8) -> tuple[int, int, int]:
        """The sizes ``(train, test, validation)`` that :meth:`split` makes from ``shares``; a ValueError
        when they do not sum to at most 1, or when a share that is not zero would get no item."""
        return _split_sizes(len(self), shares, strict=True)

    def shuffle(self, shuffle: Shuffle | np.random.RandomState = False) -> np.ndarray:
        """The positions of the items in the order ``shuffle`` gives: ``False`` in order, ``True`` a
        fresh permutation, a seed (or a Generator, a RandomState) a permutation from
        :func:`make_rng` of it."""
        rng = make_rng(shuffle)
        if rng is None:
            return np.arange(len(self))
        return rng.permutation(len(self))

    def split(self, shares: float | Sequence[float] = 0.8, shuffle: Shuffle = False) -> None:
        """Split into ``train``, ``test`` and (with three shares) ``validation`` subsets.

        ``0.8`` gives 80% train and 20% test; ``(0.7, 0.2)`` gives 70/20 and 10% validation;
        ``(0.6, 0.2, 0.2)`` is explicit.
        """
        train, test, validation = _split_sizes(len(self), shares)
        order = self.shuffle(shuffle)
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


def _warn_if_repeated(ids: np.ndarray) -> None:
    try:
        unique = len(np.unique(ids)) == len(ids)
    except TypeError:  # ids of mixed types numpy cannot order
        unique = len(set(ids.tolist())) == len(ids)
    if not unique:
        warnings.warn("index ids are not unique: an item's position (get_pos) and create_subset "
                      "are then ambiguous", UserWarning, stacklevel=3)


def _split_sizes(n: int, shares: float | Sequence[float], strict: bool = False) -> tuple[int, int, int]:
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
    wanted = sum(1 for share in values if share > 1e-9)
    if strict and n < wanted:
        raise DatasetIndexError(f"an index of {n} item{'s' if n != 1 else ''} cannot be split into {wanted} "
                                f"non-empty parts (shares {shares!r})")
    for i in range(3):
        if values[i] > 1e-9 and sizes[i] == 0 and max(sizes) > 1:
            sizes[sizes.index(max(sizes))] -= 1
            sizes[i] = 1
    return sizes[0], sizes[1], sizes[2]


class FilesIndex(DatasetIndex):
    """An index of files (or folders) matched by one or more glob patterns; ids are base names.

    ``no_ext=True`` drops extensions from the ids, ``dirs=True`` matches folders instead of
    files, ``sort=True`` orders ids by name. Two paths with one id is an error naming both.
    A pattern that matches nothing gives an empty index. ``FilesIndex(index=ids, paths={id: path})``
    builds one from ids and their paths, as BatchFlow's does.
    """

    _empty_allowed = True

    def __init__(self, index: Any = None, *, path: str | Sequence[str] | None = None, dirs: bool = False,
                 no_ext: bool = False, sort: bool = False, paths: Mapping[Any, str] | None = None) -> None:
        if index is not None:
            super().__init__(index)
            self.dirs = dirs
            if isinstance(index, FilesIndex) and paths is None:
                self._paths = index._paths
                self.dirs = index.dirs
                return
            if paths is None:
                raise DatasetIndexError("FilesIndex(index=...) needs paths= (a dict of id -> path), "
                                        "or another FilesIndex")
            self._paths = dict(paths)
            missing = [key for key in self._ids.tolist() if key not in self._paths]
            if missing:
                raise DatasetIndexError(f"FilesIndex: paths= has no path for the id {missing[0]!r}")
            return
        if path is None:
            raise DatasetIndexError("FilesIndex needs path= (a glob pattern or a list of them)")
        patterns = [path] if isinstance(path, (str, os.PathLike)) else path
        if not isinstance(patterns, (list, tuple)):
            raise DatasetIndexTypeError(f"FilesIndex: path must be a glob pattern or a list of them, "
                                        f"not {type(path).__name__}")
        if not patterns:
            raise DatasetIndexError("FilesIndex: path= is an empty list; give at least one glob pattern")
        for pattern in patterns:
            if not isinstance(pattern, (str, os.PathLike)):
                raise DatasetIndexTypeError(f"FilesIndex: a path pattern must be a string, not {pattern!r}")
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
