"""The side tables behind results pages (`run_params`, `final_metrics`) and downsampled curves.

Pages sorted or filtered by a parameter or final metric are read through the side tables' indexes,
either by walking the sort order or by finding the few matching runs and sorting them: both ways must
give the rows a brute-force sort in Python gives, page after page, both directions, with missing, NaN,
infinite and text values and ties. The side tables must follow every write of a run (finish, requeue,
a status change, a bulk UPDATE) and be filled in for the runs of a version-4 file.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tuiflow.store import SCHEMA_VERSION, RunSpec, Store, pages, schema

LRS = [0.1, 0.01, 0.001, 0.0001]


def _config(rng: random.Random, i: int) -> dict[str, Any]:
    draw = rng.random()
    config: dict[str, Any] = {"layers": rng.randint(1, 3)}
    if draw < 0.75:
        config["lr"] = rng.choice(LRS)  # few values: long ties
    elif draw < 0.82:
        config["lr"] = None  # null: missing
    elif draw < 0.87:
        config["lr"] = rng.choice(["auto", "Auto", "cosine"])  # text sorts after numbers
    elif draw < 0.90:
        config["lr"] = rng.choice([True, False])  # 1 and 0, as json_extract gives them
    elif draw < 0.93:
        config["lr"] = 2  # an integer equal to...
    # ...and the rest have no lr at all
    if i % 11 == 0:
        config["lr"] = 2.0  # ...a float: a tie with 2
    return config


def _metrics(rng: random.Random) -> dict[str, Any] | None:
    draw = rng.random()
    if draw < 0.1:
        return None
    metrics: dict[str, Any] = {"loss": rng.random()}
    kind = rng.random()
    if kind < 0.6:
        metrics["acc"] = round(rng.random(), 1)  # eleven values: ties
    elif kind < 0.7:
        metrics["acc"] = math.nan
    elif kind < 0.75:
        metrics["acc"] = math.inf
    elif kind < 0.8:
        metrics["acc"] = -math.inf
    elif kind < 0.85:
        metrics["acc"] = "high"  # text: not a number, missing
    elif kind < 0.9:
        metrics["acc"] = 1  # an integer
    elif kind < 0.93:
        metrics["acc"] = None
    return metrics


@pytest.fixture
def lab_store(store: Store) -> tuple[Store, list[int], list[int]]:
    """300 runs in three experiments (one small), in every status, with parameters and final
    metrics drawn to have ties, gaps, NaN, infinities, text, booleans and null; the small experiment's
    ids and all ids."""
    rng = random.Random(7)
    ids: list[int] = []
    small: list[int] = []
    for name, count in (("big", 200), ("small", 12), ("rest", 88)):
        experiment = store.create_experiment(name, "sleep", runs=[RunSpec(_config(rng, i)) for i in range(count)])
        runs = [run.id for run in store.list_runs(experiment.id)]
        ids += runs
        if name == "small":
            small = runs
    for run_id in ids:
        draw = rng.random()
        if draw < 0.1:
            continue  # queued
        store.start_run(run_id, pid=1)
        if draw < 0.15:
            continue  # running
        store.finish_run(run_id, "done" if draw < 0.8 else "failed", exit_code=0, metrics=_metrics(rng))
    return store, small, ids


def _rank(value: Any) -> tuple[int, Any] | None:
    """A value as SQLite orders it: numbers (booleans as 1 and 0), then text; None is missing."""
    if value is None:
        return None
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    return (1, value.encode())


def _metric(value: Any) -> Any:
    """A final metric as pages see it: numbers and infinities; NaN, text and null are missing."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return value


def _value(run: Any, field: str) -> tuple[int, Any] | None:
    kind, _, key = field.partition(".")
    if kind == "config":
        return _rank(run.config.get(key))
    if kind == "metrics":
        return _rank(_metric((run.metrics or {}).get(key)))
    return _rank(getattr(run, field))


