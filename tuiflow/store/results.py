"""What runs leave behind: metric values, per-action profiles, and telemetry samples."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from types import EllipsisType
from typing import Any

from .base import StoreBase
from .errors import StoreError
from .records import MetricSeries, MetricSummary, ProfileRow, Sample, samples_to_json

MetricRow = tuple[int, str, int, "float | None", float]
"""One metric value as stored: (run_id, key, step, value, time)."""


class ResultsStore(StoreBase):
    """Writes and reads of metrics, profiles and samples; see `Store` for the whole API."""

    def write_metrics(self, rows: Sequence[MetricRow]) -> int:
        """Insert (run_id, key, step, value, time) rows in one transaction; return how many.

        This is the batch path under `MetricWriter`; call it directly only with large batches.
        """
        if not rows:
            return 0
        with self._write() as conn:
            conn.executemany("INSERT INTO metrics (run_id, key, step, value, time) VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows)

    def metric_keys(self, run_id: int) -> list[str]:
        """Names of the metrics a run has logged, sorted."""
        return [r[0] for r in self._read("SELECT DISTINCT key FROM metrics WHERE run_id = ? ORDER BY key", (run_id,))]

    def metric_series(
        self, run_id: int, key: str, *, after_step: int | None = None, limit: int | None = None
    ) -> MetricSeries:
        """Values of one metric of one run in step order; `after_step` fetches only what is new."""
        sql = "SELECT step, value, time FROM metrics WHERE run_id = ? AND key = ?"
        params: list[Any] = [run_id, key]
        if after_step is not None:
            sql += " AND step > ?"
            params.append(after_step)
        sql += " ORDER BY step, rowid"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = self._read(sql, params)
        return MetricSeries(
            run_id=run_id,
            key=key,
            steps=[r[0] for r in rows],
            values=[r[1] for r in rows],
            times=[r[2] for r in rows],
        )

    def metrics_summary(self, run_id: int) -> dict[str, MetricSummary]:
        """Per metric key of a run: count, first and last step, last value, min and max."""
        rows = self._read(
            """SELECT m.key, count(*), min(m.step), max(m.step),
                   (SELECT l.value FROM metrics l WHERE l.run_id = m.run_id AND l.key = m.key
                    ORDER BY l.step DESC, l.rowid DESC LIMIT 1),
                   min(m.value), max(m.value)
               FROM metrics m WHERE m.run_id = ? GROUP BY m.key ORDER BY m.key""",
            (run_id,),
        )
        return {r[0]: MetricSummary(*r) for r in rows}

    def write_profile(self, run_id: int, pipeline: int | str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Upsert a pipeline's per-action timings for a run: one row per (run, pipeline, action).

        Each row is a mapping with keys action, calls, total_s, mean_s, max_s, cpu_s, and optionally
        first_s (the first call's time, kept apart: see `ProfileRow`); a row for an action already
        stored replaces it, since the profiler reports running totals.
        """
        params = []
        for row in rows:
            try:
                params.append((run_id, pipeline, *(row[f] for f in ProfileRow.FIELDS), row.get("first_s")))
            except KeyError as exc:
                raise StoreError(f"profile row for run {run_id} lacks {exc.args[0]!r}: {dict(row)}") from None
        with self._write() as conn:
            self._require_run(conn, run_id)
            conn.executemany(
                """INSERT INTO profile (run_id, pipeline, action, calls, total_s, mean_s, max_s, cpu_s, first_s)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (run_id, pipeline, action) DO UPDATE SET
                   calls = excluded.calls, total_s = excluded.total_s, mean_s = excluded.mean_s,
                   max_s = excluded.max_s, cpu_s = excluded.cpu_s, first_s = excluded.first_s""",
                params,
            )
        return len(params)

    def profile(self, run_id: int, pipeline: int | str | None = None) -> list[ProfileRow]:
        """A run's profile rows, slowest action (by its time after the first call) first."""
        sql = ("SELECT run_id, pipeline, action, calls, total_s, mean_s, max_s, cpu_s, first_s FROM profile "
               "WHERE run_id = ?")
        params: list[Any] = [run_id]
        if pipeline is not None:
            sql += " AND pipeline = ?"
            params.append(pipeline)
        sql += " ORDER BY max(0, total_s - coalesce(first_s, 0)) DESC, total_s DESC, action"
        return [ProfileRow(*r) for r in self._read(sql, params)]

    def add_samples(self, samples: Iterable[Sample]) -> int:
        """Insert telemetry samples in one transaction; return how many."""
        params = [(s.time, s.device, s.kind, samples_to_json(s.values), s.node) for s in samples]
        if params:
            with self._write() as conn:
                conn.executemany('INSERT INTO samples (time, device, kind, "values", node) VALUES (?, ?, ?, ?, ?)',
                                 params)
        return len(params)

    def samples(
        self,
        *,
        kind: str | None = None,
        device: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
        node: str | EllipsisType | None = ...,
    ) -> list[Sample]:
        """Telemetry samples in time order, filtered by kind, device, time range and node (`...`: any
        node; None: the daemon's own machine)."""
        clauses, params = [], []
        for clause, value in (("kind = ?", kind), ("device = ?", device), ("time >= ?", since), ("time < ?", until),
                              ("node = ?", None if node is ... else node)):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        if node is None:
            clauses.append("node IS NULL")
        sql = 'SELECT time, device, kind, "values", node FROM samples'
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY time, rowid"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [Sample(r[0], r[1], r[2], json.loads(r[3]), r[4]) for r in self._read(sql, params)]

    def newest_sample_time(self) -> float | None:
        """Time of the newest telemetry sample (None when there is none): one index lookup."""
        rows = self._read("SELECT MAX(time) FROM samples")
        return rows[0][0] if rows else None

    def prune_samples(self, before: float) -> int:
        """Delete samples older than `before` (unix seconds), the retention policy's job; return how many."""
        with self._write() as conn:
            return conn.execute("DELETE FROM samples WHERE time < ?", (before,)).rowcount
