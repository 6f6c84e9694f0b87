"""Actions: the batch methods (and registered functions) a pipeline can call.

An action is looked up and its arguments are checked when a pipeline starts, before the first
batch, so a typo or a wrong argument fails at once with the action's name and the batch class.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tuiflow.flow.errors import ActionArgumentError, ActionNotFoundError

Func = TypeVar("Func", bound=Callable[..., Any])

_ACTION_MARK = "__tuiflow_action__"
_FUNCTIONS: dict[str, Callable[..., Any]] = {}
# Bumped whenever a registry changes, so compiled pipelines know to resolve their actions again.
registry_version = [0]


def action(method: Func | None = None, *, name: str | None = None) -> Any:
    """Mark a batch method as an action a pipeline may call: ``@action`` or ``@action(name=...)``."""

    def mark(func: Func) -> Func:
        setattr(func, _ACTION_MARK, name or func.__name__)
        return func

    return mark(method) if method is not None else mark


def is_action(func: Any) -> bool:
    """Whether ``func`` was marked with :func:`action`."""
    return getattr(func, _ACTION_MARK, None) is not None


def register_action(func: Func | None = None, *, name: str | None = None) -> Any:
    """Register a plain function ``func(batch, *args, **kwargs)`` as an action for any batch class.

    A batch class's own action of the same name wins over a registered function.
    """

    def register(target: Func) -> Func:
        _FUNCTIONS[name or target.__name__] = target
        registry_version[0] += 1
        return target

    return register(func) if func is not None else register


def unregister_action(name: str) -> None:
    """Forget a function registered with :func:`register_action`."""
    _FUNCTIONS.pop(name, None)
    registry_version[0] += 1


@dataclass(frozen=True)
class ResolvedAction:
    """An action found for a batch class: the callable is called as ``func(batch, *args, **kw)``."""

    name: str
    func: Callable[..., Any]
    batch_class: type
    parallel: bool
    accepts_save_to: bool


def action_names(batch_class: type) -> list[str]:
    """Names of every action available to ``batch_class``, its own and registered ones."""
    own = [attr for attr in dir(batch_class) if is_action(getattr(batch_class, attr, None))]
    return sorted(set(own) | set(_FUNCTIONS))


def resolve(batch_class: type, name: str) -> ResolvedAction:
    """Find the action ``name`` for ``batch_class``, or fail naming both (with a suggestion)."""
    attr = inspect.getattr_static(batch_class, name, None)
    func = getattr(batch_class, name, None) if attr is not None else None
    if func is not None and is_action(func):
        return _resolved(name, func, batch_class)
    if name in _FUNCTIONS:
        return _resolved(name, _FUNCTIONS[name], batch_class)
    if func is not None:
        raise ActionNotFoundError(
            f"{name!r} is a member of batch class {batch_class.__name__} but not an action; "
            "mark it with @action"
        )
    close = difflib.get_close_matches(name, action_names(batch_class), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ActionNotFoundError(f"batch class {batch_class.__name__} has no action {name!r}{hint}")


def _resolved(name: str, func: Callable[..., Any], batch_class: type) -> ResolvedAction:
    parallel = getattr(func, "__tuiflow_parallel__", None) is not None
    try:
        params = inspect.signature(_signature_target(func)).parameters
    except (TypeError, ValueError):  # builtins without a signature: accept anything
        params = {}
    accepts_save_to = "save_to" in params
    return ResolvedAction(name, func, batch_class, parallel, accepts_save_to)


def _signature_target(func: Callable[..., Any]) -> Callable[..., Any]:
    return getattr(func, "__tuiflow_parallel_target__", func)


def check_arguments(resolved: ResolvedAction, args: tuple, kwargs: dict) -> None:
    """Check that the action accepts ``args`` and ``kwargs`` (named expressions stand for their
    values), so a wrong argument fails before the first batch."""
    target = _signature_target(resolved.func)
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return
    # The batch fills ``self`` (or a function's first argument); an in-batch-parallel method also
    # gets each item as the next positional argument.
    leading = (None, None) if resolved.parallel else (None,)
    try:
        signature.bind(*leading, *args, **kwargs)
    except TypeError as exc:
        raise ActionArgumentError(
            f"action {resolved.name!r} of batch class {resolved.batch_class.__name__}: {exc} "
            f"(signature: {resolved.name}{_public_signature(signature, len(leading))})"
        ) from None


def _public_signature(signature: inspect.Signature, skip: int) -> str:
    params = list(signature.parameters.values())[skip:]
    return str(signature.replace(parameters=params))