def _holds(run: Any, condition: tuple[str, str, Any]) -> bool:
    field, op, value = condition
    have = _value(run, field)
    if op == "in":
        return have is not None and have in [_rank(v) for v in value]
    if value is None:
        return (have is None) == (op == "=")
    want = _rank(value)
    if have is None:
        return False
    return {"=": have == want, "!=": have != want, "<": have < want, "<=": have <= want, ">": have > want,
            ">=": have >= want}[op]  # fmt: skip


def brute_force(store: Store, where: list, sort: str | None) -> list[int]:
    """Every matching id in the order the pages promise: by value (missing last either way), ties by id."""
    runs = [run for run in store.list_runs() if all(_holds(run, c) for c in where)]
    if not sort:
        return [run.id for run in runs]
    descending = sort.startswith("-")
    field = sort.lstrip("-")
    valued = sorted((run for run in runs if _value(run, field) is not None), key=lambda run: run.id)
    valued.sort(key=lambda run: _value(run, field), reverse=descending)  # stable: ties stay in id order
    return [run.id for run in valued] + sorted(run.id for run in runs if _value(run, field) is None)


def walk(store: Store, where: list, sort: str | None, size: int) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        page = store.results_page(where, sort=sort, after=after, limit=size)
        assert len(page.rows) <= size
        seen += [run.id for run, _ in page.rows]
        if page.next is None:
            return seen
        assert len(page.rows) == size
        after = page.next


WHERES = {
    "all": [],
    "done": [("status", "=", "done")],
    "small experiment": "small",
    "lr below 0.01": [("config.lr", "<", 0.01)],
    "lr missing": [("config.lr", "=", None)],
    "lr text": [("config.lr", ">", 10)],
    "acc and statuses": [("metrics.acc", ">=", 0.5), ("status", "in", ["done", "failed"])],
    "acc present, lr in": [("metrics.acc", "!=", None), ("config.lr", "in", [0.1, 0.001, "auto"])],
    "rare": [("metrics.acc", "=", 0.3), ("config.lr", "=", 0.01)],
    "lr and done": [("config.lr", "<", 0.01), ("status", "=", "done")],
    "lr and not failed": [("config.lr", "!=", None), ("status", "!=", "failed")],
    "acc, lr and a rare status": [("metrics.acc", ">", 0), ("config.lr", "<", 1), ("status", "=", "running")],
}
SORTS = ["metrics.acc", "-metrics.acc", "config.lr", "-config.lr", "metrics.loss", None, "-id", "-created_at"]


@pytest.mark.parametrize("strategy", ["walk", "find"])
@pytest.mark.parametrize("where_name", list(WHERES))
def test_pages_match_a_brute_force_sort(lab_store, monkeypatch, strategy, where_name) -> None:
    store, small, _ = lab_store
    # Walking the sort order or finding the matching runs and sorting them: both ways, whatever the share.
    monkeypatch.setattr(pages, "WALK_SHARE", 0.0 if strategy == "walk" else 2.0)
    where = WHERES[where_name]
    if where == "small":
        where = [("experiment_id", "=", store.get_run(small[0]).experiment_id)]
    for sort in SORTS:
        want = brute_force(store, where, sort)
        assert store.count_runs(where) == len(want)
        for size in (7, 50):
            assert walk(store, where, sort, size) == want, (sort, size)


def test_a_count_by_status_subtracts_the_other_statuses_when_they_are_fewer(lab_store) -> None:
    """The status is not in the side tables: a count of the done runs with some parameter counts the
    runs of the other statuses with it (fewer) and subtracts; a rare status is looked up directly."""
    store, _, _ = lab_store
    queries: list[str] = []
    store._conn.set_trace_callback(queries.append)
    try:
        for where, subtracted in [([("config.lr", "!=", None), ("status", "=", "done")], True),
                                  ([("config.lr", "!=", None), ("status", "=", "running")], False)]:
            queries.clear()
            assert store.count_runs(where) == len(brute_force(store, where, None))
            assert any("INDEXED BY runs_status" in sql for sql in queries) == subtracted
    finally:
        store._conn.set_trace_callback(None)


