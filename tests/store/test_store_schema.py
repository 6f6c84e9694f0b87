"""Creating, migrating and refusing databases."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from claiming import claim_next
from store_helpers import FIXTURES, result, spawn

from tuiflow.store import SCHEMA_VERSION, Store, StoreError, schema
from tuiflow.store.schema import MIGRATIONS

TABLES = {"meta", "experiments", "runs", "metrics", "profile", "samples", "settings", "gpu_holds", "attempts",
          "run_params", "final_metrics"}


def columns(path: Path) -> dict[str, dict[str, str]]:
    db = sqlite_utils.Database(path)
    try:
        return {name: db[name].columns_dict for name in db.table_names()}
    finally:
        db.close()


def test_fresh_store_has_every_table_at_the_current_version(store: Store) -> None:
    assert SCHEMA_VERSION == 8 == len(MIGRATIONS) + 1
    assert set(store.db.table_names()) == TABLES
    assert dict(store.db.execute("SELECT key, value FROM meta").fetchall()) == {
        "app": "tuiflow",
        "schema_version": str(SCHEMA_VERSION),
    }
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    assert "metrics_run_key_step" in {i.name for i in store.db["metrics"].indexes}


def test_plain_tables_readable_by_sqlite_utils(store: Store) -> None:
    experiment = store.create_experiment("e", "r", config={"lr": 0.1})
    db = sqlite_utils.Database(store.path)
    row = db["experiments"].get(experiment.id)
    assert row["config"] == '{"lr":0.1}'
    assert db.execute("SELECT json_extract(config, '$.lr') FROM experiments").fetchone()[0] == 0.1
    db.close()


def test_version_1_file_is_migrated_keeping_its_data(home: Path) -> None:
    home.mkdir()
    shutil.copyfile(FIXTURES / "tuiflow-v1.db", home / "tuiflow.db")
    assert "pid_start_time" not in columns(home / "tuiflow.db")["runs"]

    with Store.open(home) as store:
        experiment = store.find_experiment("mnist-lr")
        assert experiment.grid == {"lr": [0.1, 0.01]}
        assert experiment.config == {"epochs": 2, "model": {"width": 64}}
        assert experiment.notes == "" and experiment.recipe_file is None
        runs = store.list_runs(experiment.id)
        assert [(r.id, r.status) for r in runs] == [(1, "done"), (2, "failed"), (3, "queued")]
        assert runs[0].metrics == {"acc": 0.91} and runs[0].gpus == [0] and runs[0].pid == 1001
        assert runs[1].error == "CUDA out of memory"
        assert runs[0].attempt == 0 and runs[0].heartbeat_at is None
        assert store.metrics_summary(1)["loss"].count == 50
        # What version 2 brought works on the migrated file.
        assert store.set_run_status(2, "lost")
        assert claim_next(store).id == 3
        store.write_profile(1, 0, [dict(action="train", calls=1, total_s=1, mean_s=1, max_s=1, cpu_s=1)])
        # And what version 3 brought.
        assert runs[2].per_gpu == 1 and runs[2].gpus_allowed is None
        store.set_setting("paused", True)
        assert store.get_setting("paused") is True and store.get_setting("other", 5) == 5

    fresh = Store.open(home.parent / "fresh")
    fresh.close()
    assert columns(home / "tuiflow.db") == columns(fresh.path)


def test_an_old_store_opened_without_create_is_migrated_too(home: Path) -> None:
    home.mkdir()
    shutil.copyfile(FIXTURES / "tuiflow-v1.db", home / "tuiflow.db")
    with Store.open(home, create=False) as store:
        assert store.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(
            SCHEMA_VERSION
        )
        assert store.find_experiment("mnist-lr").name == "mnist-lr"


def test_failed_migration_leaves_the_file_as_it_was(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home.mkdir()
    shutil.copyfile(FIXTURES / "tuiflow-v1.db", home / "tuiflow.db")

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE experiments ADD COLUMN half_done TEXT")
        raise RuntimeError("migration bug")

    monkeypatch.setattr(schema, "MIGRATIONS", [broken])
    with pytest.raises(RuntimeError, match="migration bug"):
        Store.open(home)
    monkeypatch.undo()
    assert "half_done" not in columns(home / "tuiflow.db")["experiments"]
    with Store.open(home) as store:
        assert store.get_run(1).status == "done"


def test_newer_schema_is_refused_with_an_upgrade_hint(home: Path) -> None:
    Store.open(home).close()
    db = sqlite_utils.Database(home / "tuiflow.db")
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    db.close()
    with pytest.raises(StoreError) as caught:
        Store.open(home)
    assert str(caught.value) == (
        f"database {home / 'tuiflow.db'} has schema version {SCHEMA_VERSION + 1}, newer than this tuiflow supports "
        f"({SCHEMA_VERSION}): upgrade tuiflow"
    )


def test_garbage_file_is_not_a_database(home: Path) -> None:
    home.mkdir()
    (home / "tuiflow.db").write_bytes(b"this is not sqlite\n" * 500)
    with pytest.raises(StoreError) as caught:
        Store.open(home)
    message = str(caught.value)
    assert "\n" not in message and str(home / "tuiflow.db") in message and "not an SQLite database" in message


def test_other_sqlite_database_is_not_a_tuiflow_store(home: Path) -> None:
    home.mkdir()
    db = sqlite_utils.Database(home / "tuiflow.db")
    db["notes"].insert({"text": "mine"})
    db.close()
    with pytest.raises(StoreError, match="not a tuiflow store"):
        Store.open(home)


def test_empty_file_becomes_a_store(home: Path) -> None:
    home.mkdir()
    (home / "tuiflow.db").touch()
    with Store.open(home) as store:
        assert set(store.db.table_names()) == TABLES


def test_many_processes_opening_a_fresh_home_at_once(home: Path, tmp_path: Path) -> None:
    parties = 8
    workers = [spawn("open", home, tmp_path, parties) for _ in range(parties)]
    results = [result(w) for w in workers]
    assert all(r == {"version": SCHEMA_VERSION, "tables": sorted(TABLES)} for r in results)
    with Store.open(home) as store:
        assert store.db.execute("SELECT count(*) FROM meta").fetchone()[0] == 2


def test_a_version_5_file_drops_status_from_its_side_tables(home: Path) -> None:
    """Version 6: the side tables no longer copy each run's status, and experiments say what they were
    cloned from; the parameters and final metrics of old runs are still there to sort and filter by."""
    home.mkdir()
    conn = sqlite3.connect(home / "tuiflow.db", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    assert schema.upgrade(conn, None, target=5) == 5
    # Version 5 as the tuiflow that wrote it made its side tables: the status beside every row, and
    # triggers that copied each status change into them.
    for table in ("run_params", "final_metrics"):
        conn.execute(f"DROP TABLE {table}")
        conn.execute(f"""CREATE TABLE {table} (run_id INTEGER NOT NULL, key TEXT NOT NULL, value, status TEXT,
                         experiment_id INTEGER, PRIMARY KEY (run_id, key)) WITHOUT ROWID""")
        conn.execute(f"CREATE INDEX {table}_asc ON {table}(key, value, run_id, status, experiment_id)")
        conn.execute(f"DROP TRIGGER {table}_mirror")
        conn.execute(f"""CREATE TRIGGER {table}_mirror AFTER UPDATE OF status, experiment_id ON runs
                         BEGIN UPDATE {table} SET status = NEW.status WHERE run_id = NEW.id; END""")
        conn.execute(f"DROP TRIGGER {table}_insert")
    conn.execute("INSERT INTO experiments (name, recipe, created_at) VALUES ('old', 'sleep', 0)")
    for lr, status, acc in [(0.1, "done", 0.9), (0.01, "failed", None), (0.01, "done", 0.7)]:
        conn.execute("INSERT INTO runs (experiment_id, recipe, config, status, created_at, metrics) "
                     "VALUES (1, 'sleep', ?, ?, 0, ?)",
                     (f'{{"lr": {lr}}}', status, None if acc is None else f'{{"acc": {acc}}}'))  # fmt: skip
    assert "status" in {row[1] for row in conn.execute("PRAGMA table_info(run_params)")}
    conn.execute("COMMIT")
    conn.close()
    with Store.open(home) as store:
        assert store.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "8"
        for table in ("run_params", "final_metrics"):
            assert "status" not in {row[1] for row in store.db.execute(f"PRAGMA table_info({table})")}
        assert store.find_experiment("old").source_run is None
        assert store.count_runs([("config.lr", "=", 0.01), ("status", "=", "done")]) == 1
        page = store.results_page([("status", "=", "done")], sort="-metrics.acc")
        assert [run.id for run, _ in page.rows] == [1, 3]
        store.cancel_queued(1)  # no trigger left that writes a status into the side tables
        clone = store.create_experiment("again", "sleep", source_run=3)
        assert store.get_experiment(clone.id).source_run == 3
        # Version 7: the node of a run, an attempt and a telemetry sample; old rows ran on this machine.
        nodes = store.db.execute("SELECT node FROM runs UNION ALL SELECT node FROM attempts "
                                 "UNION ALL SELECT node FROM samples").fetchall()
        assert nodes == [(None,)] * 3


def test_a_version_7_file_keeps_its_profiles_with_the_first_call_unknown(home: Path) -> None:
    """Version 8: a profile row keeps its action's first call (set-up) apart. A version-7 file's rows
    read back as they were, first call unknown (None), still ranked by their time; new rows keep it."""
    home.mkdir()
    conn = sqlite3.connect(home / "tuiflow.db", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    assert schema.upgrade(conn, None, target=7) == 7
    assert "first_s" not in {row[1] for row in conn.execute("PRAGMA table_info(profile)")}
    conn.execute("INSERT INTO experiments (name, recipe, created_at) VALUES ('old', 'digits-mlp', 0)")
    conn.execute("INSERT INTO runs (experiment_id, recipe, config, status, created_at) "
                 "VALUES (1, 'digits-mlp', '{}', 'done', 0)")
    for action, calls, total in [("init_model #1", 3450, 7.9), ("train_model #1", 3450, 3.1)]:
        conn.execute("INSERT INTO profile (run_id, pipeline, action, calls, total_s, mean_s, max_s, cpu_s) "
                     "VALUES (1, 1, ?, ?, ?, ?, ?, 0)", (action, calls, total, total / calls, total))
    conn.execute("COMMIT")
    conn.close()
    with Store.open(home) as store:
        assert store.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "8"
        old = store.profile(1)
        assert [(row.action, row.calls, row.first_s) for row in old] == [
            ("init_model #1", 3450, None), ("train_model #1", 3450, None)]
        assert old[0].steady_calls == 3450 and old[0].steady_s == pytest.approx(7.9)  # unknown: all calls
        # A row written now keeps its first call, and the ranking goes by the time after it.
        store.write_profile(1, 1, [{"action": "init_model #1", "calls": 3450, "total_s": 7.9, "first_s": 7.8,
                                    "mean_s": 0.1 / 3449, "max_s": 0.001, "cpu_s": 7.0}])
        new = store.profile(1)
        assert [row.action for row in new] == ["train_model #1", "init_model #1"]
        assert new[1].first_s == 7.8 and new[1].steady_calls == 3449 and new[1].steady_s == pytest.approx(0.1)
