"""Views of the items of component data, by id: BatchFlow's ``create_item_class``.

``create_item_class(("images", "labels"), source)`` gives an object whose ``images`` and
``labels`` are the source's columns; ``create_item_class(components, view, ids)`` the same for
the items with those ids only, and ``view[id]`` one item. A source is a tuple of arrays (one per
component), a dict of arrays, a dict of dicts keyed by item id, or a table with ``.loc`` (a pandas
DataFrame: pandas is never imported here). Array columns are indexed by position, which is the
id for an index of 0..n-1 (as in BatchFlow). Reading gives new arrays: writing into what a view
returned never changes the source; assigning to a view's attribute does.

Without component names, ``create_item_class(None, source, ids)`` is the source cut to those
ids: each array of a tuple or a dict, the rows of a table, or the items of an array.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tuiflow.flow.errors import FlowError


def is_iterable(value: Any) -> bool:
    """Whether ``value`` can be iterated over and is not a string."""
    if isinstance(value, str):
        return False
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _is_table(value: Any) -> bool:
    return hasattr(value, "loc") and hasattr(value, "columns")


def _many(ids: Any) -> bool:
    return is_iterable(ids) and not isinstance(ids, (bytes, tuple))


class ItemView:
    """The items with ``ids`` (all when None) of the components of ``root`` (see the module doc)."""

    components: tuple[str, ...] = ()

    def __init__(self, root: Any, ids: Any = None) -> None:
        self._root = root
        self._ids = list(ids) if isinstance(ids, range) else ids

    @property
    def indices(self) -> Any:
        """The ids of the items of this view (None: all)."""
        return self._ids

    def _column(self, name: str) -> Any:
        return self._root[name]

    def get(self, name: str) -> Any:
        """The values of component ``name`` for this view's items."""
        column, ids = self._column(name), self._ids
        if hasattr(column, "loc"):  # a pandas Series
            values = column if ids is None else column.loc[list(ids) if _many(ids) else ids]
            if not hasattr(values, "to_numpy"):
                return values  # one item's value
            # a copy of the items: pandas hands out read-only views, and a view's data is its own
            return values.to_numpy() if ids is None else values.to_numpy(copy=True)
        if isinstance(column, Mapping):  # item id -> value
            if ids is None:
                return column
            return np.stack([column[i] for i in ids]) if _many(ids) else column[ids]
        if ids is None:
            return column
        return np.asarray(column)[np.asarray(ids) if _many(ids) else ids]

    def set(self, name: str, value: Any) -> None:
        """Write ``value`` into component ``name`` of the source, for this view's items."""
        column, ids = self._column(name), self._ids
        if ids is None:
            self._root[name] = value
            return
        if _is_table(self._root):  # through the table itself: pandas copies a column on write
            self._root.loc[list(ids) if _many(ids) else ids, name] = value
        elif hasattr(column, "loc"):
            column.loc[list(ids) if _many(ids) else ids] = value
        elif isinstance(column, Mapping):
            for i, item in zip(ids, value) if _many(ids) else [(ids, value)]:
                column[i] = item
        else:
            column[np.asarray(ids) if _many(ids) else ids] = value

    def __getitem__(self, item: Any) -> ItemView:
        if self._ids is not None and item not in (list(self._ids) if _many(self._ids) else [self._ids]):
            raise KeyError(f"{item!r} is not an item of this view")
        return type(self)(self._root, item)

    def __len__(self) -> int:
        if self._ids is not None:
            return len(self._ids) if _many(self._ids) else 1
        return len(self.get(self.components[0])) if self.components else 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self.components)}; {len(self)} items)"


_VIEW_CLASSES: dict[tuple[str, ...], type[ItemView]] = {}


def _view_class(components: tuple[str, ...]) -> type[ItemView]:
    # One class per set of names, with a property per component: attribute access is checked by
    # Python, not resolved late by __getattr__.
    cls = _VIEW_CLASSES.get(components)
    if cls is None:
        def accessor(name: str) -> property:
            return property(lambda self: self.get(name), lambda self, value: self.set(name, value),
                            doc=f"Component {name!r} of the view's items.")

        namespace: dict[str, Any] = {"components": components}
        namespace.update({name: accessor(name) for name in components})
        cls = _VIEW_CLASSES[components] = type("Items", (ItemView,), namespace)
    return cls


def create_item_class(components: str | Sequence[str] | None, source: Any = None, indices: Any = None,
                      crop: bool | None = None, copy: bool = False, cast_to_array: bool = True) -> Any:
    """A view of the items ``indices`` (all when None) of ``source``'s components (see the module
    doc); ``crop`` and ``cast_to_array`` are BatchFlow's and change nothing here; ``copy=True``
    copies the data first."""
    del crop, cast_to_array
    if components is None:
        return _cut(source, indices, copy)
    names = (components,) if isinstance(components, str) else tuple(components)
    if isinstance(source, ItemView):
        root = source._root
    elif isinstance(source, (list, tuple)):
        if len(source) != len(names):
            raise FlowError(f"create_item_class: {len(source)} arrays for {len(names)} components {names}")
        root = dict(zip(names, source))
    elif isinstance(source, Mapping) or _is_table(source):
        root = source
    else:
        raise FlowError(f"create_item_class: the source must be a tuple or a dict of arrays, a dict of dicts or "
                        f"a table, not {type(source).__name__}")
    if copy:
        import copy as copying

        root = copying.deepcopy(root)
    return _view_class(names)(root, indices)


def _cut(source: Any, ids: Any, copy: bool) -> Any:
    if ids is not None:
        key = np.asarray(ids) if _many(ids) else ids
        if isinstance(source, (list, tuple)):
            source = type(source)(None if item is None else item[key] for item in source)
        elif isinstance(source, Mapping):
            source = {name: item[key] for name, item in source.items()}
        elif _is_table(source):
            source = source.loc[list(ids) if _many(ids) else ids]
        else:
            source = source[key]
    if copy:
        import copy as copying

        source = copying.deepcopy(source)
    return source


__all__ = ["ItemView", "create_item_class", "is_iterable"]
