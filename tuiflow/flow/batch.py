"""Batch: a slice of a dataset's items, with named components and the actions that change them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from tuiflow.flow.actions import action
from tuiflow.flow.errors import FlowError
from tuiflow.flow.index import DatasetIndex


class Batch:
    """Items of a dataset for one step of a pipeline.

    Subclasses name their data in ``components`` (``("images", "labels")``); each becomes an
    attribute holding an array with one entry per item. Methods marked ``@action`` can be
    chained in pipelines.
    """

    components: ClassVar[tuple[str, ...]] = ()

    _set_in_init: ClassVar[tuple[str, ...]] = ()  # components that a class attribute does not default

    def __init__(self, index: DatasetIndex | Sequence[Any] | np.ndarray, dataset: Any = None,
                 preloaded: Any = None) -> None:
        direct = not isinstance(index, DatasetIndex)
        self.index = DatasetIndex(index) if direct else index
        self.dataset = dataset
        self._preloaded = preloaded
        for name in self._set_in_init:
            setattr(self, name, None)
        if direct and preloaded is not None:
            # Made by hand from ids and their data (BatchFlow's Batch(index, preloaded=data)): the
            # data is the batch's own, so it holds it at once; a dataset's batches load when told.
            self.load()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if isinstance(cls.components, str):
            cls.components = (cls.components,)
        cls.components = tuple(cls.components)
        # A component starts as None: a class attribute says so at no cost per batch, unless the
        # name is taken by something of the class's own (a property, say), which __init__ then sets.
        own = []
        for name in cls.components:
            if not any(name in klass.__dict__ for klass in cls.__mro__):
                setattr(cls, name, None)
            elif getattr(cls, name, None) is not None or name in cls._set_in_init:
                own.append(name)
        cls._set_in_init = tuple(own)

    # --- what a batch is ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.index)

    @property
    def size(self) -> int:
        """Number of items in the batch."""
        return len(self.index)

    @property
    def indices(self) -> np.ndarray:
        """Ids of the batch's items."""
        return self.index.indices

    def get_pos(self, item_id: Any) -> int:
        """Position of the item ``item_id`` in this batch (what in-batch-parallel methods need)."""
        return self.index.get_pos(item_id)

    @property
    def random(self) -> np.random.Generator:
        """The batch's own random generator, for actions that draw (augmentations). In a run it is
        seeded from the run's ``seed`` and the batch's number, so a seeded run repeats; elsewhere it
        starts from fresh entropy. Assign a Generator or a seed to replace it."""
        rng = self.__dict__.get("_random")
        if rng is None:
            seed = self.__dict__.get("_random_seed")
            if isinstance(seed, tuple):
                seed = np.random.SeedSequence(seed[0], spawn_key=(seed[1],))
            rng = self._random = np.random.default_rng(seed)
        return rng

    @random.setter
    def random(self, value: np.random.Generator | int | None) -> None:
        self._random = value if isinstance(value, np.random.Generator) else np.random.default_rng(value)

    @property
    def data(self) -> dict[str, Any]:
        """The components as a dict."""
        return {name: getattr(self, name) for name in self.components}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} items)"

    def __getstate__(self) -> dict[str, Any]:
        # A batch sent to a worker process travels without its dataset, which may hold every item.
        state = self.__dict__.copy()
        state["dataset"] = None
        state["_preloaded"] = None
        return state

    @classmethod
    def merge(cls, batches: Sequence[Batch], batch_size: int | None = None,
              components: Sequence[str] | None = None) -> tuple[Batch | None, Batch | None]:
        """One batch of the items of ``batches``, in order, and the rest: ``(merged, rest)``. With
        ``batch_size``, ``merged`` holds the first ``batch_size`` items and ``rest`` the others (None
        when there are none). Components (default: the first batch's) are concatenated: arrays with
        numpy, anything else as lists. The new batches' ids are the items' ids; they have no dataset."""
        batches = [batch for batch in batches if batch is not None]
        if not batches:
            return None, None
        names = tuple(components) if components is not None else batches[0].components
        ids = np.concatenate([batch.indices for batch in batches])
        total = len(ids)
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                       or batch_size < 1):
            raise FlowError(f"{cls.__name__}.merge: batch_size must be a whole number >= 1, not {batch_size!r}")
        cut = total if batch_size is None else min(int(batch_size), total)
        values = {name: _concatenated([getattr(batch, name, None) for batch in batches], name, cls.__name__)
                  for name in names}

        def part(start: int, stop: int) -> Batch:
            batch = cls(DatasetIndex(ids[start:stop]))
            if names != cls.components:
                batch.components = names
            for name, value in values.items():
                setattr(batch, name, None if value is None else value[start:stop])
            return batch

        return part(0, cut), (part(cut, total) if cut < total else None)

    # --- small actions of BatchFlow's --------------------------------------------------------------
    @action
    def do_nothing(self, *args: Any, **kwargs: Any) -> Batch:
        """Nothing: the batch as it is (its arguments are evaluated, so they can call things)."""
        return self

    @action
    def add_components(self, components: str | Sequence[str], init: Any = None) -> Batch:
        """Add components to this batch: ``add_components("masks", values)``, or several names with
        a tuple of values (``init`` None: every new one starts as None)."""
        names = (components,) if isinstance(components, str) else tuple(components)
        if isinstance(components, str):
            values: Sequence[Any] = (init,)
        elif init is None:
            values = (None,) * len(names)
        else:
            values = tuple(init)
            if len(values) != len(names):
                raise FlowError(f"add_components: {len(names)} names and {len(values)} values")
        taken = [name for name in names if name in self.components]
        if taken:
            raise FlowError(f"add_components: {type(self).__name__} already has the component {taken[0]!r}")
        self.components = (*self.components, *names)  # this batch's own: the class's stay as they are
        for name, value in zip(names, values):
            setattr(self, name, value)
        return self

    # --- loading -----------------------------------------------------------------------------------
    @action
    def load(self, src: Any = None, dst: str | Sequence[str] | None = None, fmt: str | None = None,
             copy: bool = True, **kwargs: Any) -> Batch:
        """Take the batch's items from ``src`` (an array, a tuple or a dict of arrays aligned with
        the dataset's full index), or from the dataset's ``preloaded`` data when ``src`` is None.

        ``dst`` names the components to fill (default: the batch's components, in order; a dict
        source fills the components named by its keys). ``fmt`` selects another loader in
        subclasses (``ImagesBatch.load(fmt="image")``).

        A batch owns its data: the items are copied, so an action may change them in place.
        ``copy=False`` takes views of numpy arrays where the items are consecutive (batches of an
        in-order epoch); an action that changed such a batch's data in place would change ``src``.
        ``Pipeline.run`` does this by itself when every step after ``load`` is a model action, which
        only reads the batch: see ``register_pipeline_action(..., reads_batch=True)``.
        """
        if fmt is not None:
            return self._load_format(fmt, src=src, dst=dst, **kwargs)
        if kwargs:
            raise TypeError(f"load() got unexpected arguments: {', '.join(kwargs)}")
        source = self._preloaded if src is None else src
        if source is None:
            raise FlowError(f"{type(self).__name__}.load(): no src given and the dataset has no preloaded data")
        positions = self.index.root_positions
        if dst is None and type(source) is tuple and len(source) <= len(self.components):
            pairs: Iterable[tuple[str, Any]] = zip(self.components, source)  # the common case, checked cheaply
        else:
            pairs = self._pairs(source, dst)
        run = self.index.root_slice
        for name, values in pairs:
            if type(values) is not np.ndarray:
                setattr(self, name, _take(values, positions, name))
            elif run is not None:
                # Views only of writable arrays: a batch's data is always writable (a memory map stays copied).
                setattr(self, name, values[run] if not copy and values.flags.writeable else values[run].copy())
            else:
                setattr(self, name, values[positions])
        return self

    def _load_format(self, fmt: str, **kwargs: Any) -> Batch:
        """Load items stored in format ``fmt``; subclasses that read files override this."""
        raise FlowError(f"{type(self).__name__}.load(): unknown fmt {fmt!r}")

    def _pairs(self, source: Any, dst: str | Sequence[str] | None) -> list[tuple[str, Any]]:
        if isinstance(dst, str):
            dst = (dst,)
        if isinstance(source, Mapping):
            names = list(source) if dst is None else list(dst)
            missing = [name for name in names if name not in source]
            if missing:
                raise FlowError(f"{type(self).__name__}.load(): the source has no {missing[0]!r}")
            return [(name, source[name]) for name in names]
        if isinstance(source, tuple):
            names = list(dst) if dst is not None else list(self.components)
            if len(names) < len(source) or (dst is not None and len(names) != len(source)):
                raise FlowError(
                    f"{type(self).__name__}.load(): {len(source)} arrays for {len(names)} components "
                    f"{tuple(names)}; give dst= with one name per array"
                )
            return list(zip(names, source))
        names = list(dst) if dst is not None else list(self.components[:1])
        if not names:
            raise FlowError(f"{type(self).__name__}.load(): the batch class has no components; give dst=")
        if len(names) > 1:
            raise FlowError(f"{type(self).__name__}.load(): one array for {len(names)} components "
                            f"{tuple(names)}; give a tuple or a dict of arrays")
        return [(names[0], source)]


def _concatenated(parts: list[Any], name: str, cls_name: str) -> Any:
    if all(part is None for part in parts):
        return None
    if any(part is None for part in parts):
        raise FlowError(f"{cls_name}.merge: component {name!r} is empty (None) in some batches but not in others")
    if all(isinstance(part, np.ndarray) for part in parts):
        return np.concatenate(parts)
    return [item for part in parts for item in part]


def _take(values: Any, positions: np.ndarray, name: str) -> Any:
    if isinstance(values, np.ndarray):
        return values[positions]
    if isinstance(values, (list, tuple)):
        return [values[i] for i in positions]
    try:
        return values[positions]  # other array-likes: torch tensors, pandas objects...
    except Exception as exc:
        raise FlowError(f"load(): cannot take items of component {name!r} from {type(values).__name__}") from exc
