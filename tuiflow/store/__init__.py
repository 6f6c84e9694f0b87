"""The experiment store: one SQLite file holding experiments, runs, metrics, profiles and telemetry.

The only channel between tuiflow's processes. Imports nothing of tuiflow outside this package.
"""

from .db import BUSY_TIMEOUT_S
from .errors import NoStoreError, NotFoundError, ReadOnlyStoreError, StoreError, StoreFullError
from .home import DB_NAME, HOME_ENV, resolve_home
from .metrics import MetricWriter
from .owners import process_alive, process_identity, process_start_time
from .records import (
    ACTIVE_STATUSES,
    EXECUTORS,
    FINAL_STATUSES,
    RUN_STATUSES,
    Attempt,
    Experiment,
    GpuHold,
    MetricSeries,
    MetricSummary,
    ProfileRow,
    Run,
    RunSpec,
    Sample,
    Status,
    metrics_from_json,
    metrics_to_json,
    spell_non_finite,
)
from .schema import SCHEMA_VERSION
from .store import Store

__all__ = [
    "ACTIVE_STATUSES",
    "BUSY_TIMEOUT_S",
    "DB_NAME",
    "EXECUTORS",
    "FINAL_STATUSES",
    "HOME_ENV",
    "RUN_STATUSES",
    "SCHEMA_VERSION",
    "Attempt",
    "Experiment",
    "GpuHold",
    "MetricSeries",
    "MetricSummary",
    "MetricWriter",
    "NoStoreError",
    "NotFoundError",
    "ProfileRow",
    "ReadOnlyStoreError",
    "Run",
    "RunSpec",
    "Sample",
    "Status",
    "Store",
    "StoreError",
    "StoreFullError",
    "metrics_from_json",
    "metrics_to_json",
    "process_alive",
    "process_identity",
    "process_start_time",
    "resolve_home",
    "spell_non_finite",
]
