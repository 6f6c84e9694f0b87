"""How an image action runs: once per item, on threads, with every random decision made up front.

:func:`image_action` turns a method ``method(self, item, ..., *, p, src, dst)`` into an action. Before
any item runs, on the calling thread, it checks ``p``, ``src`` and ``dst``, draws which items are
transformed (each with probability ``p``) and one seed for the call from the batch's generator, and
sets every ``dst`` component to a new object array whose items start as those of ``src`` (copies
when ``dst`` is another component). Then the method runs for each chosen item, in parallel, and
writes its results with :meth:`ImageItem.apply`. Draws on the calling thread make a seeded run
repeat exactly, whatever the order the threads take.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tuiflow.flow.actions import action
from tuiflow.flow.images import ops
from tuiflow.flow.parallel import inbatch_parallel

Components = str | Sequence[str]
_CONTROLS = ("p", "src", "dst")


class _Call:
    """One image action called on one batch: its sources, outputs and random decisions."""

    __slots__ = ("batch", "mask_fill", "masks", "outputs", "seed", "selected", "sources")

    def __init__(self, batch: Any, sources: list[Any], outputs: list[np.ndarray], masks: list[bool],
                 selected: np.ndarray, seed: int) -> None:
        self.batch, self.sources, self.outputs, self.masks = batch, sources, outputs, masks
        self.selected, self.seed = selected, seed
        self.mask_fill = getattr(batch, "mask_fill", 0)


class ImageItem:
    """One item of a batch as an image action's method sees it.

    ``rng`` is the item's own generator (seeded from the batch's, so a seeded run repeats); ``size``
    is the ``(width, height)`` of its images; ``apply(func, **params)`` sets each destination
    component of the item to ``func(source_image, **params)``. For mask components (the batch
    class's ``mask_components``) a ``resample`` parameter becomes ``"nearest"`` and ``fill`` becomes
    the class's ``mask_fill``, so masks keep their labels and follow the images pixel for pixel.
    """

    __slots__ = ("_call", "_rng", "pos")

    def __init__(self, call: _Call, pos: int) -> None:
        self._call, self.pos, self._rng = call, pos, None

    @property
    def id(self) -> Any:
        """The item's id in the batch's index."""
        return self._call.batch.indices[self.pos]

    @property
    def rng(self) -> np.random.Generator:
        """A generator for this item's draws (a random origin, an elastic field, noise)."""
        if self._rng is None:
            self._rng = np.random.default_rng([self._call.seed, self.pos])
        return self._rng

    def image(self, k: int = 0) -> np.ndarray:
        """The item's image in the ``k``-th source component."""
        return ops.as_array(self._call.sources[k][self.pos])

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the item's images, which must agree across the source components."""
        sizes = [ops.size_of(self.image(k)) for k in range(len(self._call.sources))]
        if any(size != sizes[0] for size in sizes[1:]):
            raise ValueError(f"item {self.id!r}: the source components have images of different sizes "
                             f"{sizes}; this action needs them equal")
        return sizes[0]

    def apply(self, func: Callable[..., np.ndarray], **params: Any) -> None:
        """Write ``func(image, **params)`` for each source component into its destination."""
        call, pos = self._call, self.pos
        for source, output, is_mask in zip(call.sources, call.outputs, call.masks):
            kwargs = params
            if is_mask and ("resample" in params or "fill" in params):
                kwargs = dict(params)
                if "resample" in kwargs:
                    kwargs["resample"] = "nearest"
                if "fill" in kwargs:
                    kwargs["fill"] = call.mask_fill
            output[pos] = func(ops.as_array(source[pos]), **kwargs)


def names(value: Any, what: str) -> tuple[str, ...]:
    """Component names from a name or a sequence of names."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TypeError(f"{what} must be a component name or a list of them, not {value!r}")


def object_array(values: Sequence[Any]) -> np.ndarray:
    """A 1-D object array of ``values`` (images of equal shapes stay separate items)."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        out[i] = value
    return out


def choose(rng: np.random.Generator, p: Any, n: int, what: str) -> np.ndarray:
    """Which of ``n`` items to transform: each with probability ``p`` (a number, or one per item)."""
    probability = np.asarray(p, dtype=np.float64)
    if probability.ndim > 1 or (probability.ndim == 1 and len(probability) != n):
        raise ValueError(f"{what}: p must be a number or one number per item, not {p!r}")
    if not np.all((probability >= 0) & (probability <= 1)):
        raise ValueError(f"{what}: p must lie in [0, 1], not {p!r}")
    if probability.ndim == 0 and probability >= 1:
        return np.ones(n, dtype=bool)
    if probability.ndim == 0 and probability <= 0:
        return np.zeros(n, dtype=bool)
    return rng.random(n) < probability


def prepare(batch: Any, what: str, p: Any, src: Any, dst: Any) -> list[ImageItem]:
    """Check the controls of an image action, make its random decisions and its output components."""
    sources_names = names(src, f"{what}: src")
    dst_names = sources_names if dst is None else names(dst, f"{what}: dst")
    if len(dst_names) != len(sources_names):
        raise ValueError(f"{what}: dst names {len(dst_names)} components for {len(sources_names)} in src")
    n = len(batch)
    sources = []
    for name in sources_names:
        values = getattr(batch, name, None)
        if values is None:
            raise ValueError(f"{what}: component {name!r} is empty; load it first (batch class "
                             f"{type(batch).__name__})")
        if len(values) != n:
            raise ValueError(f"{what}: component {name!r} has {len(values)} items for a batch of {n}")
        sources.append(values)
    rng = batch.random
    selected = choose(rng, p, n, what)
    seed = int(rng.integers(2**63))
    outputs = []
    for name, target, values in zip(sources_names, dst_names, sources):
        # Items start as their source: the same objects in place, copies in another component (a
        # chosen item is replaced by the action, so it needs no copy).
        keep = target == name
        outputs.append(object_array([
            ops.as_array(value) if keep or chosen else ops.as_array(value).copy()
            for value, chosen in zip(values, selected)
        ]))
    masks = [name in getattr(batch, "mask_components", ()) for name in sources_names]
    call = _Call(batch, sources, outputs, masks, selected, seed)
    for target, output in zip(dst_names, outputs):
        setattr(batch, target, output)
    return [ImageItem(call, pos) for pos in range(n)]


def image_action(method: Callable[..., Any]) -> Callable[..., Any]:
    """Make ``method(self, item: ImageItem, ..., *, p=1.0, src="images", dst=None)`` an action that
    runs it for each item chosen with probability ``p``, on threads; per-item arguments (``P(...)``)
    give each item its own value. ``p``, ``src`` and ``dst`` must be keyword-only parameters."""
    params = inspect.signature(method).parameters
    missing = [name for name in _CONTROLS
               if name not in params or params[name].kind is not inspect.Parameter.KEYWORD_ONLY]
    if missing:
        raise TypeError(f"image_action: {method.__qualname__} needs keyword-only parameters p, src and dst")
    defaults = {name: params[name].default for name in _CONTROLS}
    what = method.__name__

    def init(batch: Any, *args: Any, **kwargs: Any) -> list[ImageItem]:
        controls = {name: kwargs.get(name, defaults[name]) for name in _CONTROLS}
        return prepare(batch, what, controls["p"], controls["src"], controls["dst"])

    @functools.wraps(method)
    def run_item(self: Any, item: ImageItem, *args: Any, **kwargs: Any) -> None:
        if item._call.selected[item.pos]:
            method(self, item, *args, **kwargs)

    return action(inbatch_parallel(init=init, target="threads")(run_item))
