"""Pipeline: a lazy, immutable chain of actions over the batches of a dataset.

Every chained call returns a new Pipeline; nothing runs until ``run``, ``gen_batch`` or
``next_batch``. Binding a dataset (``ds >> ppl``) or a config (``ppl << {...}``) gives a pipeline
that shares its variables, models and profile with the one it came from, so results can be read
from either; adding steps starts a new pipeline with state of its own.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from tuiflow.flow import actions, execution, observe
from tuiflow.flow.batch import Batch
from tuiflow.flow.config import Config
from tuiflow.flow.context import Context, Variables
from tuiflow.flow.errors import FlowError
from tuiflow.flow.named_expr import NamedExpression, as_target, evaluate
from tuiflow.flow.profiler import Profiler, render_profile
from tuiflow.flow.sampler import Shuffle
from tuiflow.flow.steps import (
    ActionStep,
    CallStep,
    InitVariableStep,
    RebatchStep,
    Step,
    UpdateStep,
    compile_steps,
)


class PipelineState:
    """What pipelines bound from one another share: variables, models, the last profile."""

    def __init__(self) -> None:
        self.variables = Variables()
        self.models: dict[str, Any] = {}
        self.profiler: Profiler | None = None
        self.length_given = False  # its latest run was told its length (n_epochs, n_iters), not one epoch by default
        self.stream: tuple[Any, Iterator[Batch]] | None = None
        self.lock = threading.RLock()


class _ActionCall:
    """What ``pipeline.some_action`` returns: calling it adds the step."""

    __slots__ = ("_name", "_pipeline")

    def __init__(self, pipeline: Pipeline, name: str) -> None:
        self._pipeline, self._name = pipeline, name

    def __call__(self, *args: Any, save_to: Any = None, **kwargs: Any) -> Pipeline:
        if save_to is not None and not isinstance(save_to, (list, tuple)):
            as_target(save_to, f"save_to of {self._name!r}")
        return self._pipeline._add(ActionStep(self._name, args, kwargs, save_to))

    def __repr__(self) -> str:
        return f"<pipeline action {self._name!r}>"


class Pipeline:
    """A chain of actions, run over a dataset's batches.

    ``Pipeline().load().normalize(scale=C("scale"))`` records steps; ``(ds >> ppl).run(64)`` runs
    them. Unknown actions and wrong arguments are reported when a run starts, before any batch.
    """

    def __init__(self, dataset: Any = None, config: Mapping[str, Any] | None = None, *,
                 steps: tuple[Step, ...] = (), state: PipelineState | None = None,
                 namespaces: tuple[Any, ...] = ()) -> None:
        self.dataset = dataset  # a Dataset, or a named expression that gives one when a run starts
        self.config = Config(config or {})
        self._steps = tuple(steps)
        self._state = state or PipelineState()
        self._run_kwargs: dict[str, Any] | None = None
        self._namespaces = tuple(namespaces)

    # --- building ------------------------------------------------------------------------------
    def __getattr__(self, name: str) -> _ActionCall:
        # Any other name is an action, checked against the batch class when the pipeline starts.
        if name.startswith("_"):
            raise AttributeError(name)
        return _ActionCall(self, name)

    def _derive(self, *, steps: tuple[Step, ...] | None = None, dataset: Any = None,
                config: Mapping[str, Any] | None = None, share_state: bool) -> Pipeline:
        new = Pipeline(self.dataset if dataset is None else dataset,
                       self.config if config is None else config,
                       steps=self._steps if steps is None else steps,
                       state=self._state if share_state else None, namespaces=self._namespaces)
        new._run_kwargs = self._run_kwargs
        return new

    def add_namespace(self, *namespaces: Any) -> Pipeline:
        """A pipeline that may also call the functions of ``namespaces`` (modules, objects) as
        actions: ``ppl.add_namespace(np).mean(B("x"), save_to=V("m"))`` calls ``np.mean(batch.x)``
        (no batch is passed). A batch class's own action of the same name comes first."""
        new = self._derive(share_state=True)
        new._namespaces = (*self._namespaces, *namespaces)
        return new

    def _add(self, step: Step) -> Pipeline:
        return self._derive(steps=(*self._steps, step), share_state=False)

    def rebatch(self, batch_size: int, components: Any = None) -> Pipeline:
        """From here on, batches of ``batch_size`` items: the batches that come this far are merged
        (``Batch.merge``, with ``components`` or the batch's own) and cut anew, across the batches
        they came in, and the last one may be smaller. The steps after it count batches anew
        (``I()``), and ``I("max")`` is then unknown."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise FlowError(f"rebatch: batch_size must be a whole number >= 1, not {batch_size!r}")
        names = (components,) if isinstance(components, str) else (tuple(components) if components else None)
        return self._add(RebatchStep(int(batch_size), names))

    def init_variable(self, name: str, default: Any = None) -> Pipeline:
        """Declare a variable; every run starts it at ``default`` (a callable default is called,
        a mutable one copied, so runs never share a list)."""
        return self._add(InitVariableStep(name, default))

    def update(self, target: NamedExpression, value: Any) -> Pipeline:
        """Set ``target`` (``V(name)``, ``V(name, mode="a")`` or ``B(name)``) to ``value`` each batch."""
        return self._add(UpdateStep(as_target(target, "update's target"), value))

    def call(self, func: Callable[..., Any], *args: Any, save_to: Any = None, **kwargs: Any) -> Pipeline:
        """Call ``func(batch, *args, **kwargs)`` each batch; a returned batch replaces the current one."""
        if not callable(func):
            raise TypeError(f"call: {func!r} is not callable")
        return self._add(CallStep(func, args, kwargs, save_to))

    def __add__(self, other: Pipeline) -> Pipeline:
        if not isinstance(other, Pipeline):
            return NotImplemented
        config = self.config | other.config
        return Pipeline(self.dataset if self.dataset is not None else other.dataset, config,
                        steps=self._steps + other._steps, namespaces=(*self._namespaces, *other._namespaces))

    def __lshift__(self, other: Any) -> Pipeline:
        from tuiflow.flow.dataset import Dataset

        if isinstance(other, (Dataset, NamedExpression)):
            # A named expression is evaluated when each run starts: ds.CV(C("fold")).train
            return self._derive(dataset=other, share_state=True)
        if isinstance(other, Mapping):
            return self._derive(config=self.config | other, share_state=True)
        return NotImplemented

    @property
    def steps(self) -> tuple[Step, ...]:
        """The recorded steps, in order."""
        return self._steps

    def __len__(self) -> int:
        return len(self._steps)

    def __repr__(self) -> str:
        names = " -> ".join(getattr(step, "name", "?") for step in self._steps) or "empty"
        return f"Pipeline({names})"

    # --- running -------------------------------------------------------------------------------
    def _start(self, batch_size: int, shuffle: Shuffle, n_epochs: int | None, n_iters: int | None,
               drop_last: bool, prefetch: int, profile: bool, bar: bool, seed: Any,
               default_epochs: int | None, drained: bool = False) -> Iterator[Batch]:
        # drained: the batches go nowhere but to run(), so they may hold views of the data (steps.py)
        if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 0:
            raise FlowError(f"prefetch must be a whole number >= 0, not {prefetch!r}")
        dataset = self._bound_dataset()
        if seed is None and isinstance(shuffle, (int, np.integer)) and not isinstance(shuffle, bool):
            seed = shuffle  # a run shuffled with a seed repeats: R(...) and batch.random follow it too
        plan = dataset.index.plan(batch_size, shuffle, n_epochs, n_iters, drop_last,
                                  default_epochs=default_epochs)
        steps = self._compiled(dataset.batch_class)  # fails here, before any batch
        state = self._state
        self._declare_variables()
        state.variables.reset()
        profile = profile or any(getattr(o, "wants_profile", False) for o in observe.observers())
        profiler = Profiler([s.label for s in steps]) if profile else None
        state.profiler = profiler
        state.length_given = n_epochs is not None or n_iters is not None
        ctx = Context(state.variables, self.config, dataset, seed, plan.total, state)
        ctx.borrow = drained

        def make(stop: Any = None) -> Iterator[Batch]:
            return execution.produce(dataset, plan, steps, ctx, profiler, stop)

        batches = execution.prefetched(make, prefetch) if prefetch else make()
        if not bar and not observe.observers():
            return batches  # nobody counts the batches: no layer to count them
        return execution.consume(self, batches, plan.total, bar)

    def _bound_dataset(self) -> Any:
        from tuiflow.flow.dataset import Dataset

        dataset = self.dataset
        if dataset is None:
            raise FlowError("the pipeline has no dataset: bind one with `dataset >> pipeline`")
        if isinstance(dataset, NamedExpression):
            dataset = evaluate(dataset, Context(self._state.variables, self.config))
            if not isinstance(dataset, Dataset):
                raise FlowError(f"the pipeline's dataset {self.dataset!r} gave {type(dataset).__name__}, "
                                "not a Dataset")
        return dataset

    def _compiled(self, batch_class: type) -> list:
        # Steps never change; resolving them again is only needed for another batch class or after
        # an action was registered. Epoch-by-epoch runs then skip the signature checks.
        key = (batch_class, actions.registry_version[0])
        cached = self.__dict__.get("_compiled_cache")
        if cached is None or cached[0] != key:
            cached = self._compiled_cache = (key, compile_steps(self._steps, batch_class, self._namespaces))
        return cached[1]

    def gen_batch(self, batch_size: int, shuffle: Shuffle = False, n_epochs: int | None = None,
                  n_iters: int | None = None, drop_last: bool = False, prefetch: int = 0,
                  profile: bool = False, bar: bool = False, seed: Any = None) -> Iterator[Batch]:
        """Yield each processed batch; one epoch when neither n_epochs nor n_iters is given.

        Unknown actions and wrong arguments raise here, before the first batch is made.
        """
        return self._start(batch_size, shuffle, n_epochs, n_iters, drop_last, prefetch, profile, bar, seed,
                           default_epochs=1)

    def run(self, batch_size: int | None = None, shuffle: Shuffle = False, n_epochs: int | None = None,
            n_iters: int | None = None, drop_last: bool = False, prefetch: int = 0, profile: bool = False,
            bar: bool = False, seed: Any = None, *, lazy: bool = False, notifier: Any = None) -> Pipeline:
        """Run the pipeline over the dataset (one epoch by default) and return it.

        Without arguments, uses those given to :meth:`run_later`; ``lazy=True`` is
        :meth:`run_later` (BatchFlow's spelling), ``notifier=True`` is ``bar=True``.
        """
        if notifier is not None:
            if not isinstance(notifier, bool):
                raise FlowError(f"run(notifier=...): only True or False (a progress bar), not {notifier!r}")
            bar = bar or notifier
        if lazy:
            if batch_size is None:
                raise FlowError("run(lazy=True) needs batch_size")
            return self.run_later(batch_size, shuffle=shuffle, n_epochs=n_epochs, n_iters=n_iters,
                                  drop_last=drop_last, prefetch=prefetch, profile=profile, bar=bar, seed=seed)
        if batch_size is None:
            if self._run_kwargs is None:
                raise FlowError("run() needs batch_size (or call run_later(...) first)")
            return self.run(**self._run_kwargs)
        batches = self._start(batch_size, shuffle, n_epochs, n_iters, drop_last, prefetch, profile, bar, seed,
                              default_epochs=1, drained=True)
        collections.deque(batches, maxlen=0)  # drains them in C: no Python loop between the batches
        return self

    def run_later(self, batch_size: int, **kwargs: Any) -> Pipeline:
        """A pipeline that remembers how to run: a later ``run()`` uses these arguments."""
        new = self._derive(share_state=True)
        new._run_kwargs = {"batch_size": batch_size, **kwargs}
        return new

    def next_batch(self, batch_size: int | None = None, shuffle: Shuffle = False, n_epochs: int | None = None,
                   n_iters: int | None = None, drop_last: bool = False, prefetch: int = 0,
                   profile: bool = False, seed: Any = None) -> Batch:
        """The next processed batch of a stream that continues from call to call (endless when
        neither n_epochs nor n_iters is given); ``reset()`` starts a new stream. Without
        batch_size, the arguments given to :meth:`run_later` (or ``run(..., lazy=True)``)."""
        if batch_size is None:
            if self._run_kwargs is None:
                raise FlowError("next_batch() needs batch_size (or call run_later(...) first)")
            kwargs = {key: value for key, value in self._run_kwargs.items() if key != "bar"}
            return self.next_batch(**kwargs)
        key = (batch_size, shuffle if isinstance(shuffle, (bool, int)) else id(shuffle), n_epochs, n_iters,
               drop_last, prefetch, profile, seed)
        state = self._state
        with state.lock:
            if state.stream is None or state.stream[0] != key:
                self.reset()
                batches = self._start(batch_size, shuffle, n_epochs, n_iters, drop_last, prefetch, profile,
                                      False, seed, default_epochs=None)
                state.stream = (key, batches)
            return next(state.stream[1])

    def reset(self, *what: str) -> None:
        """End the stream of :meth:`next_batch` (its prefetch thread included); ``reset("vars")``
        sets the variables back to their defaults instead, ``reset("iter", "vars")`` or
        ``reset("all")`` does both."""
        unknown = [item for item in what if item not in ("iter", "vars", "variables", "all")]
        if unknown:
            raise FlowError(f"reset: what to reset is 'iter', 'vars' or 'all', not {unknown[0]!r}")
        if not what or "iter" in what or "all" in what:
            stream, self._state.stream = self._state.stream, None
            if stream is not None:
                stream[1].close()  # type: ignore[attr-defined]
        if "vars" in what or "variables" in what or "all" in what:
            self._declare_variables()
            self._state.variables.reset()

    def set_config(self, config: Mapping[str, Any], clear: bool = False) -> Pipeline:
        """Merge ``config`` into this pipeline's config (replace it with ``clear=True``); returns it."""
        if clear:
            self.config = Config(config)
        else:
            self.config.update(config)
        return self

    def _declare_variables(self) -> None:
        for step in self._steps:
            if isinstance(step, InitVariableStep):
                self._state.variables.declare(step.variable, step.default)

    # --- results -------------------------------------------------------------------------------
    def v(self, name: str) -> Any:
        """The value of variable ``name``; before any run, the default of a declared one."""
        variables = self._state.variables
        if name not in variables:
            for step in self._steps:
                if isinstance(step, InitVariableStep) and step.variable == name:
                    variables.declare(name, step.default)
        return variables.get(name)

    get_variable = v

    def set_variable(self, name: str, value: Any, mode: str = "w") -> None:
        """Set variable ``name`` from outside the pipeline (thread-safe)."""
        self._state.variables.set(name, value, mode)

    @property
    def variables(self) -> dict[str, Any]:
        """All variables and their values."""
        return self._state.variables.snapshot()

    @property
    def models(self) -> dict[str, Any]:
        """Models created by the pipeline's model actions, by name."""
        return self._state.models

    @property
    def profile_info(self) -> list[dict[str, Any]]:
        """The last (or current) run's profile: one row per action, in pipeline order."""
        profiler = self._state.profiler
        return profiler.info() if profiler is not None else []

    def show_profile_info(self, console: Any = None) -> None:
        """Print the profile as a rich table."""
        from rich.console import Console

        (console or Console()).print(render_profile(self.profile_info))


def save_data_to(data: Any, dst: Any, pipeline: Pipeline | None = None, batch: Batch | None = None) -> None:
    """Store ``data`` in ``dst``, as ``save_to=`` does, outside a run: ``dst`` is a numpy array
    (filled in place), ``V(...)`` or ``C(...)`` (of ``pipeline``), ``B(...)`` (of ``batch``), or a
    list of these with ``data`` a sequence of as many values."""
    import numpy as np

    if isinstance(dst, (list, tuple)):
        if not isinstance(data, (list, tuple)) or len(data) != len(dst):
            raise ValueError(f"save_data_to: {len(dst)} destinations need a list of {len(dst)} values, not {data!r}")
        for value, target in zip(data, dst):
            save_data_to(value, target, pipeline=pipeline, batch=batch)
        return
    if isinstance(dst, np.ndarray):
        dst[...] = data
        return
    from tuiflow.flow.named_expr import B, C, V

    target = as_target(dst, "save_data_to's dst")
    if isinstance(target, (C, V)) and pipeline is None:
        raise FlowError(f"save_data_to: {dst!r} needs pipeline=")
    if isinstance(target, B) and batch is None:
        raise FlowError(f"save_data_to: {dst!r} needs batch=")
    ctx = Context(pipeline._state.variables if pipeline is not None else Variables(),
                  pipeline.config if pipeline is not None else Config(),
                  pipeline.dataset if pipeline is not None else None)
    ctx.batch = batch
    with ctx.variables.lock:
        target.assign(ctx, data)
