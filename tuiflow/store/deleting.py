"""Whole experiments, as History handles them: deleting one with everything its runs left in the store
(one write transaction, refused while any of its runs is queued or running), and each one's range of
final metrics."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .base import StoreBase, marks
from .errors import StoreError
from .records import ACTIVE_STATUSES

_CHUNK = 500  # ids per statement: well under SQLite's limit on parameters

# Tables holding rows per run, by their run column: everything a run leaves behind but its log file.
# run_params and final_metrics are also emptied by triggers on runs; deleting their rows first keeps
# this module right whatever the triggers of a schema version do.
RUN_TABLES = ("metrics", "profile", "attempts", "gpu_holds", "run_params", "final_metrics")


class ExperimentActiveError(StoreError):
    """An experiment that still has queued or running runs cannot be deleted."""

    def __init__(self, message: str, active: dict[str, int]) -> None:
        super().__init__(message)
        self.active = active


@dataclass(frozen=True)
class DeletedExperiment:
    """What `delete_experiment` removed: the runs, their metric points, and the log files they named
    (the caller removes those: files are not the store's)."""

    experiment_id: int
    name: str
    runs: int
    metric_points: int
    log_paths: tuple[str, ...]


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start:start + _CHUNK])


class DeletingStore(StoreBase):
    """Deleting experiments, and their final metrics at a glance; see `Store` for the whole API."""

    def delete_experiment(self, experiment_id: int) -> DeletedExperiment:
        """Delete an experiment, its runs and their metrics, profiles, attempts, side-table rows, GPU holds
        and telemetry samples (`run:ID` devices), all in one transaction. ExperimentActiveError, with
        nothing deleted, while any of its runs is queued or running; NotFoundError when there is none."""
        with self._write() as conn:
            found = conn.execute("SELECT name FROM experiments WHERE id = ?", (experiment_id,)).fetchone()
            if found is None:
                raise self._not_found("experiment", experiment_id)
            name = found[0]
            active = dict(conn.execute(
                f"SELECT status, count(*) FROM runs WHERE experiment_id = ? AND status IN "
                f"({marks(len(ACTIVE_STATUSES))}) GROUP BY status", (experiment_id, *ACTIVE_STATUSES)).fetchall())
            if active:
                what = " and ".join(f"{count:,} {status}" for status, count in sorted(active.items()))
                raise ExperimentActiveError(
                    f"experiment {name!r} has runs not finished ({what}): cancel them first "
                    f"(tuiflow cancel {name}), then delete it", active)
            rows = conn.execute("SELECT id, log_path FROM runs WHERE experiment_id = ? ORDER BY id",
                                (experiment_id,)).fetchall()
            ids = [run_id for run_id, _ in rows]
            points = 0
            for chunk in _chunks(ids):
                where = f"run_id IN ({marks(len(chunk))})"
                for table in RUN_TABLES:
                    deleted = conn.execute(f"DELETE FROM {table} WHERE {where}", chunk).rowcount
                    if table == "metrics":
                        points += deleted
                # The sampler keys each run's process readings by device "run:ID" (kind "run").
                conn.execute(f"DELETE FROM samples WHERE kind = 'run' AND device IN ({marks(len(chunk))})",
                             [f"run:{run_id}" for run_id in chunk])
                conn.execute(f"DELETE FROM runs WHERE id IN ({marks(len(chunk))})", chunk)
            conn.execute("DELETE FROM experiments WHERE id = ?", (experiment_id,))
        return DeletedExperiment(experiment_id, name, len(ids), points,
                                 tuple(path for _, path in rows if path))

    def experiment_metric_ranges(self) -> dict[int, dict[str, tuple[float | None, float | None, int]]]:
        """Experiment id -> final metric -> (lowest, highest, how many runs have a value): what an
        experiments table needs to show each experiment's best result."""
        ranges: dict[int, dict[str, tuple[float | None, float | None, int]]] = {}
        # The side table keeps each run's experiment beside its metrics: no run is looked up (a join with
        # runs took twice as long over 100,000 runs).
        rows = self._read("SELECT experiment_id, key, min(value), max(value), count(value) FROM final_metrics "
                          "GROUP BY experiment_id, key")
        for experiment_id, key, low, high, count in rows:
            ranges.setdefault(experiment_id, {})[key] = (low, high, count)
        return ranges
