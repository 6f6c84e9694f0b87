"""The run a recipe function receives: its config, where its metrics go, what it may use."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from tuiflow.flow import Config


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

    ``run.gpus`` are the GPU indices the scheduler gave (``[]`` for CPU only); ``run.seed`` and
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

    def progress(self, done: int, total: int | None = None) -> None:
        """Say how far the run has got (steps done of total): shown with an ETA instead of the
        progress of the pipeline running at the moment."""
        if self._on_progress is not None:
            self._on_progress(int(done), None if total is None else int(total))

    def log(self, step: int | None = None, **metrics: float) -> None:
        """Record metrics at ``step`` (default: one more than the last step logged)."""
        if step is None:
            step = self._auto_step
        if isinstance(step, bool) or not isinstance(step, int):
            raise TypeError(f"run.log: step must be an integer, not {step!r}")
        self._auto_step = step + 1
        values = {}
        for key, value in metrics.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise TypeError(f"run.log: metric {key!r} must be a number, not {value!r}") from None
            values[key] = number
        if values:
            self.sink.log(step, values, time.time())
            if self._on_log is not None:
                self._on_log(step, values)


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
