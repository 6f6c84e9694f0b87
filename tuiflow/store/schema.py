"""The store's SQLite schema: the first version's DDL and the migrations that lead to the current one.

A fresh database is built the same way an old one is upgraded: version 1's DDL, then every migration
in order. So the path that upgrades a user's file is the path every test database takes too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import StoreError
from .records import metrics_to_json, samples_to_json

SCHEMA_VERSION = 8
APP_NAME = "tuiflow"

# Version 1 is frozen: it is what the first release wrote to users' disks. Change the schema by
# appending a migration, never by editing this.
V1_DDL = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE experiments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    recipe TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}',
    grid TEXT NOT NULL DEFAULT 'null',
    reps INTEGER NOT NULL DEFAULT 1,
    seed INTEGER,
    created_at REAL NOT NULL
);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id),
    recipe TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}',
    rep INTEGER NOT NULL DEFAULT 0,
    seed INTEGER,
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    priority INTEGER NOT NULL DEFAULT 0,
    gpus_requested INTEGER NOT NULL DEFAULT 0,
    gpus TEXT,
    pid INTEGER,
    host TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    exit_code INTEGER,
    error TEXT,
    log_path TEXT,
    metrics TEXT
);
CREATE INDEX runs_experiment ON runs(experiment_id);
CREATE INDEX runs_status ON runs(status, priority);
CREATE TABLE metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    key TEXT NOT NULL,
    step INTEGER NOT NULL,
    value REAL,
    time REAL NOT NULL
);
CREATE INDEX metrics_run_key_step ON metrics(run_id, key, step);
"""

_V1_RUN_COLUMNS = (
    "id, experiment_id, recipe, config, rep, seed, status, priority, gpus_requested, gpus, pid, host, "
    "created_at, started_at, ended_at, exit_code, error, log_path, metrics"
)

_V2_RUNS = """
CREATE TABLE runs_v2 (
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id),
    recipe TEXT NOT NULL,
    config TEXT NOT NULL DEFAULT '{}',
    rep INTEGER NOT NULL DEFAULT 0,
    seed INTEGER,
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled', 'lost')),
    priority INTEGER NOT NULL DEFAULT 0,
    gpus_requested INTEGER NOT NULL DEFAULT 0,
    gpus TEXT,
    pid INTEGER,
    pid_start_time REAL,
    host TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    heartbeat_at REAL,
    exit_code INTEGER,
    signal INTEGER,
    error TEXT,
    traceback TEXT,
    log_path TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    retries INTEGER NOT NULL DEFAULT 0,
    progress_done INTEGER,
    progress_total INTEGER,
    eta_s REAL,
    metrics TEXT
)
"""


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    """Add process adoption, retries, progress, profiles and telemetry samples; add the 'lost' status."""
    conn.execute("ALTER TABLE experiments ADD COLUMN recipe_file TEXT")
    conn.execute("ALTER TABLE experiments ADD COLUMN notes TEXT NOT NULL DEFAULT ''")
    # A CHECK constraint cannot be altered in place: rebuild runs the way SQLite documents
    # (create, copy, drop, rename). Foreign keys are not enforced by our connections, so the
    # drop does not cascade into metrics.
    conn.execute(_V2_RUNS)
    conn.execute(f"INSERT INTO runs_v2 ({_V1_RUN_COLUMNS}) SELECT {_V1_RUN_COLUMNS} FROM runs")
    conn.execute("DROP TABLE runs")
    conn.execute("ALTER TABLE runs_v2 RENAME TO runs")
    conn.execute("CREATE INDEX runs_experiment ON runs(experiment_id)")
    conn.execute("CREATE INDEX runs_status ON runs(status)")
    # The scheduler's claim query walks this partial index: highest priority, then submission order.
    conn.execute("CREATE INDEX runs_queue ON runs(priority DESC, id) WHERE status = 'queued'")
    conn.execute(
        """CREATE TABLE profile (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            pipeline NOT NULL,
            action TEXT NOT NULL,
            calls INTEGER NOT NULL DEFAULT 0,
            total_s REAL NOT NULL DEFAULT 0,
            mean_s REAL NOT NULL DEFAULT 0,
            max_s REAL NOT NULL DEFAULT 0,
            cpu_s REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (run_id, pipeline, action)
        )"""
    )
    conn.execute(
        """CREATE TABLE samples (
            time REAL NOT NULL,
            device TEXT NOT NULL,
            kind TEXT NOT NULL,
            "values" TEXT NOT NULL DEFAULT '{}'
        )"""
    )
    conn.execute("CREATE INDEX samples_kind_device_time ON samples(kind, device, time)")
    conn.execute("CREATE INDEX samples_time ON samples(time)")


