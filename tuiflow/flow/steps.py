"""The steps of a pipeline: typed records, and how each is compiled into a call on a batch.

A Pipeline holds these records only; ``compile_steps`` resolves every action against the batch
class and checks its arguments before the first batch, and gives back plain callables that the
run loop calls once per batch.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from tuiflow.flow import actions
from tuiflow.flow.batch import Batch
from tuiflow.flow.context import Context
from tuiflow.flow.errors import ActionArgumentError, ActionNotFoundError
from tuiflow.flow.item_expr import PP
from tuiflow.flow.named_expr import NamedExpression, _Call, contains_expression, evaluate, iter_expressions
from tuiflow.flow.random_expr import P, unwrap_per_item


@dataclass(frozen=True)
class ActionStep:
    """Call the action ``name`` (a batch action, a registered function or a pipeline action)."""

    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    save_to: Any = None


@dataclass(frozen=True)
class CallStep:
    """Call ``func(batch, *args, **kwargs)``; a returned batch replaces the current one."""

    func: Callable[..., Any]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    save_to: Any = None

    @property
    def name(self) -> str:
        """The label of the step: the function's name."""
        return getattr(self.func, "__name__", "call")


@dataclass(frozen=True)
class UpdateStep:
    """Assign the value of ``value`` to ``target`` (a ``V`` or a ``B``) for each batch."""

    target: NamedExpression
    value: Any
    name: str = "update"


@dataclass(frozen=True)
class InitVariableStep:
    """Declare a pipeline variable and its default; it is reset to the default at each run."""

    variable: str
    default: Any = None
    name: str = "init_variable"


@dataclass(frozen=True)
class RebatchStep:
    """Cut the stream of batches anew into batches of ``batch_size`` items (see Batch.merge)."""

    batch_size: int
    components: tuple[str, ...] | None = None
    name: str = "rebatch"


Step = ActionStep | CallStep | UpdateStep | InitVariableStep | RebatchStep

# Actions that work on the pipeline (models, say) rather than on a batch: ``func(ctx, *args, **kw)``.
_PIPELINE_ACTIONS: dict[str, Callable[..., Any]] = {}
_READS_BATCH: set[str] = set()  # those that neither change the batch's data nor keep it past the call


def register_pipeline_action(name: str, func: Callable[..., Any], *, reads_batch: bool = False) -> None:
    """Make ``name`` a pipeline action for every pipeline: ``func(ctx, *args, **kwargs)`` gets the
    :class:`Context` (batch, variables, config, and ``ctx.state`` for models); a returned value is
    stored by ``save_to=``.

    ``reads_batch=True`` promises that the action neither changes the batch's arrays in place nor
    keeps them after it returns (a model's train and predict steps): a run whose steps after
    ``load`` all keep that promise loads in-order batches as views, not copies.
    """
    _PIPELINE_ACTIONS[name] = func
    if reads_batch:
        _READS_BATCH.add(name)
    else:
        _READS_BATCH.discard(name)
    actions.registry_version[0] += 1


def pipeline_action_names() -> list[str]:
    """Names of the registered pipeline actions."""
    return sorted(_PIPELINE_ACTIONS)


@dataclass
class CompiledStep:
    """A step ready to run: ``run(batch, ctx)`` returns the batch for the next step."""

    label: str
    run: Callable[[Batch, Context], Batch]
    rebatch: RebatchStep | None = None  # a rebatch is not run per batch: the run loop cuts the stream there


def compile_steps(steps: tuple[Step, ...], batch_class: type[Batch], namespaces: tuple[Any, ...] = ()
                  ) -> list[CompiledStep]:
    """Resolve and check every step against ``batch_class`` (and the functions of ``namespaces``,
    see ``Pipeline.add_namespace``); labels are ``"name #k"``."""
    compiled: list[CompiledStep] = []
    seen: dict[str, int] = {}
    steps = tuple(step for step in steps if not isinstance(step, InitVariableStep))
    for i, step in enumerate(steps):
        seen[step.name] = seen.get(step.name, 0) + 1
        label = f"{step.name} #{seen[step.name]}"
        if isinstance(step, RebatchStep):
            compiled.append(CompiledStep(label, _not_per_batch, step))
            continue
        run = _compile(step, batch_class, namespaces)
        if _may_borrow(step, steps[i + 1:], batch_class):
            run = _borrowing(run, _compile(replace(step, kwargs={**step.kwargs, "copy": False}), batch_class))
        compiled.append(CompiledStep(label, run))
    return compiled


