"""The run a recipe function receives: its config, where its metrics go, what it may use."""

from __future__ import annotations

import math
import operator
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from tuiflow.flow import Config
from tuiflow.recipes.params import INT64_MAX, INT64_MIN  # what SQLite's integers hold


class MetricSink(Protocol):
    """Where ``run.log`` sends values: the store's metric writer, or memory in the foreground."""

    def log(self, step: int, values: Mapping[str, float], time: float) -> None:
        """Record ``values`` at ``step``."""


class MemorySink:
    """Keeps every logged value in lists (for foreground runs and tests)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, int, float, float]] = []

    def log(self, step: int, values: Mapping[str, float], time: float) -> None:
        """Append each value as ``(key, step, value, time)``."""
        self.rows.extend((key, step, value, time) for key, value in values.items())

    def series(self, key: str) -> list[tuple[int, float]]:
        """``(step, value)`` pairs of one metric."""
        return [(step, value) for k, step, value, _ in self.rows if k == key]


class Run:
    """What a recipe function gets: ``run.config``, ``run.log(step=..., **metrics)``, ``run.device``.

    ``run.gpus`` are the GPU indices the scheduler gave (``[]`` for CPU only), ``run.devices`` the
    devices to split a model over (``["cuda:0", "cuda:1"]``, or ``"cpu"`` entries); ``run.seed`` and
    ``run.rep`` say which repetition this is, so a run can be reproduced.
    """

    def __init__(self, config: Mapping[str, Any], *, sink: MetricSink | None = None, run_id: int | None = None,
                 seed: int | None = None, rep: int = 0, gpus: list[int] | None = None,
                 workdir: str | None = None, on_log: Callable[[int, Mapping[str, float]], None] | None = None,
                 on_progress: Callable[[int, int | None], None] | None = None) -> None:
        self.config = Config(config)
        self.sink = sink if sink is not None else MemorySink()
        self.id = run_id
        self.seed = seed
        self.rep = rep
        self._gpus = gpus
        self.workdir = workdir or os.getcwd()
        self._on_log = on_log
        self._on_progress = on_progress
        self._auto_step = 0

    @property
    def gpus(self) -> list[int]:
        """GPU indices this run may use, as the scheduler set them in CUDA_VISIBLE_DEVICES."""
        if self._gpus is not None:
            return list(self._gpus)
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        if visible is None:
            return list(range(_gpu_count()))
        return [int(part) for part in visible.split(",") if part.strip().isdigit()]

    @property
    def device(self) -> str:
        """What the recipe should compute on: the device its launcher chose (``TUIFLOW_DEVICE``, set by
        the scheduler for every run: ``"cpu"`` on simulated GPUs, which no framework can use), else
        ``"cuda:0"`` when the run has a GPU (the first visible one), else ``"cpu"``."""
        return os.environ.get("TUIFLOW_DEVICE") or ("cuda:0" if self.gpus else "cpu")

    @property
    def devices(self) -> list[str]:
        """Every device the run was given, in names both frameworks accept: ``["cuda:0", "cuda:1"]``
        for two GPUs (numbered as the run sees them), as many ``"cpu"`` entries where the GPUs are
        simulated (``run.device`` is ``"cpu"``), ``["cpu"]`` without a GPU. Give it as a model's
        ``device`` to split each batch over them: ``--num-gpus 2`` then uses both, and the same
        config trains on two CPU replicas where the GPUs are simulated."""
        gpus = self.gpus
        if not gpus or self.device == "cpu":
            return ["cpu"] * max(1, len(gpus))
        return [f"cuda:{index}" for index in range(len(gpus))]

    def progress(self, done: int, total: int | None = None) -> None:
        """Say how far the run has got (steps done of total, epochs say): from the first call on it is
        the run's progress and ETA for the rest of its life (``total`` left out keeps the one said
        before). Until then the run shows no progress, unless its first pipeline was told its length
        (``n_epochs``): call ``run.progress(0, total)`` first to show the total from the start."""
        done = _in_range(int(done), "run.progress: done")
        total = None if total is None else _in_range(int(total), "run.progress: total")
        if self._on_progress is not None:
            self._on_progress(done, total)

    def log(self, step: int | None = None, **metrics: float) -> None:
        """Record metrics at ``step`` (default: one more than the last step logged).

        A step the store cannot hold (SQLite integers are 64-bit) or a value that is not a number
        fails here, in the recipe's own frame: found later, in a background write, it would cost
        every value logged with it.
        """
        if step is None:
            step = self._auto_step
        if type(step) is not int or not INT64_MIN <= step <= INT64_MAX:  # the message only when needed
            keys = ", ".join(repr(key) for key in metrics) or "no metric"
            step = _storable_int(step, f"run.log: step of {keys}")
        values = {key: _number(key, step, value) for key, value in metrics.items()}
        self._auto_step = step + 1
        if values:
            self.sink.log(step, values, time.time())
            if self._on_log is not None:
                self._on_log(step, values)


def _storable_int(value: Any, what: str) -> int:
    """``value`` as a Python int the store can hold (numpy integers too); a clear error otherwise."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an integer, not {value!r}")
    try:
        number = operator.index(value)  # ints and numpy integers, never floats or strings
    except TypeError:
        raise TypeError(f"{what} must be an integer, not {_short(value)}") from None
    return _in_range(number, what)


def _in_range(number: int, what: str) -> int:
    if not INT64_MIN <= number <= INT64_MAX:
        raise ValueError(f"{what} is {_int_text(number)}, which the store cannot hold (SQLite integers "
                         "are 64-bit): use an integer from -2**63 to 2**63-1")
    return number


def _number(key: str, step: int, value: Any) -> float:
    """A metric value as a float; a clear error naming the metric and the step otherwise."""
    if isinstance(value, (str, bytes)):  # float("0.5") would pass: a string is a bug in the recipe
        raise TypeError(f"run.log: metric {key!r} at step {step} must be a number, not {_short(value)}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"run.log: metric {key!r} at step {step} must be a number, not {_short(value)}") from None
    except OverflowError:  # an int past 1.8e308
        raise ValueError(f"run.log: metric {key!r} at step {step} is {_short(value)}, too large for a "
                         "float") from None


def _int_text(number: int) -> str:
    # Python refuses to print ints of more than 4,300 digits, and nobody wants to read them.
    if number.bit_length() <= 256:
        return str(number)
    return f"an integer of about {int(number.bit_length() * math.log10(2))} digits"


def _short(value: Any) -> str:
    text = _int_text(value) if isinstance(value, int) else repr(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _gpu_count() -> int:
    # Outside the scheduler nothing restricts the GPUs: count what NVML sees (0 without a driver).
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            return int(pynvml.nvmlDeviceGetCount())
        finally:
            pynvml.nvmlShutdown()
    except Exception:
        return 0
