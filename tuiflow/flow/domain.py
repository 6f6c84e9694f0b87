"""Grids of configs: ``Option`` and ``Domain``, an algebra in the style of BatchFlow's research module.

``Domain(lr=[1e-3, 1e-2]) * Domain(hidden=[64, 128])`` is the product (4 configs), ``+`` concatenates
(the configs of one, then of the other) and ``@`` zips (the i-th config of one with the i-th of the
other; both must have the same length). Iterating a domain gives plain dicts.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any


class Option:
    """One parameter and the values it takes: ``Option("lr", [1e-3, 1e-2])``."""

    def __init__(self, name: str, values: Iterable[Any]) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"Option: the name must be a non-empty string, not {name!r}")
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise ValueError(f"Option {name!r}: values must be a list, not {values!r}")
        self.name = name
        self.values = list(values)

    def __repr__(self) -> str:
        return f"Option({self.name!r}, {self.values!r})"

    def _as_domain(self) -> Domain:
        return Domain._of([{self.name: value} for value in self.values])

    def __mul__(self, other: Option | Domain) -> Domain:
        return self._as_domain() * other

    def __add__(self, other: Option | Domain) -> Domain:
        return self._as_domain() + other

    def __matmul__(self, other: Option | Domain) -> Domain:
        return self._as_domain() @ other


class Domain:
    """A list of configs built by product, concatenation and zip.

    ``Domain(lr=[1e-3, 1e-2], hidden=[64])`` or ``Domain({"lr": [...]})`` is the product of its
    options; ``Domain()`` is the one empty config; ``Domain.of([{...}, {...}])`` takes configs as given.
    """

    def __init__(self, options: Mapping[str, Iterable[Any]] | Option | Sequence[Option] | None = None,
                 **kwargs: Iterable[Any]) -> None:
        if isinstance(options, Option):
            parts: list[Option] = [options]
        elif isinstance(options, Mapping):
            parts = [Option(k, v) for k, v in options.items()]
        elif options is None:
            parts = []
        else:
            parts = list(options)
            if not all(isinstance(p, Option) for p in parts):
                raise ValueError("Domain: give a dict of lists, an Option or a list of Options")
        parts += [Option(k, v) for k, v in kwargs.items()]
        names = [p.name for p in parts]
        if len(set(names)) != len(names):
            raise ValueError(f"Domain: a parameter appears twice: {names}")
        self._configs = [dict(zip(names, combo)) for combo in itertools.product(*(p.values for p in parts))]

    @classmethod
    def _of(cls, configs: list[dict[str, Any]]) -> Domain:
        domain = object.__new__(cls)
        domain._configs = configs
        return domain

    @classmethod
    def of(cls, configs: Iterable[Mapping[str, Any]]) -> Domain:
        """A domain of exactly these configs."""
        return cls._of([dict(c) for c in configs])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (dict(c) for c in self._configs)

    def __len__(self) -> int:
        return len(self._configs)

    def __bool__(self) -> bool:
        return bool(self._configs)

    def parameters(self) -> list[str]:
        """Every parameter name any config sets, in first-seen order."""
        return list(dict.fromkeys(key for config in self._configs for key in config))

    def __repr__(self) -> str:
        return f"Domain({len(self)} configs over {self.parameters()})"

    @staticmethod
    def _coerce(other: Any) -> Domain:
        if isinstance(other, Domain):
            return other
        if isinstance(other, Option):
            return other._as_domain()
        if isinstance(other, Mapping):
            return Domain(other)
        raise TypeError(f"cannot combine a Domain with {type(other).__name__}")

    def __mul__(self, other: Any) -> Domain:
        other = self._coerce(other)
        overlap = set(self.parameters()) & set(other.parameters())
        if overlap:
            raise ValueError(f"Domain product: both sides set {sorted(overlap)}")
        return Domain._of([{**a, **b} for a in self._configs for b in other._configs])

    def __add__(self, other: Any) -> Domain:
        return Domain._of(self._configs + self._coerce(other)._configs)

    def __matmul__(self, other: Any) -> Domain:
        other = self._coerce(other)
        if len(self) != len(other):
            raise ValueError(f"Domain zip (@): {len(self)} configs and {len(other)} configs; lengths must match")
        overlap = set(self.parameters()) & set(other.parameters())
        if overlap:
            raise ValueError(f"Domain zip (@): both sides set {sorted(overlap)}")
        return Domain._of([{**a, **b} for a, b in zip(self._configs, other._configs)])

    __rmul__ = __mul__
