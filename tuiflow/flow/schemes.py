"""Sampler, the base of every distribution of points, and the algebra of sampling schemes (BatchFlow's).

``0.3 & s1 | 0.7 & s2`` mixes two samplers with weights 0.3 and 0.7; ``s1 & s2`` stacks their
coordinates; ``s + 4``, ``2 * s`` and ``s1 + s2`` shift and scale; ``s.truncate(high, low)`` keeps
the points within bounds and ``s.apply(func)`` transforms them. ``s.sample(n)`` is an array of shape
``(n, s.dim)``. The distributions themselves (NumpySampler, ScipySampler...) are in ``distributions``.

A sampler is a named expression too: in an action's arguments it draws one point per item of the
batch (``sample(len(batch))``), in ``P(...)`` item ``i`` gets row ``i``, and ``R(sampler)`` draws
one point per batch as ``R`` does. A sampler without a seed of its own draws from the run's
generator there, so ``run(seed=...)`` repeats it; a seeded one repeats its draws run after run.
"""

from __future__ import annotations

import math
import numbers
import operator
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from tuiflow.flow.errors import ExpressionError, SamplerError
from tuiflow.flow.named_expr import NamedExpression

if TYPE_CHECKING:
    from tuiflow.flow.context import Context

Seed = int | np.random.SeedSequence | np.random.BitGenerator | np.random.Generator | None
# The generator of a sampler that has a seed of its own: its lasting one when drawn from directly,
# one made afresh for each run inside a pipeline (Context.generator_for), as R's is.
Source = Callable[["Sampler"], np.random.Generator]

_MAX_TRUNCATE_DRAW = 1 << 20  # points per draw of a truncated sampler, unless the sample asked is bigger
_TRUNCATE_TRIES = 100


