"""``tuiflow results``, ``show``, ``logs`` and ``export``: read what runs left in the store.

The data comes from the home's `tuiflow.lab.Lab`; this module only picks the home and formats.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from tuiflow.cli.app import HomeOption, app, fail, open_lab

ExperimentOption = typer.Option(
    None, "--experiment", "-e", metavar="NAME_OR_ID", help="Only this experiment (name or id)."
)
StatusOption = typer.Option(
    None,
    "--status",
    "-s",
    metavar="STATUS",
    help="Only runs in this status: queued, running, done, failed, cancelled, lost (repeatable, or a,b).",
)

STATUS_STYLES = {"queued": "dim", "running": "cyan", "done": "green", "failed": "red", "cancelled": "yellow",
                 "lost": "magenta"}  # fmt: skip


def _statuses(values: list[str] | None) -> list[str] | None:
    names = [name.strip() for value in values or [] for name in value.split(",") if name.strip()]
    return names or None


def _fmt(value: Any) -> str:
    """A value as a short table cell."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, dict, bool)):
        return json.dumps(value, default=str)
    return str(value)


def _when(stamp: float | None) -> str:
    return "" if stamp is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def _status(status: str) -> Any:
    from rich.text import Text

    return Text(status, style=STATUS_STYLES.get(status, ""))


def _print_json(value: Any) -> None:
    from tuiflow.lab.results import json_safe
    typer.echo(json.dumps(json_safe(value), indent=2, default=str))


# -- results ----------------------------------------------------------------------------------------

DEFAULT_LIMIT = 50
"""Runs a listing shows unless told otherwise: the first page answers at once, whatever the store holds."""

GROUPS = {"config": "params", "metrics": "metrics"}
"""The header over a table's parameter columns and over its final-metric columns."""


def _runs(count: int) -> str:
    return f"{count:,} run{'s' if count != 1 else ''}"


def _more(shown: int, offset: int, total: int) -> str | None:
    """The line that says a listing is one page of more, and how to see the rest; None when it is all."""
    if offset + shown >= total or shown == 0:
        return None
    where = f"{shown:,} of {_runs(total)}" if not offset else f"runs {offset + 1:,}-{offset + shown:,} of {total:,}"
    return f"{where}; --limit N or --all for more"


def _header(kind: str, key: str, first: bool, cells: list[str]) -> Any:
    """A value column's header: its name under the group's name (on the group's first column only),
    the group left and the name right, as the values are."""
    if not first:
        return key
    from rich.text import Text

    width = max(len(key), len(GROUPS[kind]), *(len(cell) for cell in cells))
    # Padded here and justified left as a whole: right justification would strip the group's padding.
    return Text(f"{GROUPS[kind]:<{width}}\n{key:>{width}}", justify="left")


