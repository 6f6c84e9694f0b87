"""Keyset pages of runs (`Store.results_page`): every order a reader may ask for, walked page by page,
gives each run exactly once and in the order a full sort would; counts, conditions and bulk cancels."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from tuiflow.store import RunSpec, Store, StoreError
from tuiflow.store.pages import Cursor

# Final metrics of the runs, by run: ties, missing values, NaN and the infinities, text.
METRICS: list[dict[str, Any] | None] = [
    {"acc": 0.5}, {"acc": 0.9}, None, {"acc": 0.5}, {"acc": float("nan")}, {"acc": float("inf")},
    {"acc": float("-inf")}, {"loss": 1.0}, {"acc": 0.5}, {"acc": "high"}, {"acc": 2}, {"acc": 0.9},
]  # fmt: skip


@pytest.fixture
def runs(store: Store) -> list[int]:
    """Twelve runs of experiment "pages" (lr repeats, some without one) and two of "other"."""
    specs = [RunSpec(config={"lr": [0.1, 0.01, None, 0.001][i % 4]} if i % 5 else {"hidden": i}) for i in range(12)]
    experiment = store.create_experiment("pages", "sleep", runs=specs)
    store.create_experiment("other", "sleep", runs=[RunSpec(config={"lr": 5.0}), RunSpec(config={"lr": 6.0})])
    ids = [run.id for run in store.list_runs(experiment.id)]
    for run_id, metrics in zip(ids, METRICS):
        store.start_run(run_id, pid=1)
        store.finish_run(run_id, "done", exit_code=0, metrics=metrics)
    return ids


def expected(store: Store, ids: list[int], key: Any, descending: bool) -> list[int]:
    """The order a full sort gives: by value (missing last either way), then by id."""
    valued = [(key(store.get_run(i)), i) for i in ids]
    present = sorted((v for v in valued if v[0] is not None), key=lambda v: (-v[0] if descending else v[0], v[1]))
    return [i for _, i in present] + sorted(i for v, i in valued if v is None)


def number(value: Any) -> float | None:
    """A final metric as the store orders it: numbers and infinities; NaN and text count as missing."""
    if value in ("inf", "-inf"):
        return float(value)
    return None if not isinstance(value, (int, float)) or math.isnan(value) else value


def walk(store: Store, where: list, sort: str | None, size: int) -> list[int]:
    """Every id, page by page through the cursors."""
    seen: list[int] = []
    after = None
    while True:
        page = store.results_page(where, sort=sort, after=after, limit=size)
        assert len(page.rows) <= size and page.total == store.count_runs(where)
        seen += [run.id for run, _ in page.rows]
        if page.next is None:
            return seen
        after = page.next


@pytest.mark.parametrize("size", [1, 2, 5, 50])
@pytest.mark.parametrize(("sort", "key"), [
    ("metrics.acc", lambda run: number((run.metrics or {}).get("acc"))),
    ("-metrics.acc", lambda run: number((run.metrics or {}).get("acc"))),
    ("config.lr", lambda run: run.config.get("lr")),
    ("-config.lr", lambda run: run.config.get("lr")),
    ("-id", lambda run: run.id),
    (None, lambda run: run.id),
])  # fmt: skip
def test_walking_the_pages_gives_every_run_once_in_sorted_order(store, runs, sort, key, size):
    where = [("experiment_id", "=", store.find_experiment("pages").id)]
    want = expected(store, runs, key, descending=bool(sort and sort.startswith("-")))
    assert walk(store, where, sort, size) == want


def test_a_page_says_how_many_match_and_which_run_comes_next(store, runs):
    where = [("experiment", "=", "pages")]
    page = store.results_page(where, sort="-metrics.acc", limit=3)
    assert page.total == 12 and [run.id for run, _ in page.rows] == [runs[5], runs[10], runs[1]]
    assert {name for _, name in page.rows} == {"pages"}
    assert page.next == Cursor("-metrics.acc", 0.9, runs[1])
    last = store.results_page(where, sort="-metrics.acc", after=page.next, limit=100)
    assert len(last.rows) == 9 and last.next is None
    with pytest.raises(StoreError, match=re.escape("belongs to sort '-metrics.acc', not 'metrics.acc'")):
        store.results_page(where, sort="metrics.acc", after=page.next)


def test_conditions_on_columns_parameters_and_metrics(store, runs):
    pages = store.find_experiment("pages").id
    count = store.count_runs
    assert count([("config.lr", "<", 0.05)]) == 5  # 0.01 and 0.001; "other"'s lr are 5 and 6
    assert count([("config.lr", "=", None), ("experiment_id", "=", pages)]) == 5  # lr None or absent
    assert count([("metrics.acc", ">=", 0.9)]) == 4  # 0.9 twice, inf and 2: NaN and "high" are not numbers
    assert count([("status", "in", ["done", "failed"])]) == 12 and count([("status", "in", [])]) == 0
    assert count([("experiment", "!=", "pages")]) == 2
    assert store.has_field("metrics.loss") and not store.has_field("metrics.loss", [("config.lr", ">", 1)])
    assert store.run_keys("config") == ["hidden", "lr"] and store.run_keys("metrics") == ["acc", "loss"]
    for bad, message in [(("nope", "=", 1), "unknown run field 'nope'"), (("id", "~", 1), "unknown comparison")]:
        with pytest.raises(StoreError, match=message):
            count([bad])


def test_cancel_queued_is_one_statement_for_one_experiment_only(store, monkeypatch):
    big = store.create_experiment("big", "sleep", runs=[RunSpec(config={"i": i}) for i in range(300)])
    other = store.create_experiment("other", "sleep", runs=[RunSpec(config={"i": 0})])
    running = store.list_runs(big.id, limit=1)[0]
    store.start_run(running.id, pid=1)
    writes = 0
    original = store._write

    def counting():
        nonlocal writes
        writes += 1
        return original()

    monkeypatch.setattr(store, "_write", counting)
    assert store.cancel_queued(big.id) == 299
    assert writes == 1
    counts = store.run_counts(big.id)
    assert (counts["cancelled"], counts["running"], counts["queued"]) == (299, 1, 0)
    assert store.run_counts(other.id)["queued"] == 1
    cancelled = store.list_runs(big.id, status="cancelled", limit=1)[0]
    assert cancelled.error == "cancelled by the user" and cancelled.ended_at is not None
