"""`tuiflow queue` says what each queued run waits for (its `waiting for` column, and `waiting_for` in
--json), through the real CLI with a real daemon on simulated GPUs: GPUs held by other runs, a GPU held
by another user's process, a paused queue, and no daemon at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from daemon_helpers import Lab

# Two 80 GB cards; on GPU1 another user's job holds 60,000 MiB (no process of ours, none listed).
OTHER_USER_ON_GPU1 = json.dumps([{"name": "Fake A100", "memory_mb": 81920},
                                 {"name": "Fake A100", "memory_mb": 81920, "used_mb": 60000}])
LONG = ["seconds=600", "steps=600"]  # runs that hold their GPU for the whole test


def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_gpus: str) -> Iterator[Lab]:
    monkeypatch.setenv("TUIFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TUIFLOW_FAKE_GPUS", fake_gpus)
    lab = Lab(tmp_path / "home", cpu_slots=2, env={"TUIFLOW_FAKE_GPUS": fake_gpus})
    yield lab
    lab.cleanup()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    yield from _home(tmp_path, monkeypatch, "2")


@pytest.fixture
def shared_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    yield from _home(tmp_path, monkeypatch, OTHER_USER_ON_GPU1)


def _waiting(home: Lab) -> dict[int, str | None]:
    return {row["id"]: row["waiting_for"] for row in json.loads(home.cli("queue", "--json").stdout)}


def _table(home: Lab) -> dict[str, list[str]]:
    """`tuiflow queue`'s table as id -> its cells, a cell wrapped over lines joined again."""
    out = home.cli("queue").stdout
    header = next(line for line in out.splitlines() if "┃" in line)
    assert "waiting for" in header, out
    rows: dict[str, list[str]] = {}
    last = None
    for line in out.splitlines():
        if "│" not in line:
            continue
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells[0]:
            last = cells[0]
            rows[last] = cells
        elif last is not None:  # a wrapped line of the row above
            rows[last] = [f"{a} {b}".strip() for a, b in zip(rows[last], cells)]
    return rows


def test_a_run_behind_runs_holding_both_gpus_names_them(home):
    home.start_daemon()
    first, second, third = home.submit(sets=LONG, reps=3, gpus=1)
    home.wait_status(first.id, "running")
    home.wait_status(second.id, "running")
    expected = f"waits for 1 GPU (GPU0: #{first.id}, GPU1: #{second.id})"
    assert _waiting(home) == {first.id: None, second.id: None, third.id: expected}
    row = json.loads(home.cli("queue", "--json").stdout)[2]
    assert (row["id"], row["waiting"]) == (third.id, "gpus")
    assert _table(home)[str(third.id)][-1] == expected


def test_a_gpu_another_user_holds_is_said_and_no_run_goes_there(shared_home):
    home = shared_home
    home.start_daemon()
    on_gpu1 = home.submit(sets=LONG, gpus=1, gpus_allowed=[1], name="gpu1")[0]
    anywhere = home.submit(sets=LONG, reps=2, gpus=1, name="any")
    home.wait_status(anywhere[0].id, "running")
    waiting = home.wait_until(lambda: (w := _waiting(home))[on_gpu1.id] and w, 10, "the queue's reasons")
    assert waiting[on_gpu1.id] == "waits: GPU1 held by another user's process (58.6G)"
    assert waiting[anywhere[1].id] == f"waits for 1 GPU (GPU0: #{anywhere[0].id}, GPU1: other users 58.6G)"
    assert home.run(anywhere[0].id).gpus == [0]
    assert home.run(on_gpu1.id).status == "queued"  # the daemon agrees: nothing went to GPU1
    table = _table(home)
    assert table[str(on_gpu1.id)][-1] == "waits: GPU1 held by another user's process (58.6G)"
    gpus = json.loads(home.cli("gpus", "--json").stdout)["gpus"]
    assert gpus[1]["memory_used_mb"] == 60000 and gpus[1]["runs"] == []
    assert [gpu["busy"] for gpu in gpus] == ["", "busy: other users (58.6G)"]
    assert home.cli("gpus").stdout.splitlines()[2].endswith("runs -  busy: other users (58.6G)")


def test_a_paused_queue_says_so_for_each_queued_run(home):
    home.start_daemon()
    home.cli("pause")
    runs = home.submit(sets=LONG, reps=2, gpus=1)
    assert _waiting(home) == {run.id: "paused queue" for run in runs}
    assert [_table(home)[str(run.id)][-1] for run in runs] == ["paused queue"] * 2
    assert all(home.run(run.id).status == "queued" for run in runs)


def test_without_a_daemon_queued_runs_say_no_daemon(home):
    runs = home.submit(sets=LONG, reps=2, gpus=1)
    assert home.daemon_pid() is None
    assert _waiting(home) == {run.id: "no daemon" for run in runs}
    assert [_table(home)[str(run.id)][-1] for run in runs] == ["no daemon"] * 2
