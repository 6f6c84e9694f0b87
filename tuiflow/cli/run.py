"""``tuiflow run``: launch a recipe as an experiment: a grid of configs times repetitions."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tuiflow.cli.app import HomeOption, app, fail, open_lab
from tuiflow.cli.parsing import needs_gpu_indices, parse_gpus, parse_grid, parse_sets
from tuiflow.cli.recipes import RecipesOption, warn_problems
from tuiflow.lab.limits import BOUNDS, DEFAULT_LIMIT, MAX_RUNS

if TYPE_CHECKING:
    from tuiflow.lab import Lab


def bounded(key: str, flag: str) -> Callable[[int | None], int | None]:
    """A typer ``callback=`` that stops the command with `lab`'s one line (`tuiflow.lab.limits.BOUNDS`,
    the table the launch form reads too) unless the option's value is in range: checked as the command
    line is read, before any store is opened."""

    def check(value: int | None) -> int | None:
        problem = None if value is None else BOUNDS[key].problem(value, flag)
        if problem is not None:
            fail(problem)
        return value

    return check


@app.command("run")
def run_command(
    recipe: str = typer.Argument(None, help="The recipe's name (see `tuiflow recipes`); none with --from."),
    from_run: int = typer.Option(None, "--from", help="Run a run again: its recipe and exact parameters, with "
                                 "--set and --grid over them; the experiment records the run.", min=1),
    sets: list[str] = typer.Option(None, "--set", help="A parameter value, key=value (repeatable)."),
    grids: list[str] = typer.Option(None, "--grid", help="Values to try, key=v1,v2 (repeatable: a product)."),
    reps: int = typer.Option(1, "--reps", callback=bounded("reps", "--reps"),
                             help="Repetitions of each config, each with its own seed (runs in all: at most "
                                  f"{MAX_RUNS:,})."),
    name: str = typer.Option(None, "--name", help="The experiment's name (default: the recipe and a number)."),
    seed: int = typer.Option(None, "--seed", help="The experiment's seed, 0 to 2**63 - 1; repetition k's seed "
                                               "derives from it."),
    yes: bool = typer.Option(False, "--yes", help=f"Launch a grid larger than {DEFAULT_LIMIT:,} runs (at most "
                                                  f"{MAX_RUNS:,})."),
    gpus: str = typer.Option(None, "--gpus", help="GPUs the runs may use: all, none, or indices like 0,2 or 0-3."),
    num_gpus: int = typer.Option(None, "--num-gpus", callback=bounded("num_gpus", "--num-gpus"),
                                 help="GPUs per run (default 1 where GPUs exist, else 0)."),
    per_gpu: int = typer.Option(1, "--per-gpu", callback=bounded("per_gpu", "--per-gpu"),
                                help="How many runs may share one GPU."),
    priority: int = typer.Option(0, "--priority", callback=bounded("priority", "--priority"),
                                 help="Higher starts first."),
    retries: int = typer.Option(0, "--retries", callback=bounded("retries", "--retries"),
                                help="Run a failed or lost run again up to N times."),
    detach: bool = typer.Option(False, "--detach", help="Queue the runs and return at once (the default)."),
    wait: bool = typer.Option(False, "--wait", help="Queue the runs and watch them until they end; Ctrl-C "
                                                    "stops watching, not the runs."),
    foreground: bool = typer.Option(False, "--foreground", help="Run here, one run after another, and wait."),
    as_json: bool = typer.Option(False, "--json", help="Print the runs as JSON."),
    recipes: list[Path] = RecipesOption,
    home: str = HomeOption,
) -> None:
    """Run a recipe: --set overrides defaults, --grid tries values, --reps repeats each config."""
    from tuiflow.lab.results import json_safe
    from tuiflow.recipes import GridTooLarge

    if sum([detach, wait, foreground]) > 1:
        fail("choose one of --detach, --wait and --foreground")
    # Everything is checked before the store is created: a mistyped value must not create a home.
    home_lab = open_lab(home, missing_ok=True)
    home_lab.use_recipe_dirs(recipes or [])
    warn_problems(home_lab.problems)
    source = None
    if from_run is not None:
        source = home_lab.get_run(from_run)
        if recipe is not None and recipe != source.recipe:
            fail(f"run {from_run} is of recipe {source.recipe!r}, not {recipe!r}: give --from alone")
        recipe = source.recipe
    elif recipe is None:
        fail("name a recipe (see `tuiflow recipes`), or a run to run again with --from RUN")
    chosen = home_lab.recipe(recipe)
    allowed = _gpus(home_lab, gpus, num_gpus)
    if seed is not None and not 0 <= seed <= 2**63 - 1:
        fail(f"--seed must be a whole number from 0 to 2**63 - 1, not {seed}")
    try:
        if source is not None:
            plan = home_lab.clone_plan(source.id, overrides=parse_sets(chosen, sets or []),
                                       grid=parse_grid(chosen, grids or []), reps=reps, name=name, seed=seed,
                                       max_runs=None if yes else DEFAULT_LIMIT)
        else:
            plan = home_lab.plan(chosen.name, overrides=parse_sets(chosen, sets or []),
                                 grid=parse_grid(chosen, grids or []), reps=reps, name=name, seed=seed or 0,
                                 max_runs=None if yes else DEFAULT_LIMIT)
    except GridTooLarge as exc:  # the lab's words, and how to confirm here
        hint = ", even with --yes" if exc.hard else ""
        fail(str(exc).replace("raise the limit to launch them all", "add --yes to launch them all")
             .replace(f"holds at most {exc.limit:,}:", f"holds at most {exc.limit:,}{hint}:"))
    submission = home_lab.launch(plan, gpus=allowed, num_gpus=num_gpus, per_gpu=per_gpu, priority=priority,
                                 retries=retries, foreground=foreground, start_daemon=False)
    count = len(submission.run_ids)
    if not as_json:
        cloned = f", cloned from run {plan.source_run}" if plan.source_run is not None else ""
        typer.echo(f"experiment {submission.experiment!r} (id {submission.experiment_id}): {count} run"
                   f"{'s' if count != 1 else ''} of {plan.recipe}{cloned}, in {home_lab.path}")
    if not foreground:
        queued = home_lab.experiment_runs(submission.experiment_id) if as_json and not wait else []
        daemon = home_lab.start_daemon()
        if wait:
            finished = _watch(home_lab, submission.experiment_id, quiet=as_json)
        else:
            if as_json:
                typer.echo(json.dumps(json_safe([_outcome(r) for r in queued]), indent=2, default=str))
            else:
                typer.echo(f"queued for the daemon (pid {daemon.pid}{', just started' if daemon.started else ''}); "
                           f"follow with `tuiflow queue`, `tuiflow results --experiment {submission.experiment_id}`")
            return
    else:
        finished = _run_with_progress(home_lab, submission.run_ids, quiet=as_json)
    if as_json:
        typer.echo(json.dumps(json_safe([_outcome(r) for r in finished]), indent=2, default=str))
    else:
        _print_summary(finished)
    if any(r.status != "done" for r in finished):
        raise typer.Exit(1)


def _gpus(home_lab: Lab, spec: str | None, count: int | None) -> list[int] | None:
    """The GPUs ``--gpus`` allows (None: any), checked with ``--num-gpus`` against this machine's GPUs
    in the words of the options; `Lab.launch` checks the values again."""
    if not needs_gpu_indices(spec) and not count:
        return parse_gpus(spec, [])
    if home_lab.exists and home_lab.daemon_status().executor == "ray":
        # The GPUs are the Ray cluster's, not this machine's: `Lab.launch` checks the count there.
        if needs_gpu_indices(spec):
            fail("--gpus: the daemon runs on a Ray cluster, which picks each run's GPUs: use --num-gpus N")
        return parse_gpus(spec, [])
    report = home_lab.gpus()
    available = [gpu["index"] for gpu in report["gpus"]]
    try:
        allowed = parse_gpus(spec, available)
    except ValueError as exc:
        fail(f"--gpus: {exc}")
    pool = available if allowed is None else allowed
    if count is not None and count > len(pool):
        where = "on this machine" if allowed is None else f"in --gpus {spec}"
        fail(f"each run asks for {count} GPU{'s' if count != 1 else ''} but there "
             f"{'is' if len(pool) == 1 else 'are'} only {len(pool)} {where} ({report['status']})")
    return allowed


def _outcome(run: Any) -> dict[str, Any]:
    return {"id": run.id, "experiment_id": run.experiment_id, "recipe": run.recipe, "status": run.status,
            "config": run.config, "rep": run.rep, "seed": run.seed, "metrics": run.metrics, "gpus": run.gpus,
            "exit_code": run.exit_code, "signal": run.signal, "error": run.error, "log_path": run.log_path,
            "executor": run.executor}


def _watch(home_lab: Lab, experiment_id: int, quiet: bool) -> list:
    """Show the experiment's runs until all have ended; Ctrl-C stops watching, the runs go on."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True, quiet=quiet)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[status]}"), TimeElapsedColumn(), console=console)
    try:
        with progress:
            overall = progress.add_task("experiment", total=None, status="")
            tasks: dict[int, Any] = {}
            runs: list = []
            for runs in home_lab.watch(experiment_id):
                for run in runs:
                    if run.status == "queued":
                        continue
                    if run.id not in tasks:
                        tasks[run.id] = progress.add_task(f"run {run.id}", total=None, status="")
                    done, total = run.progress_done or 0, run.progress_total
                    if run.is_final and total is None:
                        done, total = 1, 1
                    progress.update(tasks[run.id], completed=done, total=total, status=run.status)
                ended = sum(r.is_final for r in runs)
                progress.update(overall, completed=ended, total=len(runs), status=f"{ended}/{len(runs)} ended")
            return runs
    except KeyboardInterrupt:
        print("tuiflow: stopped watching; the runs go on (see `tuiflow queue`)", file=sys.stderr)
        raise typer.Exit(0) from None


