"""A name that is both a run column and a parameter (the sleep recipe's `exit_code`) means the same in
`Lab.results`' filter and its sort: the parameter where runs have one, `run.exit_code` the run's column."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuiflow import lab
from tuiflow.store import RunSpec, Store


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """Seven ended sleep runs: parameter exit_code 0..6, the run's own exit code 60, 50, ... 0."""
    path = tmp_path / "home"
    store = Store.open(path, create=True)
    experiment = store.create_experiment("codes", "sleep", runs=[RunSpec(config={"exit_code": code, "fail": "exit"})
                                                                 for code in range(7)])
    runs = store.list_runs(experiment=experiment.id)
    with store.transaction() as conn:
        conn.executemany("UPDATE runs SET status = 'failed', started_at = 1, ended_at = 2, exit_code = ? WHERE id = ?",
                         [(60 - 10 * run.config["exit_code"], run.id) for run in runs])
    store.close()
    return path


def codes(rows: list[dict]) -> list[tuple[int, int]]:
    """(parameter, column) of each row, in order."""
    return [(row["config"]["exit_code"], row["exit_code"]) for row in rows]


def test_a_bare_name_is_the_parameter_in_the_filter_and_in_the_sort(home: Path) -> None:
    with lab.open(home) as opened:
        by_parameter = opened.results(sort="-exit_code").rows
        assert [parameter for parameter, _ in codes(by_parameter)] == [6, 5, 4, 3, 2, 1, 0]
        filtered = opened.results(filter="exit_code<3", sort="exit_code").rows
        assert codes(filtered) == [(0, 60), (1, 50), (2, 40)]  # the parameter: not all 7 runs (their codes)
        assert opened.count_results("exit_code<3") == 3
        assert opened.results(filter="exit_code<3").total == 3


def test_run_dot_names_the_runs_own_column_in_both(home: Path) -> None:
    with lab.open(home) as opened:
        by_column = opened.results(sort="-run.exit_code").rows
        assert [column for _, column in codes(by_column)] == [60, 50, 40, 30, 20, 10, 0]
        assert opened.results(sort="run.exit_code").sort == "exit_code"
        filtered = opened.results(filter="run.exit_code<30", sort="run.exit_code").rows
        assert codes(filtered) == [(6, 0), (5, 10), (4, 20)]
        assert opened.count_results("run.exit_code>=0") == 7
        # a run column that is no parameter needs no prefix, and a wrong one is one line
        assert opened.count_results("duration_s<2") == 7
        with pytest.raises(lab.LabError, match="no run column 'exit_cod'"):
            opened.results(filter="run.exit_cod<3")
        with pytest.raises(lab.LabError, match="no run column 'exit_cod'"):
            opened.results(sort="run.exit_cod")
