"""Named expressions: values a pipeline computes per batch, just before an action runs.

``B`` batch data, ``V`` pipeline variables, ``C`` pipeline config, ``F`` calls, ``I`` the
iteration counter, ``D`` dataset attributes (``R`` random draws and ``P`` one value per batch item
live in ``random_expr``).
Arithmetic, indexing, attribute access and calls on an expression build a new expression, so
``V("n") + B("size")`` and ``B("images").shape[0]`` are expressions too.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tuiflow.flow.errors import ExpressionError

if TYPE_CHECKING:
    from tuiflow.flow.context import Context

_NO_DEFAULT = object()


class NamedExpression:
    """Base class: something evaluated against a :class:`Context` when a batch is processed."""

    __slots__ = ()
    # numpy must not broadcast over an expression (``np.arange(3) * V("a")``): with this set, it
    # hands the operation back to the expression's reflected operator.
    __array_ufunc__ = None

    def evaluate(self, ctx: Context) -> Any:
        """The value of the expression for the current batch."""
        raise NotImplementedError

    def assign(self, ctx: Context, value: Any) -> None:
        """Store ``value`` (for ``save_to=`` and ``update``); only ``B`` and ``V`` can be assigned."""
        raise ExpressionError(f"{self!r} cannot be assigned to; use B(...) or V(...)")

    def _children(self) -> tuple:
        """The values this expression is built from, for walking an expression tree."""
        return ()

    # Building bigger expressions. Comparison for equality stays Python's identity equality, so
    # expressions can live in sets and dict keys; use F(operator.eq)(a, b) to compare values.
    def __getattr__(self, name: str) -> NamedExpression:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Attr(self, name)

    def __getitem__(self, key: Any) -> NamedExpression:
        return _Item(self, key)

    def __call__(self, *args: Any, **kwargs: Any) -> NamedExpression:
        return _Call(self, args, kwargs)

    def __neg__(self) -> NamedExpression:
        return _Unary(operator.neg, self)

    def __pos__(self) -> NamedExpression:
        return _Unary(operator.pos, self)

    def __abs__(self) -> NamedExpression:
        return _Unary(operator.abs, self)

    def __invert__(self) -> NamedExpression:
        return _Unary(operator.invert, self)

    # __hash__ is kept explicitly because the rich comparisons below would otherwise drop it.
    __hash__ = object.__hash__


def _binary(op: Callable[[Any, Any], Any], reflected: bool = False) -> Callable:
    if reflected:
        return lambda self, other: _Binary(op, other, self)
    return lambda self, other: _Binary(op, self, other)


for _name, _op in {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
    "floordiv": operator.floordiv, "mod": operator.mod, "pow": operator.pow,
    "matmul": operator.matmul, "and": operator.and_, "or": operator.or_, "xor": operator.xor,
    "lshift": operator.lshift, "rshift": operator.rshift,
}.items():
    setattr(NamedExpression, f"__{_name}__", _binary(_op))
    setattr(NamedExpression, f"__r{_name}__", _binary(_op, reflected=True))
for _name, _op in {"lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}.items():
    setattr(NamedExpression, f"__{_name}__", _binary(_op))


def evaluate(value: Any, ctx: Context) -> Any:
    """Evaluate ``value``, descending into lists, tuples and dicts."""
    if isinstance(value, NamedExpression):
        return value.evaluate(ctx)
    if isinstance(value, list):
        return [evaluate(item, ctx) for item in value]
    if isinstance(value, tuple):
        items = [evaluate(item, ctx) for item in value]
        return tuple(items) if type(value) is tuple else type(value)(*items)  # namedtuples too
    if isinstance(value, dict):
        return {key: evaluate(item, ctx) for key, item in value.items()}
    return value


def contains_expression(value: Any) -> bool:
    """Whether ``value`` holds a named expression anywhere inside (so it needs evaluating)."""
    if isinstance(value, NamedExpression):
        return True
    if isinstance(value, (list, tuple)):
        return any(contains_expression(item) for item in value)
    if isinstance(value, dict):
        return any(contains_expression(item) for item in value.values())
    return False


def iter_expressions(value: Any):
    """Every named expression inside ``value``, sub-expressions included."""
    if isinstance(value, NamedExpression):
        yield value
        for child in value._children():
            yield from iter_expressions(child)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from iter_expressions(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_expressions(item)


# --- derived expressions ------------------------------------------------------------------------
class _Attr(NamedExpression):
    __slots__ = ("name", "obj")

    def __init__(self, obj: Any, name: str) -> None:
        self.obj, self.name = obj, name

    def evaluate(self, ctx: Context) -> Any:
        return getattr(evaluate(self.obj, ctx), self.name)

    def _children(self) -> tuple:
        return (self.obj,)

    def __repr__(self) -> str:
        return f"{self.obj!r}.{self.name}"


class _Item(NamedExpression):
    __slots__ = ("key", "obj")

    def __init__(self, obj: Any, key: Any) -> None:
        self.obj, self.key = obj, key

    def evaluate(self, ctx: Context) -> Any:
        return evaluate(self.obj, ctx)[evaluate(self.key, ctx)]

    def _children(self) -> tuple:
        return (self.obj, self.key)

    def __repr__(self) -> str:
        return f"{self.obj!r}[{self.key!r}]"


class _Call(NamedExpression):
    __slots__ = ("args", "func", "kwargs")

    def __init__(self, func: Any, args: tuple, kwargs: dict) -> None:
        self.func, self.args, self.kwargs = func, args, kwargs

    def evaluate(self, ctx: Context) -> Any:
        func = evaluate(self.func, ctx)
        return func(*evaluate(self.args, ctx), **evaluate(self.kwargs, ctx))

    def _children(self) -> tuple:
        return (self.func, *self.args, *self.kwargs.values())

    def __repr__(self) -> str:
        return f"{self.func!r}(...)"


class _Unary(NamedExpression):
    __slots__ = ("op", "operand")

    def __init__(self, op: Callable[[Any], Any], operand: Any) -> None:
        self.op, self.operand = op, operand

    def evaluate(self, ctx: Context) -> Any:
        return self.op(evaluate(self.operand, ctx))

    def _children(self) -> tuple:
        return (self.operand,)

    def __repr__(self) -> str:
        return f"{self.op.__name__}({self.operand!r})"


class _Binary(NamedExpression):
    __slots__ = ("left", "op", "right")

    def __init__(self, op: Callable[[Any, Any], Any], left: Any, right: Any) -> None:
        self.op, self.left, self.right = op, left, right

    def evaluate(self, ctx: Context) -> Any:
        return self.op(evaluate(self.left, ctx), evaluate(self.right, ctx))

    def _children(self) -> tuple:
        return (self.left, self.right)

    def __repr__(self) -> str:
        return f"{self.op.__name__}({self.left!r}, {self.right!r})"


# --- the named expressions users write ----------------------------------------------------------
class _ComponentNames(type):
    """B's class: ``B.images`` is ``B("images")``, as BatchFlow spells it. Only names B itself does
    not have (so not ``B.name`` or ``B.evaluate``) and that do not start with ``_``."""

    def __getattr__(cls, name: str) -> NamedExpression:
        if name.startswith("_"):
            raise AttributeError(name)
        return cls(name)


class B(NamedExpression, metaclass=_ComponentNames):
    """A batch component or attribute: ``B("images")`` (or ``B.images``), ``B("size")``; ``B()`` is
    the batch itself."""

    __slots__ = ("name",)

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def evaluate(self, ctx: Context) -> Any:
        if self.name is None:
            return ctx.batch
        try:
            return getattr(ctx.batch, self.name)
        except AttributeError:
            raise ExpressionError(
                f"B({self.name!r}): batch class {type(ctx.batch).__name__} has no component "
                f"or attribute {self.name!r}"
            ) from None

    def assign(self, ctx: Context, value: Any) -> None:
        if self.name is None:
            raise ExpressionError("B() is the batch itself and cannot be assigned to; name a component")
        setattr(ctx.batch, self.name, value)

    def __repr__(self) -> str:
        return "B()" if self.name is None else f"B({self.name!r})"


class V(NamedExpression):
    """A pipeline variable. As a target, ``mode`` is ``"w"`` (replace), ``"a"`` (append) or
    ``"e"`` (extend)."""

    __slots__ = ("mode", "name")

    def __init__(self, name: str, mode: str = "w") -> None:
        if mode not in ("w", "a", "e"):
            raise ValueError(f"V({name!r}): mode must be 'w', 'a' or 'e', not {mode!r}")
        self.name, self.mode = name, mode

    def evaluate(self, ctx: Context) -> Any:
        return ctx.variables.get(self.name)

    def assign(self, ctx: Context, value: Any) -> None:
        ctx.variables.set(self.name, value, self.mode)

    def __repr__(self) -> str:
        return f"V({self.name!r})" if self.mode == "w" else f"V({self.name!r}, mode={self.mode!r})"


class C(NamedExpression):
    """A pipeline config value; nested keys as ``"model/lr"``. As a target (``save_to=``,
    ``save_data_to``) it sets the key in the pipeline's config."""

    __slots__ = ("default", "key")

    def __init__(self, key: str, default: Any = _NO_DEFAULT) -> None:
        self.key, self.default = key, default

    def evaluate(self, ctx: Context) -> Any:
        try:
            return ctx.config[self.key]
        except KeyError:
            if self.default is _NO_DEFAULT:
                raise ExpressionError(
                    f"C({self.key!r}): the pipeline config has no key {self.key!r}; "
                    f"set it with `pipeline << {{{self.key!r}: ...}}` or give C a default"
                ) from None
            return self.default

    def assign(self, ctx: Context, value: Any) -> None:
        ctx.config[self.key] = value

    def __repr__(self) -> str:
        return f"C({self.key!r})"