def test_a_total_given_is_not_counted_again(lab_store) -> None:
    store, _, _ = lab_store
    where = [("config.lr", "!=", None), ("status", "=", "done")]
    first = store.results_page(where, sort="-metrics.acc", limit=7)
    queries: list[str] = []
    store._conn.set_trace_callback(queries.append)
    try:
        second = store.results_page(where, sort="-metrics.acc", after=first.next, limit=7, total=first.total)
    finally:
        store._conn.set_trace_callback(None)
    counts = [sql for sql in queries if "count(" in sql]
    assert second.total == first.total and counts == ["SELECT count(*) FROM runs"]  # the store's size alone
    assert [run.id for run, _ in first.rows + second.rows] == brute_force(store, where, "-metrics.acc")[:14]


def test_the_brute_force_is_not_trivial(lab_store) -> None:
    # The data has what the pages must get right: long ties, values of every kind, runs without any.
    store, _, _ = lab_store
    acc = brute_force(store, [], "-metrics.acc")
    values = [_value(store.get_run(i), "metrics.acc") for i in acc]
    assert values[0] == (0, math.inf) and (0, -math.inf) in values and values.count(None) > 30
    assert max(values.count(v) for v in set(values) if v is not None) > 10
    lr = [_value(store.get_run(i), "config.lr") for i in brute_force(store, [], "config.lr")]
    assert {v[0] for v in lr if v is not None} == {0, 1} and lr.count((0, 2)) >= 2 and lr[-1] is None


def test_offset_and_no_limit_read_the_same_order(lab_store) -> None:
    store, _, _ = lab_store
    where = [("status", "=", "done")]
    want = brute_force(store, where, "-metrics.acc")
    page = store.results_page(where, sort="-metrics.acc", limit=None, offset=5)
    assert [run.id for run, _ in page.rows] == want[5:] and page.next is None and page.total == len(want)
    page = store.results_page(where, sort="-metrics.acc", limit=10, offset=len(want) - 4)
    assert [run.id for run, _ in page.rows] == want[-4:] and page.next is None


def side_rows(store: Store, table: str, run_id: int) -> dict[str, tuple[Any, int]]:
    rows = store.db.execute(f"SELECT key, value, experiment_id FROM {table} WHERE run_id = ?", [run_id])
    return {key: (value, experiment) for key, value, experiment in rows.fetchall()}


def test_side_tables_follow_every_write_of_a_run(store: Store) -> None:
    experiment = store.create_experiment("e", "sleep", runs=[RunSpec({"lr": 0.1, "tag": "a", "opt": None})])
    (run,) = store.list_runs(experiment.id)
    e = experiment.id
    assert side_rows(store, "run_params", run.id) == {"lr": (0.1, e), "tag": ("a", e), "opt": (None, e)}
    assert side_rows(store, "final_metrics", run.id) == {}
    store.start_run(run.id, pid=1)
    assert store.results_page([("config.lr", "=", 0.1), ("status", "=", "running")]).total == 1
    store.finish_run(run.id, "done", exit_code=0,
                     metrics={"acc": 0.5, "loss": math.nan, "best": math.inf, "worst": -math.inf, "n": 3,
                              "note": "text", "curve": [1.0, 2.0]})  # fmt: skip
    assert side_rows(store, "final_metrics", run.id) == {
        "acc": (0.5, e), "loss": (None, e), "best": (math.inf, e), "worst": (-math.inf, e), "n": (3, e),
        "note": (None, e), "curve": (None, e),
    }  # fmt: skip
    assert store.has_field("metrics.loss") and store.has_field("config.opt") and not store.has_field("metrics.x")
    assert store.results_page([("metrics.best", ">", 1e308)]).total == 1
    assert store.results_page([("metrics.acc", "=", 0.5), ("status", "=", "done")]).total == 1
    assert store.results_page([("metrics.acc", "=", 0.5), ("status", "=", "running")]).total == 0
    # A retry starts clean: no final metrics, back in the queue.
    store.requeue_run(run.id)
    assert side_rows(store, "final_metrics", run.id) == {}
    assert side_rows(store, "run_params", run.id)["lr"] == (0.1, e)
    assert store.run_keys("metrics") == [] and store.run_keys("config") == ["lr", "opt", "tag"]
    # Whoever writes the runs table, the side tables follow (a bulk UPDATE, as the benchmark does).
    other = store.create_experiment("f", "sleep").id
    with store.transaction() as conn:
        conn.execute("UPDATE runs SET config = ?, metrics = ?, status = 'failed', experiment_id = ? WHERE id = ?",
                     ('{"lr":0.5}', '{"acc":"inf"}', other, run.id))  # fmt: skip
    assert side_rows(store, "run_params", run.id) == {"lr": (0.5, other)}
    assert side_rows(store, "final_metrics", run.id) == {"acc": (math.inf, other)}
    assert store.count_runs([("config.lr", "=", 0.5), ("experiment_id", "=", other)]) == 1
    with store.transaction() as conn:
        conn.execute("DELETE FROM runs WHERE id = ?", (run.id,))
    assert side_rows(store, "run_params", run.id) == {} and side_rows(store, "final_metrics", run.id) == {}


