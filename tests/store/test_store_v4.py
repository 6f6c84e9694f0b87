"""Schema version 4: who executes a run (the daemon or a foreground command, its owner), and the repair
of JSON that older versions wrote with bare NaN and Infinity."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from claiming import claim_next
from store_helpers import FIXTURES

from tuiflow.store import SCHEMA_VERSION, RunSpec, Sample, Store, StoreError, process_identity, schema
from tuiflow.store.queue import OWNER_CHECK_S

T0 = 1_700_000_000.0


def v3_store(home: Path) -> Path:
    """A store at schema version 3, made the way users' files got there: the v1 fixture, migrated."""
    home.mkdir()
    path = home / "tuiflow.db"
    shutil.copyfile(FIXTURES / "tuiflow-v1.db", path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    assert schema.upgrade(conn, 1, target=3) == 3
    conn.execute("COMMIT")
    conn.close()
    return path


def old_json(value: object) -> str:
    """What versions before 4 wrote: Python's json, bare NaN and Infinity included."""
    return json.dumps(value, separators=(",", ":"))


def add_v3_rows(path: Path) -> dict[str, int]:
    """Rows as a version-3 tuiflow could leave them, non-finite floats and all; their ids."""
    conn = sqlite3.connect(path, isolation_level=None)
    nan, inf = float("nan"), float("inf")
    experiment = conn.execute(
        "INSERT INTO experiments (name, recipe, config, grid, reps, created_at) VALUES (?, ?, ?, ?, 1, ?)",
        ("old-nan", "sleep", old_json({"lr": nan, "decay": -inf}), old_json({"lr": [0.1, inf]}), T0),
    ).lastrowid
    insert = ("INSERT INTO runs (experiment_id, recipe, config, status, created_at, metrics) "
              "VALUES (?, 'sleep', ?, ?, ?, ?)")
    done = conn.execute(insert, (experiment, old_json({"lr": nan}), "done", T0,
                                 old_json({"loss": nan, "acc": 0.5, "best": inf, "curve": [1.0, -inf]}))).lastrowid
    queued = conn.execute(insert, (experiment, "{}", "queued", T0, None)).lastrowid
    damaged = conn.execute(insert, (experiment, "{}", "failed", T0, '{"loss": 1.0')).lastrowid
    conn.execute("""INSERT INTO samples (time, device, kind, "values") VALUES (?, 'gpu0', 'gpu', ?)""",
                 (T0, old_json({"utilization": nan, "temperature": 40.0})))
    conn.close()
    return {"experiment": experiment, "done": done, "queued": queued, "damaged": damaged}


def test_a_version_3_store_is_migrated_and_its_bare_nan_repaired(home: Path) -> None:
    path = v3_store(home)
    ids = add_v3_rows(path)
    with sqlite3.connect(path) as conn:  # the defect: not JSON to SQLite (json_extract fails before 3.42)
        assert conn.execute("SELECT json_valid(metrics) FROM runs WHERE id = ?", (ids["done"],)).fetchone() == (0,)
    conn.close()

    with Store.open(home) as store:
        version = store.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        assert version == str(SCHEMA_VERSION)
        run = store.get_run(ids["done"])
        assert math.isnan(run.metrics["loss"]) and run.metrics["best"] == math.inf
        assert run.metrics["acc"] == 0.5 and run.metrics["curve"] == [1.0, -math.inf]
        # Configs keep the spelling: a config's strings are the recipe's, not read back as floats.
        assert run.config == {"lr": "nan"}
        experiment = store.get_experiment(ids["experiment"])
        assert experiment.config == {"lr": "nan", "decay": "-inf"} and experiment.grid == {"lr": [0.1, "inf"]}
        (sample,) = store.samples(device="gpu0")
        assert sample.values == {"utilization": None, "temperature": 40.0}
        # Every run of the old file is the daemon's, the fixture's too (the damaged row is not read).
        assert {r.executor for r in store.list_runs(status=["done", "queued"])} == {"daemon"}
        assert store.db.execute("SELECT DISTINCT executor FROM runs").fetchall() == [("daemon",)]
        assert store.get_run(ids["queued"]).owner_pid is None
        assert claim_next(store).id == 3  # the fixture's queued run comes first, then ours
        assert claim_next(store).id == ids["queued"]

    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT json_valid(metrics), json_extract(metrics, '$.acc'), "
                           "json_extract(metrics, '$.loss'), json_extract(metrics, '$.best'), "
                           "json_extract(config, '$.lr') FROM runs WHERE id = ?", (ids["done"],)).fetchone()
        assert row == (1, 0.5, "nan", "inf", "nan")
        assert conn.execute("SELECT json_extract(grid, '$.lr[1]') FROM experiments WHERE id = ?",
                            (ids["experiment"],)).fetchone() == ("inf",)
        assert conn.execute("""SELECT json_extract("values", '$.utilization') FROM samples""").fetchone() == (None,)
        # A value Python's json cannot read either is damaged otherwise: left as it was, not guessed at.
        assert conn.execute("SELECT metrics FROM runs WHERE id = ?", (ids["damaged"],)).fetchone() == ('{"loss": 1.0',)
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "runs_foreground" in indexes
    conn.close()