def _not_per_batch(batch: Batch, ctx: Context) -> Batch:
    raise RuntimeError("rebatch is done by the run loop, not per batch")


def _may_borrow(step: Step, later: tuple[Step, ...], batch_class: type[Batch]) -> bool:
    # Copies of a batch's items can be skipped (views taken) when nothing can change or keep the
    # batch's data: `load` with no `copy=` of the user's, followed only by pipeline actions that
    # promise to just read the batch, with no calls among their arguments (a call could do anything
    # to what it is given). Whether the batches themselves leave the run is decided per run.
    if not isinstance(step, ActionStep) or step.name != "load" or "copy" in step.kwargs or not later:
        return False
    if "copy" not in inspect.signature(actions.resolve(batch_class, "load").func).parameters:
        return False
    return all(isinstance(other, ActionStep) and other.name in _READS_BATCH
               and not any(isinstance(expr, _Call) for expr in iter_expressions((other.args, other.kwargs)))
               for other in later)


def _borrowing(copying: Callable[[Batch, Context], Batch],
               borrowing: Callable[[Batch, Context], Batch]) -> Callable[[Batch, Context], Batch]:
    def run(batch: Batch, ctx: Context) -> Batch:
        return borrowing(batch, ctx) if ctx.borrow else copying(batch, ctx)

    return run


def _compile(step: Step, batch_class: type[Batch], namespaces: tuple[Any, ...] = ()
             ) -> Callable[[Batch, Context], Batch]:
    if isinstance(step, UpdateStep):
        return _update_runner(step)
    if isinstance(step, CallStep):
        _check_signature(step.func, step.args, step.kwargs, step.name, batch_class)
        return _call_runner(step.func, step.args, step.kwargs, step.save_to, keep_values=True,
                            parallel=False, pass_ctx=False, label=step.name)
    if step.name in _PIPELINE_ACTIONS:
        func = _PIPELINE_ACTIONS[step.name]
        _check_signature(func, step.args, step.kwargs, step.name, batch_class)
        return _call_runner(func, step.args, step.kwargs, step.save_to, keep_values=True,
                            parallel=False, pass_ctx=True, label=step.name)
    try:
        resolved = actions.resolve(batch_class, step.name)
    except ActionNotFoundError:
        func = _from_namespaces(namespaces, step.name)
        if func is None:
            raise
        return _call_runner(_without_batch(func), step.args, step.kwargs, step.save_to, keep_values=True,
                            parallel=False, pass_ctx=False, label=step.name)
    kwargs, save_to = dict(step.kwargs), step.save_to
    if resolved.accepts_save_to and save_to is not None:
        kwargs["save_to"], save_to = save_to, None  # the action stores its own results
    actions.check_arguments(resolved, step.args, kwargs)
    return _call_runner(resolved.func, step.args, kwargs, save_to, keep_values=False,
                        parallel=resolved.parallel, pass_ctx=False, label=step.name)


def _from_namespaces(namespaces: tuple[Any, ...], name: str) -> Callable[..., Any] | None:
    for namespace in reversed(namespaces):  # the last one added wins
        func = getattr(namespace, name, None)
        if callable(func) and not name.startswith("_"):
            return func
    return None


