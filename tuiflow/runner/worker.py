"""The runner process: executes ONE run of the store and records everything about it.

``python -m tuiflow.runner RUN_ID --home DIR`` loads the run, imports its recipe, checks the config,
runs it, and writes status, metrics, live profiles, progress and heartbeats, the final metrics, and
on failure the exception's message and traceback. Its stdout and stderr are the run's log file
(the launcher opens it), so a crash of the interpreter itself lands there too.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import traceback
from collections.abc import Mapping
from typing import Any

from tuiflow.flow import add_observer, remove_observer
from tuiflow.recipes import RecipeError, Run, load_file
from tuiflow.runner.reporter import Reporter
from tuiflow.store import Run as StoreRun
from tuiflow.store import Store, StoreError, metrics_to_json, process_start_time

EXIT_FAILED = 1
EXIT_BAD_RUN = 2


class Cancelled(BaseException):
    """SIGTERM or SIGINT reached the runner: unwind the recipe, keep what it logged, and stop.

    A BaseException, so a recipe's ``except Exception`` does not swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _StoreSink:
    """``run.log`` into the store's buffered metric writer."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def log(self, step: int, values: Mapping[str, float], time: float) -> None:
        self.writer.log_many(((key, step, value) for key, value in values.items()), at=time)


def _check_unchanged(experiment: Any, run_id: int) -> None:
    """A run executes the recipe it was submitted with: a recipe file edited since is refused, until
    the user says to run the new version (`tuiflow retry RUN --refresh`)."""
    import hashlib

    if not experiment.recipe_sha256 or not experiment.recipe_file:
        return
    try:
        with open(experiment.recipe_file, "rb") as file:
            digest = hashlib.sha256(file.read()).hexdigest()
    except OSError:
        return  # a missing file is said by the recipe lookup, which names it
    if digest != experiment.recipe_sha256:
        raise RecipeError(f"the recipe file {experiment.recipe_file} has changed since run {run_id} was submitted: "
                          f"`tuiflow retry {run_id} --refresh` runs it with the file as it is now")


def _raise_cancelled(signum: int, frame: Any) -> None:
    raise Cancelled(signum)


def execute(run_id: int, home: str | None = None, *, remote: bool = False) -> int:
    """Run ``run_id`` in this process; returns the exit code for the launcher to see. ``remote``:
    started on a cluster node, this runner reaches the store only through the channel to its executor
    ($TUIFLOW_REMOTE_FD) and never opens the SQLite file."""
    faulthandler.enable()  # a segfault in native code still leaves a Python traceback in the log
    try:
        if remote:
            from tuiflow.runner.remote import ChannelStore

            store: Any = ChannelStore.from_environment()
        else:
            store = Store.open(home, create=False)  # a runner of a wrong home must not leave a store there
    except StoreError as exc:
        print(f"tuiflow runner: {exc}", file=sys.stderr, flush=True)
        return EXIT_BAD_RUN
    try:
        return _execute(store, run_id)
    finally:
        store.close()


def _execute(store: Any, run_id: int) -> int:
    try:
        run = store.get_run(run_id)
        if run.is_final:
            raise StoreError(f"run {run_id} has already ended ({run.status}); retry it to run it again")
        if run.status == "queued" or run.pid is None:
            # Started by hand (queued), or by a launcher that has not recorded us yet, perhaps never
            # will (a daemon that died right after starting us): say who runs this run.
            store.start_run(run_id, pid=os.getpid(), pid_start_time=process_start_time(), gpus=_visible_gpus())
        experiment = store.get_experiment(run.experiment_id)
        _check_unchanged(experiment, run_id)
        recipe = _find_recipe(experiment.recipe_file, run.recipe)
        config = recipe.config(run.config)
        recipe.check_installed(config)  # a need the install lacks (requires=): said, not a bare ImportError
    except (StoreError, RecipeError) as exc:
        print(f"tuiflow runner: {exc}", file=sys.stderr, flush=True)
        _record_failure(store, run_id, f"{type(exc).__name__}: {exc}", None, EXIT_BAD_RUN)
        return EXIT_BAD_RUN

    print(f"tuiflow runner: run {run_id} of experiment {experiment.name!r}: recipe {recipe.name} "
          f"({recipe.file}), pid {os.getpid()}, CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}",
          flush=True)
    writer = store.metric_writer(run_id)
    reporter = Reporter(store, run_id, float(os.environ.get("TUIFLOW_REPORT_INTERVAL", "1.0")))
    handle = Run(config, sink=_StoreSink(writer), run_id=run_id, seed=run.seed, rep=run.rep,
                 on_progress=reporter.set_progress)
    previous = {sig: signal.signal(sig, _raise_cancelled) for sig in (signal.SIGTERM, signal.SIGINT)}
    add_observer(reporter)
    reporter.start()
    outcome: tuple[str, int, str | None, str | None, dict | None]
    try:
        result = recipe.func(handle)
        metrics = result if isinstance(result, dict) or result is None else {"result": result}
        problem = None if metrics is None else _not_json(metrics)
        if problem is None:
            outcome = ("done", 0, None, None, metrics)
        else:  # found now, or the store refuses them at the end and nothing says why the run failed
            print(f"tuiflow runner: {problem}", file=sys.stderr, flush=True)
            outcome = ("failed", EXIT_FAILED, problem, None, None)
    except Cancelled as exc:
        outcome = ("cancelled", 128 + exc.signum, f"stopped by {exc}", None, None)
    except Exception as exc:
        text = traceback.format_exc()
        print(text, file=sys.stderr, flush=True)
        outcome = ("failed", EXIT_FAILED, f"{type(exc).__name__}: {exc}", text, None)
    finally:
        remove_observer(reporter)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    # Everything below runs with the signals back to normal: a second SIGTERM kills at once.
    status, code, error, text, metrics = outcome
    try:
        writer.close()
    except StoreError as exc:  # values the recipe logged are lost: the run did not end well
        print(f"tuiflow runner: {exc}", file=sys.stderr, flush=True)
        if status == "done":
            status, code, error = "failed", EXIT_FAILED, str(exc)
    finally:
        reporter.stop()
        ended = _finish(store, run_id, status, code, error, text, metrics)
    reason = f": {ended.error}" if ended.error and ended.status != "done" else ""
    print(f"tuiflow runner: run {run_id} {ended.status}{reason}", flush=True)
    return code


def _finish(store: Any, run_id: int, status: str, code: int, error: str | None, text: str | None,
            metrics: dict | None) -> StoreRun:
    if status == "cancelled":
        # Cancelled through tuiflow (the canceller marks the run cancelled, with its reason, before
        # it signals: the store keeps that reason over ours) or signalled by someone else (`kill`):
        # then the run failed, and "stopped by SIGTERM" is all that is known.
        current = store.get_run(run_id).status
        status = "cancelled" if current == "cancelled" else "failed"
        return store.finish_run(run_id, status, exit_code=code, signal=code - 128, error=error)
    return store.finish_run(run_id, status, exit_code=code, error=error, traceback=text, metrics=metrics)


def _record_failure(store: Any, run_id: int, error: str, text: str | None, code: int) -> None:
    try:
        run = store.get_run(run_id)
    except StoreError:
        return  # no such run: nothing to record
    if not run.is_final:
        store.finish_run(run_id, "failed", exit_code=code, error=error, traceback=text)


def _not_json(metrics: dict) -> str | None:
    """Why the store cannot keep these final metrics, naming the first value it cannot ("final
    metrics must be JSON: x is object"); None when it can."""
    try:
        metrics_to_json(metrics)
        return None
    except (StoreError, RecursionError) as exc:  # RecursionError: metrics that hold themselves
        try:
            where = _first_not_json(metrics, "", set())
        except RecursionError:
            where = "they are nested too deeply"
        return f"final metrics must be JSON: {where or exc}"


def _first_not_json(value: Any, path: str, seen: set[int]) -> str | None:
    """Where in ``value`` the store's JSON encoder fails: "x.y[2] is object"; None if nowhere."""
    if isinstance(value, (dict, list, tuple)):
        if id(value) in seen:
            return f"{path or 'the metrics'} contains itself"
        seen = seen | {id(value)}
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    return f"a key of {path or 'the metrics'} is {type(key).__name__} ({key!r})"
                found = _first_not_json(item, f"{path}.{key}" if path else str(key), seen)
                if found:
                    return found
        else:
            for index, item in enumerate(value):
                found = _first_not_json(item, f"{path}[{index}]", seen)
                if found:
                    return found
        return None
    try:
        metrics_to_json(value)  # a leaf: the store's own encoder says (numpy scalars pass, say)
        return None
    except StoreError:
        return f"{path} is {type(value).__name__}"


def _find_recipe(path: str | None, name: str) -> Any:
    if not path:
        raise RecipeError(f"the experiment does not say which file recipe {name!r} came from")
    for found in load_file(path):
        if found.name == name:
            return found
    raise RecipeError(f"{path} no longer defines recipe {name!r}")


def _visible_gpus() -> list[int] | None:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return None
    return [int(part) for part in visible.split(",") if part.strip().isdigit()]
