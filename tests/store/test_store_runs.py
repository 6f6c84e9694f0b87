"""Experiments and the life of their runs: queueing, claiming, starting, ending."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest
from claiming import claim_next
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store_helpers import result, spawn

from tuiflow.store import NotFoundError, RunSpec, Store, StoreError
from tuiflow.store.records import NON_FINITE

json_values = st.recursive(
    # Final metrics read the strings "nan", "inf" and "-inf" back as floats: the store's spelling of them.
    # Non-finite floats are no JSON: configs refuse them, metrics spell them (see test_store_v4.py).
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text().filter(lambda text: text not in NON_FINITE),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=st.dictionaries(st.text(), json_values, max_size=5), grid=json_values)
def test_json_round_trips(store: Store, config: dict, grid: object) -> None:
    experiment = store.create_experiment("e", "r", config=config, grid=grid, runs=[RunSpec(config)])
    assert store.get_experiment(experiment.id).config == config
    assert store.get_experiment(experiment.id).grid == grid
    run = store.list_runs(experiment.id)[0]
    assert run.config == config
    assert store.finish_run(run.id, metrics={"result": grid}).metrics == {"result": grid}


def test_numpy_values_are_stored_as_plain_json(store: Store) -> None:
    np = pytest.importorskip("numpy")
    experiment = store.create_experiment("e", "r", config={"lr": np.float32(0.5), "sizes": np.arange(3)})
    assert experiment.config == {"lr": 0.5, "sizes": [0, 1, 2]}


def test_non_finite_final_metrics_are_strict_json_and_read_back_as_floats(store: Store) -> None:
    np = pytest.importorskip("numpy")
    run = store.create_experiment("e", "r", runs=[RunSpec({})]).id
    (run,) = store.list_runs(run)
    metrics = {"loss": float("nan"), "big": np.float32("inf"), "low": np.float64("-inf"), "acc": 0.5,
               "curve": [1.0, float("nan")]}
    back = store.finish_run(run.id, metrics=metrics).metrics
    assert back is not None and math.isnan(back["loss"]) and back["big"] == math.inf and back["low"] == -math.inf
    assert back["acc"] == 0.5 and back["curve"][0] == 1.0 and math.isnan(back["curve"][1])
    with sqlite3.connect(store.path) as conn:  # SQLite's own JSON functions read the column
        row = conn.execute("SELECT json_valid(metrics), json_extract(metrics, '$.acc'), json_extract(metrics, "
                           "'$.loss'), json_extract(metrics, '$.low') FROM runs WHERE id = ?", (run.id,)).fetchone()
    assert row == (1, 0.5, "nan", "-inf")


def test_non_json_config_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="config must be JSON"):
        store.create_experiment("e", "r", config={"model": object()})
    assert store.list_experiments() == []


def test_experiment_names_are_unique_and_findable(store: Store) -> None:
    first = store.create_experiment("sweep", "mnist", reps=3, seed=1, recipe_file="recipes/mnist.py")
    second = store.create_experiment("sweep", "mnist")
    third = store.create_experiment(None, "mnist")
    assert (first.name, second.name, third.name) == ("sweep", "sweep-2", "mnist")
    assert store.find_experiment("sweep-2") == second
    assert store.find_experiment(first.id) == store.find_experiment(str(first.id)) == first
    assert first.reps == 3 and first.recipe_file == "recipes/mnist.py"
    assert [e.id for e in store.list_experiments()] == [third.id, second.id, first.id]


def test_not_found_errors_name_the_thing_and_the_file(store: Store) -> None:
    cases = [
        (lambda: store.get_run(42), f"no run 42 in {store.path}"),
        (lambda: store.heartbeat(42), f"no run 42 in {store.path}"),
        (lambda: store.set_progress(42, 1), f"no run 42 in {store.path}"),
        (lambda: store.finish_run(42), f"no run 42 in {store.path}"),
        (lambda: store.get_experiment(7), f"no experiment 7 in {store.path}"),
        (lambda: store.find_experiment("nope"), f"no experiment 'nope' in {store.path}"),
        (lambda: store.add_runs(7, [RunSpec()]), f"no experiment 7 in {store.path}"),
        (lambda: store.list_runs("nope"), f"no experiment 'nope' in {store.path}"),
    ]
    for call, message in cases:
        with pytest.raises(NotFoundError) as caught:
            call()
        assert str(caught.value) == message


def test_add_runs_returns_them_queued_in_order(store: Store) -> None:
    experiment = store.create_experiment("e", "mnist")
    specs = [RunSpec({"lr": lr}, rep=rep, seed=rep, gpus_requested=1, retries=2) for lr in (1, 2) for rep in (0, 1)]
    runs = store.add_runs(experiment.id, specs)
    assert [(r.config, r.rep, r.status, r.recipe) for r in runs] == [
        ({"lr": 1}, 0, "queued", "mnist"),
        ({"lr": 1}, 1, "queued", "mnist"),
        ({"lr": 2}, 0, "queued", "mnist"),
        ({"lr": 2}, 1, "queued", "mnist"),
    ]
    assert store.list_runs(experiment.name, status="queued") == runs
    assert store.run_counts(experiment.name)["queued"] == 4
    assert store.add_runs(experiment.id, []) == []


def test_claim_takes_highest_priority_then_oldest(store: Store) -> None:
    experiment = store.create_experiment("e", "r")
    store.add_runs(experiment.id, [RunSpec({"n": n}, priority=p) for n, p in enumerate([0, 5, 0, 5, 9])])
    order = []
    while (run := claim_next(store, host="box")) is not None:
        assert run.status == "running" and run.host == "box" and run.attempt == 1
        assert run.started_at is not None and run.heartbeat_at is not None
        order.append(run.config["n"])
    assert order == [4, 1, 3, 0, 2]


def test_no_run_is_claimed_twice_across_processes(home: Path, tmp_path: Path) -> None:
    with Store.open(home) as store:
        experiment = store.create_experiment("e", "r")
        store.add_runs(experiment.id, [RunSpec({"n": n}) for n in range(200)])
    parties = 4
    workers = [spawn("claim", home, tmp_path, parties) for _ in range(parties)]
    claimed = [run_id for w in workers for run_id in result(w)["claimed"]]
    assert sorted(claimed) == list(range(1, 201))
    with Store.open(home) as store:
        assert store.run_counts()["running"] == 200


def test_a_run_from_claim_to_end(store: Store) -> None:
    experiment = store.create_experiment("e", "r")
    (run,) = store.add_runs(experiment.id, [RunSpec(gpus_requested=2)])
    claim_next(store)
    started = store.start_run(run.id, pid=4242, pid_start_time=123.5, gpus=[1, 3], log_path=Path("/logs/1.log"))
    assert (started.status, started.pid, started.pid_start_time, started.gpus) == ("running", 4242, 123.5, [1, 3])
    assert started.log_path == "/logs/1.log" and started.attempt == 1
    store.set_progress(run.id, 10, 100, eta_s=9.5)
    store.heartbeat(run.id)
    ran = store.get_run(run.id)
    assert (ran.progress_done, ran.progress_total, ran.eta_s) == (10, 100, 9.5)
    store.set_progress(run.id, 20)
    assert store.get_run(run.id).progress_total == 100
    ended = store.finish_run(run.id, "failed", exit_code=1, error="boom", traceback="Traceback ...")
    assert (ended.status, ended.exit_code, ended.error, ended.traceback) == ("failed", 1, "boom", "Traceback ...")
    assert ended.is_final and ended.ended_at is not None and ended.duration_s is not None
    with pytest.raises(StoreError, match=f"run {run.id} is failed in .*: it cannot be started"):
        store.start_run(run.id, pid=1)


def test_finish_keeps_a_cancel_that_came_first(store: Store) -> None:
    experiment = store.create_experiment("e", "r")
    (run,) = store.add_runs(experiment.id, [RunSpec()])
    claim_next(store)
    assert store.set_run_status(run.id, "cancelled", expect=("queued", "running"))
    ended = store.finish_run(run.id, "failed", signal=15)
    assert (ended.status, ended.signal) == ("cancelled", 15)


def test_finish_keeps_the_reason_of_a_cancel_that_came_first(store: Store) -> None:
    experiment = store.create_experiment("e", "r")
    cancelled, killed = store.add_runs(experiment.id, [RunSpec(), RunSpec()])
    claim_next(store)
    claim_next(store)
    assert store.set_run_status(cancelled.id, "cancelled", expect="running", error="cancelled by the user")
    ended = store.finish_run(cancelled.id, "cancelled", exit_code=143, signal=15, error="stopped by SIGTERM")
    assert (ended.status, ended.error, ended.exit_code, ended.signal) == ("cancelled", "cancelled by the user", 143, 15)
    # A run nobody cancelled gets the error its finisher gives.
    ended = store.finish_run(killed.id, "failed", exit_code=143, signal=15, error="stopped by SIGTERM")
    assert (ended.status, ended.error) == ("failed", "stopped by SIGTERM")


def test_set_status_only_from_expected(store: Store) -> None:
    experiment = store.create_experiment("e", "r")
    (run,) = store.add_runs(experiment.id, [RunSpec()])
    assert not store.set_run_status(run.id, "cancelled", expect="running")
    assert store.get_run(run.id).status == "queued"
    assert store.set_run_status(run.id, "cancelled", expect="queued")
    assert store.get_run(run.id).ended_at is not None
    with pytest.raises(StoreError, match="unknown run status 'exploded'"):
        store.set_run_status(run.id, "exploded")
    with pytest.raises(StoreError, match="not a final run status"):
        store.finish_run(run.id, "running")


def test_requeue_forgets_the_attempt_but_keeps_its_place(store: Store) -> None:
    experiment = store.create_experiment("e", "r")
    first, _second = store.add_runs(experiment.id, [RunSpec(retries=1), RunSpec()])
    claim_next(store)
    store.start_run(first.id, pid=10, gpus=[0])
    store.set_run_status(first.id, "lost", error="worker vanished")
    again = store.requeue_run(first.id)
    assert (again.status, again.pid, again.gpus, again.error, again.ended_at) == ("queued", None, None, None, None)
    assert again.attempt == 1 and again.retries == 1
    assert claim_next(store).id == first.id
    assert store.get_run(first.id).attempt == 2
