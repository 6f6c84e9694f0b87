"""How a run's per-action profile is named and read, for every client (the dashboard, Run detail,
Compare, `tuiflow show`): one rule, here.

- Names: ``load`` where no other row shares it; with actions of several pipelines each is named
  ``1/load``, ``2/load`` (the pipeline's number, or its name, first); the ``#k`` of an action's k-th
  use in its pipeline is kept only where one pipeline uses the action more than once.
- Set-up apart: an action's first call is where set-up lands (a framework's import, a model built
  on first use); ``first_s`` is that call, ``steady_s`` and ``steady_calls`` the calls after it. A
  row of a store before version 8 has no first call (None): all its calls count as steady.
- The slowest action is the one with the most steady time, and there is none before a steady call:
  one call of seconds at the start is not a bottleneck.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def action_names(keys: Sequence[tuple[Any, str]]) -> list[str]:
    """The name of each ``(pipeline, action)``, in order: ``load``, ``1/load``, ``load #2``."""
    several = len({str(pipeline) for pipeline, _ in keys}) > 1
    full = [f"{pipeline}/{action}" if several else str(action) for pipeline, action in keys]
    bases = [name.split(" #")[0] for name in full]
    counts: dict[str, int] = {}
    for base in bases:
        counts[base] = counts.get(base, 0) + 1
    return [base if counts[base] == 1 else name for name, base in zip(full, bases)]


def steady(calls: int, total_s: float, first_s: float | None) -> tuple[int, float]:
    """The calls after the first and their time (every call where the first is unknown)."""
    if first_s is None or calls <= 0:
        return calls, total_s
    return calls - 1, max(0.0, total_s - first_s)


def profile_rows(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Store profile rows (`tuiflow.store.ProfileRow`) as dicts, slowest (by steady time) first:
    pipeline, action, ``name`` (see `action_names`), calls, total_s, first_s, mean_s, max_s, cpu_s,
    steady_calls, steady_s, and ``share`` (of the run's steady time, 0-1)."""
    out = []
    for row in rows:
        d = {k: v for k, v in vars(row).items() if k != "run_id"}
        d.setdefault("first_s", None)
        d["steady_calls"], d["steady_s"] = steady(int(d["calls"] or 0), float(d["total_s"] or 0.0), d["first_s"])
        out.append(d)
    out.sort(key=lambda d: (-d["steady_s"], -float(d["total_s"] or 0.0)))
    for d, name in zip(out, action_names([(d["pipeline"], str(d["action"])) for d in out])):
        d["name"] = name
    total = sum(d["steady_s"] for d in out)
    for d in out:
        d["share"] = d["steady_s"] / total if total > 0 else 0.0
    return out


def slowest(rows: Sequence[Mapping[str, Any]] | Sequence[Any]) -> int | None:
    """The index of the slowest row (the most steady time), None while no action has a steady call
    (before the first batch, or after it alone) or there is only one action."""
    if len(rows) < 2:
        return None
    times = [_get(row, "steady_s") for row in rows]
    calls = [_get(row, "steady_calls") for row in rows]
    if not any(c and t and t > 0 for c, t in zip(calls, times)):
        return None
    return max(range(len(rows)), key=lambda i: times[i] or 0.0)


def _get(row: Any, key: str) -> Any:
    return row.get(key) if isinstance(row, Mapping) else getattr(row, key, None)
