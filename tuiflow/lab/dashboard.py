"""The dashboard's runs, read in a few bounded queries however big the store: the running runs, the
queued ones in start order, and the last that ended, where a mass of runs that ended one after
another in one status (900 runs cancelled at once) is one row (`EndedGroup`) rather than the whole
section; and the one metric a one-cell view shows of a run (`headline_metric`). What tells an
experiment's runs apart is `Lab.varying_params`, History's and `tuiflow results`'s rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tuiflow.lab.history import headline_metric  # noqa: F401 - a view asks for it here, beside the rows
from tuiflow.store import FINAL_STATUSES, Run, Store

MASS = 8
"""More runs than this ending one after another in one status are one row of the dashboard."""

WINDOW = 120
"""Ended runs read at a time (newest first): a mass is counted, not read, past its first window."""

@dataclass(frozen=True)
class EndedGroup:
    """Runs that ended one after another in one status, too many to list: one dashboard row,
    "900 cancelled". `newest` is the id of the last of them to end (it names the row)."""

    status: str
    count: int
    first_ended_at: float | None
    last_ended_at: float | None
    newest: int
    experiment_ids: tuple[int, ...] = ()  # the experiments of the runs read, newest first
    experiments: tuple[str, ...] = ()  # their names, where known

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return asdict(self)


def ended_rows(store: Store, finished: int) -> list[Run | EndedGroup]:
    """The last `finished` rows of ended runs, newest first: each run, or a mass of one status as one
    `EndedGroup`. A few windows of WINDOW runs are read at most, and a mass that goes on past its
    window is counted, not read."""
    out: list[Run | EndedGroup] = []
    bound: float | None = None  # the next window: runs that ended at or before this (None: the newest)
    shown: set[int] = set()  # runs in a row already (a window starts at a time others ended at too)
    for _ in range(4):
        window = [run for run in _ended(store, bound, WINDOW + len(shown)) if run.id not in shown][:WINDOW]
        full = len(window) == WINDOW
        shown.update(run.id for run in window)
        start = 0
        while start < len(window) and len(out) < finished:
            end = start
            while end < len(window) and window[end].status == window[start].status:
                end += 1
            streak = window[start:end]
            start = end
            if end < len(window) or not full:
                out.extend([_group(streak, len(streak), streak[-1].ended_at)] if len(streak) > MASS
                           else streak[: finished - len(out)])
                continue
            # The window ends in this streak: how far it goes past the window is asked, not read.
            status, last = str(streak[0].status), streak[-1].ended_at
            before = _newest_other(store, status, last)
            rest = store.count_runs([("status", "=", status), ("ended_at", "<=", last),
                                     *([("ended_at", ">", before)] if before is not None else [])])
            count = sum(1 for run in streak if last is None or (run.ended_at or 0) > last) + rest
            if count <= MASS:
                out.extend(streak[: finished - len(out)])
            else:
                out.append(_group(streak, count, _oldest_of(store, status, before)))
            if before is None:
                return out
            bound = before
            break
        else:
            if not full:
                return out
            bound = window[-1].ended_at
        if len(out) >= finished:
            break
    return out


def _ended(store: Store, bound: float | None, limit: int) -> list[Run]:
    """Ended runs, newest first, that ended at or before `bound`."""
    where: list[tuple[str, str, Any]] = [("status", "in", list(FINAL_STATUSES))]
    if bound is not None:
        where.append(("ended_at", "<=", bound))
    return [run for run, _ in store.results_page(where, sort="-ended_at", limit=limit).rows]


def _newest_other(store: Store, status: str, before: float | None) -> float | None:
    """When the newest run that ended, at or before `before`, in another status than `status` ended."""
    others = [s for s in FINAL_STATUSES if s != status]
    where: list[tuple[str, str, Any]] = [("status", "in", others)]
    if before is not None:
        where.append(("ended_at", "<=", before))
    rows = store.results_page(where, sort="-ended_at", limit=1).rows
    return rows[0][0].ended_at if rows else None


def _oldest_of(store: Store, status: str, after: float | None) -> float | None:
    """When the first run of `status` that ended after `after` ended."""
    where: list[tuple[str, str, Any]] = [("status", "=", status)]
    if after is not None:
        where.append(("ended_at", ">", after))
    rows = store.results_page(where, sort="ended_at", limit=1).rows
    return rows[0][0].ended_at if rows else None


def _group(streak: Sequence[Run], count: int, first: float | None) -> EndedGroup:
    ids = tuple(dict.fromkeys(run.experiment_id for run in streak))
    return EndedGroup(status=str(streak[0].status), count=count, first_ended_at=first,
                      last_ended_at=streak[0].ended_at, newest=streak[0].id, experiment_ids=ids)


