"""Config: a dict with ``"a/b"`` nested keys, as pipelines and recipes use it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from tuiflow.flow.errors import ConfigError, ConfigKeyTypeError

_MISSING = object()


class Config(dict):
    """A nested dict whose keys may be paths: ``cfg["model/lr"]`` is ``cfg["model"]["lr"]``.

    Nested dicts given to the constructor or assigned later are kept as plain dicts inside;
    ``flatten()`` gives the ``"a/b"`` view, ``update`` (and ``put``, ``+``) merges nested keys
    instead of replacing. Keys are strings. As BatchFlow's Config, it can be built from a list of
    ``(key, value)`` pairs, and ``items``/``keys``/``values`` take ``flatten=True``.
    """

    def __init__(self, data: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.update(data or {}, **kwargs)

    @property
    def config(self) -> Config:
        """The config itself (BatchFlow's ``config.config``)."""
        return self

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

    def pop(self, key: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Remove ``key`` (a path allowed) and return its value; ``pop(key, default)`` or
        ``pop(key, default=...)`` returns the default when it is missing."""
        if len(args) + len(kwargs) > 1 or set(kwargs) - {"default"}:
            raise TypeError("pop(key[, default]) takes one default at most")
        try:
            value = self[key]
        except KeyError:
            if args or kwargs:
                return args[0] if args else kwargs["default"]
            raise
        del self[key]
        return value

    def put(self, key: str, value: Any) -> None:
        """Set ``key`` (a path allowed), merging a dict value into a dict already there."""
        self.update({key: value})

    def update(self, other: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,  # type: ignore[override]
               **kwargs: Any) -> None:
        """Merge ``other`` (a mapping, or ``(key, value)`` pairs): nested dicts are merged key by key,
        other values replace."""
        items = _pairs(other) + list(kwargs.items())
        for key, value in items:
            _check_key(key)
            if isinstance(value, Mapping) and key in self and isinstance(self[key], dict):
                _merge(self[key], value)
            elif isinstance(value, Mapping):
                self[key] = _merge({}, value)
            else:
                self[key] = value

    def flatten(self) -> dict[str, Any]:
        """The config as one level of ``"a/b"`` keys."""
        return dict(_flatten(self, ""))

    def items(self, flatten: bool = False) -> Any:  # type: ignore[override]
        """``(key, value)`` pairs; with ``flatten=True`` the ``"a/b"`` keys of the leaves."""
        return self.flatten().items() if flatten else dict.items(self)

    def keys(self, flatten: bool = False) -> Any:  # type: ignore[override]
        """The keys; with ``flatten=True`` the ``"a/b"`` keys of the leaves."""
        return self.flatten().keys() if flatten else dict.keys(self)

    def values(self, flatten: bool = False) -> Any:  # type: ignore[override]
        """The values; with ``flatten=True`` the leaves."""
        return self.flatten().values() if flatten else dict.values(self)

    def copy(self) -> Config:
        """A deep copy of the nested structure (leaf values are shared)."""
        return Config(self)

    def __or__(self, other: Mapping[str, Any]) -> Config:
        merged = self.copy()
        merged.update(other)
        return merged

    def __add__(self, other: Mapping[str, Any]) -> Config:
        """``a + b``: a new config, ``a`` merged with ``b`` (as BatchFlow adds configs)."""
        if not isinstance(other, Mapping):
            return NotImplemented
        return self | other

    def __iadd__(self, other: Mapping[str, Any]) -> Config:
        self.update(other)
        return self

    def __ior__(self, other: Mapping[str, Any]) -> Config:  # type: ignore[override,misc]
        self.update(other)
        return self

    def __repr__(self) -> str:
        return f"Config({dict.__repr__(self)})"


def _pairs(other: Any) -> list[tuple[str, Any]]:
    if other is None:
        return []
    if isinstance(other, Mapping):
        return list(other.items())
    if isinstance(other, (str, bytes)) or not isinstance(other, Iterable):
        raise ConfigError(f"Config: build it from a dict or from (key, value) pairs, not {type(other).__name__}")
    pairs = []
    for pair in other:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ConfigError(f"Config: {pair!r} is not a (key, value) pair")
        pairs.append((pair[0], pair[1]))
    return pairs


def _check_key(key: Any) -> None:
    if not isinstance(key, str):
        raise ConfigKeyTypeError(f"Config: keys are strings (paths as 'a/b'), not {key!r}")


def _merge(target: dict, source: Mapping[str, Any]) -> dict:
    for key, value in source.items():
        if isinstance(key, str) and "/" in key:
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
