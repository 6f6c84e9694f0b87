"""The distributions a sampling scheme is built of: numpy's, scipy.stats', a histogram's, a constant.

``NumpySampler("n", dim=2)`` draws 2-D standard normal points, ``ScipySampler("gamma", a=2)`` a
scipy.stats distribution's (scipy is imported when the first one is made), ``HistoSampler`` points
spread as a histogram says, ``ConstantSampler`` one point again and again. Combine them with the
algebra of ``Sampler`` (``schemes``): ``0.3 & s1 | 0.7 & s2``, ``s1 & s2``, ``2 * s + 1``,
``s.truncate(...)``, ``s.apply(...)``.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from tuiflow.flow.errors import SamplerError
from tuiflow.flow.named_expr import NamedExpression
from tuiflow.flow.schemes import Sampler, Seed, Source

# BatchFlow's short names of distributions: (numpy's Generator method, scipy.stats distribution).
ALIASES: dict[str, tuple[str, str | None]] = {
    "n": ("normal", "norm"), "u": ("uniform", "uniform"), "e": ("exponential", "expon"),
    "g": ("gamma", "gamma"), "be": ("beta", "beta"), "p": ("poisson", "poisson"), "b": ("binomial", "binom"),
    "ln": ("lognormal", "lognorm"), "w": ("weibull", "dweibull"), "chi2": ("chisquare", "chi2"), "f": ("f", "f"),
    "mvn": ("multivariate_normal", "multivariate_normal"), "mnm": ("multinomial", "multinomial"),
    "c": ("choice", None),
}
# Generator methods that are not distributions to draw points from.
_NOT_DISTRIBUTIONS = frozenset({"bytes", "permutation", "permuted", "shuffle", "spawn"})


# --- the distributions ----------------------------------------------------------------------------
class NumpySampler(Sampler):
    """Points from a distribution of numpy's Generator, by name or by BatchFlow's alias (``ALIASES``):
    ``NumpySampler("n", dim=2)``, ``NumpySampler("uniform", low=-1, high=1)``,
    ``NumpySampler("mvn", mean=[0, 0], cov=[[2, 1], [1, 2]])``.

    The distribution's parameters go by keyword, as the Generator method names them; ``dim`` stacks
    that many independent copies of its coordinates.
    """

    def __init__(self, name: str, *, seed: Seed = None, dim: int = 1, **params: Any) -> None:
        super().__init__(seed=seed)
        self.name, self.params, self.copies = _numpy_name(name), params, _check_copies(dim, name)
        self.dim = _width(self, lambda size, rng: getattr(rng, self.name)(size=size, **params),
                          f"numpy's Generator.{self.name}()")

    def _draw(self, size: int, rng: np.random.Generator, source: Source) -> np.ndarray:
        points = getattr(rng, self.name)(size=(size, self.copies), **self.params)
        return np.asarray(points).reshape(size, self.dim)

    def __repr__(self) -> str:
        return _call_repr(self, "NumpySampler")


class ScipySampler(Sampler):
    """Points from a ``scipy.stats`` distribution, by name or by BatchFlow's alias:
    ``ScipySampler("gamma", a=2)``, ``ScipySampler("mvn", mean=[0, 0], cov=[[2, 1], [1, 2]])``.

    Needs scipy (``pip install 'tuiflow[stats]'``), imported when the first one is made.
    """

    def __init__(self, name: str, *, seed: Seed = None, dim: int = 1, **params: Any) -> None:
        super().__init__(seed=seed)
        stats = _scipy_stats()
        self.name, self.params, self.copies = _scipy_name(name, stats), params, _check_copies(dim, name)
        try:
            self.distribution = getattr(stats, self.name)(**params)
        except Exception as exc:
            raise SamplerError(f"{self!r}: scipy.stats.{self.name} refused these parameters: {exc}") from None
        self.dim = _width(self, lambda size, rng: self.distribution.rvs(size=size, random_state=rng),
                          f"scipy.stats.{self.name}")

    def _draw(self, size: int, rng: np.random.Generator, source: Source) -> np.ndarray:
        points = self.distribution.rvs(size=(size, self.copies), random_state=rng)
        return np.asarray(points).reshape(size, self.dim)  # scipy drops axes of length 1: put them back

    def __repr__(self) -> str:
        return _call_repr(self, "ScipySampler")


class HistoSampler(Sampler):
    """Points spread as a histogram says: a bin is chosen by its count, then a point uniformly in it.

    ``HistoSampler(np.histogramdd(points, bins=10))`` (or ``np.histogram``'s output, for 1-D);
    ``HistoSampler.from_data(points, bins=10)`` the same; ``HistoSampler(edges=[...])`` starts empty,
    for :meth:`update` to fill. The histogram holds counts (not densities).
    """

    def __init__(self, histo: Any = None, edges: Any = None, *, seed: Seed = None) -> None:
        super().__init__(seed=seed)
        if histo is not None:
            if not isinstance(histo, (tuple, list)) or len(histo) != 2:
                raise SamplerError("HistoSampler: histo is (counts, edges), as np.histogram and np.histogramdd "
                                   "return it")
            counts, edges = histo
        elif edges is not None:
            counts = None
        else:
            raise SamplerError("HistoSampler: give a histogram (counts, edges) or edges= to update() into")
        self.edges = _check_edges(edges)
        shape = tuple(len(axis) - 1 for axis in self.edges)
        if counts is None:
            counts = np.zeros(shape)
        self.bins = np.array(counts, dtype=float)
        if self.bins.shape != shape:
            raise SamplerError(f"HistoSampler: counts of shape {self.bins.shape} do not fit edges of "
                               f"{' x '.join(str(n) for n in shape)} bins")
        if not np.isfinite(self.bins).all() or (self.bins < 0).any():
            raise SamplerError("HistoSampler: every count must be a finite number, 0 or more")
        self.dim = len(self.edges)

    @classmethod
    def from_data(cls, data: Any, bins: Any = 10, range: Any = None, *, seed: Seed = None) -> HistoSampler:
        """A sampler of the histogram of ``data`` (points (n, dim), or (n,) in 1-D), as ``np.histogramdd``
        cuts it into ``bins``."""
        return cls(np.histogramdd(_points_of(data, None, "HistoSampler.from_data"), bins=bins, range=range),
                   seed=seed)

    def update(self, points: Any) -> None:
        """Add ``points`` (n, dim) to the counts; points outside the edges are left out."""
        self.bins += np.histogramdd(_points_of(points, self.dim, "HistoSampler.update"), bins=self.edges)[0]

    def _draw(self, size: int, rng: np.random.Generator, source: Source) -> np.ndarray:
        counts = self.bins.ravel()
        total = counts.sum()
        if not total > 0:
            raise SamplerError("HistoSampler: every bin is empty; update(points) first, or give counts")
        filled = np.flatnonzero(counts)
        chosen = np.unravel_index(rng.choice(filled, size=size, p=counts[filled] / total), self.bins.shape)
        low = np.stack([axis[i] for axis, i in zip(self.edges, chosen)], axis=1)
        high = np.stack([axis[i + 1] for axis, i in zip(self.edges, chosen)], axis=1)
        return rng.uniform(low, high)

    def __repr__(self) -> str:
        return f"HistoSampler({' x '.join(str(n) for n in self.bins.shape)} bins)"


class ConstantSampler(Sampler):
    """The same point every time: ``ConstantSampler(3)``, ``ConstantSampler([1.0, 2.0])``."""

    def __init__(self, constant: Any) -> None:
        super().__init__()
        self.constant = np.asarray(constant).reshape(1, -1)
        if self.constant.size == 0:
            raise SamplerError("ConstantSampler: the constant has no coordinates")
        self.dim = self.constant.shape[1]

    def _draw(self, size: int, rng: np.random.Generator, source: Source) -> np.ndarray:
        return np.repeat(self.constant, size, axis=0)

    def __repr__(self) -> str:
        return f"ConstantSampler({self.constant[0].tolist()!r})"


# --- checks ---------------------------------------------------------------------------------------
def _check_copies(dim: Any, name: str) -> int:
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or dim < 1:
        raise SamplerError(f"sampler {name!r}: dim is a number of independent coordinates, 1 or more, not {dim!r}")
    return int(dim)


def _width(sampler: Sampler, draw: Callable[[tuple, np.random.Generator], Any], what: str) -> int:
    """How many coordinates a point of ``sampler`` has, from a trial draw (which checks the parameters)."""
    expressions = [key for key, value in sampler.params.items() if isinstance(value, NamedExpression)]
    if expressions:
        raise SamplerError(f"{sampler!r}: parameter {expressions[0]!r} is a named expression; a sampler's "
                           "parameters are values (scale per batch with arithmetic: sampler * C('sigma'))")
    try:
        points = np.asarray(draw((2, sampler.copies), np.random.default_rng(0)))
        return points.reshape(2, -1).shape[1]
    except Exception as exc:
        raise SamplerError(f"{sampler!r}: {what} refused these parameters: {exc}") from None


def _numpy_name(name: Any) -> str:
    if not isinstance(name, str):
        raise SamplerError(f"NumpySampler: a distribution is named by a string, not {name!r}")
    full = ALIASES[name][0] if name in ALIASES else name
    if not _is_numpy_distribution(full):
        known = [*ALIASES, *(n for n in dir(np.random.Generator) if _is_numpy_distribution(n))]
        raise SamplerError(f"NumpySampler: numpy's Generator has no distribution {name!r}{_did_you_mean(name, known)}")
    return full


def _is_numpy_distribution(name: str) -> bool:
    return not name.startswith("_") and name not in _NOT_DISTRIBUTIONS and callable(getattr(np.random.Generator,
                                                                                            name, None))


def _scipy_stats() -> Any:
    try:
        import scipy.stats
    except ImportError:
        raise SamplerError("ScipySampler needs scipy, which is not installed: pip install 'tuiflow[stats]'") from None
    return scipy.stats


def _scipy_name(name: Any, stats: Any) -> str:
    if not isinstance(name, str):
        raise SamplerError(f"ScipySampler: a distribution is named by a string, not {name!r}")
    full = ALIASES[name][1] if name in ALIASES else name
    if full is None:
        raise SamplerError(f"ScipySampler: {name!r} has no scipy.stats distribution; use NumpySampler({name!r}, ...)")

    def is_distribution(candidate: str) -> bool:
        value = getattr(stats, candidate, None)
        return not candidate.startswith("_") and not isinstance(value, type) and callable(getattr(value, "rvs", None))

    if not is_distribution(full):
        known = [*ALIASES, *(n for n in dir(stats) if is_distribution(n))]
        raise SamplerError(f"ScipySampler: scipy.stats has no distribution {name!r}{_did_you_mean(name, known)}")
    return full


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_edges(edges: Any) -> list[np.ndarray]:
    one_axis = np.ndim(edges) == 1 if isinstance(edges, np.ndarray) else (
        isinstance(edges, (list, tuple)) and len(edges) > 0 and np.ndim(edges[0]) == 0)
    if one_axis:
        edges = [edges]  # np.histogram's edges: one axis
    try:
        axes = [np.asarray(axis, dtype=float) for axis in edges]
    except (TypeError, ValueError):
        raise SamplerError(f"HistoSampler: edges must be arrays of numbers, one per axis, not {edges!r}") from None
    for i, axis in enumerate(axes):
        if axis.ndim != 1 or len(axis) < 2 or not np.isfinite(axis).all() or (np.diff(axis) <= 0).any():
            raise SamplerError(f"HistoSampler: the edges of axis {i} must be 2 or more finite numbers in "
                               "increasing order")
    if not axes:
        raise SamplerError("HistoSampler: no edges")
    return axes


def _points_of(data: Any, dim: int | None, where: str) -> np.ndarray:
    try:
        points = np.asarray(data, dtype=float)
    except (TypeError, ValueError):
        raise SamplerError(f"{where}: points must be numbers, not {type(data).__name__}") from None
    if points.ndim == 1:
        points = points.reshape(-1, 1)
    if points.ndim != 2 or (dim is not None and points.shape[1] != dim):
        expected = f"(n, {dim})" if dim is not None else "(n, dim)"
        raise SamplerError(f"{where}: points must be an array of shape {expected}, not {points.shape}")
    return points


def _call_repr(sampler: NumpySampler | ScipySampler, cls: str) -> str:
    args = [repr(sampler.name), *(f"{key}={value!r}" for key, value in sampler.params.items())]
    if getattr(sampler, "copies", 1) != 1:
        args.append(f"dim={sampler.copies}")
    if sampler.seed is not None:
        args.append(f"seed={sampler.seed!r}")
    return f"{cls}({', '.join(args)})"


__all__ = ["ALIASES", "ConstantSampler", "HistoSampler", "NumpySampler", "Sampler", "ScipySampler"]
