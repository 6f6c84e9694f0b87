"""Experiments for clients: submit a recipe's grid of runs to the store, run them in the foreground."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuiflow.lab.limits import DEFAULT_LIMIT
from tuiflow.store import Experiment, Run, RunSpec, Store, StoreError, process_identity

if TYPE_CHECKING:  # imported where a plan is made: the recipes bring the pipeline engine and numpy
    from tuiflow.recipes import PlannedRun, Recipe


@dataclass(frozen=True)
class Submission:
    """An experiment just stored, and its queued runs."""

    experiment: Experiment
    runs: list[Run]


@dataclass(frozen=True)
class Plan:
    """An experiment checked but not stored: its base config and every run's config, rep and seed."""

    base: dict[str, Any]
    runs: list[PlannedRun]


def plan(recipe: Recipe, *, sets: Iterable[str] = (), grids: Iterable[str] = (), reps: int = 1,
         name: str | None = None, seed: int = 0, yes: bool = False) -> Plan:
    """Check an experiment without touching any store: ``sets`` (``key=value``) over the defaults,
    the product of ``grids`` (``key=v1,v2``), ``reps`` repetitions; a grid over the limit needs ``yes``."""
    from tuiflow.recipes import expand, parse_grid

    if name is not None and (name.strip().isdigit() or name.startswith("exp:")):
        # `tuiflow cancel 42` means run 42, and `exp:42` experiment 42: such a name could not be told apart.
        raise StoreError(f"experiment name {name!r} reads as an id (`cancel 42` is run 42, `exp:42` experiment "
                         "42): choose a name that is not a number")
    base = recipe.parse(list(sets))
    grid = parse_grid(recipe, list(grids))
    return Plan(base, expand(recipe, base, grid, reps, seed, limit=None if yes else DEFAULT_LIMIT))


def recipe_sha256(path: str | None) -> str | None:
    """The hash of a recipe file's bytes, kept with the experiment: its runs execute that recipe."""
    import hashlib

    if not path:
        return None
    try:
        with open(path, "rb") as file:
            return hashlib.sha256(file.read()).hexdigest()
    except OSError:
        return None


def submit(store: Store, recipe: Recipe, *, sets: Iterable[str] = (), grids: Iterable[str] = (), reps: int = 1,
           name: str | None = None, seed: int = 0, yes: bool = False, priority: int = 0, gpus: int = 0,
           gpus_allowed: list[int] | None = None, per_gpu: int = 1, retries: int = 0,
           foreground: bool = False) -> Submission:
    """Check (see `plan`) and store an experiment and its queued runs. Every config is validated
    before anything is written.

    The runs are the daemon's to run, or with ``foreground`` this process's (see `run_foreground`):
    the daemon leaves them alone unless this process ends before it has run them.
    """
    sets, grids = list(sets), list(grids)
    checked = plan(recipe, sets=sets, grids=grids, reps=reps, name=name, seed=seed, yes=yes)
    owner_pid, owner_start_time = process_identity() if foreground else (None, None)
    specs = [RunSpec(config=p.config, rep=p.rep, seed=p.seed, priority=priority, gpus_requested=gpus,
                     retries=retries, gpus_allowed=gpus_allowed, per_gpu=per_gpu,
                     executor="foreground" if foreground else "daemon", owner_pid=owner_pid,
                     owner_start_time=owner_start_time, workdir=_workdir()) for p in checked.runs]
    experiment = store.create_experiment(
        name, recipe.name, config=checked.base, grid={"sets": sets, "grid": grids}, reps=reps, seed=seed,
        recipe_file=recipe.file, recipe_sha256=recipe_sha256(recipe.file), runs=specs,
    )
    return Submission(experiment, store.list_runs(experiment=experiment.id))


def _workdir() -> str | None:
    """The folder the runs are submitted from: they will run there (None if it is gone already)."""
    try:
        return os.getcwd()
    except OSError:
        return None


ProgressCallback = Callable[[Run], Any]
WaitCallback = Callable[[Run, str], Any]
WAIT_POLL_S = 0.5