class D(NamedExpression):
    """An attribute of the dataset the pipeline runs over: ``D("size")``, ``D("index")``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def evaluate(self, ctx: Context) -> Any:
        if ctx.dataset is None:
            raise ExpressionError(f"D({self.name!r}): the pipeline has no dataset")
        return getattr(ctx.dataset, self.name)

    def __repr__(self) -> str:
        return f"D({self.name!r})"


class F(_Call):
    """A call: ``F(func)(B("images"), 2)`` or ``F(func, B("images"), 2)`` evaluates to
    ``func(batch.images, 2)``; ``F(func)`` alone calls ``func()``."""

    __slots__ = ()

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if not callable(func) and not isinstance(func, NamedExpression):
            raise TypeError(f"F: {func!r} is not callable")
        super().__init__(func, args, kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> F:
        # Calling F gives the call its arguments, where calling another expression calls its value.
        return F(self.func, *args, **kwargs)

    def __repr__(self) -> str:
        return f"F({getattr(self.func, '__name__', self.func)!r})"


_I_MODES = {"current": "current", "c": "current", "max": "max", "m": "max", "ratio": "ratio", "r": "ratio"}


class I(NamedExpression):  # noqa: E742 - the name is BatchFlow's, kept for its users
    """The iteration counter, as BatchFlow counts it: ``"current"`` (``"c"``) is the number of the
    batch being processed, from 1; ``"max"`` (``"m"``) the number of batches of the run (None when
    endless); ``"ratio"`` (``"r"``) current / max, which reaches 1 at the last batch."""

    __slots__ = ("mode",)

    def __init__(self, mode: str = "current") -> None:
        if mode not in _I_MODES:
            raise ValueError(f"I: mode must be 'current', 'max' or 'ratio' (or 'c', 'm', 'r'), not {mode!r}")
        self.mode = _I_MODES[mode]

    def evaluate(self, ctx: Context) -> Any:
        if self.mode == "current":
            return ctx.iteration + 1
        if self.mode == "max":
            return ctx.total_iterations
        if not ctx.total_iterations:
            raise ExpressionError("I('ratio'): the number of iterations is not known for this run "
                                  "(an endless run: give n_epochs or n_iters)")
        return (ctx.iteration + 1) / ctx.total_iterations

    def __repr__(self) -> str:
        return f"I({self.mode!r})"


def as_target(value: Any, what: str) -> NamedExpression:
    """Check that ``value`` can be assigned to: ``B``, ``V``, ``C``, or an item expression (``L``)."""
    if isinstance(value, NamedExpression) and type(value).assign is not NamedExpression.assign:
        return value
    raise TypeError(f"{what} must be B(...), V(...), C(...) or L(...), not {value!r}")


def variables_read(value: Any) -> set[str]:
    """Names of the variables an expression reads."""
    return {expr.name for expr in iter_expressions(value) if isinstance(expr, V)}


__all__ = ["B", "C", "D", "F", "I", "NamedExpression", "V", "evaluate"]
