"""Observers of pipeline runs: how a host process (the runner) watches every pipeline it runs.

The engine calls each registered observer when a run starts, after each batch and when it ends.
An observer that sets ``wants_profile = True`` turns profiling on for every run, so a recipe's
pipelines report their per-action profile without asking for it.
"""

from __future__ import annotations

from typing import Any, Protocol


class RunObserver(Protocol):
    """What the engine calls; all methods are optional in practice (missing ones are skipped)."""

    wants_profile: bool

    def pipeline_started(self, pipeline: Any, total: int | None) -> None:
        """A run of ``pipeline`` starts; ``total`` batches when known."""

    def batch_done(self, pipeline: Any, done: int, total: int | None) -> None:
        """``done`` batches of the run have reached the consumer."""

    def pipeline_finished(self, pipeline: Any, error: BaseException | None) -> None:
        """The run ended, with ``error`` when it failed."""


_observers: list[Any] = []


def add_observer(observer: Any) -> None:
    """Start notifying ``observer`` of every pipeline run in this process."""
    if observer not in _observers:
        _observers.append(observer)


def remove_observer(observer: Any) -> None:
    """Stop notifying ``observer``."""
    if observer in _observers:
        _observers.remove(observer)


def observers() -> list[Any]:
    """The registered observers (a copy)."""
    return list(_observers)


def notify(event: str, *args: Any) -> None:
    """Call ``event`` on every observer that has it. An observer's own failure never stops a run."""
    for observer in list(_observers):
        method = getattr(observer, event, None)
        if method is not None:
            try:
                method(*args)
            except Exception:  # an observer is a bystander: it must not break the pipeline it watches
                pass