def _without_batch(func: Callable[..., Any]) -> Callable[..., Any]:
    def call(batch: Batch, *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return call


def _check_signature(func: Callable[..., Any], args: tuple, kwargs: dict, name: str, batch_class: type) -> None:
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(None, *args, **kwargs)
    except TypeError as exc:
        raise ActionArgumentError(f"action {name!r} (batch class {batch_class.__name__}): {exc}") from None


def _update_runner(step: UpdateStep) -> Callable[[Batch, Context], Batch]:
    target, value = step.target, step.value

    def run(batch: Batch, ctx: Context) -> Batch:
        # Read and write under the variables' lock, so a consumer never sees half an update.
        with ctx.variables.lock:
            target.assign(ctx, unwrap_per_item(evaluate(value, ctx)))
        return batch

    return run


def _call_runner(func: Callable[..., Any], args: tuple, kwargs: dict, save_to: Any, *, keep_values: bool,
                 parallel: bool, pass_ctx: bool, label: str) -> Callable[[Batch, Context], Batch]:
    dynamic = contains_expression(args) or contains_expression(kwargs)
    arguments = _arguments(args, kwargs, parallel)

    def finish(batch: Batch, ctx: Context, result: Any) -> Batch:
        if save_to is not None:
            _save(save_to, ctx, result)
            return batch
        if isinstance(result, Batch):
            return result
        if result is None or keep_values:
            return batch
        raise TypeError(f"returned {type(result).__name__}, not a batch: return self, "
                        "or give save_to=B(...) or V(...) to keep the value")

    # Every branch below does what `finish` does, minus the checks its case cannot need: this runs
    # once per step and batch, between the steps of a model that is waiting for its next batch.
    if pass_ctx and save_to is None:
        if dynamic:
            def run(batch: Batch, ctx: Context) -> Batch:
                call_args, call_kwargs = arguments(ctx)
                result = func(ctx, *call_args, **call_kwargs)
                return result if isinstance(result, Batch) else batch
        else:
            def run(batch: Batch, ctx: Context) -> Batch:
                result = func(ctx, *args, **kwargs)
                return result if isinstance(result, Batch) else batch
    elif pass_ctx:
        def run(batch: Batch, ctx: Context) -> Batch:
            call_args, call_kwargs = arguments(ctx)
            return finish(batch, ctx, func(ctx, *call_args, **call_kwargs))
    elif not dynamic and save_to is None and not keep_values:
        def run(batch: Batch, ctx: Context) -> Batch:  # the hot path: a plain action, fixed arguments
            result = func(batch, *args, **kwargs)
            if isinstance(result, Batch):
                return result
            return finish(batch, ctx, result)
    else:
        def run(batch: Batch, ctx: Context) -> Batch:
            call_args, call_kwargs = arguments(ctx)
            return finish(batch, ctx, func(batch, *call_args, **call_kwargs))
    return run


def _arguments(args: tuple, kwargs: dict, parallel: bool) -> Callable[[Context], tuple[tuple, dict]]:
    """``arguments(ctx)``: the call's arguments for a batch, evaluating only the ones that hold named
    expressions (worked out here, once, rather than by walking every argument at every batch)."""
    dynamic_args = [(i, _evaluator(value)) for i, value in enumerate(args) if contains_expression(value)]
    dynamic_kwargs = [(key, _evaluator(value)) for key, value in kwargs.items() if contains_expression(value)]
    # Only P(...) makes per-item values, and only in-batch-parallel actions split them between items.
    per_item = not parallel and any(isinstance(expr, (P, PP)) for expr in iter_expressions((args, kwargs)))

    if not dynamic_args and not per_item:
        def keyword_arguments(ctx: Context) -> tuple[tuple, dict]:  # the usual case: inputs=B(...), ...
            call_kwargs = kwargs.copy()
            for key, value in dynamic_kwargs:
                call_kwargs[key] = value(ctx)
            return args, call_kwargs

        return keyword_arguments

    def arguments(ctx: Context) -> tuple[tuple, dict]:
        call_args: tuple | list = args
        if dynamic_args:
            call_args = list(args)
            for i, value in dynamic_args:
                call_args[i] = value(ctx)
        call_kwargs = kwargs
        if dynamic_kwargs:
            call_kwargs = kwargs.copy()
            for key, value in dynamic_kwargs:
                call_kwargs[key] = value(ctx)
        if per_item:
            return tuple(unwrap_per_item(list(call_args))), unwrap_per_item(call_kwargs)
        return tuple(call_args), call_kwargs

    return arguments


def _evaluator(value: Any) -> Callable[[Context], Any]:
    if isinstance(value, NamedExpression):
        return value.evaluate
    return lambda ctx: evaluate(value, ctx)


def _save(save_to: Any, ctx: Context, result: Any) -> None:
    if isinstance(save_to, (list, tuple)):
        values = result if isinstance(result, (list, tuple)) else [result]
        if len(values) != len(save_to):
            raise ValueError(f"save_to names {len(save_to)} target{'s' if len(save_to) != 1 else ''} but the action "
                             f"returned {len(values)} value{'s' if len(values) != 1 else ''}")
        for target, value in zip(save_to, values):
            target.assign(ctx, value)
    else:
        save_to.assign(ctx, result)
