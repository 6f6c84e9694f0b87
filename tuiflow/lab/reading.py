"""Reading from `Lab`: results a page at a time or row by row, one run in full, its log, exports.

The same selection everywhere: a ``filter`` (see `tuiflow.lab.filters`) and, for callers that hold
them apart already (the CLI's ``--experiment`` and ``--status``), ``experiment`` and ``status``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from tuiflow.errors import LabError
from tuiflow.lab import exports as _exports
from tuiflow.lab import pages as _pages
from tuiflow.lab import results as _results
from tuiflow.lab.filters import parse_filter
from tuiflow.lab.types import Page

Statuses = str | Iterable[str] | None


class ReadingMixin:
    """`Lab`'s results, run details, logs and exports."""

    store: Any
    exists: bool

    def _selection(self, filter: str, experiment: int | str | None, status: Statuses) -> tuple[Any, Any, list]:
        """The experiment, statuses and other conditions a request selects: ``experiment`` and
        ``status`` where given, else what the filter says."""
        terms = parse_filter(filter, known=self.store)
        return (terms.experiment if experiment is None else experiment,
                terms.statuses if status is None else status, terms.where)

    def results(self, filter: str = "", sort: str | None = None, after: Any = None, limit: int | None = 50, *,
                experiment: int | str | None = None, status: Statuses = None, offset: int = 0,
                total: int | None = None) -> Page:
        """One page of runs with their parameters and final metrics, by keyset (page 1,000 costs what
        page 1 does). ``filter``: space-separated terms like ``status=done lr<0.01 accuracy>0.9
        recipe=digits-mlp experiment=NAME``; ``sort``: a run column, parameter or final metric
        (``-accuracy``: highest first; runs without it last). Pass ``page.next`` as ``after``.
        ``experiment`` (name, id or ``exp:ID``) and ``status`` (one or several) select as the filter's
        terms do; ``offset`` skips rows first (it costs what it skips: prefer ``after``). ``total``: the
        `Page.total` of an earlier page of the same request, when nothing was written since (see
        `data_version`): the runs are not counted again."""
        if not self.exists:
            parse_filter(filter, known=None)  # a bad filter is still an error
            return Page([], 0, None)
        experiment, status, where = self._selection(filter, experiment, status)
        page = _pages.results_page(self.store, experiment, status, sort, where=where, after=after, limit=limit,
                                   offset=offset, total=total)
        return Page(page.rows, page.total, page.next, page.sort)

    def iter_results(self, filter: str = "", sort: str | None = None, *, experiment: int | str | None = None,
                     status: Statuses = None, limit: int | None = None, offset: int = 0) -> Iterator[dict[str, Any]]:
        """The rows `results` would page through, one at a time, the first ``limit`` (None: all) after
        ``offset``: memory stays flat however many runs there are. A bad request is an error here,
        before the first row is asked for."""
        if not self.exists:
            parse_filter(filter, known=None)
            return iter(())
        experiment, status, where = self._selection(filter, experiment, status)
        return _pages.iter_results(self.store, experiment, status, sort, where=where, limit=limit, offset=offset)

    def count_results(self, filter: str = "", *, experiment: int | str | None = None, status: Statuses = None) -> int:
        """How many runs a selection holds."""
        if not self.exists:
            parse_filter(filter, known=None)
            return 0
        experiment, status, where = self._selection(filter, experiment, status)
        return _pages.count_results(self.store, experiment, status, where=where)

    def result_columns(self, filter: str = "", *, experiment: int | str | None = None,
                       status: Statuses = None) -> list[str]:
        """The flat columns of a selection's rows (run fields, ``config.X``, ``metrics.Y``), read
        without reading the runs: the header of a CSV written a row at a time."""
        experiment, status, where = self._selection(filter, experiment, status)
        return _results.csv_columns(self.store, [*_pages.conditions(self.store, experiment, status), *where])

    def run_details(self, run_id: int, attempt: int | None = None) -> dict[str, Any]:
        """Everything about a run (a JSON-able dict): its record, experiment, final metrics, metric
        series summary (`summary`), per-action profile (`profile`) and earlier attempts (`attempts`).
        ``attempt`` N: an earlier attempt as it ended (its series and profile are not kept)."""
        return _results.run_details(self.store, run_id, attempt=attempt)

    # --- logs -----------------------------------------------------------------------------------------
    def read_log(self, run_id: int, offset: int = 0, max_bytes: int = 1 << 20) -> tuple[str, int]:
        """The run's output from byte ``offset`` (at most ``max_bytes``), and the offset to read from
        next time; never blocks. A negative offset reads the last that many bytes."""
        run = self.store.get_run(run_id)
        if not run.log_path:
            return "", max(offset, 0)
        try:
            with Path(run.log_path).open("rb") as log:
                size = os.fstat(log.fileno()).st_size
                start = max(0, size + offset) if offset < 0 else min(offset, size)
                log.seek(start)
                data = log.read(max_bytes)
        except FileNotFoundError:
            return "", max(offset, 0)
        except OSError as exc:
            raise LabError(f"cannot read the log of run {run_id} ({run.log_path}): {exc.strerror or exc}") from None
        return data.decode("utf-8", "replace"), start + len(data)

    def log_text(self, run_id: int, tail: int | None = None) -> str | None:
        """The run's whole log as text (its last ``tail`` lines); None when it has none (yet)."""
        return _results.log_text(self.store.get_run(run_id), tail=tail)

    def follow_log(self, run_id: int, tail: int | None = None, poll_s: float = 0.5) -> Iterator[str]:
        """The run's log text as it grows, until the run has ended and all is read: waits for a log
        not there yet, starts at its last ``tail`` lines, follows a retry to its new log."""
        return _results.follow_log(self.store, run_id, tail=tail, poll_s=poll_s)

    # --- exports --------------------------------------------------------------------------------------
    def export(self, fmt: str, output: Path | TextIO, *, experiment: int | str | None = None, status: Statuses = None,
               series: bool = True) -> _exports.Exported:
        """Write the selected runs, and with ``series`` every metric value in long form, as csv, json or
        parquet to a file (`Path`) or a text stream (json, and csv without series); files are
        replaced only when the whole export succeeds."""
        return _exports.export(self.store, fmt, output, experiment=experiment, status=status, series=series)