def test_a_failed_repair_leaves_the_version_3_file_as_it_was(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = v3_store(home)
    ids = add_v3_rows(path)

    def broken(value: object) -> str:
        raise RuntimeError("encoder bug")

    monkeypatch.setattr(schema, "JSON_COLUMNS", (("runs", "metrics", broken),))
    with pytest.raises(RuntimeError, match="encoder bug"):
        Store.open(home)
    monkeypatch.undo()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
        assert "executor" not in {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
        assert "NaN" in conn.execute("SELECT metrics FROM runs WHERE id = ?", (ids["done"],)).fetchone()[0]
    conn.close()
    with Store.open(home) as store:
        assert math.isnan(store.get_run(ids["done"]).metrics["loss"])


def test_strict_json_check_for_an_sqlite_without_json_functions() -> None:
    check = schema._strictly_json
    assert [check('{"a":1}'), check("[1.5, null]"), check(None)] == [1, 1, None]
    assert [check('{"a":NaN}'), check("[Infinity]"), check("-Infinity"), check("{"), check("")] == [0] * 5


def test_non_finite_values_are_refused_where_json_has_no_spelling_for_them(store: Store) -> None:
    for config in ({"lr": float("nan")}, {"sizes": [1.0, float("inf")]}):
        with pytest.raises(StoreError) as caught:
            store.create_experiment("e", "r", config=config)
        assert str(caught.value) == "config holds NaN or an infinity, which JSON has no number for: use a finite number"
    with pytest.raises(StoreError, match=r"^run config holds NaN"):
        store.create_experiment("e", "r", runs=[RunSpec({"lr": float("-inf")})])
    assert store.list_experiments() == []
    # Telemetry has no reading there: null, as the monitor writes for a reading it has not got.
    store.add_samples([Sample(T0, "gpu0", "gpu", {"utilization": float("nan"), "memory_used": 10.0})])
    assert store.samples()[0].values == {"utilization": None, "memory_used": 10.0}


# --- who executes a run ---------------------------------------------------------------------------


def gone_process() -> tuple[int, float | None]:
    """The identity of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    identity = process_identity(process.pid)
    process.kill()
    process.wait()
    return identity


def foreground(owner: tuple[int, float | None], **kwargs: object) -> RunSpec:
    return RunSpec({}, executor="foreground", owner_pid=owner[0], owner_start_time=owner[1], **kwargs)


def test_the_daemon_leaves_a_live_foreground_commands_runs_alone(store: Store) -> None:
    me = process_identity()
    assert me[1] is not None
    mine = store.add_runs(store.create_experiment("fg", "r").id, [foreground(me), foreground(me, priority=9)])
    theirs = store.add_runs(store.create_experiment("bg", "r").id, [RunSpec({})])
    assert [(r.executor, r.owner_pid, r.owner_start_time) for r in mine] == [("foreground", *me)] * 2
    assert theirs[0].executor == "daemon" and theirs[0].owner_pid is None

    # The queue: the daemon's first (priority does not lift a foreground run into it), then the foreground's.
    assert [r.id for r in store.queued_runs()] == [theirs[0].id, mine[0].id, mine[1].id]
    assert [r.id for r in store.queued_runs(executor="daemon")] == [theirs[0].id]
    assert [r.id for r in store.queued_runs(executor="foreground")] == [mine[0].id, mine[1].id]
    assert [r.id for r in store.queued_runs(limit=2)] == [theirs[0].id, mine[0].id]
    with pytest.raises(StoreError, match="unknown executor 'ray'"):
        store.queued_runs(executor="ray")

    assert store.claim_run(mine[0].id) is None  # the daemon's claim of a foreground run
    assert claim_next(store).id == theirs[0].id
    assert claim_next(store) is None
    assert store.claim_run(theirs[0].id, owner_pid=me[0]) is None  # a command claims only its own runs

    claimed = store.claim_run(mine[0].id, owner_pid=me[0])
    assert claimed is not None and claimed.status == "running" and claimed.attempt == 1
    assert claimed.executor == "foreground" and claimed.started_at is not None
    assert store.claim_run(mine[0].id, owner_pid=me[0]) is None  # never twice


def test_the_daemon_takes_over_the_runs_of_a_foreground_command_that_died(store: Store) -> None:
    dead = gone_process()
    experiment = store.create_experiment("fg", "r").id
    first, second, third = store.add_runs(experiment, [foreground(dead), foreground(dead), foreground(dead)])
    # Queued and shown as the daemon's to start (they are never lost), still saying who queued them.
    assert [(r.id, r.executor) for r in store.queued_runs(executor="daemon")] == [
        (first.id, "foreground"), (second.id, "foreground"), (third.id, "foreground")]
    assert store.queued_runs(executor="foreground") == []
    assert store.claim_run(first.id, owner_pid=dead[0] + 1) is None

    taken = claim_next(store)
    assert taken is not None and taken.id == first.id
    assert (taken.executor, taken.owner_pid, taken.owner_start_time, taken.status) == ("daemon", None, None, "running")
    taken = store.claim_run(second.id)
    assert taken is not None and taken.executor == "daemon" and taken.owner_pid is None
    assert [r.id for r in store.queued_runs()] == [third.id]


def test_a_zombie_owner_has_gone_too(store: Store) -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run,) = store.add_runs(store.create_experiment("fg", "r").id, [foreground(process_identity(process.pid))])
        assert store.claim_run(run.id) is None
        process.kill()  # and not reaped yet: a zombie, as a killed command is until its parent waits
        deadline = time.monotonic() + 10
        while psutil.Process(process.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "the killed process never became a zombie"
            time.sleep(0.01)
        time.sleep(OWNER_CHECK_S)  # the store believes an owner it saw alive for this long
        assert store.claim_run(run.id) is not None
    finally:
        process.kill()
        process.wait()


def test_a_reused_pid_is_not_the_owner(store: Store) -> None:
    pid, start_time = process_identity()
    assert start_time is not None
    (run,) = store.add_runs(store.create_experiment("fg", "r").id, [foreground((pid, start_time - 3600))])
    assert store.claim_run(run.id).executor == "daemon"


def test_a_retried_foreground_run_goes_to_the_daemon(store: Store) -> None:
    me = process_identity()
    (run,) = store.add_runs(store.create_experiment("fg", "r").id, [foreground(me)])
    assert store.claim_run(run.id, owner_pid=me[0]) is not None
    store.finish_run(run.id, "failed", exit_code=1)
    again = store.requeue_run(run.id)
    assert (again.status, again.executor, again.owner_pid, again.owner_start_time) == ("queued", "daemon", None, None)
    assert claim_next(store).id == run.id


@pytest.mark.parametrize(("spec", "message"), [
    (RunSpec({}, executor="ray"), "unknown executor 'ray': use one of daemon, foreground"),
    (RunSpec({}, executor="foreground"), "a foreground run needs its owner's pid (owner_pid): the command that "
                                         "will run it"),
    (RunSpec({}, owner_pid=1), "only a foreground run has an owner, not one for the daemon"),
])
def test_bad_executors_are_one_line_errors_and_store_nothing(store: Store, spec: RunSpec, message: str) -> None:
    with pytest.raises(StoreError) as caught:
        store.create_experiment("e", "r", runs=[RunSpec({}), spec])
    assert str(caught.value) == message
    assert store.list_experiments() == [] and store.list_runs() == []
