"""Config: a dict with ``"a/b"`` nested keys, as pipelines and recipes use it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

_MISSING = object()


class Config(dict):
    """A nested dict whose keys may be paths: ``cfg["model/lr"]`` is ``cfg["model"]["lr"]``.

    Nested dicts given to the constructor or assigned later are kept as plain dicts inside;
    ``flatten()`` gives the ``"a/b"`` view, ``update`` merges nested keys instead of replacing.
    """

    def __init__(self, data: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.update(data or {}, **kwargs)

    # --- path access -------------------------------------------------------------------------
    def _parent(self, key: str, create: bool) -> tuple[dict | None, str]:
        parts = key.strip("/").split("/")
        node: dict = self
        for part in parts[:-1]:
            child = dict.get(node, part, _MISSING)
            if child is _MISSING or not isinstance(child, dict):
                if not create:
                    return None, parts[-1]
                child = {}
                node[part] = child  # plain dict assignment: nested levels are plain dicts
            node = child
        return node, parts[-1]

    def __getitem__(self, key: str) -> Any:
        if isinstance(key, str) and "/" in key:
            node, last = self._parent(key, create=False)
            if node is None or last not in node:
                raise KeyError(key)
            return node[last]
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(key, str) and "/" in key:
            node, last = self._parent(key, create=True)
            if node is self:
                super().__setitem__(last, value)
            else:
                node[last] = value  # type: ignore[index]
        else:
            super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        if isinstance(key, str) and "/" in key:
            node, last = self._parent(key, create=False)
            if node is None or last not in node:
                raise KeyError(key)
            del node[last]
        else:
            super().__delitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str) and "/" in key:
            node, last = self._parent(key, create=False)
            return node is not None and last in node
        return super().__contains__(key)

    def get(self, key: str, default: Any = None) -> Any:
        """The value at ``key`` (a path allowed), or ``default``."""
        try:
            return self[key]
        except KeyError:
            return default

    def setdefault(self, key: str, default: Any = None) -> Any:
        """The value at ``key`` (a path allowed); set to ``default`` first when missing."""
        if key not in self:
            self[key] = default
        return self[key]

    def pop(self, key: str, *default: Any) -> Any:
        """Remove ``key`` (a path allowed) and return its value."""
        try:
            value = self[key]
        except KeyError:
            if default:
                return default[0]
            raise
        del self[key]
        return value

    def update(self, other: Mapping[str, Any] | None = None, **kwargs: Any) -> None:  # type: ignore[override]
        """Merge ``other``: nested dicts are merged key by key, other values replace."""
        items = list((other or {}).items()) + list(kwargs.items())
        for key, value in items:
            if isinstance(value, Mapping) and key in self and isinstance(self[key], dict):
                _merge(self[key], value)
            elif isinstance(value, Mapping):
                self[key] = _merge({}, value)
            else:
                self[key] = value

    def flatten(self) -> dict[str, Any]:
        """The config as one level of ``"a/b"`` keys."""
        return dict(_flatten(self, ""))

    def copy(self) -> Config:
        """A deep copy of the nested structure (leaf values are shared)."""
        return Config(self)

    def __or__(self, other: Mapping[str, Any]) -> Config:
        merged = self.copy()
        merged.update(other)
        return merged

    def __ior__(self, other: Mapping[str, Any]) -> Config:  # type: ignore[override,misc]
        self.update(other)
        return self

    def __repr__(self) -> str:
        return f"Config({dict.__repr__(self)})"


def _merge(target: dict, source: Mapping[str, Any]) -> dict:
    for key, value in source.items():
        if "/" in key:
            head, _, rest = key.partition("/")
            sub = dict.get(target, head)
            if not isinstance(sub, dict):  # a path through a leaf replaces the leaf, as cfg[path] = v does
                sub = {}
                dict.__setitem__(target, head, sub)
            _merge(sub, {rest: value})
        elif isinstance(value, Mapping):
            sub = dict.get(target, key)
            if not isinstance(sub, dict):
                sub = {}
                dict.__setitem__(target, key, sub)
            _merge(sub, value)
        else:
            dict.__setitem__(target, key, value)
    return target


def _flatten(node: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, path + "/")
        else:
            yield path, value
