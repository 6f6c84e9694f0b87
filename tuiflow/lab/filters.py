"""The filter language of results pages: ``status=done lr<0.01 accuracy>0.9 recipe=digits-mlp``.

Terms are separated by spaces (all must hold); each is NAME OP VALUE with OP one of ``= != < <= > >=``.
``status`` takes one status or several (``status=done,failed``); ``experiment`` a name, an id or
``exp:ID``; any other name is a final metric, a parameter or a run column (``recipe``, ``priority``,
``duration_s``), resolved as a sort resolves it (`tuiflow.lab.pages.resolve_field`): a final metric
that some run has, else a parameter that some run has, else the run's column; ``config.X``,
``metrics.X`` and ``run.X`` say which. Values are numbers when they read as numbers; quote a value to keep it text
(``name="1e3"``), and ``=none`` tests for a missing value.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from tuiflow.lab.pages import FIELDS, RUN_PREFIX, Condition, ResultsError, find_experiment, resolve_field
from tuiflow.store import RUN_STATUSES, Store

_TERM = re.compile(r"^(?P<name>[A-Za-z_][\w./-]*?)\s*(?P<op>!=|<=|>=|=|<|>)\s*(?P<value>.*)$", re.DOTALL)


@dataclass(frozen=True)
class Filter:
    """A parsed filter: the experiment and statuses it picks, and the other conditions."""

    experiment: int | None = None
    statuses: list[str] | None = None
    where: list[Condition] = field(default_factory=list)


def _value(text: str, quoted: bool) -> Any:
    if quoted:
        return text
    if text.lower() in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return text


def parse_filter(text: str, known: Store | None) -> Filter:
    """Parse a filter; ``known`` is the store whose runs decide whether a bare name is a final metric
    or a parameter (None: only check the syntax). A bad term is a ResultsError naming it."""
    try:
        parts = shlex.split(text or "", posix=True)
        raw_parts = shlex.split(text or "", posix=False)
    except ValueError as exc:
        raise ResultsError(f"filter {text!r}: {exc}") from None
    experiment: int | None = None
    statuses: list[str] | None = None
    where: list[Condition] = []
    for part, raw in zip(parts, raw_parts):
        match = _TERM.match(part)
        if match is None or (not match["value"] and not raw.endswith(('""', "''"))):
            raise ResultsError(f"filter term {part!r}: expected NAME=VALUE, NAME<VALUE, ... (like lr<0.01)")
        name, op, literal = match["name"], match["op"], match["value"]
        quoted = raw[len(match["name"]):].lstrip("!=<> ").startswith(('"', "'"))
        if name == "status":
            if op not in ("=", "!="):
                raise ResultsError(f"filter term {part!r}: status takes = or !=")
            names = [s.strip() for s in literal.split(",") if s.strip()]
            bad = [s for s in names if s not in RUN_STATUSES]
            if bad or not names:
                raise ResultsError(f"filter term {part!r}: unknown status {', '.join(bad) or literal!r}; "
                                   f"statuses are {', '.join(RUN_STATUSES)}")
            statuses = names if op == "=" else [s for s in RUN_STATUSES if s not in names]
            continue
        if name == "experiment" and op == "=":
            if known is not None:
                experiment = find_experiment(known, literal).id
            continue
        value = _value(literal, quoted)
        if op in ("<", "<=", ">", ">=") and not isinstance(value, (int, float)):
            raise ResultsError(f"filter term {part!r}: {op} compares numbers, and {literal!r} is not one")
        where.append((_field(known, name), op, value))
    return Filter(experiment, statuses, where)


def _field(store: Store | None, name: str) -> str:
    """The field a filter's name means: as a sort resolves it (`resolve_field`: a final metric, else a
    parameter, else a run column; `run.X` the run's column)."""
    columns = ", ".join(f for f in FIELDS if not f.endswith("_time"))
    if store is None:
        if name.startswith(RUN_PREFIX) and name.removeprefix(RUN_PREFIX) not in FIELDS:
            raise ResultsError(f"filter: no run column {name.removeprefix(RUN_PREFIX)!r} ({columns})")
        return name.removeprefix(RUN_PREFIX)
    field = resolve_field(store, name)
    if field is not None:
        return field
    if name.startswith(RUN_PREFIX):
        raise ResultsError(f"filter: no run column {name.removeprefix(RUN_PREFIX)!r} ({columns})")
    raise ResultsError(f"filter: no run has a final metric or parameter {name!r}, and it is not a run column "
                       f"({columns})")