class Sampler(NamedExpression):
    """A distribution of points of ``dim`` coordinates: ``sample(n)`` is an array of shape (n, dim).

    Combine samplers with ``|`` (a mixture; ``0.3 & s`` gives ``s`` the weight 0.3), ``&`` (stacked
    coordinates), ``+ - * / // % **`` (with numbers, one number per coordinate, or samplers),
    :meth:`truncate` and :meth:`apply`. ``seed`` (an int, SeedSequence, BitGenerator or Generator)
    gives a sampler a generator of its own; the parts of a scheme without one draw from the
    generator of the scheme.
    """

    dim: int | None = None  # coordinates of a point; None where only a draw tells (after apply)

    def __init__(self, *, seed: Seed = None) -> None:
        if type(self) is Sampler:
            raise TypeError("Sampler is the base class: use NumpySampler, ScipySampler, HistoSampler or "
                            "ConstantSampler")
        self.seed = _check_seed(seed, type(self).__name__)
        self.weight = 1.0
        self._rng: np.random.Generator | None = None

    def sample(self, size: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """``size`` points, an array of shape (size, dim). ``rng`` is the generator of the parts that have
        no seed of their own (by default this sampler's own, which goes on from call to call)."""
        size = _check_size(size, f"{self!r}.sample")
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise SamplerError(f"{self!r}.sample: rng must be a numpy Generator (np.random.default_rng(...)), "
                               f"not {type(rng).__name__}")
        return self._draw_from(size, self._lasting_rng() if rng is None else rng, Sampler._lasting_rng)

    def draw_for(self, ctx: Context, size: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """``size`` points for the batch ``ctx`` is about; parts without a seed draw from ``rng``
        (by default the run's generator)."""
        return self._draw_from(size, ctx.rng if rng is None else rng, ctx.generator_for)

    def evaluate(self, ctx: Context) -> np.ndarray:
        """One point per item of the batch (per item of ``P(...)`` inside one)."""
        if ctx.items is not None:
            return self.draw_for(ctx, ctx.items)
        if ctx.batch is None:
            raise ExpressionError(f"{self!r}: there is no batch to draw one point per item for; "
                                  "R(sampler) draws one point")
        return self.draw_for(ctx, len(ctx.batch))

    def apply(self, transform: Callable[[np.ndarray], Any]) -> Sampler:
        """A sampler of ``transform(points)``: it takes an array (n, dim) and returns (n, k) or (n,)."""
        return _Applied(self, transform)

    def truncate(self, high: Any = None, low: Any = None, expr: Callable[[np.ndarray], Any] | None = None,
                 prob: float = 0.5, max_iters: int | None = None, sample_anyways: bool = False) -> Sampler:
        """The points with ``low <= point <= high`` in every coordinate (``low <= expr(points) <= high``
        with ``expr``; ``expr`` alone keeps the points where it is true), by rejection.

        ``prob`` guesses the share of points kept, to size the first draw. After ``max_iters`` draws
        (100 by default) that did not keep enough points the sampler gives up with a SamplerError,
        or with ``sample_anyways=True`` warns and goes on.
        """
        return _Truncated(self, high, low, expr, prob, max_iters, sample_anyways)

    # --- what each kind of sampler implements ------------------------------------------------------
    def _draw(self, size: int, rng: np.random.Generator, source: Source) -> np.ndarray:
        """``size`` points from ``rng``; the parts of this sampler with a seed take theirs from ``source``."""
        raise NotImplementedError

    def _draw_from(self, size: int, rng: np.random.Generator, source: Source) -> np.ndarray:
        return self._draw(size, rng if self.seed is None else source(self), source)

    def _lasting_rng(self) -> np.random.Generator:
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        return self._rng

    # --- the algebra -------------------------------------------------------------------------------
    def __or__(self, other: Any) -> Any:
        if isinstance(other, Sampler):
            return _Mixture.of(self, other)
        if isinstance(other, NamedExpression):
            return NamedExpression.__or__(self, other)
        raise SamplerError(f"{self!r} | {other!r}: '|' mixes samplers; give one a weight as `0.3 & sampler`")

    def __ror__(self, other: Any) -> Any:
        raise SamplerError(f"{other!r} | {self!r}: '|' mixes samplers; give one a weight as `0.3 & sampler`")

    def __and__(self, other: Any) -> Any:
        if _is_weight(other):
            return _Weighted(self, other)
        if isinstance(other, Sampler):
            return _Product.of(self, other)
        if isinstance(other, NamedExpression):
            return NamedExpression.__and__(self, other)
        raise SamplerError(f"{self!r} & {other!r}: '&' takes a weight (a number: `0.3 & sampler`) or a sampler "
                           "whose coordinates follow this one's")

    def __rand__(self, other: Any) -> Any:
        if _is_weight(other):
            return _Weighted(self, other)
        raise SamplerError(f"{other!r} & {self!r}: '&' takes a weight (a number: `0.3 & sampler`) or a sampler")

    def __neg__(self) -> Sampler:
        return _Arithmetic(operator.neg, "-", (self,))

    def __pos__(self) -> Sampler:
        return self

    def __abs__(self) -> Sampler:
        return _Arithmetic(operator.abs, "abs", (self,))

    def __invert__(self) -> Any:
        raise SamplerError(f"~{self!r}: a sampler has no '~'; use .apply(func)")

    # A sampler's attributes are its own: a misspelt one fails here instead of becoming an expression.
    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{self!r} is not callable: draw points with .sample(size)")

    __iter__ = None  # not a sequence, though __getitem__ (an expression) would make it look like one


def _arithmetic(op: Callable[[Any, Any], Any], symbol: str, reflected: bool = False) -> Callable:
    expression = getattr(NamedExpression, f"__{'r' if reflected else ''}{op.__name__.strip('_')}__")

    def method(self: Sampler, other: Any) -> Any:
        if isinstance(other, NamedExpression) and not isinstance(other, Sampler):
            return expression(self, other)  # with another named expression: an expression per batch
        return _Arithmetic(op, symbol, (other, self) if reflected else (self, other))

    return method


for _op, _symbol in ((operator.add, "+"), (operator.sub, "-"), (operator.mul, "*"), (operator.truediv, "/"),
                     (operator.floordiv, "//"), (operator.mod, "%"), (operator.pow, "**")):
    setattr(Sampler, f"__{_op.__name__.strip('_')}__", _arithmetic(_op, _symbol))
    setattr(Sampler, f"__r{_op.__name__.strip('_')}__", _arithmetic(_op, _symbol, reflected=True))


# --- the algebra's samplers -----------------------------------------------------------------------
class _Weighted(Sampler):
    """``weight & base``: the same points, with a weight for the mixture it goes into."""

    def __init__(self, base: Sampler, weight: float) -> None:
        super().__init__()
        weight = float(weight) * base.weight
        if not (math.isfinite(weight) and weight >= 0):
            raise SamplerError(f"{weight!r} & {base!r}: a weight is a finite number, 0 or more")
        self.base, self.weight, self.dim = base, weight, base.dim

    def _draw(self, size: int, rng: np.random.Generator, source: Source) -> np.ndarray:
        return self.base._draw_from(size, rng, source)

    def __repr__(self) -> str:
        return f"{self.weight:g} & {self.base!r}"


class _Mixture(Sampler):
    """``s1 | s2 | ...``: each point from one sampler, chosen with probability weight / sum of weights."""

    def __init__(self, parts: tuple[Sampler, ...], weights: tuple[float, ...]) -> None:
        super().__init__()
        self.parts, self.weight = parts, float(sum(weights))
        self.p = np.array(weights) / self.weight
        dims = {part.dim for part in parts} - {None}
        self.dim = dims.pop() if len(dims) == 1 else None

    @classmethod
    def of(cls, left: Sampler, right: Sampler) -> _Mixture:
        # One mixture of all the parts, drawn with one multinomial, not a binary tree of them.
        parts = [part for side in (left, right) for part in (side.parts if type(side) is cls else (side,))]
        weights = tuple(part.weight for part in parts)
        dims = sorted({part.dim for part in parts} - {None})
        if len(dims) > 1:
            raise SamplerError(f"{left!r} | {right!r}: a mixture's samplers must draw points of one dimension, "
                               f"not {' and '.join(map(str, dims))}")
        if not sum(weights) > 0:
            raise SamplerError(f"{left!r} | {right!r}: the weights sum to {sum(weights):g}; give at least one "
                               "sampler a positive weight (0.3 & s1 | 0.7 & s2)")
        return cls(tuple(parts), weights)

    def _draw(self, size: int, rng: np.random.Generator, source: Source) -> np.ndarray:
        counts = rng.multinomial(size, self.p)
        drawn = [part._draw_from(int(n), rng, source) for part, n in zip(self.parts, counts)]
        widths = {points.shape[1] for points in drawn}
        if len(widths) > 1:
            raise SamplerError(f"{self!r}: a mixture's samplers drew points of {sorted(widths)} coordinates")
        return np.concatenate(drawn)[rng.permutation(size)]

    def __repr__(self) -> str:
        return "(" + " | ".join(f"{part.weight:g} & {part!r}" if type(part) is not _Weighted else repr(part)
                                for part in self.parts) + ")"


class _Product(Sampler):
    """``s1 & s2 & ...``: points whose coordinates are drawn independently, s1's first."""

    def __init__(self, parts: tuple[Sampler, ...]) -> None:
        super().__init__()
        self.parts = parts
        dims = [part.dim for part in parts]
        self.dim = None if None in dims else sum(dims)

    @classmethod
    def of(cls, left: Sampler, right: Sampler) -> _Product:
        return cls(tuple(part for side in (left, right) for part in (side.parts if type(side) is cls else (side,))))

    def _draw(self, size: int, rng: np.random.Generator, source: Source) -> np.ndarray:
        return np.concatenate([part._draw_from(size, rng, source) for part in self.parts], axis=1)

    def __repr__(self) -> str:
        return "(" + " & ".join(map(repr, self.parts)) + ")"


class _Arithmetic(Sampler):
    """``s + 4``, ``2 * s``, ``s1 - s2``...: numpy's operator on the points (and numbers or points)."""

    def __init__(self, op: Callable[..., Any], symbol: str, operands: tuple) -> None:
        super().__init__()
        where = f"{symbol}({', '.join(map(repr, operands))})"
        self.op, self.symbol = op, symbol
        self.operands = tuple(x if isinstance(x, Sampler) else _constant(x, where) for x in operands)
        widths = [x.dim if isinstance(x, Sampler) else (x.shape[0] if x.ndim else 1) for x in self.operands]
        if None not in widths:
            try:
                self.dim = np.broadcast_shapes(*((w,) for w in widths))[0]
            except ValueError:
                raise SamplerError(f"{where}: points of {' and '.join(map(str, widths))} coordinates do not "
                                   "combine") from None

    def _draw(self, size: int, rng: np.random.Generator, source: Source) -> np.ndarray:
        values = [x._draw_from(size, rng, source) if isinstance(x, Sampler) else x for x in self.operands]
        return self.op(*values)

    def __repr__(self) -> str:
        if len(self.operands) == 1:
            return f"{self.symbol}({self.operands[0]!r})" if self.symbol == "abs" else f"-{self.operands[0]!r}"
        left, right = (x.tolist() if isinstance(x, np.ndarray) else x for x in self.operands)
        return f"({left!r} {self.symbol} {right!r})"


class _Applied(Sampler):
    """``s.apply(func)``: the points ``func`` makes of the points of ``s``."""

    def __init__(self, base: Sampler, transform: Callable[[np.ndarray], Any]) -> None:
        super().__init__()
        if not callable(transform):
            raise SamplerError(f"{base!r}.apply: {transform!r} is not callable")
        self.base, self.transform = base, transform

    def _draw(self, size: int, rng: np.random.Generator, source: Source) -> np.ndarray:
        points = np.asarray(self.transform(self.base._draw_from(size, rng, source)))
        if points.ndim == 1 and len(points) == size:
            return points.reshape(size, 1)
        if points.ndim != 2 or len(points) != size:
            raise SamplerError(f"{self!r}: the function returned an array of shape {points.shape} for {size} "
                               f"points; it must return ({size}, k) or ({size},)")
        return points

    def __repr__(self) -> str:
        return f"{self.base!r}.apply({getattr(self.transform, '__name__', self.transform)})"


class _Truncated(Sampler):
    """``s.truncate(high, low, expr)``: the points of ``s`` that meet the condition, by rejection."""

    def __init__(self, base: Sampler, high: Any, low: Any, expr: Any, prob: Any, max_iters: Any,
                 sample_anyways: bool) -> None:
        super().__init__()
        self.base, self.expr, self.sample_anyways, self.dim = base, expr, bool(sample_anyways), base.dim
        where = f"{base!r}.truncate"
        if high is None and low is None and expr is None:
            raise SamplerError(f"{where}: give high, low or expr (a condition on the points)")
        if expr is not None and not callable(expr):
            raise SamplerError(f"{where}: expr must be a function of the points, not {expr!r}")
        self.high = None if high is None else _constant(high, where)
        self.low = None if low is None else _constant(low, where)
        for bound in (self.high, self.low):
            if expr is None and base.dim is not None and bound is not None and bound.ndim \
                    and len(bound) not in (1, base.dim):
                raise SamplerError(f"{where}: a bound of {len(bound)} values for points of {base.dim} coordinates")
        if self.high is not None and self.low is not None:
            try:
                never = bool(np.any(self.low > self.high))
            except ValueError:
                raise SamplerError(f"{where}: low {low!r} and high {high!r} do not match in size") from None
            if never:
                raise SamplerError(f"{where}: low {low!r} is above high {high!r}, so no point is ever kept")
        if not (isinstance(prob, numbers.Real) and 0 < prob <= 1):
            raise SamplerError(f"{where}: prob is the share of points kept, above 0 and at most 1, not {prob!r}")
        self.prob = float(prob)
        if max_iters is None:
            max_iters = _TRUNCATE_TRIES
        if isinstance(max_iters, float) and max_iters.is_integer():
            max_iters = int(max_iters)  # BatchFlow's 1e7
        if isinstance(max_iters, bool) or not isinstance(max_iters, numbers.Integral) or max_iters < 1:
            raise SamplerError(f"{where}: max_iters is a number of draws, 1 or more, not {max_iters!r}")
        self.max_iters = int(max_iters)

    def _draw(self, size: int, rng: np.random.Generator, source: Source) -> np.ndarray:
        if size == 0:
            return self.base._draw_from(0, rng, source)
        kept, have, drawn, tries, rate = [], 0, 0, 0, self.prob
        while have < size:
            if tries >= self.max_iters:
                message = (f"{self!r}: {have} of {size} points kept after {tries} draws of {drawn} points in "
                           f"all: the condition almost never holds; widen it, or raise max_iters ({self.max_iters})")
                if not self.sample_anyways:
                    raise SamplerError(message)
                if tries == self.max_iters:
                    warnings.warn(message + "; sample_anyways=True: drawing on", RuntimeWarning, stacklevel=2)
            # Draw what the share kept so far says is enough, a bit more; 8 times more after a draw
            # that kept nothing.
            need = size - have
            count = min(max(math.ceil(need / rate * 1.1) + 16, need), max(_MAX_TRUNCATE_DRAW, 2 * size))
            points = self.base._draw_from(count, rng, source)
            accepted = self._accepts(points)
            kept.append(points[accepted])
            have, drawn, tries = have + int(accepted.sum()), drawn + count, tries + 1
            rate = have / drawn if have else max(rate / 8, 1e-12)
        return np.concatenate(kept)[:size]

    def _accepts(self, points: np.ndarray) -> np.ndarray:
        n = len(points)
        values = points
        if self.expr is not None:
            values = np.asarray(self.expr(points))
            if values.shape[:1] != (n,):
                raise SamplerError(f"{self!r}: expr returned shape {values.shape} for {n} points; it must return "
                                   "one value (or one row) per point")
            values = values.reshape(n, -1)
        accepted = np.ones(n, dtype=bool)
        try:
            if self.low is not None:
                accepted &= (values >= self.low).all(axis=1)
            if self.high is not None:
                accepted &= (values <= self.high).all(axis=1)
        except ValueError:
            raise SamplerError(f"{self!r}: bounds of {np.size(self.low if self.high is None else self.high)} "
                               f"values for points of {values.shape[1]} coordinates") from None
        if self.low is None and self.high is None:
            accepted &= values.astype(bool).all(axis=1)
        return accepted

    def __repr__(self) -> str:
        args = [f"{name}={value.tolist()!r}" for name, value in (("high", self.high), ("low", self.low))
                if value is not None]
        if self.expr is not None:
            args.append(f"expr={getattr(self.expr, '__name__', self.expr)}")
        return f"{self.base!r}.truncate({', '.join(args)})"


# --- checks ---------------------------------------------------------------------------------------
def _check_seed(seed: Any, where: str) -> Seed:
    if seed is None or isinstance(seed, (np.random.SeedSequence, np.random.BitGenerator, np.random.Generator)):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise SamplerError(f"{where}: seed must be an int (0 or more), a SeedSequence, a BitGenerator or a Generator, "
                       f"not {seed!r}")


def _check_size(size: Any, where: str) -> int:
    if isinstance(size, bool) or not isinstance(size, numbers.Integral):
        raise SamplerError(f"{where}: size is a number of points, not {size!r}")
    if size < 0:
        raise SamplerError(f"{where}: size must be 0 or more, not {size}")
    return int(size)


def _is_weight(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _constant(value: Any, where: str) -> np.ndarray:
    """A number, or one number per coordinate, to combine points with."""
    array = np.asarray(value)
    if array.dtype.kind not in "biufc":
        raise SamplerError(f"{where}: a sampler combines with numbers, arrays of numbers or samplers, "
                           f"not {value!r}")
    if array.ndim == 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim > 1:
        raise SamplerError(f"{where}: give one number, or one per coordinate (shape (dim,)), not an array of "
                           f"shape {array.shape}")
    return array


__all__ = ["Sampler", "Seed", "Source"]