def _migrate_2_to_3(conn: sqlite3.Connection) -> None:
    """Add what the scheduler needs: which GPUs a run may use and how many runs may share one, and
    settings (the queue's paused flag) that outlive the daemon."""
    conn.execute("ALTER TABLE runs ADD COLUMN gpus_allowed TEXT")  # JSON list of indices; NULL: any
    conn.execute("ALTER TABLE runs ADD COLUMN per_gpu INTEGER NOT NULL DEFAULT 1")
    conn.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _migrate_3_to_4(conn: sqlite3.Connection) -> None:
    """Say who executes each run: the daemon, or the foreground command that submitted it (its owner,
    by pid and start time, so the daemon can take over the runs of a command that died). And repair
    JSON that older versions wrote with bare NaN and Infinity, which SQLite's JSON functions refuse."""
    # 'daemon' rather than NULL for the daemon's runs: every run says who runs it, in SQL and in JSON
    # output alike, and NULL stays free to mean "unknown". No CHECK constraint: a new executor (Ray)
    # then needs no rebuild of the table; the store checks the values it writes.
    conn.execute("ALTER TABLE runs ADD COLUMN executor TEXT NOT NULL DEFAULT 'daemon'")
    conn.execute("ALTER TABLE runs ADD COLUMN owner_pid INTEGER")
    conn.execute("ALTER TABLE runs ADD COLUMN owner_start_time REAL")
    # The scheduler asks on every tick which owners of queued foreground runs are still alive.
    conn.execute(
        "CREATE INDEX runs_foreground ON runs(owner_pid, owner_start_time) "
        "WHERE status = 'queued' AND executor = 'foreground'"
    )
    repair_json(conn)


def _migrate_4_to_5(conn: sqlite3.Connection) -> None:
    """One reservation table for every GPU a run holds, whoever executes it; the folder each run was
    submitted from (its working directory); the action a run is in now; the recipe file's hash at
    submission; earlier attempts."""
    conn.execute("ALTER TABLE runs ADD COLUMN workdir TEXT")
    # The pipeline action a running run spends its time in now (its runner's last report).
    conn.execute("ALTER TABLE runs ADD COLUMN action TEXT")
    conn.execute("ALTER TABLE experiments ADD COLUMN recipe_sha256 TEXT")
    # A hold lives while its process does: the runner's (pid) once it started, before that the
    # process that claimed the run (holder). It is not tied to the run's status: a cancelled or
    # orphaned run still holds its GPUs until its process is gone.
    conn.execute(
        """CREATE TABLE gpu_holds (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            gpu INTEGER NOT NULL,
            per_gpu INTEGER NOT NULL DEFAULT 1,
            holder_pid INTEGER,
            holder_start_time REAL,
            pid INTEGER,
            pid_start_time REAL,
            since REAL NOT NULL,
            PRIMARY KEY (run_id, gpu)
        )"""
    )
    # What running runs of version 4 hold: their recorded GPUs, held by their recorded process.
    running = conn.execute(
        "SELECT id, gpus, per_gpu, pid, pid_start_time, coalesce(started_at, created_at) FROM runs "
        "WHERE status = 'running' AND gpus IS NOT NULL"
    ).fetchall()
    for run_id, gpus, per_gpu, pid, start_time, since in running:
        try:
            indices = [int(i) for i in json.loads(gpus)]
        except (TypeError, ValueError):
            continue
        conn.executemany(
            "INSERT OR IGNORE INTO gpu_holds (run_id, gpu, per_gpu, pid, pid_start_time, since) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, index, per_gpu, pid, start_time, since) for index in indices],
        )
    # An attempt's outcome, kept when the run goes back to the queue (retry) and starts clean.
    conn.execute(
        """CREATE TABLE attempts (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            attempt INTEGER NOT NULL,
            status TEXT NOT NULL,
            gpus TEXT,
            host TEXT,
            started_at REAL,
            ended_at REAL,
            exit_code INTEGER,
            signal INTEGER,
            error TEXT,
            metrics TEXT,
            PRIMARY KEY (run_id, attempt)
        )"""
    )
    # Results pages sort and filter by a parameter or a final metric of 100,000 runs: each run's
    # parameters and final metrics also live one row per key in side tables, kept by triggers (below).
    create_sort_tables(conn)
    # A curve downsampled for a chart reads each point's value from the index alone (see metric_points):
    # the same index as before with the value added, no more index entries per metric point.
    conn.execute("DROP INDEX IF EXISTS metrics_run_key_step")
    conn.execute("CREATE INDEX metrics_run_key_step ON metrics(run_id, key, step, value)")


def _migrate_5_to_6(conn: sqlite3.Connection) -> None:
    """The side tables no longer copy each run's status (see `create_sort_tables`: a mass cancel
    rewrote every parameter row of every run); an experiment says which run it was cloned from."""
    for table in SORT_TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}")  # its indexes go with it; the triggers are remade
    create_sort_tables(conn)
    # `tuiflow`'s clone (History's `n`): the run whose recipe and parameters the experiment started from.
    conn.execute("ALTER TABLE experiments ADD COLUMN source_run INTEGER")


