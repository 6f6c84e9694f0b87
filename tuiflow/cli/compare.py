"""``tuiflow compare RUN RUN...``: runs side by side, the first (or ``--baseline``) as the baseline:
the parameters that differ (``--all``: every one), the final metrics, and each pipeline action's time
with its ratio to the baseline's, so a slower run shows which action made it slower."""

from __future__ import annotations

import json
import math
from typing import Any

import typer

from tuiflow.cli.app import HomeOption, app, open_lab


@app.command("compare")
def compare_command(
    run_ids: list[int] = typer.Argument(..., metavar="RUN...", help="The runs' ids (see `tuiflow results`)."),
    every: bool = typer.Option(False, "--all", help="Every parameter, not only those that differ."),
    baseline: int = typer.Option(None, "--baseline", "-b", metavar="RUN",
                                 help="The run the others are measured against (default: the first)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    home: str = HomeOption,
) -> None:
    """Runs side by side: differing parameters, final metrics, and time per action with ratios to the baseline."""
    with open_lab(home) as home_lab:
        comparison = home_lab.compare(run_ids, baseline=baseline)
    if as_json:
        from tuiflow.lab.results import json_safe

        typer.echo(json.dumps(json_safe(comparison.to_dict()), indent=2, default=str))
        return
    from rich.console import Console

    console = Console()
    for table in tables(comparison, every):
        console.print(table)


def tables(comparison: Any, every: bool) -> list[Any]:
    """The three tables: parameters, final metrics, profile with ratios."""
    from rich import box
    from rich.table import Table

    def table(title: str, first: str) -> Table:
        made = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        made.add_column(first, no_wrap=True)
        for index, run in enumerate(comparison.runs):
            made.add_column(f"#{run.id}" + (" base" if index == 0 else ""), justify="right", overflow="fold")
        return made

    keys = comparison.params if every else comparison.differing
    params = table("parameters" if every else f"parameters that differ ({len(keys)} of {len(comparison.params)})",
                   "param")
    params.add_row("recipe", *(run.recipe for run in comparison.runs), style="dim")
    params.add_row("status", *(run.status for run in comparison.runs), style="dim")
    for key in keys:
        params.add_row(key, *("-" if key not in run.config else _value(run.config[key]) for run in comparison.runs))
    metrics = table("final metrics", "metric")
    for key in comparison.metrics:
        metrics.add_row(key, *("-" if key not in run.metrics else _value(run.metrics[key]) for run in comparison.runs))
    metrics.add_row("duration", *(_seconds(run.duration_s) for run in comparison.runs), style="dim")
    base = comparison.runs[0].id
    profile = table(f"time per action, and its ratio to #{base}'s", "action")
    for row in comparison.profile:
        cells = (_timed(v, r, i == 0) for i, (v, r) in enumerate(zip(row.totals, row.ratios)))
        profile.add_row(row.name or row.action, *cells)  # named as every view names it (tuiflow.lab.profiles)
    if comparison.profile:
        first = comparison.profile_totals[0]
        profile.add_row("total", *(_timed(v, None if v is None or not first else v / first, i == 0)
                                   for i, v in enumerate(comparison.profile_totals)), style="bold")
    else:
        profile.add_row("(no pipeline profiled)", *("" for _ in comparison.runs), style="dim")
    return [params, metrics, profile]


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    if isinstance(value, (list, dict, bool)) or value is None:
        return json.dumps(value, default=str)
    return str(value)


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}s" if value < 60 else f"{int(value // 60)}m{value % 60:04.1f}s"


def _timed(value: float | None, ratio: float | None, first: bool) -> str:
    if value is None:
        return "-"
    if first:
        return _seconds(value)
    return f"{_seconds(value)} {'(new)' if ratio is None else f'{ratio:.2f}x'}"
