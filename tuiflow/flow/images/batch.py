"""ImagesBatch: a batch of 2-D images with labels and masks, loaders and augmentation actions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from tuiflow.flow.actions import action
from tuiflow.flow.batch import Batch
from tuiflow.flow.images import io, ops, warp
from tuiflow.flow.images.item import Components, ImageItem, image_action, names, object_array
from tuiflow.flow.parallel import inbatch_parallel

Pair = tuple[float, float]


class ImagesBatch(Batch):
    """Images, their labels and their masks, with actions that load, augment and stack them.

    Storage: ``images`` and ``masks`` hold one numpy array per item, ``(height, width)`` or
    ``(height, width, channels)`` in the file's own dtype (uint8 for most), in a 1-D object array, so
    items may differ in size. Every image action leaves its ``dst`` in that form; :meth:`to_array`
    stacks the items into one array for a model. A component loaded as one stacked array, or as a
    list of PIL images, is read item by item just the same.

    Sizes and positions follow PIL: ``size=(width, height)``, ``origin=(x, y)``, ``offset=(x, y)``.

    Every augmentation takes ``p`` (the probability that an item is transformed; drawn per item),
    ``src`` (the component, or a list of them, to read; default ``"images"``) and ``dst`` (where the
    results go; default ``src``, and ``src`` is left untouched when they differ). Its other arguments
    can differ per item with ``P(...)``: ``.rotate(angle=P(R("uniform", -30, 30)), p=0.5)``. With
    ``src=("images", "masks")`` an item's image and mask get the same angle, crop, field...; masks
    (the components in ``mask_components``) are resampled nearest-neighbour and filled with
    ``mask_fill``, so they keep their labels.

    Random draws (which items, a random origin, noise, elastic fields) come from :attr:`random`; seed
    it for a repeatable run: ``.update(B("random"), R("integers", 2**62))`` under ``run(seed=...)``.
    """

    components = ("images", "labels", "masks")
    mask_components: ClassVar[tuple[str, ...]] = ("masks",)
    mask_fill: ClassVar[float] = 0

    # --- randomness -------------------------------------------------------------------------------
    # --- loading -------------------------------------------------------------------------------
    def _load_format(self, fmt: str, src: Any = None, dst: Components | None = None, **kwargs: Any) -> ImagesBatch:
        """``load(fmt="image")``: read the items' image files (see :meth:`load_images`)."""
        if fmt != "image":
            return super()._load_format(fmt, src=src, dst=dst, **kwargs)
        unknown = set(kwargs) - {"mode", "files"}
        if unknown:
            raise TypeError(f"load(fmt='image') got unexpected arguments: {', '.join(sorted(unknown))} "
                            "(it takes src, dst, mode and files)")
        return self.load_images(src, dst, **kwargs)

    def load_images(self, src: str | Sequence[str | None] | None = None, dst: Components | None = None,
                    mode: str | None = None, files: Mapping[str, str] | None = None) -> ImagesBatch:
        """Read each item's image files into ``dst``; what ``load(fmt="image", ...)`` calls.

        - A FilesIndex of files: each item's file goes to ``dst`` (default ``"images"``).
        - A FilesIndex of folders (``dirs=True``): each folder holds one file per component, found by
          stem: ``image.*`` for ``images`` and ``mask.*`` for ``masks`` (``dst`` defaults to both);
          ``files={"masks": "label.png"}`` names others (a stem, a file name or a glob).
        - ``src`` a folder (or one per ``dst`` component, None for the index's own paths): the file
          of the item's name in that folder, with any extension, e.g. masks kept beside the images.

        ``mode`` converts images (not masks) to a PIL mode, e.g. ``"RGB"`` or ``"L"``.
        """
        dirs = bool(getattr(self.index, "dirs", False))
        targets = names(dst if dst is not None else (("images", "masks") if dirs else "images"), "load: dst")
        folders = [src] * len(targets) if src is None or isinstance(src, str) else list(src)
        if len(folders) != len(targets):
            raise ValueError(f"load(fmt='image'): {len(folders)} src folders for {len(targets)} dst components")
        files = {**io.DEFAULT_FILES, **(files or {})}
        paths = [io.item_paths(self.index, self.indices, folder, name, files) for folder, name in zip(folders, targets)]
        modes = [None if name in self.mask_components else mode for name in targets]
        outputs = [object_array([None] * len(self)) for _ in targets]
        self._read_files(paths, modes, outputs)
        for name, output in zip(targets, outputs):
            setattr(self, name, output)
        return self

    @inbatch_parallel(init="positions", target="threads")
    def _read_files(self, pos: int, paths: list[list[str]], modes: list[str | None],
                    outputs: list[np.ndarray]) -> None:
        for component_paths, mode, output in zip(paths, modes, outputs):
            output[pos] = io.read_image(component_paths[pos], mode)

    # --- geometry --------------------------------------------------------------------------------
    @image_action
    def resize(self, item: ImageItem, size: tuple[int | None, int | None], resample: str = "bilinear", *,
               p: float = 1.0, src: Components = "images", dst: Components | None = None) -> None:
        """Resize to ``size=(width, height)``; a side of None keeps the aspect ratio. ``resample``
        is a PIL filter: nearest, bilinear, bicubic, lanczos, box or hamming."""
        item.apply(warp.resize, size=size, resample=resample)

    @image_action
    def scale(self, item: ImageItem, factor: float | Pair, preserve_shape: bool = False,
              origin: ops.Origin = "center", fill: Any = 0, resample: str = "bilinear", *,
              p: float = 1.0, src: Components = "images", dst: Components | None = None) -> None:
        """Scale by ``factor`` (or ``(fx, fy)``). With ``preserve_shape`` the result is cut back to the
        original size (a window at ``origin`` of the bigger image) or padded with ``fill`` around the
        smaller one (placed at ``origin``: a name such as "center" or "random", or (x, y))."""
        size = item.size
        new = warp.scaled_size(size, factor)
        at = ops.resolve_origin(origin, size, new, item.rng) if preserve_shape else None
        item.apply(warp.scale, size=new, origin=at, fill=fill, resample=resample)

    @image_action
    def rotate(self, item: ImageItem, angle: float, fill: Any = 0, expand: bool = False,
               center: Pair | None = None, resample: str = "bilinear", *,
               p: float = 1.0, src: Components = "images", dst: Components | None = None) -> None:
        """Rotate ``angle`` degrees counter-clockwise about ``center`` (default: the image's centre);
        uncovered corners are ``fill`` (a number or one per channel); ``expand`` grows the image to
        hold all of the rotated one."""
        item.apply(warp.rotate, angle=angle, fill=fill, expand=expand, center=center, resample=resample)

    @image_action
    def flip(self, item: ImageItem, mode: str = "lr", *,
             p: float = 1.0, src: Components = "images", dst: Components | None = None) -> None:
        """Mirror left-right (``mode="lr"``) or upside down (``"ud"``)."""
        item.apply(ops.flip, mode=mode)

    @image_action
    def crop(self, item: ImageItem, shape: int | tuple[int, int], origin: ops.Origin = "center", fill: Any = 0, *,
             p: float = 1.0, src: Components = "images", dst: Components | None = None) -> None:
        """Cut a window of ``shape=(width, height)`` at ``origin``: "center", "random" (anywhere it
        fits), "top_left", "top_right", "bottom_left", "bottom_right", (x, y) pixels or (fx, fy) floats
        in [0, 1]. Parts of the window outside the image are ``fill``."""
        shape = ops.box_size(shape, "crop: shape")
        at = ops.resolve_origin(origin, shape, item.size, item.rng)
        item.apply(ops.crop, origin=at, shape=shape, fill=fill)

    @image_action
    def pad(self, item: ImageItem, pad_width: int | Sequence[int], fill: Any = 0, mode: str = "constant", *,
            p: float = 1.0, src: Components = "images", dst: Components | None = None) -> None:
        """Add borders: ``pad_width`` is an int, ``(x, y)`` or ``(left, top, right, bottom)``; ``mode``
        is "constant" (``fill``), "edge", "reflect", "symmetric" or "wrap"."""
        item.apply(ops.pad, pad_width=pad_width, fill=fill, mode=mode)

    @image_action
    def shift(self, item: ImageItem, offset: Pair, mode: str = "const", fill: Any = 0, *,
              p: float = 1.0, src: Components = "images", dst: Components | None = None) -> None:
        """Move the content by ``offset=(x, y)`` pixels (right and down when positive); the uncovered
        part is ``fill`` (``mode="const"``) or what left the other side (``"wrap"``)."""
        item.apply(ops.shift, offset=offset, mode=mode, fill=fill)

    @image_action
    def elastic_transform(self, item: ImageItem, alpha: float, sigma: float, resample: str = "bilinear", *,
                          p: float = 1.0, src: Components = "images", dst: Components | None = None) -> None:
        """Warp by a random smooth field (Simard et al.): uniform noise blurred with ``sigma`` pixels,
        scaled by ``alpha`` pixels. ``resample`` is "bilinear" or "nearest"."""
        width, height = item.size
        dx, dy = warp.displacement((height, width), alpha, sigma, item.rng)
        item.apply(warp.remap, dx=dx, dy=dy, resample=resample)

    # --- pixels ------------------------------------------------------------------------------
    @image_action
    def invert(self, item: ImageItem, channels: str | int | Sequence[int] = "all", *,
               p: float = 1.0, src: Components = "images", dst: Components | None = None) -> None:
        """Invert ``channels`` ("all", an index or a list): ``255 - v`` for uint8, ``1 - v`` for floats."""
        item.apply(ops.invert, channels=channels)

    @image_action
    def additive_noise(self, item: ImageItem, noise: Any, clip: Pair | None = None, *,
                       p: float = 1.0, src: Components = "images", dst: Components | None = None) -> None:
        """Add noise: ``noise`` is the std of Gaussian noise, or a callable ``noise(size=shape)`` (given
        ``rng=`` too when it takes it). The dtype is kept; ``clip=(low, high)`` bounds the values."""
        item.apply(ops.additive_noise, noise=noise, rng=item.rng, clip=clip)

    @image_action
    def multiplicative_noise(self, item: ImageItem, noise: Any, clip: Pair | None = None, *,
                             p: float = 1.0, src: Components = "images", dst: Components | None = None) -> None:
        """Multiply by noise: ``noise`` is the std of Gaussian noise around 1, or a callable
        ``noise(size=shape)``. The dtype is kept; ``clip=(low, high)`` bounds the values."""
        item.apply(ops.multiplicative_noise, noise=noise, rng=item.rng, clip=clip)

    @image_action
    def cutout(self, item: ImageItem, origin: ops.Origin, shape: int | tuple[int, int], color: Any = 0, *,
               p: float = 1.0, src: Components = "images", dst: Components | None = None) -> None:
        """Paint a box of ``shape=(width, height)`` at ``origin`` (as for :meth:`crop`) with ``color``
        (a number or one per channel)."""
        shape = ops.box_size(shape, "cutout: shape")
        at = ops.resolve_origin(origin, shape, item.size, item.rng)
        item.apply(ops.cutout, origin=at, shape=shape, color=color)

    # --- to a model ---------------------------------------------------------------------------
    @action
    def to_array(self, dtype: Any = np.float32, channels: str | None = "last", src: Components = "images",
                 dst: Components | None = None) -> ImagesBatch:
        """Stack the items into one array ``(n, height, width, channels)`` (``channels="last"``) or
        ``(n, channels, height, width)`` (``"first"``); a 2-D image gets one channel. ``channels=None``
        stacks the items as they are (masks as ``(n, height, width)``). ``dtype`` None keeps the
        items' dtype; values are cast, not rescaled. Image actions expect channels last, so with
        ``"first"`` this is the last image action of a pipeline."""
        if channels not in ("last", "first", None):
            raise ValueError(f"to_array: channels must be 'last', 'first' or None, not {channels!r}")
        sources = names(src, "to_array: src")
        targets = sources if dst is None else names(dst, "to_array: dst")
        if len(targets) != len(sources):
            raise ValueError(f"to_array: dst names {len(targets)} components for {len(sources)} in src")
        for name, target in zip(sources, targets):
            values = getattr(self, name, None)
            array = _stacked(values, name, dtype, channels)
            setattr(self, target, array.copy() if array is values and target != name else array)
        return self


def _stacked(values: Any, name: str, dtype: Any, channels: str | None) -> np.ndarray:
    if values is None:
        raise ValueError(f"to_array: component {name!r} is empty; load it first")
    if isinstance(values, np.ndarray) and values.dtype != object:
        array = values
    else:
        items = [ops.as_array(value) for value in values]
        shapes = {item.shape for item in items}
        if len(shapes) > 1:
            raise ValueError(f"to_array: the items of {name!r} have different shapes "
                             f"({', '.join(map(str, sorted(shapes)[:3]))}); resize or crop them first")
        array = np.stack(items) if items else np.empty((0, 0, 0))
    if channels is not None and array.ndim == 3:
        array = array[..., None]
    if channels == "first":
        array = np.ascontiguousarray(np.moveaxis(array, -1, 1))
    return array.astype(dtype if dtype is not None else array.dtype, copy=False)
