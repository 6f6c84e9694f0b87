"""What live views read often and cheaply: whether anything changed, the runs a dashboard lists, the
newest value of each metric, a metric's points downsampled in SQL, and the action a run is in now."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from typing import Any

from .base import RUN_SELECT, StoreBase, marks
from .records import FINAL_STATUSES, Run


class ViewsStore(StoreBase):
    """Reads for live views; see `Store` for the whole API."""

    def data_version(self) -> int:
        """Changes whenever anything in the store changes: another connection's commit (SQLite's
        data_version) or this connection's own (its change count). A pragma: well under a millisecond."""
        with self._lock:
            other = self._conn.execute("PRAGMA data_version").fetchone()[0]
            return (other << 32) + self._conn.total_changes

    def experiment_counts(self) -> dict[int, dict[str, int]]:
        """Experiment id -> run count per status."""
        counts: dict[int, dict[str, int]] = {}
        for experiment_id, status, count in self._read(
            "SELECT experiment_id, status, count(*) FROM runs GROUP BY experiment_id, status"
        ):
            counts.setdefault(experiment_id, {})[status] = count
        return counts

    def experiment_names(self, ids: Iterable[int]) -> dict[int, str]:
        """Experiment id -> name, for these ids."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        return dict(self._read(f"SELECT id, name FROM experiments WHERE id IN ({marks(len(wanted))})", wanted))

    def recent_runs(self, limit: int = 20) -> list[Run]:
        """The runs that ended last, newest first."""
        rows = self._read(
            f"{RUN_SELECT} WHERE status IN ({marks(len(FINAL_STATUSES))}) ORDER BY ended_at DESC, id DESC LIMIT ?",
            [*FINAL_STATUSES, limit],
        )
        return [Run.from_row(row) for row in rows]

    def latest_metrics(self, run_ids: Sequence[int]) -> dict[int, dict[str, float | None]]:
        """Run id -> the value at the highest step of each metric it logged (through the
        metrics_run_key_step index: one probe per key)."""
        latest: dict[int, dict[str, float | None]] = {}
        for run_id in run_ids:
            rows = self._read(
                """SELECT k.key, (SELECT m.value FROM metrics m WHERE m.run_id = ? AND m.key = k.key
                                  ORDER BY m.step DESC, m.rowid DESC LIMIT 1)
                   FROM (SELECT DISTINCT key FROM metrics WHERE run_id = ?) k ORDER BY k.key""",
                (run_id, run_id),
            )
            latest[run_id] = dict(rows)
        return latest

    def metric_points(self, run_id: int, key: str, *, max_points: int | None = None) -> list[tuple[int, Any]]:
        """(step, value) of one metric in step order. With ``max_points``, a longer series is cut into
        max_points / 2 buckets of equal step span, and each keeps the points holding its lowest and
        highest value (the first of equals; a bucket of only missing values keeps one of them), so a
        curve keeps its spikes and at most max_points points come back.

        The work is done in SQL over the (run_id, key, step, value) index alone: one pass per bucket
        for its lowest and one for its highest value, the table read only for the points kept."""
        where = "run_id = ? AND key = ?"
        if max_points is not None:
            # Whether the series is longer than max_points, without counting all of a long one.
            rows = self._read(
                f"SELECT count(*) FROM (SELECT 1 FROM metrics WHERE {where} LIMIT ?)", (run_id, key, max_points + 1)
            )
        if max_points is None or rows[0][0] <= max_points:
            return [
                (step, value)
                for step, value in self._read(
                    f"SELECT step, value FROM metrics WHERE {where} ORDER BY step, rowid", (run_id, key)
                )
            ]
        buckets = max(1, max_points // 2)
        first, last = self._read(
            f"SELECT (SELECT min(step) FROM metrics WHERE {where}), (SELECT max(step) FROM metrics WHERE {where})",
            (run_id, key, run_id, key),
        )[0]
        if not (isinstance(first, int) and isinstance(last, int)):
            return self._points_by_position(run_id, key, buckets)  # steps that are not whole numbers
        span = last - first + 1
        # Bucket i holds steps [first + i * span // buckets, first + (i + 1) * span // buckets): the bounds
        # in Python's exact integers, passed as one JSON list of [lo, hi] pairs.
        bounds = [first + i * span // buckets for i in range(buckets + 1)]
        pairs = json.dumps([[lo, hi] for lo, hi in itertools.pairwise(bounds) if hi > lo])
        # An aggregate with one min() (or max()) takes its bare columns from the row holding it (the first
        # of equals; when all values are NULL, from one of those rows): its rowid. An empty bucket: NULL.
        pick = (
            "(SELECT rowid FROM (SELECT rowid, {}(value) FROM metrics "
            "WHERE run_id = :run AND key = :key AND step >= b.lo AND step < b.hi))"
        )
        rows = self._read(
            f"""WITH b(lo, hi) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')
                                   FROM json_each(:pairs)),
                    picked(id) AS (SELECT {pick.format("min")} FROM b UNION SELECT {pick.format("max")} FROM b)
               SELECT step, value FROM metrics WHERE rowid IN (SELECT id FROM picked) ORDER BY step, rowid""",
            {"pairs": pairs, "run": run_id, "key": key},
        )
        return [(step, value) for step, value in rows]

    def _points_by_position(self, run_id: int, key: str, buckets: int) -> list[tuple[int, Any]]:
        """Downsampling by position in step order (buckets of equal point counts), for steps that
        are not integers; slower (a window over the whole series)."""
        count = self._read("SELECT count(*) FROM metrics WHERE run_id = ? AND key = ?", (run_id, key))[0][0]
        rows = self._read(
            """WITH points AS MATERIALIZED (
                   SELECT step, value, (row_number() OVER (ORDER BY step, rowid) - 1) * ? / ? AS bucket
                   FROM metrics WHERE run_id = ? AND key = ?)
               SELECT bucket, step, min(value) FROM points GROUP BY bucket
               UNION ALL
               SELECT bucket, step, max(value) FROM points GROUP BY bucket""",
            (buckets, count, run_id, key),
        )
        seen: set[tuple[int, Any]] = set()
        points = []
        for bucket, step, value in sorted(rows, key=lambda r: (r[0], r[1])):
            if (bucket, step) not in seen:
                seen.add((bucket, step))
                points.append((step, value))
        return points

    def set_action(self, run_id: int, action: str | None) -> None:
        """Record the pipeline action a running run spends its time in now."""
        with self._write() as conn:
            conn.execute("UPDATE runs SET action = ? WHERE id = ?", (action, run_id))

    def current_action(self, run_id: int) -> str | None:
        """The action a running run is in now (None when it is not running or has not said)."""
        rows = self._read("SELECT action FROM runs WHERE id = ? AND status = 'running'", (run_id,))
        return rows[0][0] if rows else None
