"""Queue commands: ``daemon start|stop|status``, ``queue``, ``cancel``, ``retry``, ``priority``,
``pause``, ``resume`` and ``gpus``."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import typer

from tuiflow.cli.app import (
    INT64_MAX,
    MAX_MIB,
    MAX_PRIORITY,
    MAX_SECONDS,
    HomeOption,
    app,
    check_at_most,
    fail,
    open_lab,
    whole_number,
)

daemon_app = typer.Typer(help="Start, stop or look at the scheduler daemon of a home.", no_args_is_help=True)
app.add_typer(daemon_app, name="daemon")


QUEUE_LIMIT = 50
"""Runs `queue` lists unless told otherwise: the first page answers at once, whatever the queue holds."""


def _echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


@daemon_app.command("start")
def daemon_start(
    home: str = HomeOption,
    min_free_memory: float = typer.Option(None, "--min-free-memory",
                                          help="MiB other users may hold on a GPU before it counts as busy."),
    sample_interval: float = typer.Option(1.0, "--sample-interval", help="Telemetry interval in seconds (>= 0.25)."),
    executor: str = typer.Option("local", "--executor",
                                 help="Where runs go: local (processes here) or ray (a Ray cluster)."),
    address: str = typer.Option(None, "--address", help="With --executor ray: auto, or the cluster's HOST:PORT."),
    num_cpus: float = typer.Option(None, "--num-cpus", help="With --executor ray: CPUs each run asks Ray for (1)."),
) -> None:
    """Start the daemon, detached: it survives logout. A running one is left alone (exit 0)."""
    if executor not in ("local", "ray"):
        fail(f"--executor must be local or ray, not {executor!r}")
    if executor == "local" and (address is not None or num_cpus is not None):
        fail("--address and --num-cpus are for --executor ray")
    if num_cpus is not None and not (math.isfinite(num_cpus) and 0 <= num_cpus <= 1024):
        fail(f"--num-cpus must be 0 to 1024, not {num_cpus:g}")
    # Checked here: the daemon runs detached, and would only say so in its log.
    if not math.isfinite(sample_interval) or sample_interval < 0.25:
        fail(f"--sample-interval must be at least 0.25 s, not {sample_interval}")
    check_at_most("--sample-interval", sample_interval, MAX_SECONDS, "s (a day)")
    if min_free_memory is not None and not (math.isfinite(min_free_memory) and min_free_memory >= 0):
        fail(f"--min-free-memory must be 0 MiB or more, not {min_free_memory:g}")
    if min_free_memory is not None:
        check_at_most("--min-free-memory", min_free_memory, MAX_MIB, "MiB (1 TiB)")
    home_lab = open_lab(home, create=True)
    daemon = home_lab.start_daemon(sample_interval=sample_interval, min_free_memory=min_free_memory,
                                   executor=executor, address=address, num_cpus=num_cpus)
    if daemon.started:
        typer.echo(f"daemon started: pid {daemon.pid}, home {daemon.home}")
    else:
        typer.echo(f"a daemon already runs for {daemon.home}: pid {daemon.pid}")


@daemon_app.command("stop")
def daemon_stop(home: str = HomeOption) -> None:
    """Stop the daemon; runs in progress go on and the next daemon adopts them."""
    home_lab = open_lab(home)
    pid = home_lab.stop_daemon()
    typer.echo(f"daemon {pid} stopped" if pid is not None else f"no daemon was running in {home_lab.home}")


@daemon_app.command("status")
def daemon_status(home: str = HomeOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """Whether the daemon runs, since when, and how many runs are running and queued."""
    status = open_lab(home).daemon_status().to_dict()
    if as_json:
        _echo_json(status)
        return
    if status["running_daemon"]:
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(status["started_at"]))
        typer.echo(f"daemon pid {status['pid']} ({status['executor']}) since {since}, home {status['home']}")
    else:
        typer.echo(f"no daemon for {status['home']}")
    paused = ", queue paused" if status["paused"] else ""
    typer.echo(f"{status['running']} running, {status['queued']} queued{paused}")


@app.command("queue")
def queue_command(
    home: str = HomeOption,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of the runs shown."),
    limit: int = typer.Option(None, "--limit", "-n", min=1, metavar="N",
                              help="At most this many runs (default 50)."),
    every: bool = typer.Option(False, "--all", help="Every running and queued run, however many."),
) -> None:
    """Running runs, then queued ones in the order they will start, each with what it waits for: the
    first 50 unless --limit or --all says otherwise."""
    if every and limit is not None:
        fail("choose one of --limit and --all")
    page = open_lab(home).queue(None if every else (limit or QUEUE_LIMIT))
    more = None
    if len(page.rows) < page.total:
        more = f"{len(page.rows):,} of {page.total:,} runs; --limit N or --all for more"
    if as_json:
        _echo_json(page.rows)
        if more:
            typer.echo(f"tuiflow: {more}", err=True)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if page.paused:
        console.print("the queue is paused: `tuiflow resume` starts new runs again", highlight=False, markup=False)
    table = Table(title=f"{page.running:,} running, {page.queued:,} queued", title_justify="left")
    waits = any(row["waiting_for"] for row in page.rows)
    for column in ("id", "experiment", "status", "prio", "gpus", "progress", "eta"):
        # What a run waits for wraps, not its status or numbers
        table.add_column(column, no_wrap=column not in ("experiment", "progress"))
    if waits:
        table.add_column("waiting for", overflow="fold")
    for row in page.rows:
        gpus = ",".join(map(str, row["gpus"])) if row["gpus"] else (
            f"wants {row['gpus_requested']}" if row["status"] == "queued" else "cpu")
        done, total = row["progress_done"], row["progress_total"]
        progress = f"{done}/{total}" if total else (str(done) if done else "")
        eta = f"{row['eta_s']:.0f}s" if row["eta_s"] is not None else ""
        # A live foreground command's runs (the daemon runs the queued ones of a dead one)
        mine = row["executor"] == "foreground" and (row["status"] == "running" or row["position"] is None)
        status = row["status"] + (" (foreground)" if mine else "")
        cells = [str(row["id"]), str(row["experiment"]), status, str(row["priority"]), gpus, progress, eta]
        table.add_row(*cells, *((row["waiting_for"] or "",) if waits else ()))
    console.print(table)
    if more:
        console.print(more, highlight=False, markup=False)


@app.command("cancel")
def cancel_command(
    target: str = typer.Argument(..., help="A run id, or an experiment's name (exp:ID for its id)."),
    grace: float = typer.Option(10.0, "--grace", help="Seconds between SIGTERM and SIGKILL."),
    home: str = HomeOption,
) -> None:
    """Cancel a run or every unfinished run of an experiment (SIGTERM to its process group, then SIGKILL)."""
    if not (math.isfinite(grace) and grace >= 0):
        fail(f"--grace must be 0 s or more, not {grace:g}")
    check_at_most("--grace", grace, MAX_SECONDS, "s (a day)")
    text = target.strip()
    home_lab = open_lab(home)
    if text.isdigit():  # a run's id; an experiment by its name, or exp:ID for its id
        done = home_lab.cancel_and_wait(run_id=int(text), grace_s=grace)
    else:
        done = home_lab.cancel_and_wait(experiment=text, grace_s=grace)
    if done.count == 0:
        typer.echo("cancelled 0 runs (nothing was queued or running)")
    elif done.experiment is None:
        typer.echo(f"cancelled 1 run: {done.run_id}")
    else:
        # A count, not the ids: an experiment may have 100,000 runs.
        typer.echo(f"cancelled {done.count:,} run{'s' if done.count != 1 else ''} of experiment {done.experiment}")


@app.command("retry")
def retry_command(run_id: int = typer.Argument(..., callback=whole_number("the run id", high=INT64_MAX)),
                  refresh: bool = typer.Option(False, "--refresh", help="Run the recipe file as it is now, if it "
                                               "changed since the run was submitted."),
                  home: str = HomeOption) -> None:
    """Queue a finished run again, with the same config and seed."""
    run = open_lab(home).retry(run_id, refresh=refresh)
    typer.echo(f"run {run.id} queued again")


@app.command("priority")
def priority_command(run_id: int = typer.Argument(..., callback=whole_number("the run id", high=INT64_MAX)),
                     priority: int = typer.Argument(..., callback=whole_number("the priority", -MAX_PRIORITY,
                                                                                MAX_PRIORITY)),
                     home: str = HomeOption) -> None:
    """Set a run's priority (higher starts first)."""
    run = open_lab(home).set_priority(run_id, priority)
    typer.echo(f"run {run.id}: priority {run.priority}")


@app.command("pause")
def pause_command(home: str = HomeOption) -> None:
    """Stop starting new runs; running ones go on."""
    open_lab(home).pause()
    typer.echo("queue paused: no new run starts until `tuiflow resume`")


@app.command("resume")
def resume_command(home: str = HomeOption) -> None:
    """Start queued runs again."""
    open_lab(home).resume()
    typer.echo("queue resumed")


@app.command("gpus")
def gpus_command(home: str = HomeOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """The GPUs (NVML, or simulated with TUIFLOW_FAKE_GPUS) and the runs holding each."""
    report = open_lab(home).gpus()
    if as_json:
        _echo_json(report)
        return
    from tuiflow.cli.top import gpus_lines  # grouped by node on a cluster

    for line in gpus_lines(report):
        typer.echo(line)