def test_a_status_change_leaves_the_side_tables_alone(store: Store) -> None:
    """A mass cancel rewrites the runs, not their parameter rows (what made it take 5 s for 100,000)."""
    experiment = store.create_experiment("e", "sleep", runs=[RunSpec({"lr": 0.1 * i}) for i in range(50)])
    before = store.db.execute("SELECT count(*) FROM run_params").fetchone()[0]
    changes = store.db.conn.total_changes
    assert store.cancel_queued(experiment.id) == 50
    assert store.db.conn.total_changes - changes == 50  # the 50 runs: no trigger wrote a side-table row
    assert store.db.execute("SELECT count(*) FROM run_params").fetchone()[0] == before
    assert store.count_runs([("config.lr", ">=", 0.0), ("status", "=", "cancelled")]) == 50
    assert store.count_runs([("config.lr", ">=", 0.0), ("status", "=", "queued")]) == 0


def test_a_version_4_file_gets_its_side_tables_filled(home: Path) -> None:
    home.mkdir()
    path = home / "tuiflow.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    assert schema.upgrade(conn, None, target=4) == 4
    experiment = conn.execute("INSERT INTO experiments (name, recipe, created_at) VALUES ('old', 'sleep', 0)").lastrowid
    rows = [
        ({"lr": 0.1}, {"acc": 0.5, "loss": "nan"}, "done"),
        ({"lr": 0.01}, {"acc": "inf"}, "done"),
        ({"lr": 0.01}, None, "failed"),
        ({}, {"acc": 0.7}, "done"),
        ({"lr": 0.1}, '{"acc": 0.9', "done"),  # damaged by an old version: left as it is, not read
        ([1, 2], '"text"', "done"),  # not objects: no keys
    ]
    for config, metrics, status in rows:
        conn.execute(
            "INSERT INTO runs (experiment_id, recipe, config, status, created_at, metrics) "
            "VALUES (?, 'sleep', ?, ?, 0, ?)",
            (experiment, json.dumps(config), status, metrics if isinstance(metrics, str) or metrics is None
             else json.dumps(metrics)),
        )  # fmt: skip
    conn.execute("COMMIT")
    conn.close()
    with Store.open(home) as store:
        version = store.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        assert version == str(SCHEMA_VERSION)
        got = store.db.execute("SELECT run_id, key, value FROM final_metrics ORDER BY run_id, key").fetchall()
        assert got == [(1, "acc", 0.5), (1, "loss", None), (2, "acc", math.inf), (4, "acc", 0.7)]
        got = store.db.execute("SELECT run_id, key, value FROM run_params ORDER BY run_id, key").fetchall()
        assert got == [(1, "lr", 0.1), (2, "lr", 0.01), (3, "lr", 0.01), (5, "lr", 0.1)]
        assert store.count_runs([("config.lr", "=", 0.01), ("status", "=", "failed")]) == 1
        readable = [("id", "!=", 5)]  # a run whose metrics are damaged cannot be read back whole
        assert [run.id for run, _ in store.results_page(readable, sort="-metrics.acc").rows] == [2, 4, 1, 3, 6]
        assert [run.id for run, _ in store.results_page(readable, sort="config.lr").rows] == [2, 3, 1, 4, 6]
        index = {row[2] for row in store.db.execute("PRAGMA index_info(metrics_run_key_step)")}
        assert index == {"run_id", "key", "step", "value"}


