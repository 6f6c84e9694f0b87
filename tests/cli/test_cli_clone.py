"""`tuiflow run --from RUN`: a run again, its recipe and exact parameters with --set over them; the new
experiment records the run (`show` says so); bad input is one line and stores nothing."""

from __future__ import annotations

import json
from pathlib import Path

from cli_run import tuiflow

from tuiflow import lab


def test_run_from_a_run_keeps_its_parameters_and_says_where_it_came_from(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = tuiflow(home, "run", "sleep", "--set", "seconds=0", "--set", "steps=3", "--set", "children=1",
                    "--foreground")
    assert first.returncode == 0, first.stderr
    again = tuiflow(home, "run", "--from", "1", "--set", "steps=4", "--foreground")
    assert again.returncode == 0, again.stderr
    assert "cloned from run 1" in again.stdout
    with lab.open(home) as opened:
        source, clone = opened.get_run(1), opened.get_run(2)
        assert clone.recipe == "sleep" and clone.config == {**source.config, "steps": 4}
        assert opened.store.get_experiment(clone.experiment_id).source_run == 1
    shown = tuiflow(home, "show", "2", "--json")
    assert json.loads(shown.stdout)["cloned_from"] == 1
    assert "cloned from   run 1" in tuiflow(home, "show", "2").stdout

    for args, message in [
        (("run", "--from", "9"), "no run 9"),
        (("run", "--from", "1", "digits-mlp"), "run 1 is of recipe 'sleep', not 'digits-mlp'"),
        (("run",), "name a recipe"),
        (("run", "--from", "1", "--set", "steps=many"), "parameter 'steps'"),
    ]:
        result = tuiflow(home, *args)
        assert result.returncode == 2 and result.stderr.startswith("tuiflow: error: "), (args, result.stderr)
        assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    with lab.open(home) as opened:
        assert len(opened.list_experiments()) == 2  # nothing stored by the refusals