def _run_with_progress(home_lab: Lab, run_ids: list[int], quiet: bool) -> list:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True, quiet=quiet)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TextColumn("eta"),
                        TimeRemainingColumn(), console=console, transient=False)
    tasks: dict[int, Any] = {}

    def update(run: Any) -> None:
        if run.id not in tasks:
            tasks[run.id] = progress.add_task(f"run {run.id}", total=None, status="")
        total = run.progress_total
        progress.update(tasks[run.id], completed=run.progress_done or 0, total=total,
                        status=run.status if run.is_final else "")
        if run.is_final and total is None:
            progress.update(tasks[run.id], total=1, completed=1)

    try:
        with progress:
            return home_lab.run_foreground(run_ids, on_update=update, on_wait=lambda run, line: _say(console, line))
    except KeyboardInterrupt:
        print("tuiflow: interrupted; the current run was cancelled, the rest were not started", file=sys.stderr)
        raise typer.Exit(130) from None


def _say(console: Any, line: str) -> None:
    """A line about the runs on stderr, above the progress bars (also with --json, which quiets them)."""
    if console.quiet:
        print(f"tuiflow: {line}", file=sys.stderr, flush=True)
    else:
        console.print(f"tuiflow: {line}", markup=False, highlight=False)


def _print_summary(runs: list) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="runs", title_justify="left")
    for column in ("id", "status", "metrics", "note"):
        table.add_column(column)
    for run in runs:
        metrics = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in (run.metrics or {}).items())
        note = run.error or ""
        if run.status != "done" and run.log_path:
            note = f"{note} (log: tuiflow logs {run.id})".strip()
        table.add_row(str(run.id), run.status, metrics, note)
    Console().print(table)