# --- downsampled curves -----------------------------------------------------------------------------


def expected_points(points: list[tuple[int, float | None]], max_points: int) -> list[tuple[int, float | None]]:
    """The documented downsampling, by brute force: max_points // 2 buckets of equal step span, each
    keeping the first point with its lowest and the first with its highest value."""
    if len(points) <= max_points:
        return sorted(points, key=lambda p: p[0])
    buckets = max_points // 2
    first, last = min(p[0] for p in points), max(p[0] for p in points)
    span = last - first + 1
    bounds = [first + i * span // buckets for i in range(buckets + 1)]
    kept: list[tuple[int, float | None]] = []
    for lo, hi in itertools.pairwise(bounds):
        inside = [p for p in points if lo <= p[0] < hi]
        values = [p for p in inside if p[1] is not None]
        if not values:
            continue
        low = min(values, key=lambda p: p[1])  # min/max keep the first of equals
        high = max(values, key=lambda p: p[1])
        kept += [low] if low == high else sorted([low, high], key=lambda p: p[0])
    return sorted(set(kept), key=lambda p: p[0])


@pytest.fixture
def run_id(store: Store) -> int:
    store.create_experiment("curves", "sleep", runs=[RunSpec({})])
    return store.list_runs()[0].id


def write(store: Store, run_id: int, points: list[tuple[int, float | None]], key: str = "loss") -> None:
    store.write_metrics([(run_id, key, step, value, 0.0) for step, value in points])


def test_a_short_series_comes_back_whole(store: Store, run_id: int) -> None:
    points = [(step, step * 0.5) for step in range(100)]
    write(store, run_id, points[::-1])
    assert store.metric_points(run_id, "loss", max_points=100) == points
    assert store.metric_points(run_id, "loss") == points


@pytest.mark.parametrize("max_points", [10, 101, 1000])
def test_a_long_series_keeps_each_buckets_extremes(store: Store, run_id: int, max_points: int) -> None:
    rng = random.Random(max_points)
    # Steps with gaps and an offset, values with ties and spikes, written out of order.
    points = [(7 + 3 * i + (i % 5 == 0), round(rng.gauss(0, 1), 1)) for i in range(20_000)]
    points[1234] = (points[1234][0], 1e9)
    points[15_000] = (points[15_000][0], -1e9)
    shuffled = points[:]
    rng.shuffle(shuffled)
    write(store, run_id, shuffled)
    write(store, run_id, [(step, 0.0) for step in range(0, 40_000, 7)], key="other")  # another metric: ignored
    got = store.metric_points(run_id, "loss", max_points=max_points)
    assert got == expected_points(points, max_points)
    assert len(got) <= max_points and (points[1234][0], 1e9) in got and (points[15_000][0], -1e9) in got


def test_missing_values_in_a_long_series(store: Store, run_id: int) -> None:
    points = [(step, None if 400 <= step < 600 or step % 10 == 0 else float(step % 7)) for step in range(1000)]
    write(store, run_id, points)
    got = store.metric_points(run_id, "loss", max_points=20)  # buckets of 100 steps
    assert [p for p in got if p[1] is not None] == expected_points(points, 20)
    # A bucket of missing values only keeps one of them, a gap in the curve.
    gaps = [p for p in got if p[1] is None]
    assert len(gaps) == 2 and all(400 <= step < 600 for step, _ in gaps)


def test_steps_that_are_not_integers_fall_back_to_buckets_by_position(store: Store, run_id: int) -> None:
    points = [(i + 0.5, float(i % 13)) for i in range(3000)]
    write(store, run_id, points)
    got = store.metric_points(run_id, "loss", max_points=100)
    assert len(got) <= 100 and [s for s, _ in got] == sorted(s for s, _ in got)
    assert {v for _, v in got} >= {0.0, 12.0}
