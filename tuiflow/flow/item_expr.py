"""Item-wise named expressions: ``L`` works on each item of a component, ``PP`` evaluates once per item.

``L("objects").attr`` is the list of ``item.attr`` for every item of the component ``objects``;
attribute access, indexing and calls on an ``L`` expression apply to every item, and an ``L``
expression is a target too: ``update(L("objects").attr, 1)`` sets ``attr`` on each item.
``PP(R("normal"))`` evaluates its expression once per item (where ``P`` evaluates it once for
the whole batch), so an in-batch-parallel action gets an independent value for each item.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tuiflow.flow.errors import ExpressionError
from tuiflow.flow.named_expr import NamedExpression, evaluate
from tuiflow.flow.random_expr import PerItem

if TYPE_CHECKING:
    from tuiflow.flow.context import Context


class _ItemWise(NamedExpression):
    """An expression whose value is a list with one entry per batch item."""

    __slots__ = ()

    def items(self, ctx: Context) -> list[Any]:
        """The value for each item."""
        raise NotImplementedError

    def evaluate(self, ctx: Context) -> list[Any]:
        return self.items(ctx)

    def __getattr__(self, name: str) -> _ItemWise:
        if name.startswith("_"):
            raise AttributeError(name)
        return _ItemAttr(self, name)

    def __getitem__(self, key: Any) -> _ItemWise:
        return _ItemKey(self, key)

    def __call__(self, *args: Any, **kwargs: Any) -> _ItemWise:
        return _ItemCall(self, args, kwargs)


def _per_item(value: Any, n: int, what: str) -> list[Any]:
    """``value`` as one value per item: an item-wise value, or a sequence of ``n`` values, is
    split; anything else is given to every item."""
    if isinstance(value, PerItem):
        value = value.values
    if isinstance(value, (list, tuple)) or (hasattr(value, "__len__") and hasattr(value, "__getitem__")
                                            and not isinstance(value, (str, bytes, dict))):
        try:
            if len(value) == n:
                return [value[i] for i in range(n)]
        except TypeError:
            pass
    return [value] * n


def _split_args(values: Any, exprs: Any, n: int) -> list[Any]:
    # Arguments that are item-wise expressions give each item its own value; the others are shared.
    if isinstance(exprs, _ItemWise):
        return values
    return [values] * n


class L(_ItemWise):
    """Each item of a batch component: ``L("objects")`` is ``list(batch.objects)``;
    ``L("objects").attr``, ``L("objects").frame["col"]`` and ``L("objects").method(1)`` apply to
    every item. As a target, the component (or the attribute or key of each item) is set item by
    item, from a value with one entry per item, or from one value given to all."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def items(self, ctx: Context) -> list[Any]:
        try:
            component = getattr(ctx.batch, self.name)
        except AttributeError:
            raise ExpressionError(f"L({self.name!r}): batch class {type(ctx.batch).__name__} has no component "
                                  f"{self.name!r}") from None
        if component is None:
            raise ExpressionError(f"L({self.name!r}): the component {self.name!r} is empty (None)")
        return list(component)

    def assign(self, ctx: Context, value: Any) -> None:
        component = getattr(ctx.batch, self.name, None)
        n = len(ctx.batch)
        values = _per_item(value, n, repr(self))
        if component is None or len(component) != n:
            setattr(ctx.batch, self.name, values)
            return
        for i, item in enumerate(values):
            component[i] = item

    def __repr__(self) -> str:
        return f"L({self.name!r})"


class _ItemAttr(_ItemWise):
    __slots__ = ("attr", "parent")

    def __init__(self, parent: _ItemWise, attr: str) -> None:
        self.parent, self.attr = parent, attr

    def items(self, ctx: Context) -> list[Any]:
        return [getattr(item, self.attr) for item in self.parent.items(ctx)]

    def assign(self, ctx: Context, value: Any) -> None:
        owners = self.parent.items(ctx)
        for owner, item in zip(owners, _per_item(value, len(owners), repr(self))):
            setattr(owner, self.attr, item)

    def _children(self) -> tuple:
        return (self.parent,)

    def __repr__(self) -> str:
        return f"{self.parent!r}.{self.attr}"


class _ItemKey(_ItemWise):
    __slots__ = ("key", "parent")

    def __init__(self, parent: _ItemWise, key: Any) -> None:
        self.parent, self.key = parent, key

    def _keys(self, ctx: Context, n: int) -> list[Any]:
        return _split_args(evaluate(self.key, ctx), self.key, n)

    def items(self, ctx: Context) -> list[Any]:
        owners = self.parent.items(ctx)
        return [owner[key] for owner, key in zip(owners, self._keys(ctx, len(owners)))]

    def assign(self, ctx: Context, value: Any) -> None:
        owners = self.parent.items(ctx)
        values = _per_item(value, len(owners), repr(self))
        for owner, key, item in zip(owners, self._keys(ctx, len(owners)), values):
            owner[key] = item

    def _children(self) -> tuple:
        return (self.parent, self.key)

    def __repr__(self) -> str:
        return f"{self.parent!r}[{self.key!r}]"


class _ItemCall(_ItemWise):
    __slots__ = ("args", "kwargs", "parent")

    def __init__(self, parent: _ItemWise, args: tuple, kwargs: dict) -> None:
        self.parent, self.args, self.kwargs = parent, args, kwargs

    def items(self, ctx: Context) -> list[Any]:
        funcs = self.parent.items(ctx)
        n = len(funcs)
        args = [_split_args(evaluate(arg, ctx), arg, n) for arg in self.args]
        kwargs = {key: _split_args(evaluate(arg, ctx), arg, n) for key, arg in self.kwargs.items()}
        return [func(*(arg[i] for arg in args), **{key: arg[i] for key, arg in kwargs.items()})
                for i, func in enumerate(funcs)]

    def _children(self) -> tuple:
        return (self.parent, *self.args, *self.kwargs.values())

    def __repr__(self) -> str:
        return f"{self.parent!r}(...)"


class PP(NamedExpression):
    """One evaluation per batch item: ``PP(R("normal", 0, 1))`` draws anew for each item, and
    ``PP(F(make_params))`` calls ``make_params()`` once per item. Like ``P``, an in-batch-parallel
    action gives item ``i`` the ``i``-th value, any other action the whole list."""

    __slots__ = ("expr",)

    def __init__(self, expr: Any) -> None:
        self.expr = expr

    def evaluate(self, ctx: Context) -> PerItem:
        return PerItem([evaluate(self.expr, ctx) for _ in range(len(ctx.batch))])

    def _children(self) -> tuple:
        return (self.expr,)

    def __repr__(self) -> str:
        return f"PP({self.expr!r})"


__all__ = ["PP", "L"]
