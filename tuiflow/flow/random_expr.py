"""Randomness and per-item values in named expressions: ``R`` draws, ``P`` gives one value per item.

``P(R("uniform", -10, 10))`` draws one angle per batch item: while P's expression is evaluated,
every ``R`` inside draws one value per item. An in-batch-parallel action then gives item ``i`` the
value ``i``; any other action gets the whole sequence (see ``unwrap_per_item``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from tuiflow.flow.errors import ExpressionError, SamplerError
from tuiflow.flow.named_expr import NamedExpression, evaluate
from tuiflow.flow.schemes import Sampler

if TYPE_CHECKING:
    from tuiflow.flow.context import Context


class R(NamedExpression):
    """A random draw per batch from numpy's Generator: ``R("uniform", -10, 10)``; ``R(sampler)`` draws
    one point of a sampler (``tuiflow.flow.distributions``) per batch.

    ``seed`` gives this expression a generator of its own, so its draws repeat run after run;
    without it, draws come from the run's generator (seeded by ``run(seed=...)``).
    """

    __slots__ = ("args", "distribution", "kwargs", "seed", "size")

    def __init__(self, distribution: str | Sampler, *args: Any, size: Any = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        if isinstance(distribution, Sampler):
            if args or kwargs:
                raise SamplerError(f"R({distribution!r}, ...): a sampler takes no distribution parameters in R")
        elif not isinstance(distribution, str) or distribution.startswith("_") \
                or not callable(getattr(np.random.Generator, distribution, None)):
            raise ValueError(f"R: numpy's Generator has no distribution {distribution!r}")
        self.distribution, self.args, self.kwargs = distribution, args, kwargs
        self.size, self.seed = size, seed

    def draw(self, ctx: Context, size: Any) -> Any:
        """Draw ``size`` values (``None`` for one; a sampler's points add their coordinates as the last axis)."""
        generator = ctx.generator_for(self)
        if isinstance(self.distribution, Sampler):
            shape = () if size is None else tuple(int(n) for n in np.atleast_1d(size))
            points = self.distribution.draw_for(ctx, math.prod(shape), generator)
            return points[0] if size is None else points.reshape(*shape, points.shape[1])
        args, kwargs = evaluate(self.args, ctx), evaluate(self.kwargs, ctx)
        return getattr(generator, self.distribution)(*args, size=size, **kwargs)

    def evaluate(self, ctx: Context) -> Any:
        size = evaluate(self.size, ctx)
        if ctx.items is not None:  # inside P(...): one draw per item
            size = (ctx.items,) if size is None else (ctx.items, *np.atleast_1d(size).tolist())
        return self.draw(ctx, size)

    def _children(self) -> tuple:
        return (*self.args, *self.kwargs.values(), self.size)

    def __repr__(self) -> str:
        if isinstance(self.distribution, Sampler):
            return f"R({self.distribution!r})"
        return f"R({self.distribution!r}, ...)"


class PerItem:
    """Values for each item of a batch (what ``P`` evaluates to): an in-batch-parallel action
    gives item ``i`` the value ``values[i]``; any other action gets the whole sequence."""

    __slots__ = ("values",)

    def __init__(self, values: Any) -> None:
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, i: int) -> Any:
        return self.values[i]

    def __repr__(self) -> str:
        return f"PerItem({self.values!r})"


def unwrap_per_item(value: Any) -> Any:
    """``value`` with every PerItem replaced by its values (for actions that take whole arrays)."""
    if isinstance(value, PerItem):
        return value.values
    if isinstance(value, list):
        return [unwrap_per_item(item) for item in value]
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(unwrap_per_item(item) for item in value)
    if isinstance(value, dict):
        return {key: unwrap_per_item(item) for key, item in value.items()}
    return value


class P(NamedExpression):
    """One value per batch item: ``P(R("uniform", -10, 10))`` draws one angle per item."""

    __slots__ = ("expr",)

    def __init__(self, expr: Any) -> None:
        self.expr = expr

    def evaluate(self, ctx: Context) -> PerItem:
        n = len(ctx.batch)
        # Every R inside draws one value per item while P's expression is evaluated, so
        # ``P(R("uniform", 0, 1) < 0.5)`` is a coin per item.
        outer, ctx.items = ctx.items, n
        try:
            values = evaluate(self.expr, ctx)
        finally:
            ctx.items = outer
        if isinstance(values, PerItem):
            return values
        if not hasattr(values, "__len__") or len(values) != n:
            got = (f"{len(values)} value{'s' if len(values) != 1 else ''}" if hasattr(values, "__len__")
                   else "one value")
            raise ExpressionError(f"P({self.expr!r}) gave {got} for a batch of {n} items")
        return PerItem(values)

    def _children(self) -> tuple:
        return (self.expr,)

    def __repr__(self) -> str:
        return f"P({self.expr!r})"


__all__ = ["P", "PerItem", "R", "unwrap_per_item"]