def _results_table(rows: list[dict[str, Any]], total: int, sort: str | None, width: int) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from tuiflow.lab.results import varying_config

    sort_kind, _, sort_key = (sort or "").lstrip("-").partition(".")
    varying, fixed = varying_config(row["config"] for row in rows)
    metric_keys = sorted({key for row in rows for key in row["metrics"]})
    # The sort key goes first among the values, else one metric: never the columns that do not fit.
    values = [("metrics", k) for k in metric_keys[:1]] + [("config", k) for k in varying]
    values += [("metrics", k) for k in metric_keys[1:]]
    if (sort_kind, sort_key) in values:
        values.remove((sort_kind, sort_key))
        values.insert(0, (sort_kind, sort_key))
    notes, keep = [], []
    for name in ("experiment", "recipe"):
        distinct = {row[name] for row in rows}
        if len(distinct) == 1:
            notes.append(f"{name} {distinct.pop()}")
        else:
            keep.append(name)
    # What is the same in every row goes to the caption; the columns left share the width, and the
    # values get ~10 columns each.
    id_width = len(str(max(row["id"] for row in rows)))
    used = id_width + 2 + 11 + sum(min(14, max(len(str(row[name])) for row in rows)) + 2 for name in keep)
    room = max(2, (width - used) // 10)
    shown, hidden = values[:room], len(values) - room
    shown.sort(key=lambda item: item[0] == "metrics")  # parameters, then metrics: each group together
    notes += [f"{key}={_fmt(value)}" for key, value in fixed.items()]
    if hidden > 0:
        notes.append(f"{hidden} more columns: use --json or --csv")
    title = f"{len(rows):,} of {_runs(total)}" if len(rows) < total else _runs(total)
    table = Table(title=title, title_justify="left", caption=" · ".join(notes) or None, caption_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)  # fmt: skip
    # Headers are two lines, the group over the values' names: the other columns name themselves below.
    table.add_column("id", justify="right", no_wrap=True, min_width=id_width, vertical="bottom")
    for name in keep:
        table.add_column(name, overflow="ellipsis", no_wrap=True, max_width=14, vertical="bottom")
    table.add_column("status", no_wrap=True, min_width=9, vertical="bottom")
    cells = [[_fmt(row[kind].get(key)) for kind, key in shown] for row in rows]
    for i, (kind, key) in enumerate(shown):
        first = i == 0 or shown[i - 1][0] != kind
        table.add_column(_header(kind, key, first, [row[i] for row in cells]), overflow="ellipsis", no_wrap=True,
                         justify="right", style="bold" if (kind, key) == (sort_kind, sort_key) else "")  # fmt: skip
    for row, values_ in zip(rows, cells):
        named = [Text(_fmt(row[name])) for name in keep]
        table.add_row(str(row["id"]), *named, _status(row["status"]), *(Text(v) for v in values_))
    return table


def _echo_json_rows(rows: Iterator[dict[str, Any]]) -> None:
    """Print rows as one JSON list, as `json.dumps(rows, indent=2)` would, one row at a time."""
    from tuiflow.lab.results import json_safe
    out = sys.stdout
    first = True
    for row in rows:
        text = json.dumps(json_safe(row), indent=2, default=str)
        out.write(("[\n" if first else ",\n") + "\n".join("  " + line for line in text.splitlines()))
        first = False
    out.write("[]\n" if first else "\n]\n")


@app.command("results")
def results_command(
    experiment: str = ExperimentOption,
    status: list[str] = StatusOption,
    sort: str = typer.Option(
        None,
        "--sort",
        metavar="KEY",
        help="Sort by this final metric (or parameter, or column such as duration_s), highest first "
        "(-KEY or --asc: lowest first); config.X or metrics.X says which.",
    ),
    asc: bool = typer.Option(False, "--asc", help="Sort ascending."),
    where: str = typer.Option(
        "", "--filter", metavar="EXPR",
        help="Only the runs every term holds for, as History's filter: 'status=done lr<0.01 accuracy>0.9'.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of runs."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV: one row per run, config.X and metrics.Y columns."),
    limit: int = typer.Option(
        None, "--limit", "-n", min=1, metavar="N", help=f"At most this many runs (default {DEFAULT_LIMIT})."
    ),
    every: bool = typer.Option(False, "--all", help="Every run, however many."),
    offset: int = typer.Option(0, "--offset", min=0, metavar="N", help="Skip this many runs first."),
    home: str = HomeOption,
) -> None:
    """One row per run: id, experiment, recipe, status, parameters and final metrics; the first 50
    unless --limit or --all says otherwise."""
    from tuiflow.lab.results import write_csv
    if as_json and as_csv:
        fail("choose one of --json and --csv")
    if every and limit is not None:
        fail("choose one of --limit and --all")
    from tuiflow.lab.pages import best_first

    order = None if not sort else best_first(sort, ascending=asc or sort.startswith("-"))
    count = None if every else (limit or DEFAULT_LIMIT)
    statuses = _statuses(status)
    with open_lab(home) as home_lab:
        if as_json or as_csv:
            # Rows are written as they are read: --all of a big store holds one page at a time.
            rows = home_lab.iter_results(where, order, experiment=experiment, status=statuses, limit=count,
                                         offset=offset)
            if as_json:
                _echo_json_rows(rows)
            else:
                columns = None if count is not None else \
                    home_lab.result_columns(where, experiment=experiment, status=statuses)
                write_csv(rows, sys.stdout, columns)
            total = home_lab.count_results(where, experiment=experiment, status=statuses)
            if count is not None and (more := _more(min(count, max(0, total - offset)), offset, total)):
                typer.echo(f"tuiflow: {more}", err=True)
            return
        page = home_lab.results(where, order, limit=count, experiment=experiment, status=statuses, offset=offset)
    if not page.rows:
        typer.echo("no runs" + (" match" if experiment or statuses or offset or where.strip() else " yet"))
        return
    from rich.console import Console

    console = Console()
    console.print(_results_table(page.rows, page.total, page.sort, console.width))
    if more := _more(len(page.rows), offset, page.total):
        console.print(more, highlight=False, markup=False)


# -- show -------------------------------------------------------------------------------------------


def _fields_table(pairs: list[tuple[str, Any]], title: str | None = None) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left", box=box.SIMPLE, show_header=False, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for name, value in pairs:
        table.add_row(name, value if not isinstance(value, str) else Text(value))
    return table


def _show(details: dict[str, Any]) -> None:
    from rich.console import Console, Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from tuiflow.flow.profiler import render_profile

    d = details
    gpus = f"{_fmt(d['gpus']) or 'none'} (asked {d['gpus_requested']})"
    progress = ""
    if d["progress_done"] is not None:
        progress = f"{d['progress_done']}" + (f" / {d['progress_total']}" if d["progress_total"] else "")
        progress += f", eta {_duration(d['eta_s'])}" if d["eta_s"] is not None else ""
    record = [
        ("status", _status(d["status"])), ("attempt", f"{d['attempt']} (retries {d['retries']})"),
        ("host", _fmt(d["host"])), ("pid", _fmt(d["pid"])), ("gpus", gpus), ("rep / seed", f"{d['rep']} / {d['seed']}"),
        ("created", _when(d["created_at"])), ("started", _when(d["started_at"])), ("ended", _when(d["ended_at"])),
        ("duration", _duration(d["duration_s"])), ("heartbeat", _when(d["heartbeat_at"])), ("progress", progress),
        ("exit code", _fmt(d["exit_code"])), ("signal", _fmt(d["signal"])), ("log", _fmt(d["log_path"])),
        ("cloned from", "" if d.get("cloned_from") is None else f"run {d['cloned_from']}"),
    ]  # fmt: skip
    title = f"run {d['id']} · experiment {d['experiment']} · recipe {d['recipe']}"
    parts: list[Any] = [_fields_table([(k, v) for k, v in record if v != ""])]
    if d["config"]:
        parts.append(_fields_table([(k, _fmt(v)) for k, v in d["config"].items()], "config"))
    if d["metrics"]:
        parts.append(_fields_table([(k, _fmt(v)) for k, v in d["metrics"].items()], "final metrics"))
    console = Console()
    console.print(Panel(Group(*parts), title=Text(title), title_align="left"))
    if d["summary"]:
        series = Table(title="metric series", title_justify="left")
        for name in ("key", "values", "steps", "last", "min", "max"):
            series.add_column(name, justify="left" if name == "key" else "right", overflow="fold")
        for key, s in d["summary"].items():
            steps = f"{s['first_step']}..{s['last_step']}"
            series.add_row(Text(key), str(s["count"]), steps, _fmt(s["last_value"]), _fmt(s["min"]), _fmt(s["max"]))
        console.print(series)
    if d["profile"]:  # one table, slowest first, each action named as every view names it ("1/load")
        console.print(render_profile(d["profile"], title="profile: where the time goes"))
    if d["error"] or d["traceback"]:
        body = Text(d["error"] or "", style="bold")
        if d["traceback"]:
            body.append("\n\n" + d["traceback"].rstrip(), style="")
        console.print(Panel(body, title="error", title_align="left", border_style="red"))


@app.command("show")
def show_command(
    run_id: int = typer.Argument(..., help="The run's id (see `tuiflow results`)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    attempt: int = typer.Option(None, "--attempt", min=1, help="An earlier attempt of a retried run, as it ended."),
    home: str = HomeOption,
) -> None:
    """Everything about a run: record, config, final metrics, metric series summary, profile, error."""
    with open_lab(home) as home_lab:
        details = home_lab.run_details(run_id, attempt=attempt)
    if as_json:
        _print_json(details)
    else:
        _show(details)


# -- logs -------------------------------------------------------------------------------------------


def _out(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # `tuiflow logs 3 | head`: the reader has gone, which is no error; keep Python's exit quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None


def _note(message: str) -> None:
    typer.echo(f"tuiflow: {message}", err=True)


@app.command("logs")
def logs_command(
    run_id: int = typer.Argument(..., help="The run's id (see `tuiflow results`)."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new output until the run ends."),
    tail: int = typer.Option(None, "--tail", "-n", min=0, metavar="N", help="Start with the last N lines only."),
    home: str = HomeOption,
) -> None:
    """Print a run's output (stdout and stderr), optionally following it until the run ends."""
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    with open_lab(home) as home_lab:
        run = home_lab.get_run(run_id, settle=False)  # only -f settles a lost run (follow_log does)
        if follow and not run.is_final:
            if not (run.log_path and os.path.exists(run.log_path)):
                _note(f"run {run_id} is {run.status} and has no log yet: waiting for it (Ctrl-C stops)")
            try:
                for text in home_lab.follow_log(run_id, tail=tail):
                    _out(text)
            except KeyboardInterrupt:
                raise typer.Exit(130) from None
            return
        text = home_lab.log_text(run_id, tail=tail)
    if text is not None:
        _out(text)
    elif run.log_path and run.is_final:
        fail(f"the log of run {run_id}, {run.log_path}, is gone")
    else:
        _note(f"run {run_id} is {run.status}: it has no log" + ("" if run.is_final else " yet"))


# -- export -----------------------------------------------------------------------------------------


@app.command("export")
def export_command(
    fmt: str = typer.Option(..., "--format", "-F", metavar="csv|json|parquet", help="csv, json or parquet."),
    output: Path = typer.Option(
        None, "--output", "-o", metavar="FILE", help="The file to write (default: stdout; parquet needs one)."
    ),
    experiment: str = ExperimentOption,
    status: list[str] = StatusOption,
    series: bool = typer.Option(
        None,
        "--metrics-series/--no-metrics-series",
        "--metrics/--no-metrics",
        help="Also export every metric value in long form (default: yes, except CSV to stdout).",
        show_default=False,
    ),
    home: str = HomeOption,
) -> None:
    """Export results, and the metric series in long form (run_id, key, step, value, time).

    \b
    json:    one object {"runs": [...], "metrics": [...]}; runs as in `results --json`.
    csv:     runs to FILE, one row per run with config.X and metrics.Y columns;
             the series to FILE-metrics (runs.csv -> runs-metrics.csv).
    parquet: the same two tables as csv, as parquet files (needs pyarrow).
    """
    fmt = fmt.lower()
    to_stdout = output is None or str(output) == "-"
    if fmt == "parquet" and to_stdout:
        fail("parquet export needs a file: add --output FILE")
    if series is None:
        series = not (fmt == "csv" and to_stdout)
    elif series and fmt == "csv" and to_stdout:
        fail("CSV metric series go to a second file: add --output FILE, or --no-metrics-series")
    with open_lab(home) as home_lab:
        done = home_lab.export(fmt, sys.stdout if to_stdout else output, experiment=experiment,
                               status=_statuses(status), series=series)
    if done.files:
        where = " and ".join(str(path) for path in done.files)
        values = f" and {done.values:,} metric value{'s' * (done.values != 1)}" if series else ""
        _note(f"exported {_runs(done.runs)}{values} to {where}")