def _migrate_6_to_7(conn: sqlite3.Connection) -> None:
    """Runs and telemetry on several machines (the Ray executor): which node a run (and each of its
    attempts) ran on, and which node a telemetry sample came from. NULL is the daemon's own machine,
    which is all a version-6 store knew."""
    conn.execute("ALTER TABLE runs ADD COLUMN node TEXT")
    conn.execute("ALTER TABLE attempts ADD COLUMN node TEXT")
    conn.execute("ALTER TABLE samples ADD COLUMN node TEXT")


def _migrate_7_to_8(conn: sqlite3.Connection) -> None:
    """A profile row keeps its action's first call apart (``first_s``), where set-up lands (a framework's
    import, a model built on first use); its ``mean_s`` and ``max_s`` are then those of the calls after
    it. NULL: unknown, as in every row a version-7 store holds (there the mean is of all calls)."""
    conn.execute("ALTER TABLE profile ADD COLUMN first_s REAL")


# A run's config or metrics as a JSON object for json_each, '{}' when it is not one (damaged JSON,
# which older versions may have left, is left alone rather than failing the write).
def _object(column: str) -> str:
    return (
        f"CASE WHEN {column} IS NULL OR NOT json_valid({column}) THEN '{{}}' "
        f"WHEN json_type({column}) = 'object' THEN {column} ELSE '{{}}' END"
    )


# A final metric's sort value, as results pages compare it: numbers, and the infinities that metrics
# spell "inf" and "-inf" (9e999 is SQLite's infinity); NaN, other text, lists, null: NULL (missing).
_METRIC_VALUE = (
    "CASE j.type WHEN 'integer' THEN j.value WHEN 'real' THEN j.value "
    "WHEN 'text' THEN CASE j.value WHEN 'inf' THEN 9e999 WHEN '-inf' THEN -9e999 END END"
)

# table -> (the runs column it mirrors, the value it keeps of each key). A parameter keeps what
# json_extract gives (numbers, text, 1/0 for booleans, JSON text for lists and dicts, NULL for null).
SORT_TABLES = {"run_params": ("config", "j.value"), "final_metrics": ("metrics", _METRIC_VALUE)}


def create_sort_tables(conn: sqlite3.Connection) -> None:
    """`run_params` and `final_metrics`: one row per (run, key) of each run's config and final metrics,
    every key a run has (NaN and null included, with a NULL value, so "has it" is one probe), with the
    run's experiment beside it. Two indexes each, (key, value, run_id, experiment_id) and (key, value
    DESC, run_id), so that a page sorted either way (ties by id) is an index range, and a count of the
    runs with a value in a range, or of one experiment, is read from the first index alone.

    The run's status is not copied here: it is what changes most (a cancel of 100,000 queued runs would
    rewrite every one of their parameter rows and both indexes, 5 s instead of 0.9 s), so a condition
    on it looks the run up by its id.

    Triggers on `runs` keep them equal to the runs whoever writes them (finish_run, requeue_run, a
    bulk UPDATE); existing runs are filled in. A later migration that rebuilds `runs` (create, copy,
    drop, rename) drops these triggers with it: it must call this again.
    """
    for table, (column, value) in SORT_TABLES.items():
        conn.execute(f"""CREATE TABLE IF NOT EXISTS {table} (
            run_id INTEGER NOT NULL, key TEXT NOT NULL, value, experiment_id INTEGER,
            PRIMARY KEY (run_id, key)) WITHOUT ROWID""")
        conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_asc ON {table}(key, value, run_id, experiment_id)")
        conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_desc ON {table}(key, value DESC, run_id)")
        fill = (
            f"INSERT OR REPLACE INTO {table} (run_id, key, value, experiment_id) "
            f"SELECT NEW.id, j.key, {value}, NEW.experiment_id "
            f"FROM json_each({_object(f'NEW.{column}')}) j"
        )
        # Every statement that writes the column fires these; a run whose JSON did not change is left
        # alone. (One statement each: executescript would commit the migration's transaction.)
        for event in ("insert", "update", "mirror", "delete"):
            conn.execute(f"DROP TRIGGER IF EXISTS {table}_{event}")
        conn.execute(f"""CREATE TRIGGER {table}_insert AFTER INSERT ON runs WHEN NEW.{column} IS NOT NULL
            BEGIN {fill}; END""")
        conn.execute(f"""CREATE TRIGGER {table}_update AFTER UPDATE OF {column}, id ON runs
            WHEN NEW.{column} IS NOT OLD.{column} OR NEW.id IS NOT OLD.id
            BEGIN DELETE FROM {table} WHERE run_id = OLD.id; {fill}; END""")
        # A run moved to another experiment (nothing does so today; a bulk UPDATE may): its rows follow.
        conn.execute(f"""CREATE TRIGGER {table}_mirror AFTER UPDATE OF experiment_id ON runs
            WHEN NEW.experiment_id IS NOT OLD.experiment_id
            BEGIN UPDATE {table} SET experiment_id = NEW.experiment_id WHERE run_id = NEW.id; END""")
        conn.execute(f"""CREATE TRIGGER {table}_delete AFTER DELETE ON runs
            BEGIN DELETE FROM {table} WHERE run_id = OLD.id; END""")
        conn.execute(f"DELETE FROM {table}")
        conn.execute(
            f"INSERT OR REPLACE INTO {table} (run_id, key, value, experiment_id) "
            f"SELECT r.id, j.key, {value}, r.experiment_id FROM runs r, "
            f"json_each({_object(f'r.{column}')}) j"
        )


