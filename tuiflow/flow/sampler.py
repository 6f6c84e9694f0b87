"""How an index is cut into batches: epochs, shuffling, drop_last, n_iters."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from tuiflow.flow.errors import DatasetIndexError

Shuffle = bool | int | np.random.Generator | np.random.SeedSequence


@dataclass(frozen=True)
class BatchPlan:
    """A checked request for batches over ``size`` items."""

    size: int
    batch_size: int
    shuffle: Shuffle = False
    n_epochs: int | None = None
    n_iters: int | None = None
    drop_last: bool = False

    @classmethod
    def make(cls, size: int, batch_size: int, shuffle: Shuffle = False, n_epochs: int | None = None,
             n_iters: int | None = None, drop_last: bool = False, *, default_epochs: int | None = 1
             ) -> BatchPlan:
        """Validate the arguments; with neither ``n_epochs`` nor ``n_iters``, use ``default_epochs``."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise DatasetIndexError(f"batch_size must be a whole number >= 1, not {batch_size!r}")
        if n_epochs is not None and n_iters is not None:
            raise DatasetIndexError("give n_epochs or n_iters, not both")
        for name, value in (("n_epochs", n_epochs), ("n_iters", n_iters)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                                      or value < 0):
                raise DatasetIndexError(f"{name} must be a whole number >= 0, not {value!r}")
        if drop_last and batch_size > size:
            raise DatasetIndexError(
                f"batch_size {batch_size} is larger than the index ({size} items) and drop_last=True "
                "would drop every batch"
            )
        if n_epochs is None and n_iters is None:
            n_epochs = default_epochs
        return cls(size, int(batch_size), shuffle, n_epochs, n_iters, bool(drop_last))

    @property
    def batches_per_epoch(self) -> int:
        """Batches in one pass over the items."""
        if self.size == 0:
            return 0
        return self.size // self.batch_size if self.drop_last else math.ceil(self.size / self.batch_size)

    @property
    def total(self) -> int | None:
        """Batches the plan yields in all, or ``None`` when it never ends."""
        if self.n_iters is not None:
            return self.n_iters if self.batches_per_epoch else 0
        if self.n_epochs is None:
            return None
        return self.n_epochs * self.batches_per_epoch

    def positions(self) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(epoch, positions)`` for every batch: positions into the index, each item once
        per epoch."""
        for epoch, positions, _ in self.batches():
            yield epoch, positions

    def batches(self) -> Iterator[tuple[int, np.ndarray, slice | None]]:
        """Yield ``(epoch, positions, run)`` for every batch; ``run`` is the slice the positions
        are when they are consecutive (batches in order), else None: a slice of an array is
        cheaper to copy than its items are to gather."""
        total, per_epoch = self.total, self.batches_per_epoch
        if per_epoch == 0 or total == 0:
            return
        rng = _generator(self.shuffle)
        size, batch_size = self.size, self.batch_size
        ordered = _ordered(size)
        stop = per_epoch * batch_size if self.drop_last else size
        produced, epoch = 0, 0
        while True:
            order = ordered if rng is None else rng.permutation(size)
            for start in range(0, stop, batch_size):
                end = min(start + batch_size, size)
                yield epoch, order[start:end], slice(start, end) if rng is None else None
                produced += 1
                if total is not None and produced >= total:
                    return
            epoch += 1


_ORDERED: dict[int, np.ndarray] = {}


def _ordered(size: int) -> np.ndarray:
    # 0..size-1, made once per size rather than at every run: in-order batches are views of it,
    # so it is read-only.
    ordered = _ORDERED.get(size)
    if ordered is None:
        if len(_ORDERED) >= 8:
            _ORDERED.pop(next(iter(_ORDERED)))
        ordered = _ORDERED[size] = np.arange(size)
        ordered.flags.writeable = False
    return ordered


def make_rng(seed: Shuffle | np.random.BitGenerator | np.random.RandomState | None = None
             ) -> np.random.Generator | np.random.RandomState | None:
    """A random generator from what ``shuffle=`` and ``seed=`` accept: ``False`` gives None (no
    randomness), ``None`` or ``True`` a generator from fresh entropy, a whole number or a
    SeedSequence numpy's default generator seeded with it, a BitGenerator a Generator over it; a
    Generator (or a legacy RandomState) is returned as it is. Anything else is a DatasetIndexError.
    (BatchFlow's make_rng seeds SFC64 where this seeds numpy's default, PCG64.)"""
    if seed is False:
        return None
    if seed is None or seed is True:
        return np.random.default_rng()
    if isinstance(seed, (np.random.Generator, np.random.RandomState)):
        return seed
    if isinstance(seed, (int, np.integer, np.random.SeedSequence, np.random.BitGenerator)):
        return np.random.default_rng(seed)
    raise DatasetIndexError(f"a seed must be False, True, a whole number, a SeedSequence or a numpy Generator, "
                            f"not {seed!r}")


def _generator(shuffle: Shuffle) -> np.random.Generator | None:
    if shuffle is None:
        return None
    try:
        return make_rng(shuffle)  # type: ignore[return-value]
    except DatasetIndexError:
        raise DatasetIndexError(f"shuffle must be False, True, a seed or a numpy Generator, not {shuffle!r}") from None