def run_foreground(store: Store, runs: list[Run], on_update: ProgressCallback | None = None,
                   poll_s: float = 0.2, on_wait: WaitCallback | None = None) -> list[Run]:
    """Execute ``runs`` (submitted with ``foreground`` by this process) one after another, each in
    its own runner process, here and now.

    Each run's GPUs are reserved in the home's reservation table, as the daemon reserves its runs':
    while they are held by other runs, the run waits and ``on_wait`` gets it and a line saying what
    it waits for. ``on_update`` gets the run's record every ``poll_s`` while it goes and once when
    it ends. Ctrl-C stops the current run (it ends as cancelled) and cancels the ones not started.
    """
    from tuiflow.scheduler.executor import runner_gone, spawn

    finished: list[Run] = []
    for index, run in enumerate(runs):
        process = None
        try:
            claimed = _claim_when_free(store, run, on_wait)
            if claimed is None:
                finished.append(store.get_run(run.id))  # cancelled meanwhile (the daemon leaves our runs be)
                continue
            process = spawn(store, run.id, gpus=list(claimed.gpus or []))
            while process.poll() is None:
                current = store.get_run(run.id)
                if current.status == "cancelled":  # a cancel recorded by a client: this command acts on it
                    _stop(process)
                    break
                if on_update is not None:
                    on_update(current)
                time.sleep(poll_s)
        except KeyboardInterrupt:
            try:
                store.set_run_status(run.id, "cancelled", expect=("queued", "running"), error="cancelled with Ctrl-C")
            finally:  # even when a second Ctrl-C lands here: the runner must not outlive us
                if process is not None:
                    _stop(process)
                    runner_gone(store, run.id, process.pid, process.wait(), store.get_run(run.id).pid_start_time)
                for rest in runs[index + 1:]:
                    store.set_run_status(rest.id, "cancelled", expect="queued", error="cancelled with Ctrl-C")
            finished.append(store.get_run(run.id))
            raise
        runner_gone(store, run.id, process.pid, process.returncode, store.get_run(run.id).pid_start_time)
        final = store.get_run(run.id)
        if on_update is not None:
            on_update(final)
        finished.append(final)
    return finished


def _claim_when_free(store: Store, run: Run, on_wait: WaitCallback | None) -> Run | None:
    """Claim a foreground run with its GPUs, waiting while they are held; None if it was cancelled
    meanwhile, or can never get them (it is then failed, saying why)."""
    from tuiflow.monitor import read_gpus
    from tuiflow.scheduler.allocator import UnsatisfiableRequest
    from tuiflow.scheduler.reserve import gpu_chooser
    from tuiflow.scheduler.waiting import waiting_for

    said = None
    while True:
        choose = gpu_chooser(run, read_gpus().gpus) if run.gpus_requested else None
        try:
            claimed = store.claim_run(run.id, owner_pid=os.getpid(), choose_gpus=choose)
        except UnsatisfiableRequest as exc:
            store.set_run_status(run.id, "failed", expect="queued", error=str(exc))
            return None
        if claimed is not None:
            return claimed
        if store.get_run(run.id).status != "queued":
            return None
        if on_wait is not None:
            # In the words `tuiflow queue` says it: "run 5 waits for 1 GPU (GPU0: #3, GPU1: #4)".
            why = waiting_for([], foreground=[run], gpus=read_gpus().gpus, holds=store.gpu_holds(), daemon=None,
                              paused=False, cpu_slots=1).get(run.id)
            line = f"run {run.id} {why.text}" if why is not None and why.kind != "starting" else said
            if line != said and line is not None:
                on_wait(run, line)
                said = line
        time.sleep(WAIT_POLL_S)


def _stop(process: Any, grace_s: float = 10.0) -> None:
    """SIGTERM to the runner's process group, SIGKILL after a grace period, or at once on a second
    Ctrl-C: the runner never outlives the command that started it."""
    import subprocess

    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
            break
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            continue