# The TEXT columns holding JSON that could hold a float (runs.gpus and gpus_allowed hold GPU indices),
# and how a repaired value is written: metrics, configs and grids spell NaN and the infinities as
# "nan", "inf" and "-inf", as final metrics are written now (`metrics_to_json`).
JSON_COLUMNS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("runs", "metrics", metrics_to_json),
    ("runs", "config", metrics_to_json),
    ("experiments", "config", metrics_to_json),
    ("experiments", "grid", metrics_to_json),
    ("settings", "value", metrics_to_json),
    ("samples", "values", samples_to_json),
)


def _strictly_json(text: Any) -> int | None:
    """json_valid for an SQLite built without its JSON functions: RFC 8259, no NaN or Infinity."""
    if text is None:
        return None

    def refuse(name: str) -> Any:
        raise ValueError(name)

    try:
        json.loads(text, parse_constant=refuse)
    except (TypeError, ValueError):
        return 0
    return 1


def repair_json(conn: sqlite3.Connection) -> int:
    """Rewrite the JSON values that are not strict JSON (bare NaN, Infinity, -Infinity, which older
    versions wrote) with today's encoders; return how many were rewritten.

    A value Python's json cannot read either is damaged in some other way: it is left as it is.
    """
    try:
        conn.execute("SELECT json_valid('{}')")
    except sqlite3.OperationalError:
        conn.create_function("json_valid", 1, _strictly_json, deterministic=True)
    repaired = 0
    for table, column, encode in JSON_COLUMNS:
        rows = conn.execute(f'SELECT rowid, "{column}" FROM {table} WHERE NOT json_valid("{column}")').fetchall()
        for rowid, text in rows:
            try:
                value = json.loads(text)
            except (TypeError, ValueError):
                continue
            conn.execute(f'UPDATE {table} SET "{column}" = ? WHERE rowid = ?', (encode(value), rowid))
            repaired += 1
    return repaired


# MIGRATIONS[i] takes a database from version i + 1 to version i + 2.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _migrate_1_to_2,
    _migrate_2_to_3,
    _migrate_3_to_4,
    _migrate_4_to_5,
    _migrate_5_to_6,
    _migrate_6_to_7,
    _migrate_7_to_8,
]
assert len(MIGRATIONS) == SCHEMA_VERSION - 1


def create_v1(conn: sqlite3.Connection) -> None:
    """Create the version-1 schema in an empty database (inside the caller's transaction)."""
    for statement in V1_DDL.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT INTO meta (key, value) VALUES ('app', ?), ('schema_version', '1')", (APP_NAME,))


def read_version(conn: sqlite3.Connection, path: Path) -> int | None:
    """Return the schema version of the database, or None when it has no tables at all.

    Raise StoreError when the file holds tables but is not a tuiflow database.
    """
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return None
    not_ours = StoreError(f"{path} is an SQLite database but not a tuiflow store: move it or pick another home")
    if "meta" not in tables:
        raise not_ours
    rows = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('app', 'schema_version')"))
    if rows.get("app") != APP_NAME:
        raise not_ours
    try:
        return int(rows["schema_version"])
    except (KeyError, ValueError):
        raise StoreError(f"{path} has no valid schema version in its meta table: it is damaged") from None


def check_supported(version: int, path: Path) -> None:
    """Raise StoreError when the database was written by a newer tuiflow than this one."""
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"database {path} has schema version {version}, newer than this tuiflow supports "
            f"({SCHEMA_VERSION}): upgrade tuiflow"
        )


def upgrade(conn: sqlite3.Connection, version: int | None, target: int = SCHEMA_VERSION) -> int:
    """Create or migrate the schema from `version` (None: empty database) up to `target`.

    Runs inside the caller's write transaction, so a failed migration leaves the file untouched.
    """
    if version is None:
        create_v1(conn)
        version = 1
    while version < target:
        MIGRATIONS[version - 1](conn)
        version += 1
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
    return version
