"""Choosing the columns of a table that fit its width: by priority, whole columns only, so no value is
ever cut mid-way; the chosen ones keep their own order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Fitted:
    """A column that may be shown: its key, its width (its widest cell or label), and its rank (lower:
    kept first)."""

    key: str
    width: int
    rank: int


def fit(columns: Sequence[Fitted], width: int, padding: int = 1) -> list[str]:
    """The keys of the columns that fit in `width` cells, each taking its width plus `padding` on both
    sides: taken by rank until the next one does not fit (a later, narrower one may still), returned in
    the columns' own order. The first column by rank is always kept."""
    chosen: set[str] = set()
    used = 0
    for index, column in enumerate(sorted(columns, key=lambda c: c.rank)):
        need = column.width + 2 * padding
        if index == 0 or used + need <= width:
            chosen.add(column.key)
            used += need
    return [column.key for column in columns if column.key in chosen]
