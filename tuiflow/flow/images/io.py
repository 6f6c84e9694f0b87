"""Finding and reading image files: where each item's images are, and reading one into an array."""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

# In an item's folder (a FilesIndex with dirs=True), the file each component is read from, by stem.
DEFAULT_FILES = {"images": "image", "masks": "mask"}


def find_file(folder: str, pattern: str, what: str) -> str:
    """The one file in ``folder`` named ``pattern`` (a file name, a glob, or a stem: ``mask`` matches
    ``mask.png``)."""
    exact = os.path.join(folder, pattern)
    if os.path.isfile(exact):
        return exact
    matches = sorted(glob.glob(os.path.join(glob.escape(folder), pattern)))
    if not matches:
        matches = sorted(glob.glob(os.path.join(glob.escape(folder), glob.escape(pattern) + ".*")))
    matches = [path for path in matches if os.path.isfile(path)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise FileNotFoundError(f"load(fmt='image'): no file {pattern!r} or {pattern + '.*'!r} in {folder!r} "
                                f"for {what}")
    raise FileNotFoundError(f"load(fmt='image'): {len(matches)} files match {pattern!r} in {folder!r} for {what} "
                            f"({', '.join(os.path.basename(m) for m in matches[:3])}...); name one exactly")


def item_paths(index: Any, ids: Any, src: str | None, component: str, files: Mapping[str, str]) -> list[str]:
    """The file of each item for ``component``.

    With ``src`` None: the index's own paths, or for an index of folders the file ``files[component]``
    in each item's folder. With ``src`` a folder: the file of the item's name there (or its stem with
    any extension), so masks kept in a folder beside the images are found by the images' names.
    """
    dirs = bool(getattr(index, "dirs", False))
    has_paths = hasattr(index, "get_fullpath")
    if src is None and not has_paths:
        raise ValueError("load(fmt='image') needs a FilesIndex, or src= a folder holding files named by the ids")
    paths = []
    for item_id in ids:
        own = index.get_fullpath(item_id) if has_paths else None
        if src is None:
            if dirs:
                paths.append(find_file(own, files.get(component, component), f"component {component!r}"))
            else:
                paths.append(own)
            continue
        name = os.path.basename(os.path.normpath(own)) if own is not None else str(item_id)
        if dirs:
            paths.append(find_file(os.path.join(src, name), files.get(component, component),
                                   f"component {component!r}"))
        else:
            paths.append(find_file(src, name, f"item {item_id!r}") if os.path.isfile(os.path.join(src, name))
                         else find_file(src, os.path.splitext(name)[0], f"item {item_id!r}"))
    return paths


def read_image(path: str, mode: str | None = None) -> np.ndarray:
    """The image at ``path`` as an array, converted to PIL ``mode`` first when one is given."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if mode is not None and image.mode != mode:
                image = image.convert(mode)
            return np.array(image)
    except UnidentifiedImageError:
        raise ValueError(f"load(fmt='image'): {path!r} is not an image PIL can read") from None
