"""What named expressions are evaluated against: the batch, the variables, the config, the RNG."""

from __future__ import annotations

import copy
import secrets
import threading
from typing import Any

import numpy as np

from tuiflow.flow.errors import ExpressionError


class Variables:
    """A pipeline's variables: thread-safe, so a prefetching run and its consumer can share them."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._defaults: dict[str, Any] = {}
        self.lock = threading.RLock()

    def declare(self, name: str, default: Any) -> None:
        """Record ``default`` for ``name``; :meth:`reset` sets every variable to its default."""
        with self.lock:
            self._defaults[name] = default
            self._values[name] = _fresh(default)

    def reset(self) -> None:
        """Every declared variable back to (a fresh copy of) its default; undeclared ones dropped."""
        with self.lock:
            self._values = {name: _fresh(default) for name, default in self._defaults.items()}

    def get(self, name: str) -> Any:
        """The value of ``name``; an unknown name is an error that says how to declare it."""
        try:
            return self._values[name]
        except KeyError:
            raise ExpressionError(
                f"V({name!r}): the pipeline has no variable {name!r}; "
                f"declare it with .init_variable({name!r}, default)"
            ) from None

    def set(self, name: str, value: Any, mode: str = "w") -> None:
        """Write ``value``: ``"w"`` replaces, ``"a"`` appends to a list, ``"e"`` extends it."""
        with self.lock:
            if mode == "w":
                self._values[name] = value
                return
            current = self._values.get(name)
            if current is None:
                current = self._values[name] = []
            if not isinstance(current, list):
                raise ExpressionError(f"V({name!r}, mode={mode!r}): variable holds {type(current).__name__}, "
                                      "not a list")
            if mode == "a":
                current.append(value)
            else:
                current.extend(value)

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def names(self) -> list[str]:
        """Names of the variables that have a value."""
        return list(self._values)

    def snapshot(self) -> dict[str, Any]:
        """A shallow copy of all values, taken under the lock."""
        with self.lock:
            return dict(self._values)


def _fresh(default: Any) -> Any:
    # A callable default makes a new value per run (e.g. ``list``); a mutable default is copied,
    # so that two runs never share one list.
    if callable(default):
        return default()
    return copy.deepcopy(default)


class Context:
    """The state one batch's named expressions are evaluated against."""

    __slots__ = ("_generators", "_rng", "_seed", "batch", "borrow", "config", "dataset", "entropy", "epoch",
                 "items", "iteration", "state", "total_iterations", "variables")

    def __init__(self, variables: Variables, config: Any, dataset: Any = None,
                 seed: int | np.random.SeedSequence | None = None, total_iterations: int | None = None,
                 state: Any = None) -> None:
        self.variables = variables
        self.state = state  # the pipeline's shared state: pipeline actions keep models there
        self.config = config
        self.dataset = dataset
        self.batch: Any = None
        self.iteration = 0
        self.epoch = 0
        self.items: int | None = None  # set while a P(...) is evaluated: R draws one value per item
        self.total_iterations = total_iterations
        self.borrow = False  # whether batches may hold views of the data: no batch leaves the run (see steps.py)
        # Each batch draws from the child (entropy, batch number) of the run's seed (Batch.random),
        # so augmentations neither consume nor shift the draws of R(...).
        if isinstance(seed, np.random.SeedSequence):
            self.entropy = seed.entropy
        elif seed is None:
            self.entropy = secrets.randbits(128)  # fresh OS entropy, as SeedSequence() draws it
        else:
            self.entropy = np.random.SeedSequence(seed).entropy
        self._seed = seed
        self._rng: np.random.Generator | None = None  # made on the first R(...): most runs draw nothing
        self._generators: dict[int, np.random.Generator] = {}

    @property
    def rng(self) -> np.random.Generator:
        """The run's generator, which ``R(...)`` without a seed of its own draws from."""
        rng = self._rng
        if rng is None:
            rng = self._rng = np.random.default_rng(self._seed)
        return rng

    def generator_for(self, expr: Any) -> np.random.Generator:
        """The generator an ``R`` draws from: its own when it has a seed, else the run's."""
        seed = expr.seed
        if seed is None:
            return self.rng
        key = id(expr)
        generator = self._generators.get(key)
        if generator is None:
            generator = self._generators[key] = np.random.default_rng(seed)
        return generator


