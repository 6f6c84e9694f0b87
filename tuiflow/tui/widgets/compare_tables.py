"""Compare's tables as rows of cells: parameters (only those that differ, or all), final metrics, and the
per-action profile with each run's time as a ratio to the baseline's ("21.0s 2.10x"). Pure functions
of a `tuiflow.lab.compare.Comparison`; every cell is a whole value (the table scrolls, nothing is cut)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from tuiflow.tui.render import STATUS_STYLE, seconds
from tuiflow.tui.widgets.run_panes import value_text

SLOWER = 1.25  # a ratio from here up is marked slower, from 1/SLOWER down faster
Row = tuple[str, Text, list[Text]]  # (row key, its name cell, one cell per run)


def run_headers(comparison: Any, pinned: int | None) -> list[Text]:
    """One column header per run: its id, and which is the baseline (pinned or first)."""
    headers = []
    for index, run in enumerate(comparison.runs):
        label = Text(f"#{run.id}", style="bold")
        if index == 0:
            label.append(" pinned" if run.id == pinned else " base", style="cyan")
        headers.append(label)
    return headers


def about_rows(comparison: Any) -> list[Row]:
    """What each run is: experiment, recipe, status."""
    runs = comparison.runs
    return [
        ("run.experiment", Text("experiment", style="dim"), [Text(run.experiment or "-") for run in runs]),
        ("run.recipe", Text("recipe", style="dim"), [Text(run.recipe) for run in runs]),
        ("run.status", Text("status", style="dim"),
         [Text(run.status, style=STATUS_STYLE.get(run.status, "")) for run in runs]),
    ]


def param_rows(comparison: Any, every: bool) -> list[Row]:
    """The parameters whose values differ between the runs (`every`: all of them), differing ones bold."""
    keys = comparison.params if every else comparison.differing
    differing = set(comparison.differing)
    rows: list[Row] = []
    for key in keys:
        style = "bold" if key in differing else ""
        cells = [Text("-", style="dim") if key not in run.config else Text(value_text(run.config[key]), style=style)
                 for run in comparison.runs]
        rows.append((f"param.{key}", Text(key, style=style), cells))
    return rows


def metric_rows(comparison: Any) -> list[Row]:
    """Each final metric in each run, and how long each run took."""
    rows: list[Row] = []
    for key in comparison.metrics:
        cells = [Text("-", style="dim") if key not in run.metrics else Text(value_text(run.metrics[key]))
                 for run in comparison.runs]
        rows.append((f"metric.{key}", Text(key), cells))
    rows.append(("run.duration", Text("duration", style="dim"),
                 [Text(seconds(run.duration_s)) for run in comparison.runs]))
    return rows


def ratio_text(value: float | None, ratio: float | None, first: bool) -> Text:
    """A time, and after it its ratio to the baseline's: "21.0s 2.10x" (slower marked, faster too)."""
    if value is None:
        return Text("-", style="dim")
    text = Text(seconds(value))
    if not first:
        if ratio is None:
            text.append(" (new)", style="dim")
        else:
            style = "bold red" if ratio >= SLOWER else "green" if ratio <= 1 / SLOWER else "dim"
            text.append(f" {ratio:.2f}x", style=style)
    return text


def profile_rows(comparison: Any) -> list[Row]:
    """Each action's time in each run with its ratio to the baseline, then the profiled total."""
    rows: list[Row] = []
    for row in comparison.profile:
        rows.append((f"action.{row.pipeline}.{row.action}", Text(row.name or row.action),
                     [ratio_text(v, r, i == 0) for i, (v, r) in enumerate(zip(row.totals, row.ratios))]))
    if comparison.profile:
        totals = comparison.profile_totals
        base = totals[0]
        cells = [ratio_text(v, None if v is None or not base else v / base, i == 0) for i, v in enumerate(totals)]
        rows.append(("action.total", Text("total", style="bold"), cells))
    return rows

