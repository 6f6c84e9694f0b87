"""Big experiments at the CLI: `results` and `queue` show a first page and say how many more, `cancel`
prints a count; tables say which columns are parameters and which metrics; `exp:ID` names an experiment
wherever one is taken."""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from results_data import tuiflow

from tuiflow.store import RunSpec, Store, process_start_time

RUNS = 2000


def sleep_config(i: int) -> dict:
    return {"seconds": i % 7, "steps": 1 + i % 3}


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with experiment "big" (2,000 queued runs) and "small" (three done runs whose parameters
    and final metrics share their names, as the `sleep` recipe's do)."""
    home = tmp_path_factory.mktemp("pages") / "home"
    with Store.open(home) as store:
        store.create_experiment("big", "sleep", runs=[RunSpec(config=sleep_config(i)) for i in range(RUNS)])
        small = store.create_experiment("small", "sleep", runs=[RunSpec(config=sleep_config(i)) for i in range(3)])
        for run in store.list_runs(small.id):
            store.start_run(run.id, pid=1)
            store.finish_run(run.id, "done", exit_code=0, metrics={"seconds": 0.5 + run.id, "steps": 10})
    return home


def ok(*args: str, home: Path) -> tuple[str, str]:
    out = tuiflow(*args, "--home", str(home), timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout, out.stderr


def test_results_shows_the_first_50_runs_and_says_how_many_more(big):
    out, _ = ok("results", "-e", "big", home=big)
    lines = out.rstrip().splitlines()
    assert lines[0].strip() == "50 of 2,000 runs"
    assert lines[-1] == "50 of 2,000 runs; --limit N or --all for more"
    ids = [int(line.split()[0]) for line in lines if line.split()[1:2] == ["queued"]]
    assert ids == list(range(1, 51))
    out, _ = ok("results", "-e", "big", "--limit", "5", "--offset", "10", home=big)
    assert out.rstrip().splitlines()[-1] == "runs 11-15 of 2,000; --limit N or --all for more"
    every, _ = ok("results", "-e", "big", "--all", "--sort", "seconds", home=big)
    assert "2,000 runs" in every and "for more" not in every


def test_json_and_csv_are_paged_the_same_way_and_say_so_on_stderr(big):
    out, err = ok("results", "--json", home=big)
    assert [row["id"] for row in json.loads(out)] == list(range(1, 51))
    assert err == "tuiflow: 50 of 2,003 runs; --limit N or --all for more\n"
    out, err = ok("results", "--json", "--all", "-e", "big", "--sort", "-seconds", home=big)
    rows = json.loads(out)
    assert len(rows) == RUNS and err == ""
    assert [row["config"]["seconds"] for row in rows] == sorted(sleep_config(i)["seconds"] for i in range(RUNS))
    assert [row["id"] for row in rows[:3]] == [1, 8, 15]  # seconds 0, lowest first; ties in id order
    out, err = ok("results", "--csv", "-n", "7", home=big)
    assert len(list(csv.DictReader(io.StringIO(out)))) == 7 and "7 of 2,003 runs" in err
    out, _ = ok("results", "--csv", "--all", home=big)
    table = list(csv.DictReader(io.StringIO(out)))
    assert len(table) == RUNS + 3 and table[-1]["metrics.seconds"] == str(0.5 + RUNS + 3)
    refused = tuiflow("results", "--all", "--limit", "3", "--home", str(big))
    assert refused.returncode == 2 and refused.stderr == "tuiflow: error: choose one of --limit and --all\n"


def test_table_headers_say_which_columns_are_parameters_and_which_metrics(big):
    out, _ = ok("results", "-e", "small", home=big)
    lines = out.splitlines()
    names = next(line for line in lines if line.split()[:2] == ["id", "status"])
    groups = lines[lines.index(names) - 1]
    assert names.split() == ["id", "status", "seconds", "steps", "seconds", "steps"]
    assert groups.split() == ["params", "metrics"]
    # Each group's name stands over the first of its columns.
    first, second = names.index("seconds"), names.index("seconds", names.index("steps"))
    assert groups.index("params") == first and groups.index("metrics") == second
    out, _ = ok("results", "-e", "small", "--csv", home=big)
    header = out.splitlines()[0].split(",")
    assert {"config.seconds", "config.steps", "metrics.seconds", "metrics.steps"} <= set(header)
    assert len(header) == len(set(header))


def test_queue_shows_the_first_50_runs_and_counts_the_rest(big):
    out, _ = ok("queue", home=big)
    lines = out.rstrip().splitlines()
    assert lines[0].strip() == "0 running, 2,000 queued"
    assert lines[-1] == "50 of 2,000 runs; --limit N or --all for more"
    rows = json.loads(ok("queue", "--json", "-n", "3", home=big)[0])
    assert [(row["id"], row["position"]) for row in rows] == [(1, 1), (2, 2), (3, 3)]
    everything, err = ok("queue", "--json", "--all", home=big)
    assert len(json.loads(everything)) == RUNS and err == ""


def test_queue_says_when_it_is_paused(big, tmp_path):
    home = tmp_path / "home"
    with Store.open(home) as store:
        store.create_experiment("one", "sleep", runs=[RunSpec(config={})])
    assert "paused" not in ok("queue", home=home)[0]
    ok("pause", home=home)
    lines = ok("queue", home=home)[0].splitlines()
    assert lines[0] == "the queue is paused: `tuiflow resume` starts new runs again"
    ok("resume", home=home)
    assert "paused" not in ok("queue", home=home)[0]


def test_cancel_of_a_big_experiment_prints_a_count(tmp_path):
    home = tmp_path / "home"
    with Store.open(home) as store:
        store.create_experiment("huge", "sleep", runs=[RunSpec(config=sleep_config(i)) for i in range(RUNS)])
        one = store.create_experiment("one", "sleep", runs=[RunSpec(config={})])
    out, _ = ok("cancel", "huge", home=home)
    assert out == "cancelled 2,000 runs of experiment huge\n"
    out, _ = ok("cancel", f"exp:{one.id}", home=home)
    assert out == "cancelled 1 run of experiment one\n"
    with Store.open(home, create=False) as store:
        assert store.run_counts()["cancelled"] == RUNS + 1 and store.run_counts()["queued"] == 0


def test_exp_id_names_an_experiment_wherever_one_is_taken(big):
    with Store.open(big, create=False) as store:
        small = store.find_experiment("small").id
    rows = json.loads(ok("results", "--json", "--experiment", f"exp:{small}", home=big)[0])
    assert len(rows) == 3 and {row["experiment"] for row in rows} == {"small"}
    exported = json.loads(ok("export", "-F", "json", "--experiment", f"exp:{small}", home=big)[0])
    assert len(exported["runs"]) == 3
    missing = tuiflow("results", "--experiment", "nope", "--home", str(big))
    assert missing.returncode == 2
    assert missing.stderr.startswith("tuiflow: error: no experiment 'nope' in ")
    assert missing.stderr.rstrip().endswith(": give an experiment's name, or exp:ID for its id")


def test_cancelling_an_experiment_writes_its_queued_runs_at_once_and_still_stops_the_running_one(
    tmp_path, monkeypatch
):
    from tuiflow.lab.scheduler import cancel

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        with Store.open(tmp_path / "home") as store:
            experiment = store.create_experiment("big", "sleep", runs=[RunSpec(config={"i": i}) for i in range(500)])
            running = store.list_runs(experiment.id, limit=1)[0]
            store.start_run(running.id, pid=sleeper.pid, pid_start_time=process_start_time(sleeper.pid))
            writes = []
            original = store._write
            monkeypatch.setattr(store, "_write", lambda: writes.append(1) or original())
            done = cancel(store, "big", grace_s=5)
            # One statement for the 499 queued runs, one for the running one: not a transaction per run.
            assert len(writes) == 2
            assert (done.count, done.experiment, done.stopped) == (500, "big", (running.id,))
            assert store.run_counts(experiment.id)["cancelled"] == 500
        assert sleeper.wait(timeout=10) == -signal.SIGTERM
    finally:
        sleeper.kill()
