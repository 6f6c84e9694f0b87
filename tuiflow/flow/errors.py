"""Exceptions of the pipeline engine: each says what went wrong and where."""

from __future__ import annotations


class FlowError(Exception):
    """Base class of the engine's own errors."""


class DatasetIndexError(FlowError, IndexError, ValueError):
    """A bad request to an index: wrong batch size, conflicting arguments, name collisions. Named for
    what it is about: its class name is what a run's error shows (``DatasetIndexError: ...``). It is
    a ValueError too, as BatchFlow raises for the same requests."""


class DatasetIndexTypeError(DatasetIndexError, TypeError):
    """An index built from something of the wrong kind: ids that are not one-dimensional, a path
    that is not a string."""


class ActionNotFoundError(FlowError, AttributeError):
    """A pipeline names an action that the batch class does not have."""


class ActionArgumentError(FlowError, TypeError):
    """A pipeline calls an action with arguments its signature does not accept."""


class ActionError(FlowError):
    """An action raised while the pipeline ran; the original exception is the cause."""

    def __init__(self, message: str, action: str, batch_number: int) -> None:
        super().__init__(message)
        self.action = action
        self.batch_number = batch_number


class ConfigError(FlowError, ValueError):
    """A config built from something that is not a dict or (key, value) pairs."""


class ConfigKeyTypeError(ConfigError, TypeError):
    """A config key that is not a string."""


class ExpressionError(FlowError, ValueError):
    """A named expression could not be evaluated (an unknown variable, a missing config key...)."""


class SamplerError(FlowError, ValueError):
    """A sampler was built or drawn from with bad input: an unknown distribution, a negative size,
    mixture weights that sum to nothing, a truncation that never accepts a point..."""
