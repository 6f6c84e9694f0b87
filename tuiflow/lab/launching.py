"""Launching from `Lab`: the recipes a home can run, plans checked from Python values, and launch.

A plan is checked once, field by field, so that an error names the one parameter it is about
(`ParamError.param`) and a form can show it beside that field. The recipes (and with them the pipeline
engine and numpy) are imported when recipes are read or a plan is checked, not with `Lab`: a client
that only watches runs never waits for them.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from tuiflow.lab import experiments as _experiments
from tuiflow.lab.experiments import recipe_sha256
from tuiflow.lab.limits import BOUNDS, DEFAULT_LIMIT
from tuiflow.lab.types import ParamError, ParamInfo, Plan, RecipeInfo, Submission
from tuiflow.store import Run, RunSpec, process_identity


def _reason(exc: Exception) -> str:
    return str(exc)


class LaunchMixin:
    """`Lab`'s recipes, plans and launches."""

    _catalog: Any
    _recipe_dirs: Sequence[str | os.PathLike[str]] = ()

    def recipes(self, extra_dirs: Iterable[str | os.PathLike[str]] = ()) -> list[RecipeInfo]:
        """Every recipe found (shipped, ./recipes, $TUIFLOW_RECIPES, ``extra_dirs``), by name."""
        catalog = self._load_catalog(extra_dirs)
        return [_info(r) for r in sorted(catalog.recipes.values(), key=lambda r: r.name)]

    def recipe(self, name: str) -> RecipeInfo:
        """The recipe of this name; a LabError naming the recipes there are when there is none."""
        return _info(self._recipe(name))

    @property
    def problems(self) -> list[str]:
        """Recipe files that could not be loaded, one line each (path and error)."""
        return [str(problem) for problem in self._load_catalog().problems]

    def _load_catalog(self, extra_dirs: Iterable[str | os.PathLike[str]] = ()) -> Any:
        extra = list(extra_dirs)
        if extra or self._catalog is None:
            from tuiflow.recipes import discover

            catalog = discover([*self._recipe_dirs, *extra])
            if extra:
                return catalog
            self._catalog = catalog
        return self._catalog

    def use_recipe_dirs(self, dirs: Iterable[str | os.PathLike[str]]) -> None:
        """Also look for recipes in these folders (the CLI's --recipes)."""
        self._recipe_dirs = list(dirs)
        self._catalog = None

    def _recipe(self, name: str) -> Any:
        return self._load_catalog().get(name)

    def plan(self, recipe: str, overrides: Mapping[str, Any] | None = None,
             grid: Mapping[str, Sequence[Any]] | None = None, reps: int = 1, name: str | None = None,
             seed: int = 0, max_runs: int | None = DEFAULT_LIMIT, check_installed: bool = True) -> Plan:
        """Check an experiment without storing anything: ``overrides`` over the recipe's defaults, the
        product of ``grid`` (parameter -> values), ``reps`` repetitions. A bad value is a ParamError
        naming its parameter; more than ``max_runs`` runs (None: up to the hard limit) a LabError (a
        `GridTooLarge`); a run needing what this install lacks (the recipe's ``requires=``) a ParamError
        naming the parameter it depends on and what to install, unless not ``check_installed``."""
        chosen = self._recipe(recipe)
        problem = BOUNDS["reps"].problem(reps)
        if problem is not None:
            raise ParamError(chosen.name, None, problem)
        if name is not None and (not name.strip() or name.strip().isdigit() or name.startswith("exp:")):
            raise ParamError(chosen.name, None, f"experiment name {name!r} reads as an id or is empty: "
                                                "choose a name that is not a number")
        base: dict[str, Any] = {}
        for key, value in dict(overrides or {}).items():
            base[key] = self._checked(chosen, key, value)
        options: dict[str, list[Any]] = {}
        for key, values in dict(grid or {}).items():
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                raise ParamError(chosen.name, key, f"the grid of {key!r} must be a list of values, not {values!r}")
            if not values:
                raise ParamError(chosen.name, key, f"the grid of {key!r} has no values")
            options[key] = [self._checked(chosen, key, value) for value in values]
        from tuiflow.recipes import expand
        from tuiflow.recipes.grid import Grid
        from tuiflow.recipes.params import ParamError as _RecipeParamError

        try:
            runs = expand(chosen, base, Grid(options), reps, seed, limit=max_runs)
        except _RecipeParamError as exc:
            raise ParamError(chosen.name, None, _reason(exc)) from None
        planned = Plan(chosen.name, base, options, reps, seed, name, runs, chosen.file)
        if check_installed:
            for missing in self.unmet(planned):
                raise missing
        return planned

    def unmet(self, plan: Plan) -> list[ParamError]:
        """What the plan's runs need that this install lacks (the recipe's ``requires=``), one
        ParamError each, naming the parameter the need depends on (None: the recipe always has it) and
        what to install; empty when everything is there."""
        chosen = self._recipe(plan.recipe)
        return [ParamError(chosen.name, missing.param, _reason(missing))
                for missing in chosen.unmet(run.config for run in plan.runs)]

    def clone_plan(self, run_id: int, overrides: Mapping[str, Any] | None = None,
                   grid: Mapping[str, Sequence[Any]] | None = None, reps: int = 1, name: str | None = None,
                   seed: int | None = None, max_runs: int | None = DEFAULT_LIMIT, check_installed: bool = True) -> Plan:
        """A plan that runs a run again: its recipe, its exact parameters with ``overrides`` (and
        ``grid``) over them, its experiment's seed (or ``seed``); the experiment it launches records the run
        (`Experiment.source_run`). A parameter the recipe no longer has is left out; one it cannot
        take any more is a ParamError naming it."""
        run = self.store.get_run(int(run_id))  # type: ignore[attr-defined]
        experiment = self.store.get_experiment(run.experiment_id)  # type: ignore[attr-defined]
        recipe = self._recipe(run.recipe)
        config = {key: value for key, value in (run.config or {}).items() if key in recipe.params}
        config.update(overrides or {})
        planned = self.plan(run.recipe, config, grid=grid, reps=reps, name=name,
                            seed=(experiment.seed or 0) if seed is None else seed, max_runs=max_runs,
                            check_installed=check_installed)
        return dataclasses.replace(planned, source_run=run.id)

    @staticmethod
    def _checked(recipe: Any, key: str, value: Any) -> Any:
        from tuiflow.recipes import RecipeError
        from tuiflow.recipes.params import ParamError as _RecipeParamError

        try:
            return recipe.config({key: value})[key]
        except (_RecipeParamError, RecipeError) as exc:
            raise ParamError(recipe.name, key, _reason(exc)) from None

    def launch(self, plan: Plan, gpus: Sequence[int] | None = None, num_gpus: int | None = None, per_gpu: int = 1,
               priority: int = 0, retries: int = 0, foreground: bool = False, start_daemon: bool = True) -> Submission:
        """Store a planned experiment and its runs, and (unless ``foreground``) make sure a daemon runs
        them. ``gpus``: the GPU indices the runs may use (None: any; []: CPU only); ``num_gpus``: GPUs
        per run (default 1 where GPUs exist, else 0). With ``foreground`` the runs are this process's to
        run, with `run_foreground`. Creates the home's store on the first launch."""
        from tuiflow.lab import scheduler as _scheduler

        for key, number in (("per_gpu", per_gpu), ("retries", retries), ("priority", priority)):
            BOUNDS[key].check(number)
        if num_gpus is not None:
            BOUNDS["num_gpus"].check(num_gpus)
        cluster = _scheduler.cluster_gpus(self.home)  # type: ignore[attr-defined]  # a Ray daemon's GPUs
        request = _scheduler.gpu_request(gpus, num_gpus, cluster=cluster)
        store = self._open_store(create=True)  # type: ignore[attr-defined]
        owner_pid, owner_start_time = process_identity() if foreground else (None, None)
        try:
            workdir: str | None = os.getcwd()
        except OSError:
            workdir = None
        specs = [RunSpec(config=p.config, rep=p.rep, seed=p.seed, priority=priority, gpus_requested=request.count,
                         retries=retries, gpus_allowed=request.allowed, per_gpu=per_gpu,
                         executor="foreground" if foreground else "daemon", owner_pid=owner_pid,
                         owner_start_time=owner_start_time, workdir=workdir) for p in plan.runs]
        experiment = store.create_experiment(
            plan.name, plan.recipe, config=plan.base, grid={"grid": plan.grid}, reps=plan.reps, seed=plan.seed,
            recipe_file=plan.recipe_file, recipe_sha256=recipe_sha256(plan.recipe_file), source_run=plan.source_run,
            runs=specs)
        run_ids = [run.id for run in store.list_runs(experiment=experiment.id)]
        if foreground or not start_daemon:
            return Submission(experiment.id, experiment.name, run_ids)
        info, started = _scheduler.start_daemon(store)
        return Submission(experiment.id, experiment.name, run_ids, info.pid, started)

    def run_foreground(self, run_ids: Sequence[int], on_update: Callable[[Run], Any] | None = None,
                       on_wait: Callable[[Run, str], Any] | None = None, poll_s: float = 0.2) -> list[Run]:
        """Execute runs launched with ``foreground`` by this process, one after another, each in its own
        runner process, and return them as they ended. Each waits while its GPUs are held by other runs
        (``on_wait`` gets the run and a line saying which); ``on_update`` gets the run's record every
        ``poll_s`` while it goes and once when it ends. Ctrl-C stops the current run (cancelled) and
        cancels the ones not started, then raises KeyboardInterrupt."""
        store = self.store  # type: ignore[attr-defined]
        runs = [store.get_run(run_id) for run_id in run_ids]
        return _experiments.run_foreground(store, runs, on_update=on_update, poll_s=poll_s, on_wait=on_wait)


def _info(recipe: Any) -> RecipeInfo:
    return RecipeInfo(recipe.name, recipe.description, recipe.file,
                      {name: ParamInfo(name, p.default, p.type_name, list(p.choices) if p.choices is not None else None,
                                       p.help, p.unit)
                       for name, p in recipe.params.items()},
                      [need.to_json() for need in recipe.requires])
